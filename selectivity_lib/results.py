"""Run folders -> tidy pandas tables, for the book's chapters and the analyses.

`load_results(root)` walks `root` for run folders (any folder holding a config.json of this project) and
returns three tables:

* `runs`: one row per complete run: model, activation, slope, alpha, seed, profile, dataset and every other
  experiment field, a `recipe` key (all of them but the network, alpha and seed), then the final metrics
  (test_acc, mu_si, si_unit_mean, dead_fraction, ...);
* `layers`: one row per run and unit layer (si_mean, si_mean_alive, dead_fraction, precision_mean);
* `units`: one row per run and unit (si, precision, dead, the class-conditional means), on request.

Incomplete runs (no metrics.json yet) and damaged ones are listed in one warning and skipped, so one bad
folder never breaks a chapter. So are folders whose record disagrees with their place (a run copied to
`seed=5` that records seed 0: `sweep --status` calls it a conflict) and second copies of a run already read
(the same experiment config in two folders): a run is counted once, under the identity its record gives.
Symlinked folders are followed, as a sweep follows them, and a folder reached twice is read once.

Runs of one network (model, activation, slope) are averaged over seeds and compared across alphas only when
they share a recipe: `one_recipe` refuses a table in which they do not, naming the fields that differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import MODELS, RunConfig
from .errors import MixedRunsError
from .grid import alpha_label, arch_label
from .runfolder import CONFIG, HISTORY, METRICS, UNITS, read_metrics, read_record

ID_COLUMNS = ["model", "activation", "slope", "alpha", "seed", "profile", "dataset"]
NETWORK = ["model", "activation", "slope"]
# Columns that are not part of a run's recipe: the network, the two axes of a grid, and the run's outcome.
NOT_RECIPE = {*NETWORK, "alpha", "seed"}


@dataclass
class Results:
    runs: pd.DataFrame
    layers: pd.DataFrame
    units: pd.DataFrame | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)


def find_run_folders(root: str | Path) -> list[Path]:
    """Every folder under `root` holding a config.json, following symlinked folders (each real folder once,
    so a link into the tree or a loop adds nothing), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    found, seen = [], set()
    for here, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        if CONFIG in files:
            found.append(Path(here))
    return sorted(found)


def _same_number(label: str, value) -> bool:
    try:
        return float(label) == float(value)
    except ValueError:
        return False


_PLACE = re.compile(r"alpha=(?P<alpha>[^/]+)/seed=(?P<seed>[^/]+)$")


def misplaced(folder: Path, record: dict) -> str:
    """Why a run folder's place disagrees with the run its record holds ('' when it agrees, or when the folder
    is not named in a sweep's alpha=<a>/seed=<s> layout)."""
    place = _PLACE.search(Path(folder).as_posix())
    if place is None:
        return ""
    cfg = record["config"]
    recorded = (arch_label(cfg["model"], cfg["activation"], cfg["slope"]), alpha_label(cfg["alpha"]), str(cfg["seed"]))
    named = (Path(folder).parent.parent.name, place["alpha"], place["seed"])
    # the network folder is compared only where it is one (a sweep's <model>[-leaky<b>]), not a user's own name
    is_network_folder = named[0].split("-leaky")[0] in MODELS
    if (
        _same_number(named[1], cfg["alpha"])
        and _same_number(named[2], cfg["seed"])
        and (named[0] == recorded[0] or not is_network_folder)
    ):
        return ""
    return (
        f"its record holds {recorded[0]} alpha={recorded[1]} seed={recorded[2]}, not the run its place "
        f"names ({named[0]}/alpha={named[1]}/seed={named[2]}): a copied or moved run, "
        "left out; move it to its own place or delete it"
    )


def _column(value):
    """A config value as a table cell: tuples and lists (milestones, layers) as comma-joined text."""
    return ",".join(str(v) for v in value) if isinstance(value, list | tuple) else value


def recipe_fields(record: dict) -> dict:
    """The fields of a run record that make its recipe: every experiment field but the network, alpha and
    seed, plus the dataset it read."""
    cfg = record["config"]
    return {k: _column(v) for k, v in sorted(cfg.items()) if k not in NOT_RECIPE} | {"dataset": record["data"]["name"]}


