from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from selectivity_lib.data import load_cifar10, normalize, random_crop_flip, split_indices
from selectivity_lib.errors import DataError

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpg"


def test_split_is_seeded_disjoint_and_complete():
    train, val = split_indices(50_000, 5_000, split_seed=0)
    train2, val2 = split_indices(50_000, 5_000, split_seed=0)
    assert torch.equal(train, train2) and torch.equal(val, val2)
    assert len(train) == 45_000 and len(val) == 5_000
    assert len(set(train.tolist()) | set(val.tolist())) == 50_000
    other, _ = split_indices(50_000, 5_000, split_seed=1)
    assert not torch.equal(train, other)
    subset, val3 = split_indices(50_000, 5_000, split_seed=0, train_subset=1000)
    assert torch.equal(val3, val) and set(subset.tolist()) <= set(train.tolist()) and len(subset) == 1000


def test_split_rejects_impossible_sizes():
    with pytest.raises(DataError, match="val_size"):
        split_indices(100, 100, 0)
    with pytest.raises(DataError, match="train_subset"):
        split_indices(100, 10, 0, train_subset=500)


def test_batch_augmentation_matches_torchvision(monkeypatch):
    # Fix the random draws (offsets, then flips) so each image can be redone with torchvision.
    torch.manual_seed(0)
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    dy = torch.tensor([0, 8, 3, 4, 8, 1])
    dx = torch.tensor([0, 8, 5, 4, 0, 7])
    flip = torch.tensor([False, True, True, False, False, True])
    draws = iter([dy, dx])
    monkeypatch.setattr(torch, "randint", lambda *a, **k: next(draws))
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.where(flip, 0.0, 1.0))
    out = random_crop_flip(x, generator=None)
    for i in range(6):
        ref = TF.crop(TF.pad(x[i], [4]), int(dy[i]), int(dx[i]), 32, 32)  # RandomCrop(32, padding=4)
        ref = TF.hflip(ref) if flip[i] else ref  # RandomHorizontalFlip
        assert torch.equal(out[i], ref), i


def test_batch_augmentation_statistics():
    x = torch.arange(1.0, 33.0).repeat(2000, 3, 32, 1)  # pixel value = column index + 1, padding = 0
    out = random_crop_flip(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    middle_row = out[:, 0, 16]  # row 16 is never vertical padding
    flipped = (middle_row[:, 10] < middle_row[:, 9]).float().mean().item()
    assert 0.45 < flipped < 0.55  # half the images run right-to-left
    padded_columns = (middle_row == 0).sum(1)  # |dx - 4| zero columns per image
    assert set(padded_columns.tolist()) == {0, 1, 2, 3, 4}


def test_normalize_is_channels_last_and_standardised():
    x = torch.full((2, 3, 4, 4), 125, dtype=torch.uint8)
    out = normalize(x)
    assert out.is_contiguous(memory_format=torch.channels_last) and out.dtype == torch.float32
    assert out.abs().max() < 0.2


def _write_imagefolder(root, per_class=3, size=32, classes=("a", "b", "c")):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{i}.png")


def test_imagefolder_layout_loads_and_caches(tmp_path, isolated_cache):
    _write_imagefolder(tmp_path / "tiny")
    data = load_cifar10(tmp_path / "tiny")
    assert data.name == "tiny" and data.classes == ("a", "b", "c")
    assert data.train_x.shape == (9, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.train_y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    pixels = np.asarray(Image.open(tmp_path / "tiny" / "train" / "b" / "1.png"))
    assert torch.equal(data.train_x[4], torch.from_numpy(pixels.copy()).permute(2, 0, 1))
    assert len(list(isolated_cache.glob("decoded/*.pt"))) == 1
    again = load_cifar10(tmp_path / "tiny")  # from the cache
    assert torch.equal(again.test_x, data.test_x)


def test_location_order_argument_then_environment(tmp_path, isolated_cache, monkeypatch):
    _write_imagefolder(tmp_path / "from_env")
    monkeypatch.setenv("SELECTIVITY_DATA", str(tmp_path / "from_env"))
    assert load_cifar10().name == "from_env"
    _write_imagefolder(tmp_path / "from_arg")
    assert load_cifar10(tmp_path / "from_arg").name == "from_arg"


def test_missing_dataset_says_where_it_looked(tmp_path, isolated_cache):
    with pytest.raises(DataError, match=r"no CIFAR-10 found in .*nowhere.*--data-dir"):
        load_cifar10(tmp_path / "nowhere")


def test_default_folder_without_network_is_a_clear_error(isolated_cache, monkeypatch):
    import selectivity_lib.data as data_mod

    monkeypatch.setattr(data_mod, "_try_download", lambda root: None)  # as offline
    with pytest.raises(DataError, match="default folder"):
        load_cifar10()


def test_corrupt_image_is_a_clear_error(tmp_path, isolated_cache):
    _write_imagefolder(tmp_path / "bad")
    (tmp_path / "bad" / "test" / "c" / "2.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"could not decode .*2\.png"):
        load_cifar10(tmp_path / "bad")


def test_corrupt_torchvision_batches_are_a_clear_error(tmp_path, isolated_cache):
    folder = tmp_path / "tv" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        (folder / name).write_bytes(b"garbage")
    with pytest.raises(DataError, match="incomplete or corrupt"):
        load_cifar10(tmp_path / "tv")


@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="the offline CIFAR-10 copy is not beside the repository")
def test_real_cifar10_jpg_copy():
    data = load_cifar10(SHARED_CIFAR)
    assert data.name == "cifar10-jpg"
    assert data.train_x.shape == (50_000, 3, 32, 32) and data.test_x.shape == (10_000, 3, 32, 32)
    assert data.train_y.bincount().tolist() == [5000] * 10 and data.test_y.bincount().tolist() == [1000] * 10
    assert data.classes[0] == "airplane" and data.classes[-1] == "truck"
