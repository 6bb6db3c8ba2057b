"""The paper's CCA experiment (section 4.2): is selectivity suppressed, or only rotated off the unit axes?

For each network family in a sweep (model, activation, slope and one recipe), every unit layer's
activations are taken from each complete run's best-validation weights on the same test images, and the
PWCCA distance is computed for
    within pairs: every pair of replicates at the same alpha, rho(a_r, a_r);
    cross pairs:  every (alpha_r replicate, alpha = 0 replicate) pair of different seeds, rho(a_r, a_0).
Pairs are only ever of networks with different seeds: two networks with one seed share their initialisation
and the order of their data, and come out much closer than replicates do.
The distances go to `<sweep>/<network>/cca_distances.csv` (one row per pair and layer; `table_path`), inside
the folder analysed, one table per network family, which the book reads; weights are not needed after that.
Each row names its two runs by fingerprint (`run_key`) and the sampling it used, so running the analysis
again as a grid grows computes only the pairs it has not got, and carries a checksum of its own values
(`check`), so a row edited by hand is computed again, never reused or shown.
Memory: one family's baseline and one alpha's activations at a time, each (neurons x datapoints) per layer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import tables
from .cca import conv_to_neurons, pwcca_distance
from .data import load_cifar10, normalize, synthetic_dataset
from .errors import ConfigError, DataError, RunFolderError
from .grid import arch_label
from .models import build_model
from .results import load_results, one_recipe
from .runfolder import BEST, CONFIG, load_state, load_tensors, read_json, run_key, write_csv
from .tables import CHECK

CCA_FILE = "cca_distances.csv"


def load_network(folder: str | Path, what: str) -> torch.nn.Module:
    """The network of the run in `folder` with its best-validation weights, fp32, eval mode; `what` names the
    analysis that needs them in the error when best.pt is missing."""
    folder = Path(folder)
    if not (folder / BEST).is_file():
        raise RunFolderError(f"{folder} has no {BEST}: {what} needs the run's best weights")
    record = read_json(folder / CONFIG)
    cfg = record["config"]
    model = build_model(cfg["model"], cfg["activation"], cfg["slope"], record["data"]["num_classes"])
    restore = "restore the run's own best.pt, or retrain the run"
    load_state(model, load_tensors(folder / BEST, what=restore), folder / BEST, restore)
    return model.eval()


@torch.no_grad()
def layer_activations(
    folder: str | Path,
    images: torch.Tensor,
    reduce: str = "positions",
    max_datapoints: int = 10_000,
    seed: int = 0,
    batch_size: int = 500,
) -> list[np.ndarray]:
    """Each unit layer's activations of the run in `folder` (best weights, fp32, eval mode) on `images`.

    images: uint8 (N, 3, H, W). Returns one (channels, datapoints) float32 array per unit layer: spatial
    positions as datapoints (a seeded subset of `max_datapoints`, the same for every network), or with
    reduce="mean" one spatial mean per image.
    """
    model = load_network(folder, "the CCA analysis")
    parts = None
    for start in range(0, len(images), batch_size):
        _, maps = model(normalize(images[start : start + batch_size], channels_last=False), return_units=True)
        parts = parts or [[] for _ in maps]
        for part, m in zip(parts, maps, strict=True):
            part.append(conv_to_neurons(m, reduce, max_datapoints, seed, total_images=len(images), offset=start))
    return [np.concatenate(p, axis=1) for p in parts]


def evaluation_subset(
    dataset: str, n_images: int, seed: int, data_dir: str | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded subset of `n_images` of the test set (images uint8, labels), in test-set order: the same for
    every network analysed with the same seed."""
    data = synthetic_dataset() if dataset == "synthetic" else load_cifar10(data_dir)
    if data.name != dataset:
        raise DataError(
            f"the runs were trained on {dataset!r} but the data found is {data.name!r}: "
            "pass --data-dir pointing at the same copy"
        )
    if not 0 < n_images <= len(data.test_y):
        raise DataError(
            f"--images {n_images}: the {data.name} test set has {len(data.test_y)} images; "
            f"pass a number from 1 to {len(data.test_y)}"
        )
    order = torch.randperm(len(data.test_y), generator=torch.Generator().manual_seed(seed))[:n_images].sort().values
    return data.test_x[order], torch.as_tensor(data.test_y)[order]