def recipe_key(fields: dict) -> str:
    return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def _read_run(folder: Path, with_units: bool) -> tuple[dict, list[dict], pd.DataFrame | None]:
    record = read_record(folder)
    metrics = read_metrics(folder)
    cfg = record["config"]
    recipe = recipe_fields(record)
    ident = {
        "model": cfg["model"],
        "activation": cfg["activation"],
        "slope": cfg["slope"],
        "alpha": cfg["alpha"],
        "seed": cfg["seed"],
        "profile": cfg["profile"],
        "dataset": record["data"]["name"],
    }
    run = (
        ident
        | recipe
        | {
            "recipe": recipe_key(recipe),
            "regularized_layers": "all" if cfg.get("layers") is None else ",".join(cfg["layers"]),
            "train_images": record["data"]["num_train"],  # what it trained on (train_subset is None for all)
            "device": _across_resumes(record, "device"),
            "amp": _across_resumes(record, "amp"),
            "channels_last": _across_resumes(record, "channels_last"),
            "compiled": _across_resumes(record, "compile", default=False),
        }
        | {k: v for k, v in metrics.items() if k != "layers"}
        | {"path": str(folder), "misplaced": misplaced(folder, record)}
    )
    ident["recipe"] = run["recipe"]
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


_RECIPE_COLUMNS = {f.name for f in dataclasses.fields(RunConfig) if f.compare} - NOT_RECIPE | {"dataset"}


def _across_resumes(record: dict, key: str, default=None):
    """A field of a run's recorded environment; where the run resumed under other values of it, all of them in
    order, joined with '+' (a compiled run that resumed eager: 'True+False')."""
    envs = [record.get("environment", {}), *(r["environment"] for r in record.get("resumed", []))]
    values = list(dict.fromkeys(env.get(key, default) for env in envs))
    return values[0] if len(values) == 1 else "+".join(map(str, values))


def _unit_index(layer: np.ndarray) -> np.ndarray:
    starts = np.r_[0, np.flatnonzero(np.diff(layer)) + 1]
    return np.arange(len(layer)) - np.repeat(starts, np.diff(np.r_[starts, len(layer)]))


def load_results(root: str | Path, units: bool = False) -> Results:
    """Read every complete run under `root` (see the module docstring). Warns once about skipped folders."""
    runs, layers, unit_tables, skipped, read = [], [], [], [], {}
    for folder in find_run_folders(root):
        if not (folder / METRICS).is_file():
            skipped.append((str(folder), "incomplete (no metrics.json)"))
            continue
        try:
            run, run_layers, run_units = _read_run(folder, units)
        except Exception as e:  # damaged JSON/npz or a folder from another program
            skipped.append((str(folder), f"unreadable ({type(e).__name__}: {e})"))
            continue
        if run["misplaced"]:
            skipped.append((str(folder), run.pop("misplaced")))
            continue
        identity = tuple(run[k] for k in (*ID_COLUMNS, "recipe"))
        if identity in read:
            skipped.append((str(folder), f"the same run as {read[identity]} (a copy), counted once"))
            continue
        read[identity] = str(folder)
        del run["misplaced"]
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


def one_recipe(runs: pd.DataFrame, where: str = "these runs") -> pd.DataFrame:
    """`runs`, unchanged, if every network in it was trained with one recipe; else a MixedRunsError that names
    the network and the fields in which its runs differ (so that no figure averages two recipes)."""
    if runs.empty or "recipe" not in runs:
        return runs
    for key, net in runs.groupby(NETWORK):
        if net.recipe.nunique() > 1:
            fields = [c for c in net.columns if c in _RECIPE_COLUMNS and net[c].astype(str).nunique() > 1]
            diffs = "; ".join(f"{c}: {', '.join(map(str, sorted(net[c].astype(str).unique())))}" for c in fields)
            raise MixedRunsError(
                f"{where} hold {net.recipe.nunique()} recipes of {arch_label(*key)} ({diffs}): a figure would "
                "average them; keep each recipe in its own sweep folder, or select one"
            )
    return runs


