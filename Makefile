# One command sets up and runs each job; the virtual environment is made on first use.
#   make main    set up, then train the main sweep (ResNet20, profile cpu) into runs/cpu
#   make test    set up, then lint and run the test suite
#   make bench   set up, then the speed benchmark (project trainer vs a plain PyTorch loop)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CIFAR-10: $SELECTIVITY_DATA if set, else the offline copy beside the repository, else the default cache.
DATA ?= $(or $(SELECTIVITY_DATA),$(wildcard ../shared/data/cifar10-jpg))
DATA_ARG := $(if $(DATA),--data-dir $(DATA),)
PROFILE ?= cpu
ALPHAS ?= 0 -0.3 -1 -3 -10 0.3 1
SEEDS ?= 0 1

.PHONY: setup main test lint bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,book]"
	touch $@

main: setup
	$(PY) -m selectivity_lib sweep --profile $(PROFILE) --alphas $(ALPHAS) --seeds $(SEEDS) $(DATA_ARG) --out runs/$(PROFILE)

lint: setup
	$(PY) -m ruff check selectivity_lib tests

test: lint
	$(PY) -m pytest -q

bench: setup
	$(PY) -m selectivity_lib bench $(DATA_ARG)
