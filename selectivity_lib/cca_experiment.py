"""The paper's CCA experiment (section 4.2): is selectivity suppressed, or only rotated off the unit axes?

For each network family in a sweep (model, activation, slope and one recipe), every unit layer's
activations are taken from each complete run's best-validation weights on the same test images, and the
PWCCA distance is computed for
    within pairs: every pair of replicates at the same alpha, rho(a_r, a_r);
    cross pairs:  every (alpha_r replicate, alpha = 0 replicate) pair of different seeds, rho(a_r, a_0).
Pairs are only ever of networks with different seeds: two networks with one seed share their initialisation
and the order of their data, and come out much closer than replicates do.
The distances go to `<sweep>/<family>/cca_distances.csv` (one row per pair and layer), which the book
reads; weights are not needed after that. Memory: one family's baseline and one alpha's activations at a
time, each (neurons x datapoints) per layer.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .cca import position_sample, pwcca_distance
from .data import load_cifar10, normalize, synthetic_dataset
from .errors import DataError, RunFolderError
from .grid import arch_label
from .models import build_model
from .results import load_results, one_recipe
from .runfolder import BEST, CONFIG, load_tensors, read_json, write_csv

CCA_FILE = "cca_distances.csv"


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
    folder = Path(folder)
    if not (folder / BEST).is_file():
        raise RunFolderError(f"{folder} has no {BEST}: the CCA analysis needs the run's best weights")
    record = read_json(folder / CONFIG)
    cfg = record["config"]
    model = build_model(cfg["model"], cfg["activation"], cfg["slope"], record["data"]["num_classes"])
    model.load_state_dict(load_tensors(folder / BEST))
    model.eval()
    n = len(images)
    parts, picks = None, None
    for start in range(0, n, batch_size):
        _, maps = model(normalize(images[start : start + batch_size], channels_last=False), return_units=True)
        if parts is None:
            parts = [[] for _ in maps]
            picks = [position_sample(n * m.shape[2] * m.shape[3], max_datapoints, seed) for m in maps]
        for i, m in enumerate(maps):
            if reduce == "mean":
                parts[i].append(m.mean(dim=(2, 3)).T)
                continue
            b, c, h, w = m.shape
            lo, hi = start * h * w, (start + b) * h * w
            local = picks[i][(picks[i] >= lo) & (picks[i] < hi)] - lo
            parts[i].append(m.permute(1, 0, 2, 3).reshape(c, b * h * w)[:, local])
    return [torch.cat(p, dim=1).numpy() for p in parts]


def _test_images(dataset: str, n_images: int, seed: int, data_dir: str | None) -> torch.Tensor:
    data = synthetic_dataset() if dataset == "synthetic" else load_cifar10(data_dir)
    if data.name != dataset:
        raise DataError(
            f"the runs were trained on {dataset!r} but the data found is {data.name!r}: "
            "pass --data-dir pointing at the same copy"
        )
    order = torch.randperm(len(data.test_y), generator=torch.Generator().manual_seed(seed))[:n_images]
    return data.test_x[order.sort().values]


def _pair_rows(acts_a, acts_b, base: dict) -> list[dict]:
    pairs = enumerate(zip(acts_a, acts_b, strict=True))
    return [base | {"layer_index": i, "distance": pwcca_distance(a, b)} for i, (a, b) in pairs]


def cca_experiment(
    sweep: str | Path,
    reduce: str = "positions",
    n_images: int = 2000,
    max_datapoints: int = 10_000,
    seed: int = 0,
    data_dir: str | None = None,
    progress=print,
) -> dict[Path, pd.DataFrame]:
    """Run the CCA experiment for every family under `sweep`; returns {csv path: distances table}."""
    sweep = Path(sweep)
    if not sweep.is_dir():
        raise RunFolderError(f"{sweep} is not a folder: pass a sweep folder such as runs/full")
    runs = one_recipe(load_results(sweep).runs, where=str(sweep))
    if runs.empty:
        raise RunFolderError(f"no complete runs under {sweep}: train some first")
    written = {}
    family_keys = ["model", "activation", "slope", "profile", "dataset", "recipe"]
    for key, family in runs.groupby(family_keys):
        info = dict(zip(family_keys, key, strict=True))
        label = arch_label(info["model"], info["activation"], info["slope"])
        base_runs = family[family.alpha == 0]
        if len(base_runs) == 0:
            progress(f"skip {label} ({info['profile']}): no alpha = 0 runs to compare with")
            continue
        if family.seed.nunique() < 2:
            progress(f"skip {label} ({info['profile']}): every run has seed {family.seed.iloc[0]}, and pairs must "
                     "be of networks with different seeds")  # fmt: skip
            continue
        images = _test_images(info["dataset"], n_images, seed, data_dir)
        names = build_model(info["model"]).unit_layers
        common = info | {"reduce": reduce, "n_images": len(images), "max_datapoints": max_datapoints}

        def activations(rows, images=images):
            return {
                int(r.seed): layer_activations(r.path, images, reduce, max_datapoints, seed) for r in rows.itertuples()
            }

        progress(f"{label} ({info['profile']}): activations of {len(base_runs)} alpha = 0 runs")
        base = activations(base_runs)
        rows = []
        for alpha, group in family.groupby("alpha"):
            acts = base if alpha == 0 else activations(group)
            for kind, pairs in (
                ("within", itertools.combinations(sorted(acts), 2)),
                ("cross", itertools.product(sorted(acts), sorted(base)) if alpha != 0 else ()),
            ):
                for s1, s2 in pairs:
                    if s1 == s2:  # same initialisation and data order: not replicates (DESIGN, CCA)
                        continue
                    other = acts[s2] if kind == "within" else base[s2]
                    ids = {"alpha": alpha, "kind": kind, "seed_a": s1, "seed_b": s2, "pair": f"{s1}-{s2}"}
                    rows += _pair_rows(acts[s1], other, common | ids)  # fmt: skip
            progress(f"  alpha = {alpha:g}: {len(group)} runs done")
        if not rows:
            progress(f"skip {label} ({info['profile']}): no pair of networks with different seeds")
            continue
        table = pd.DataFrame(rows)
        table["layer"] = [names[i] for i in table.layer_index]
        out = Path(base_runs.path.iloc[0]).parents[1] / CCA_FILE
        write_csv(out, table.to_dict("records"))
        written[out] = table
    return written


def load_cca(root: str | Path) -> pd.DataFrame:
    """All cca_distances.csv tables under `root`, concatenated (empty if none)."""
    tables = [pd.read_csv(p) for p in sorted(Path(root).rglob(CCA_FILE))]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