PARAMS = ("reduce", "n_images", "max_datapoints", "sample_seed")  # how the activations were sampled
PAIR_KEY = ("alpha", "kind", "seed_a", "seed_b", "run_a", "run_b", *PARAMS)  # one pair of trained networks
READ_TYPES = {"run_a": str, "run_b": str, "reduce": str}
# what a row's checksum covers: its pair, layer and distance
CHECKED = (
    ("alpha", float),
    ("kind", str),
    ("seed_a", int),
    ("seed_b", int),
    ("run_a", str),
    ("run_b", str),
    ("reduce", str),
    ("n_images", int),
    ("max_datapoints", int),
    ("sample_seed", int),
    ("layer_index", int),
    ("distance", float),
)


def table_path(sweep: Path, model: str, activation: str, slope: float, name: str = CCA_FILE) -> Path:
    """Where an analysis table of one network family of `sweep` goes: `<sweep>/<network>/<name>` (the
    network's folder in a sweep's layout), or `<sweep>/<name>` when `sweep` is that folder itself. Always
    inside the folder analysed, and one file per family."""
    label = arch_label(model, activation, slope)
    return Path(sweep) / name if Path(sweep).name == label else Path(sweep) / label / name


def row_checks(table: pd.DataFrame) -> pd.Series:
    """A checksum of each CCA row's pair, layer and distance (`tables.row_checks` over CHECKED)."""
    return tables.row_checks(table, CHECKED)


def read_table(path: Path) -> pd.DataFrame:
    return tables.read_table(path, READ_TYPES)


def edited_rows(table: pd.DataFrame) -> pd.Series:
    return tables.edited_rows(table, CHECKED)


def _wanted_pairs(family: pd.DataFrame) -> list[dict]:
    """Every pair the experiment compares in one family, in alpha order: within pairs at each alpha, and cross
    pairs of each alpha's runs with the alpha = 0 runs; networks with the same seed are never paired."""
    base = family[family.alpha == 0].sort_values("seed")
    pairs = []
    for alpha, group in family.groupby("alpha"):
        group = group.sort_values("seed")
        within = itertools.combinations(group.itertuples(), 2)
        cross = itertools.product(group.itertuples(), base.itertuples()) if alpha != 0 else ()
        for kind, candidates in (("within", within), ("cross", cross)):
            for a, b in candidates:
                if a.seed != b.seed:  # same initialisation and data order: not replicates (DESIGN, CCA)
                    pairs.append(
                        {
                            "alpha": float(alpha),
                            "kind": kind,
                            "seed_a": int(a.seed),
                            "seed_b": int(b.seed),
                            "path_a": Path(a.path),
                            "path_b": Path(b.path),
                        }
                    )
    return pairs


@dataclass
class FamilyPlan:
    """What the analysis will do for one network family: each wanted pair with its identity (`ids`, `key`),
    whether its row is reused from the last analysis (`cached`), and the table it goes to."""

    info: dict
    label: str
    names: list[str]  # the unit layers
    out: Path
    pairs: list[dict]
    cached: dict
    old_rows: int
    checked: bool
    base_paths: set[Path]


