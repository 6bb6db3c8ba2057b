import os

import pytest
import torch

from selectivity_lib.data import synthetic_dataset

torch.set_num_threads(min(2, os.cpu_count() or 1))


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
