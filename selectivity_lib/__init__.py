"""Executable reproduction of "Selectivity considered harmful" (Leavitt & Morcos, 2020).

Modules: `config` (run configuration and profiles), `data` (CIFAR-10 in memory), `models` (ResNet20,
VGG16), `selectivity` (index, regularizer term, precision, dead units), `train` (training loop and run
folders), `cli` (`python -m selectivity_lib ...`).
"""

__version__ = "0.1.0"
