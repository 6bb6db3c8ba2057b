import os

import pytest
import torch

from selectivity_lib import train
from selectivity_lib.data import synthetic_dataset

READ_CPU_BF16 = train.cpu_has_bf16  # the real reading of /proc/cpuinfo, before --cpu-bf16 may replace it

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_addoption(parser):
    parser.addoption(
        "--cpu-bf16",
        choices=("machine", "on", "off"),
        default="machine",
        help="fake the CPU's native bf16 (on/off) for the whole run, so the suite can be checked for machines "
        "with and without it from either kind; default: what this CPU has",
    )


@pytest.fixture(scope="session", autouse=True)
def cpu_bf16(request):
    """Whether the trainer takes this CPU for one with native bf16 (what `amp auto` computes in here)."""
    forced = request.config.getoption("--cpu-bf16")
    if forced == "machine":
        yield train.cpu_has_bf16()
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "cpu_has_bf16", lambda: forced == "on")
        yield forced == "on"


@pytest.fixture(scope="session")
def synthetic():
    """The synthetic dataset the CLI's --dataset synthetic uses: 2,000 training and 500 test images."""
    return synthetic_dataset()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Decode caches and the default data folder inside the test's temporary folder."""
    monkeypatch.setenv("SELECTIVITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SELECTIVITY_DATA", raising=False)
    return tmp_path / "cache"


# A tiny synthetic run's arguments (seconds on 2 cores); tests add --epochs and --out.
TINY_RUN = (
    "--dataset synthetic --profile smoke --train-subset 200 --batch-size 64 --val-size 100 --no-progress --compile off"
).split()


def tiny_sweep_args(out, alphas=("0",), seeds=("0",), *extra: str, engine: str = "inprocess") -> list[str]:
    """CLI arguments for a sweep of 1-epoch runs on 200 synthetic images (seconds per run). In this process
    unless `engine` says otherwise: a papermill run starts a Jupyter kernel, which costs more than the run, and
    tests/test_notebook.py tests that engine."""
    tiny = [*TINY_RUN, "--epochs", "1", "--val-size", "500"]
    return ["sweep", "--engine", engine, *tiny, "--alphas", *alphas, "--seeds", *seeds, "--out", str(out), *extra]


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """Four real (tiny) runs with their weights: alpha 0 and -1, seeds 0 and 1, on the synthetic data. Shared:
    copy it before changing anything in it."""
    from selectivity_lib.cli import main

    root = tmp_path_factory.mktemp("sweep")
    args = tiny_sweep_args(root, ["0", "-1"], ["0", "1"], "--batch-size", "100", "--train-subset", "300")
    assert main(args) == 0
    return root
