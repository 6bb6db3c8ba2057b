"""CIFAR-10 as in-memory uint8 tensors: location, decoding cache, split, batch augmentation.

Where the data is looked for, in order: the `data_dir` argument, the environment variable
`SELECTIVITY_DATA`, the default folder `$XDG_CACHE_HOME/selectivity_lib/cifar10` (`~/.cache/...`). Two
layouts are read:

* torchvision's: `cifar-10-batches-py/` (the original python batches), which torchvision downloads into
  the default folder where the network allows;
* an image folder: `train/<class>/*` and `test/<class>/*`, classes in alphabetical order
  (e.g. the JPEG copy `cifar10-jpg`, whose pixels differ from the originals: the dataset name is recorded
  in every run).

The decoded images are cached once as a uint8 tensor file under `$SELECTIVITY_CACHE`
(default `~/.cache/selectivity_lib`), keyed by the folder's path and a fingerprint of its files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import DataError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Per-channel statistics of the CIFAR-10 training images (in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
ENV_DATA = "SELECTIVITY_DATA"
ENV_CACHE = "SELECTIVITY_CACHE"


@dataclass
class ImageData:
    """A labelled image dataset held in memory. Images are uint8 (N, 3, H, W); labels int64 (N,)."""

    name: str
    classes: tuple[str, ...]
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get(ENV_CACHE) or Path(base) / "selectivity_lib")


def default_data_dir() -> Path:
    return cache_root() / "cifar10"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The folder to read, and where that choice came from ('argument', 'environment', 'default')."""
    if data_dir:
        return Path(data_dir).expanduser(), "argument"
    if os.environ.get(ENV_DATA):
        return Path(os.environ[ENV_DATA]).expanduser(), f"environment variable {ENV_DATA}"
    return default_data_dir(), "default folder"


def detect_layout(root: Path) -> tuple[str, Path] | None:
    """('torchvision', folder holding cifar-10-batches-py) or ('imagefolder', root), or None."""
    if (root / "cifar-10-batches-py" / "data_batch_1").is_file():
        return "torchvision", root
    if (root / "data_batch_1").is_file() and root.name == "cifar-10-batches-py":
        return "torchvision", root.parent
    if (root / "train").is_dir() and (root / "test").is_dir():
        return "imagefolder", root
    return None


def load_cifar10(data_dir: str | os.PathLike | None = None, download: bool | None = None) -> ImageData:
    """CIFAR-10 from the first location that holds it (see the module docstring), decoded once and cached.

    download: try torchvision's download when the folder holds no copy; by default only for the default
    folder. Raises DataError, naming where it looked and what to do, when no usable copy is found.
    """
    root, source = resolve_data_dir(data_dir)
    found = detect_layout(root)
    if found is None and (download if download is not None else source == "default folder"):
        _try_download(root)
        found = detect_layout(root)
    if found is None:
        raise DataError(
            f"no CIFAR-10 found in {root} (from the {source}): pass --data-dir PATH or set {ENV_DATA} to a "
            "folder holding torchvision's cifar-10-batches-py/ or train/<class>/ and test/<class>/ images"
        )
    layout, folder = found
    if layout == "torchvision":
        return _cached(folder, "cifar10", _fingerprint_files(folder / "cifar-10-batches-py"), _read_torchvision)
    return _cached(folder, folder.name, _fingerprint_files(folder / "train", folder / "test"), _read_imagefolder)


def _try_download(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception:  # no network: fall through to the clear error of the caller
        pass


def _fingerprint_files(*folders: Path) -> str:
    h = hashlib.sha1()
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                # an image edited in place changes its status-change time (ctime), which, unlike its size and
                # mtime, no tool can set back (touch -r restores the mtime only)
                st = os.stat(os.path.join(dirpath, name))
                rel = os.path.relpath(os.path.join(dirpath, name), folder)
                h.update(f"{rel}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}\n".encode())
    return h.hexdigest()[:16]


def _cached(folder: Path, name: str, fingerprint: str, reader) -> ImageData:
    key = hashlib.sha1(f"{folder.resolve()}|{fingerprint}".encode()).hexdigest()[:16]
    path = cache_root() / "decoded" / f"{name}-{key}.pt"
    if path.is_file():
        try:
            blob = torch.load(path, weights_only=True)
            return ImageData(name=name, classes=tuple(blob["classes"]), **{k: blob[k] for k in _TENSORS})
        except Exception:
            path.unlink(missing_ok=True)  # a damaged cache is rebuilt from the source
    data = reader(folder, name)
    blob = {k: getattr(data, k) for k in _TENSORS} | {"classes": list(data.classes)}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            torch.save(blob, tmp)
        os.replace(tmp.name, path)
    except OSError as e:  # a read-only or full cache costs the next run a decode, nothing more
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)
        warnings.warn(
            f"could not write the decode cache {path} ({e.strerror or e}): the next run decodes the images again; "
            "set SELECTIVITY_CACHE to a writable folder",
            stacklevel=2,
        )
    return data


