"""The run folder: what a run writes, written atomically, and how a folder is checked before reuse.

    config.json     the resolved config, dataset, code and torch versions, device (written first); a run
                    resumed under other software or hardware lists them under "resumed", from which epoch
    history.csv     one row per finished epoch (rewritten after each epoch)
    units.npz       per-unit test-set results: layer, SI, precision, dead flag, class means
    metrics.json    final test metrics; written last, so its presence marks the run complete
    checkpoint.pt   last finished epoch (model, optimizer, history): resume point; not in git
    best.pt         weights of the best-validation epoch; in git for ResNet20 runs (README), not VGG16's

Every file is written to a temporary file in the same folder and moved into place, so a kill at any
moment leaves the previous version intact.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
from pathlib import Path

import torch

from .config import complete_experiment
from .errors import RunBusy, RunFolderError

CONFIG, HISTORY, UNITS, METRICS = "config.json", "history.csv", "units.npz", "metrics.json"
CHECKPOINT, BEST, LOCK = "checkpoint.pt", "best.pt", ".lock"
NOTEBOOK, JOB_RECORD = "train.ipynb", "job.json"  # written by the papermill and cluster engines
RUN_FILES = (CONFIG, HISTORY, UNITS, METRICS, CHECKPOINT, BEST, NOTEBOOK, JOB_RECORD)
# atomic_write's temporaries: '<one of RUN_FILES>.<mkstemp's random part>.tmp'. Only these are ours to delete.
_OWN_TEMPORARY = re.compile("|".join(re.escape(name) for name in RUN_FILES).join(("(?:", r")\.[A-Za-z0-9_]{6,}\.tmp")))


def own_temporary(name: str) -> bool:
    """Whether `name` is a temporary that this project's atomic_write made in a run folder (a user's
    'draft.tmp' is not, and is never removed)."""
    return _OWN_TEMPORARY.fullmatch(name) is not None


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


def record_resume(folder: Path, environment: dict, epoch: int) -> None:
    """Add to a run's config.json the environment it resumes in at `epoch`, where that differs from the one
    its last epochs ran in, so the record says which software and hardware trained which epochs."""
    path = Path(folder) / CONFIG
    record = read_json(path)
    resumed = list(record.get("resumed", []))
    last = resumed[-1]["environment"] if resumed else record.get("environment")
    if environment != last:
        write_json(path, record | {"resumed": [*resumed, {"epoch": epoch, "environment": environment}]})


def write_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write(path, lambda f: f.write(buf.getvalue().encode()))


def save_tensors(path: Path, obj) -> None:
    def write(f):
        try:
            torch.save(obj, f)
        except RuntimeError as e:  # torch's zip writer reports a full disk or a failed write as a RuntimeError
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise OSError(errno.EIO, f"writing failed ({reason}); the disk may be full", str(path)) from None

    atomic_write(path, write)


def load_state(model: torch.nn.Module, state: dict, path: Path, what: str) -> None:
    """Put the weights `state` (read from `path`) into `model`; weights of another network are a RunFolderError
    that ends with `what` to do, not load_state_dict's traceback."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError, KeyError) as e:
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise RunFolderError(f"{path} holds weights that do not fit this run's network ({reason}): {what}") from None


def load_tensors(path: Path, map_location="cpu", what: str = "delete it"):
    """Load a checkpoint of tensors and plain containers only (never unpickles arbitrary objects).

    A damaged file, or one holding anything else, is a RunFolderError that ends with `what` to do.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        reason = _load_failure(str(e)) or type(e).__name__
        raise RunFolderError(
            f"{path} is damaged or not a checkpoint of this project ({reason[:200]}): {what}"
        ) from None


def _load_failure(text: str) -> str:
    """Why torch.load refused a file, in our words. Its own message for a file holding Python objects goes on
    to explain how to load it anyway (weights_only=False, which would run the file's code): never repeated."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # torch bolds part of it for a terminal
    if "Weights only load failed" in text:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if found is None:
            return "it is not a file that torch.save wrote (its bytes do not read as tensors)"
        return f"it holds Python objects ({found.group(1)}), not only tensors, and this project never unpickles those"
    return text.strip().split("\n")[0].strip().rstrip(".:")[:200]


def read_json(path: Path, what: str = "delete it or the whole run folder to start over") -> dict:
    """A JSON object from `path`; anything else (unreadable, not JSON, not an object) is a RunFolderError."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RunFolderError(f"{path} is unreadable ({e}): {what}") from None
    if not isinstance(obj, dict):
        raise RunFolderError(f"{path} holds a JSON {type(obj).__name__}, not an object: {what}")
    return obj


def read_record(folder: Path) -> dict:
    """A run folder's config.json, checked for shape, with fields added since it was written filled in."""
    path = Path(folder) / CONFIG
    # deleting config.json alone would leave files with no record, which no run writes over: the folder goes
    record = read_json(path, f"move {Path(folder)} aside (or delete it) and run the same command to train it again")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("data"), dict):
        raise RunFolderError(
            f"{path} is not a run record of this project (no 'config' and 'data' objects): delete the folder "
            "to start over"
        )
    record["config"] = complete_experiment(record["config"])
    return record