def network(table: pd.DataFrame, model: str | None = "resnet20", activation: str | None = "relu") -> pd.DataFrame:
    """The rows of one network (model, activation) in a runs, units, history or CCA table, None standing for
    any model or activation; an empty table as it is (it may lack the columns)."""
    if table.empty:
        return table
    keep = np.ones(len(table), dtype=bool)
    if model is not None:
        keep &= (table.model == model).to_numpy()
    if activation is not None:
        keep &= (table.activation == activation).to_numpy()
    return table[keep]


def typical_minutes(runs: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Per run of a `runs` table: its epochs times its median epoch in `history` (`load_histories` rows), in
    minutes: its cost on an undisturbed machine, which other work slowing a few epochs does not move (the
    recorded `train_seconds` it does). NaN for a run without history, and for one whose epochs ran on more than
    one device (history's `device` column), whose median epoch is no one machine's cost."""
    if history.empty:
        return np.full(len(runs), np.nan)
    per_run = history.groupby("path")
    median = per_run.seconds.median()
    if "device" in history:
        median[per_run.device.nunique() > 1] = np.nan
    return median.reindex(runs.path).to_numpy() * runs.epochs.to_numpy() / 60


def epoch_devices(record: dict, epochs) -> list:
    """The device that trained each of `epochs` (numbers from 1) of a run, from its record (config.json): the
    one it started on, or the one of the last resume before that epoch ('resumed' entries name the epochs
    finished when the run resumed)."""
    starts = [(0, record.get("environment", {}).get("device"))]
    starts += [(r["epoch"], r["environment"].get("device")) for r in record.get("resumed", [])]
    return [next(dev for start, dev in reversed(starts) if start < epoch) for epoch in epochs]


def device_stretches(history: pd.DataFrame) -> list[tuple[int, int, str, float]]:
    """(first epoch, last epoch, device, recorded seconds) of each stretch of one run's history (its
    `load_histories` rows) that one device trained, in order."""
    h = history.sort_values("epoch")
    stretch = (h.device != h.device.shift()).cumsum()
    return [
        (int(g.epoch.iloc[0]), int(g.epoch.iloc[-1]), g.device.iloc[0], float(g.seconds.sum()))
        for _, g in h.groupby(stretch, sort=True)
    ]


def describe(runs: pd.DataFrame) -> str:
    """One line saying what a table of runs holds: profile(s), dataset(s), models, seeds per alpha."""
    if runs.empty:
        return "no complete runs"
    return (
        f"profile {', '.join(sorted(runs.profile.unique()))}; dataset {', '.join(sorted(runs.dataset.unique()))}; "
        f"{len(runs)} runs; {seeds_per_alpha(runs)}"
    )


def seeds_per_alpha(runs: pd.DataFrame) -> str:
    """'1 seed per alpha', '3 seeds per alpha' or, where alphas differ, '1-2 seeds per alpha' (per network)."""
    by = ["model", "activation", "slope", "alpha"] + (["recipe"] if "recipe" in runs else [])
    seeds = runs.groupby(by).seed.nunique()
    n = f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"
    return f"{n} seed{'s' if n != '1' else ''} per alpha"


def load_histories(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch learning curves (history.csv) of the runs in a `runs` table, with their identity columns and
    the device that trained each epoch (`epoch_devices`).

    A history shorter than the run's recorded epochs (a file cut off or edited) is kept and warned about.
    """
    tables = []
    for run in runs.itertuples():
        history = pd.read_csv(Path(run.path) / HISTORY)
        device = getattr(run, "device", None)  # '+'-joined where the run resumed on another device
        history["device"] = (
            epoch_devices(read_record(Path(run.path)), history.epoch)
            if device is None or "+" in str(device)
            else device
        )
        expected = getattr(run, "epochs_trained", None)
        if expected is not None and len(history) != expected:
            warnings.warn(
                f"{Path(run.path) / HISTORY} has {len(history)} epochs, but the run trained {expected}: "
                "the learning curve is incomplete",
                stacklevel=2,
            )
        cols = [*ID_COLUMNS, "recipe"] if hasattr(run, "recipe") else ID_COLUMNS
        tables.append(history.assign(**{c: getattr(run, c) for c in cols}, path=run.path))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
