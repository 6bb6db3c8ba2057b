"""Run folders -> tidy pandas tables, for the book's chapters and the analyses.

`load_results(root)` walks `root` for run folders (any folder holding a config.json of this project) and
returns three tables:

* `runs`: one row per complete run: model, activation, slope, alpha, seed, profile, dataset and the other
  config fields, then the final metrics (test_acc, mu_si, si_unit_mean, dead_fraction, ...);
* `layers`: one row per run and unit layer (si_mean, si_mean_alive, dead_fraction, precision_mean);
* `units`: one row per run and unit (si, precision, dead, the class-conditional means), on request.

Incomplete runs (no metrics.json yet) and damaged ones are listed in one warning and skipped, so one bad
folder never breaks a chapter.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .runfolder import CONFIG, METRICS, UNITS

ID_COLUMNS = ["model", "activation", "slope", "alpha", "seed", "profile", "dataset"]


@dataclass
class Results:
    runs: pd.DataFrame
    layers: pd.DataFrame
    units: pd.DataFrame | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)


def find_run_folders(root: str | Path) -> list[Path]:
    root = Path(root)
    return sorted(p.parent for p in root.rglob(CONFIG)) if root.is_dir() else []


def _read_run(folder: Path, with_units: bool) -> tuple[dict, list[dict], pd.DataFrame | None]:
    record = json.loads((folder / CONFIG).read_text())
    metrics = json.loads((folder / METRICS).read_text())
    cfg = record["config"]
    ident = {
        "model": cfg["model"],
        "activation": cfg["activation"],
        "slope": cfg["slope"],
        "alpha": cfg["alpha"],
        "seed": cfg["seed"],
        "profile": cfg["profile"],
        "dataset": record["data"]["name"],
    }
    env = record.get("environment", {})
    run = (
        ident
        | {
            "epochs": cfg["epochs"],
            "train_subset": cfg["train_subset"],
            "batch_size": cfg["batch_size"],
            "lr": cfg["lr"],
            "regularized_layers": "all" if cfg.get("layers") is None else ",".join(cfg["layers"]),
            "device": env.get("device"),
            "amp": env.get("amp"),
            "channels_last": env.get("channels_last"),
            "compiled": bool(env.get("compile", False)),
        }
        | {k: v for k, v in metrics.items() if k != "layers"}
        | {"path": str(folder)}
    )
    layers = [ident | {"layer_index": i} | row for i, row in enumerate(metrics["layers"])]
    units = None
    if with_units:
        with np.load(folder / UNITS) as z:
            names = z["layer_names"]
            units = pd.DataFrame(
                {
                    "layer_index": z["layer"],
                    "layer": names[z["layer"]],
                    "unit": _unit_index(z["layer"]),
                    "si": z["si"],
                    "precision": z["precision"],
                    "dead": z["dead"],
                }
            )
            means = pd.DataFrame(z["class_means"], columns=[f"mean_{k}" for k in range(z["class_means"].shape[1])])
        units = pd.concat([pd.DataFrame(ident, index=units.index), units, means], axis=1)
    return run, layers, units


def _unit_index(layer: np.ndarray) -> np.ndarray:
    starts = np.r_[0, np.flatnonzero(np.diff(layer)) + 1]
    return np.arange(len(layer)) - np.repeat(starts, np.diff(np.r_[starts, len(layer)]))


def load_results(root: str | Path, units: bool = False) -> Results:
    """Read every complete run under `root` (see the module docstring). Warns once about skipped folders."""
    runs, layers, unit_tables, skipped = [], [], [], []
    for folder in find_run_folders(root):
        if not (folder / METRICS).is_file():
            skipped.append((str(folder), "incomplete (no metrics.json)"))
            continue
        try:
            run, run_layers, run_units = _read_run(folder, units)
        except Exception as e:  # damaged JSON/npz or a folder from another program
            skipped.append((str(folder), f"unreadable ({type(e).__name__}: {e})"))
            continue
        runs.append(run)
        layers += run_layers
        if run_units is not None:
            unit_tables.append(run_units)
    if skipped:
        listing = "; ".join(f"{f}: {why}" for f, why in skipped)
        warnings.warn(f"skipped {len(skipped)} run folder(s) under {root}: {listing}", stacklevel=2)
    runs_df = pd.DataFrame(runs)
    if not runs_df.empty:
        runs_df = runs_df.sort_values(ID_COLUMNS).reset_index(drop=True)
    return Results(
        runs=runs_df,
        layers=pd.DataFrame(layers),
        units=pd.concat(unit_tables, ignore_index=True) if unit_tables else (pd.DataFrame() if units else None),
        skipped=skipped,
    )


def arch_label(model: str, activation: str, slope: float) -> str:
    """'resnet20', or 'resnet20-leaky0.5' for a leaky ReLU network: the folder name a sweep uses."""
    return model if activation == "relu" else f"{model}-leaky{slope:g}"


def describe(runs: pd.DataFrame) -> str:
    """One line saying what a table of runs holds: profile(s), dataset(s), models, seeds per alpha."""
    if runs.empty:
        return "no complete runs"
    seeds = runs.groupby(["model", "activation", "slope", "alpha"]).seed.nunique()
    n = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
    return (
        f"profile {', '.join(sorted(runs.profile.unique()))}; dataset {', '.join(sorted(runs.dataset.unique()))}; "
        f"{len(runs)} runs; {n} seeds per alpha"
    )


def load_histories(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch learning curves (history.csv) of the runs in a `runs` table, with their identity columns."""
    from .runfolder import HISTORY

    tables = []
    for run in runs.itertuples():
        history = pd.read_csv(Path(run.path) / HISTORY)
        tables.append(history.assign(**{c: getattr(run, c) for c in ID_COLUMNS}))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