def is_complete(folder: Path) -> bool:
    return (Path(folder) / METRICS).is_file()


METRIC_KEYS = ("test_acc", "mu_si", "si_unit_mean", "dead_fraction", "best_epoch", "layers")


def read_metrics(folder: Path) -> dict:
    """A complete run's metrics.json, checked for the keys every reader relies on."""
    path = Path(folder) / METRICS
    what = "delete it (and best.pt if damaged) and rerun the same command to evaluate the run again"
    metrics = read_json(path, what)
    missing = [k for k in METRIC_KEYS if k not in metrics]
    if missing or not isinstance(metrics.get("layers"), list):
        raise RunFolderError(f"{path} lacks {', '.join(missing) or 'a list of layers'}: {what}")
    return metrics


def run_key(folder: Path) -> str:
    """A short fingerprint of one trained run: a hash of its metrics.json, which is written once, when the run
    completes (so a run retrained into the same folder gets a new key). Results computed from a run's weights
    (CCA and robustness tables) record it, so they are reused only for the very run they came from, even after
    its weights are gone (runs trained before weights were committed, VGG16's)."""
    return hashlib.sha256((Path(folder) / METRICS).read_bytes()).hexdigest()[:12]


def check_reusable(folder: Path, record: dict) -> str:
    """Compare a folder with the run about to be written there, without touching it.

    Returns 'new' (no run yet), 'resume' (same run, unfinished) or 'complete' (same run, finished).
    Raises RunFolderError when the folder holds a different run.
    """
    folder = Path(folder)
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise RunFolderError(f"{parent} is a file, so {folder} cannot be a run folder: choose another --out")
            break
    config = folder / CONFIG
    if not config.is_file():
        if folder.is_dir():
            foreign = sorted(p.name for p in folder.iterdir() if not _scratch(p.name))
            if foreign:
                raise RunFolderError(
                    f"{folder} is not empty ({', '.join(foreign[:5])}) and holds no run record ({CONFIG}): "
                    "a run never writes over files it did not write; choose another --out or empty that folder"
                )
        return "new"
    saved = read_record(folder)
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


def _scratch(name: str) -> bool:
    """Files a run has before it writes config.json: its lock, temporaries of a killed write, the notebook
    papermill writes as it starts and the cluster engine's job record (both engines check the folder first)."""
    return name in (LOCK, NOTEBOOK, JOB_RECORD) or own_temporary(name)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporaries left by a write of ours that was killed (call while holding the run's lock)."""
    for p in Path(folder).glob("*.tmp"):
        if own_temporary(p.name):
            p.unlink(missing_ok=True)


def _release_if_empty(folder: Path) -> None:
    """Remove a run folder that holds nothing but its lock (a run that stopped before writing anything).
    Called with the lock held, so no other process is using the folder."""
    try:
        if {p.name for p in folder.iterdir()} <= {LOCK}:
            (folder / LOCK).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass


def is_locked(folder: Path) -> bool:
    """True when some process holds the run's lock (`run_lock`): it is training the run now."""
    path = Path(folder) / LOCK
    if not path.is_file():
        return False
    # a shared lock: it conflicts with the trainer's exclusive one, and NFS grants it on a read-only descriptor
    # (an exclusive flock there needs one open for writing)
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


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
            raise RunBusy(
                f"{folder} is being trained by another process (pid {f.read().strip() or '?'}): "
                "wait for it to finish or stop it, then run again"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        remove_stale_temporaries(folder)
        try:
            yield
        finally:
            _release_if_empty(folder)
            fcntl.flock(f, fcntl.LOCK_UN)
