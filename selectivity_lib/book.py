"""What the book's chapters share: where the runs are, which sweep a chapter shows, glued numbers.

The book reads one sweep folder, `runs/<profile>`: `$SELECTIVITY_BOOK_PROFILE` if set, else the profile
with the most complete runs (the repository's own runs are at profile `cpu`). New runs written there, by
`python -m selectivity_lib sweep` or by papermill on `notebooks/train_run.md`, show up in every figure at
the next build. Chapters never train.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cca_experiment import load_cca
from .config import PROFILES
from .grid import arch_label  # noqa: F401 (chapters label networks with it)
from .results import Results, describe, find_run_folders, load_results

REPO = Path(__file__).resolve().parents[1]


def runs_root() -> Path:
    return Path(os.environ.get("SELECTIVITY_RUNS", REPO / "runs"))


def book_profile() -> str:
    if os.environ.get("SELECTIVITY_BOOK_PROFILE"):
        return os.environ["SELECTIVITY_BOOK_PROFILE"]
    root = runs_root()
    counts = (
        {
            p.name: sum((f / "metrics.json").is_file() for f in find_run_folders(p))
            for p in root.iterdir()
            if p.is_dir() and p.name in PROFILES
        }
        if root.is_dir()
        else {}
    )
    counts = {k: v for k, v in counts.items() if v}
    return max(counts, key=counts.get) if counts else "cpu"


@dataclass
class BookData:
    profile: str
    folder: Path
    results: Results
    cca: pd.DataFrame

    @property
    def runs(self) -> pd.DataFrame:
        return self.results.runs

    def describe(self) -> str:
        return describe(self.runs)


def load(profile: str | None = None, units: bool = False) -> BookData:
    """The sweep the book shows, as tables (a warning lists any folder skipped as incomplete or damaged)."""
    profile = profile or book_profile()
    folder = runs_root() / profile
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = load_results(folder, units=units)
    for w in caught:
        print(f"note: {w.message}")
    return BookData(profile, folder, results, load_cca(folder))


def glue(name: str, value, display: bool = False):
    """myst-nb's glue, so prose numbers come from computation (a plain print outside a book build)."""
    try:
        from myst_nb import glue as nb_glue
    except ImportError:  # pragma: no cover - the book extra is not installed
        print(f"{name} = {value}")
        return value
    nb_glue(name, value, display=display)
    return value


def mean_ci(runs: pd.DataFrame, value: str, alpha: float | None = None, scale: float = 1.0, digits: int = 3) -> str:
    """'0.229 (95% t-interval 0.221–0.237, n = 3)' for `value` over the runs at `alpha`, or a note that none
    exist."""
    from .stats import INTERVAL, t_interval

    sel = runs if (alpha is None or runs.empty) else runs[runs.alpha == alpha]
    if sel.empty:
        return "(no runs yet)"
    if len(sel) == 1:  # one run has no spread
        return f"{scale * sel[value].iloc[0]:.{digits}f} (n = 1, no interval)"
    lo, hi = t_interval(sel[value])
    return (
        f"{scale * sel[value].mean():.{digits}f} ({INTERVAL} {scale * lo:.{digits}f}–{scale * hi:.{digits}f}, "
        f"n = {len(sel)})"
    )


def numerics(run) -> str:
    """How a run computed, from one row of the runs table: 'bf16, channels-last, compiled'."""
    layout = "channels-last" if run["channels_last"] else "NCHW"
    return f"{run['amp']}, {layout}, {'compiled' if run['compiled'] else 'eager'}"


def show(fig) -> None:
    """Display a figure once (closing it, so the inline backend does not show it a second time)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def real_unit(units: pd.DataFrame, model: str = "resnet20", quantile: float = 0.9):
    """A fairly selective live unit of the last layer of an unregularized plain-ReLU `model` (alpha = 0): the
    unit whose SI is nearest the `quantile` of that layer's. Returns its row of the units table, or None."""
    if units is None or units.empty:
        return None
    base = units[(units.model == model) & (units.activation == "relu") & (units.alpha == 0) & ~units.dead]
    if base.empty:
        return None
    last = base[base.layer_index == base.layer_index.max()]
    return last.iloc[(last.si - last.si.quantile(quantile)).abs().argmin()]
