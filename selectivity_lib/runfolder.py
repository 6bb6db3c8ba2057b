"""The run folder: what a run writes, written atomically, and how a folder is checked before reuse.

    config.json     the resolved config, dataset, code and torch versions, device (written first)
    history.csv     one row per finished epoch (rewritten after each epoch)
    units.npz       per-unit test-set results: layer, SI, precision, dead flag, class means
    metrics.json    final test metrics; written last, so its presence marks the run complete
    checkpoint.pt   last finished epoch (model, optimizer, history): resume point; not in git
    best.pt         weights of the best-validation epoch; not in git

Every file is written to a temporary file in the same folder and moved into place, so a kill at any
moment leaves the previous version intact.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import tempfile
from pathlib import Path

import torch

from .config import complete_experiment
from .errors import RunFolderError

CONFIG, HISTORY, UNITS, METRICS = "config.json", "history.csv", "units.npz", "metrics.json"
CHECKPOINT, BEST, LOCK = "checkpoint.pt", "best.pt", ".lock"


def atomic_write(path: Path, write) -> None:
    """Call write(binary file) on a temporary file next to `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2, sort_keys=False) + "\n").encode()))


def write_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write(path, lambda f: f.write(buf.getvalue().encode()))


def save_tensors(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_tensors(path: Path, map_location="cpu"):
    """Load a checkpoint of tensors and plain containers only (never unpickles arbitrary objects)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise RunFolderError(f"{path} is damaged or not a checkpoint of this project ({e}): delete it") from None


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RunFolderError(f"{path} is unreadable ({e}): delete it or the whole run folder to start over") from None


def is_complete(folder: Path) -> bool:
    return (Path(folder) / METRICS).is_file()


def check_reusable(folder: Path, record: dict) -> str:
    """Compare a folder with the run about to be written there, without touching it.

    Returns 'new' (no run yet), 'resume' (same run, unfinished) or 'complete' (same run, finished).
    Raises RunFolderError when the folder holds a different run.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{folder} exists and is not a folder: choose another --out")
    config = folder / CONFIG
    if not config.is_file():
        if folder.is_dir() and any(folder.glob("*.json")) or (folder / CHECKPOINT).exists():
            raise RunFolderError(f"{folder} holds run files but no {CONFIG}: choose another --out or empty it")
        return "new"
    saved = read_json(config)
    if isinstance(saved.get("config"), dict):
        saved["config"] = complete_experiment(saved["config"])
    diffs = [
        f"{key}: {saved.get(section, {}).get(key)!r} there, {value!r} here"
        for section in ("config", "data")
        for key, value in record[section].items()
        if saved.get(section, {}).get(key) != value
    ]
    if diffs:
        raise RunFolderError(
            f"{folder} holds a different run ({'; '.join(diffs[:4])}): choose another --out, or delete that folder"
        )
    return "complete" if is_complete(folder) else "resume"


@contextlib.contextmanager
def run_lock(folder: Path):
    """Hold an exclusive lock on a run folder while training it; the OS drops it when the process dies.

    A second process (say, a kernel left over from a killed sweep) gets a RunFolderError instead of
    writing into the same folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise RunFolderError(
                f"{folder} is being trained by another process (pid {f.read().strip() or '?'}): "
                "wait for it to finish or stop it, then run again"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