def plan_family(sweep: Path, key: tuple, family: pd.DataFrame, params: dict, progress) -> FamilyPlan | None:
    """The pairs one family needs and which of them its table already holds; None (said) when it has no pair."""
    info = dict(zip(FAMILY_KEYS, key, strict=True))
    label = f"{arch_label(info['model'], info['activation'], info['slope'])} ({info['profile']})"
    if not (family.alpha == 0).any():
        progress(f"skip {label}: no alpha = 0 runs to compare with")
        return None
    pairs = _wanted_pairs(family)
    if not pairs:
        progress(
            f"skip {label}: every run has seed {family.seed.iloc[0]}, and pairs must be of networks with "
            "different seeds"
        )
        return None
    names = build_model(info["model"]).unit_layers
    out = table_path(sweep, info["model"], info["activation"], info["slope"])
    cached, old_rows, checked = tables.cached_rows(
        out, CHECKED, PAIR_KEY, READ_TYPES, progress, complete=_every_layer(len(names))
    )
    keys = {p: run_key(p) for p in family.path.map(Path)}
    for pair in pairs:
        ids = {k: pair[k] for k in ("alpha", "kind", "seed_a", "seed_b")}
        pair["ids"] = ids | {"run_a": keys[pair["path_a"]], "run_b": keys[pair["path_b"]], **params}
        pair["key"] = tuple(pair["ids"][k] for k in PAIR_KEY)
    base_paths = set(family.path[family.alpha == 0].map(Path))
    return FamilyPlan(info, label, names, out, pairs, cached, old_rows, checked, base_paths)


def compute_family(plan: FamilyPlan, params: dict, data_dir: str | None, progress) -> tuple[list, int, int, set]:
    """The family's rows: reused where the plan found them, computed from the best weights otherwise.
    Returns (row tables, rows kept, pairs computed, runs lacking weights). Memory: the alpha = 0 networks'
    activations and one other alpha's at a time."""
    images, acts, parts, kept, computed_here, lacking = None, {}, [], 0, 0, set()
    for alpha, group in itertools.groupby(plan.pairs, key=lambda p: p["alpha"]):
        reused = computed = 0
        for pair in group:
            if pair["key"] in plan.cached:
                parts.append(plan.cached[pair["key"]])
                reused, kept = reused + 1, kept + len(plan.cached[pair["key"]])
                continue
            no_weights = {p for p in (pair["path_a"], pair["path_b"]) if not (p / BEST).is_file()}
            if no_weights:
                lacking |= no_weights
                continue
            if images is None:
                images = evaluation_subset(plan.info["dataset"], params["n_images"], params["sample_seed"], data_dir)[0]
            for p in (pair["path_a"], pair["path_b"]):
                if p not in acts:
                    acts[p] = layer_activations(
                        p, images, params["reduce"], params["max_datapoints"], params["sample_seed"]
                    )
            common = plan.info | pair["ids"] | {"pair": f"{pair['seed_a']}-{pair['seed_b']}"}
            parts.append(_pair_rows(acts[pair["path_a"]], acts[pair["path_b"]], common, plan.names))
            computed += 1
        acts = {p: a for p, a in acts.items() if p in plan.base_paths}  # memory: the baseline and one alpha
        computed_here += computed
        progress(f"{plan.label} alpha = {alpha:g}: pairs kept from the last analysis {reused}, computed {computed}")
    return parts, kept, computed_here, lacking


def write_family(plan: FamilyPlan, parts: list, kept: int, computed: int, lacking: set, progress):
    """Write the family's table (rows checksummed) unless nothing changed, or unless writing it would drop rows
    of the old table that cannot be computed again for want of weights (then the old table stays, said).
    Returns the table, or None when none was written or kept."""
    if not parts:
        return None
    if lacking and kept < plan.old_rows:
        progress(
            f"{plan.label}: {plan.out} left as it was: pairs are missing for want of weights, and writing the "
            "others would drop rows of it that cannot be computed again"
        )
        return None
    table = pd.concat(parts, ignore_index=True)
    table[CHECK] = row_checks(table)
    if computed or kept < plan.old_rows or not plan.checked:  # else the file already holds exactly this table
        write_csv(plan.out, table.to_dict("records"))
    return table


FAMILY_KEYS = ["model", "activation", "slope", "profile", "dataset", "recipe"]