_TENSORS = ("train_x", "train_y", "test_x", "test_y")


def _read_torchvision(folder: Path, name: str) -> ImageData:
    from torchvision.datasets import CIFAR10

    parts = []
    for train in (True, False):
        try:
            ds = CIFAR10(str(folder), train=train, download=False)
        except Exception as e:
            raise DataError(
                f"the CIFAR-10 batches in {folder / 'cifar-10-batches-py'} are incomplete or corrupt ({e}): "
                "delete that folder and download it again"
            ) from None
        parts.append(torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous())
        parts.append(torch.tensor(ds.targets, dtype=torch.int64))
    return ImageData(name, CIFAR10_CLASSES, *parts)


def _read_imagefolder(folder: Path, name: str) -> ImageData:
    classes = sorted(p.name for p in (folder / "train").iterdir() if p.is_dir())
    test_classes = sorted(p.name for p in (folder / "test").iterdir() if p.is_dir())
    if not classes or classes != test_classes:
        raise DataError(
            f"{folder} must hold the same class folders under train/ and test/ (found {classes} and "
            f"{test_classes}): re-copy the dataset"
        )
    parts = []
    for split in ("train", "test"):
        files, labels = [], []
        for k, cls in enumerate(classes):
            paths = sorted(p for p in (folder / split / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not paths:
                raise DataError(f"no images in {folder / split / cls}: re-copy the dataset")
            files += paths
            labels += [k] * len(paths)
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
            images = list(pool.map(_decode, files, chunksize=256))
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            raise DataError(f"images in {folder / split} differ in size ({sorted(shapes)[:3]}): re-copy the dataset")
        parts.append(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous())
        parts.append(torch.tensor(labels, dtype=torch.int64))
    return ImageData(name, tuple(classes), *parts)


def _decode(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:
        raise DataError(f"could not decode {path} ({e}): the dataset copy is damaged; re-copy it") from None


def synthetic_dataset(
    num_classes: int = 10, train_per_class: int = 200, test_per_class: int = 50, size: int = 32, seed: int = 0
) -> ImageData:
    """A small class-structured dataset for tests: each class is a smooth random colour pattern plus noise.

    Learnable well above chance in a few epochs, with the same uint8 layout as CIFAR-10.
    """
    g = torch.Generator().manual_seed(seed)
    protos = F.interpolate(torch.randn(num_classes, 3, 4, 4, generator=g), size=size, mode="bilinear")

    def draw(per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(num_classes).repeat_interleave(per_class)
        x = 128 + 50 * protos[y] + 40 * torch.randn(len(y), 3, size, size, generator=g)
        return x.clamp(0, 255).to(torch.uint8), y

    classes = tuple(f"class{k}" for k in range(num_classes))
    return ImageData("synthetic", classes, *draw(train_per_class), *draw(test_per_class))


def split_indices(
    num_train: int, val_size: int, split_seed: int, train_subset: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded train/validation split of the training images (the paper: 45k/5k of 50k).

    Returns (train indices, validation indices); `train_subset` keeps a seeded random subset of the
    training part. The same seed gives the same split on every machine.
    """
    if not 0 < val_size < num_train:
        raise DataError(f"val_size={val_size} must be between 1 and {num_train - 1} (the training images)")
    perm = torch.randperm(num_train, generator=torch.Generator().manual_seed(split_seed))
    val, train = perm[:val_size], perm[val_size:]
    if train_subset is not None:
        if train_subset > len(train):
            raise DataError(f"train_subset={train_subset} exceeds the {len(train)} training images after the split")
        train = train[:train_subset]
    return train.sort().values, val.sort().values


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Standard CIFAR augmentation for a whole batch at once.

    x: (B, C, H, W), any dtype (uint8 here). Each image is zero-padded by `padding` pixels, cropped back to
    H x W at a random offset, and flipped left-right with probability 1/2: the same as torchvision's
    RandomCrop(H, padding) followed by RandomHorizontalFlip(), one gather for the batch.
    """
    b, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
    dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
    flip = torch.rand(b, generator=generator, device=dev) < 0.5
    rows = dy[:, None] + torch.arange(h, device=dev)
    cols = dx[:, None] + torch.arange(w, device=dev)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[
        torch.arange(b, device=dev)[:, None, None, None],
        torch.arange(c, device=dev)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def normalize(x: torch.Tensor, channels_last: bool = True) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 standardised with the CIFAR-10 channel statistics."""
    mean = torch.tensor(CIFAR10_MEAN, device=x.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(CIFAR10_STD, device=x.device).view(1, 3, 1, 1) * 255
    out = (x.float() - mean) / std
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out