def cca_experiment(
    sweep: str | Path,
    reduce: str = "positions",
    n_images: int = 2000,
    max_datapoints: int = 10_000,
    seed: int = 0,
    data_dir: str | None = None,
    progress=print,
) -> dict[Path, pd.DataFrame]:
    """Run the CCA experiment for every family under `sweep`; returns {csv path: distances table}.

    Incremental: a pair already in the family's table, computed from the same two trained runs (their
    `run_key`s) with the same sampling, is kept without touching weights; only new pairs are computed, so the
    table grows as a grid's seeds land, and survives the weights of earlier runs being gone. Pairs of runs no
    longer in the sweep (deleted or retrained) are dropped. A pair that needs a run whose best weights are
    missing is left out and the rest written, and a note names the runs lacking weights (the tables' statistics
    use the pairs that exist). A RunFolderError names them instead when no table could be written, or when a
    family's old table stays as it was because writing it would drop rows that are not reused.
    Each family is planned (`plan_family`), computed (`compute_family`) and written (`write_family`).
    """
    sweep = Path(sweep)
    if not sweep.is_dir():
        raise RunFolderError(f"{sweep} is not a folder: pass a sweep folder such as runs/full")
    runs = one_recipe(load_results(sweep).runs, where=str(sweep))
    if runs.empty:
        raise RunFolderError(f"no complete runs under {sweep}: train some first")
    written, missing, unwritten = {}, set(), []
    params = {"reduce": reduce, "n_images": n_images, "max_datapoints": max_datapoints, "sample_seed": seed}
    for key, family in runs.groupby(FAMILY_KEYS):
        plan = plan_family(sweep, key, family, params, progress)
        if plan is None:
            continue
        parts, kept, computed, lacking = compute_family(plan, params, data_dir, progress)
        missing |= lacking
        table = write_family(plan, parts, kept, computed, lacking, progress)
        if table is not None:
            written[plan.out] = table
        elif lacking:
            unwritten.append(plan.out)
    if missing:
        names = sorted(map(str, missing))
        what = (
            f"{len(missing)} run(s) have no {BEST} (trained before weights were committed, or VGG16), so the CCA "
            "pairs they are in could not be computed"
        )
        retrain = (
            "Retrain a run to compute its pairs (move its folder aside and rerun the command that "
            "python -m selectivity_lib command FOLDER prints; a retrained run gets a new fingerprint, so every "
            "pair it is in is computed afresh)"
        )
        if unwritten or not written:
            kept = f"; {', '.join(map(str, unwritten))} left as it was" if unwritten else ""
            raise RunFolderError(f"{what}{kept}: {', '.join(names)}. {retrain}")
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        progress(f"note: {what} and were left out: {shown}. {retrain}")
    return written


def _every_layer(n_layers: int):
    return lambda rows: rows.layer_index.nunique() == n_layers


def _pair_rows(acts_a, acts_b, common: dict, names: list[str]) -> pd.DataFrame:
    for name, a in zip(names, acts_a, strict=True):
        units, datapoints = a.shape
        if datapoints <= units:  # CCA of n units needs more than n datapoints, or every distance comes out 0
            raise ConfigError(
                f"layer {name} has {units} units but the sampling gives it {datapoints} datapoints: CCA needs more "
                f"datapoints than units; raise --images (now {common['n_images']}) or --datapoints "
                f"(now {common['max_datapoints']})"
            )
    rows = [
        common | {"layer_index": i, "layer": names[i], "distance": pwcca_distance(a, b)}
        for i, (a, b) in enumerate(zip(acts_a, acts_b, strict=True))
    ]
    return pd.DataFrame(rows)


def load_cca(root: str | Path) -> pd.DataFrame:
    """All cca_distances.csv tables under `root`, concatenated (empty if none). A table with a row whose
    checksum does not match its values is refused (RunFolderError): no figure shows an edited distance."""
    return tables.load_checked(root, CCA_FILE, CHECKED, READ_TYPES, "analyse")
