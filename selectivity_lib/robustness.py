"""Robustness of the trained networks: accuracy under corruptions and under white-box attacks, and the
dimensionality of each unit layer's representation (the authors' follow-up question, Leavitt & Morcos,
arXiv 2010.07693). An analysis of networks already trained: nothing is retrained.

For every complete run under a sweep whose best weights are present, in fp32, eval mode:
    clean      accuracy on a fixed, seeded subset of the test set (`n_images`), and on its first
               `attack_images` images (the attacks' subset), beside the run's recorded test accuracy;
    corruption accuracy on the same subset under each `corruptions.FAMILIES` at severities 1-5
               (CIFAR-10-C's parameters, generated here; every network sees the same corrupted images);
    fgsm, pgd  accuracy under L-infinity FGSM and PGD (foolbox 3; PGD: PGD_STEPS steps of PGD_REL_STEP x
               epsilon from a random start in the ball) at EPSILONS, on the attacks' subset, the network
               wrapped with its own input normalisation so the ball is in pixel space [0, 1];
    dimensionality  per unit layer and condition (clean, each corruption and severity, each attack and
               epsilon), on the attacks' subset: the number of principal components that explain 95% of the
               variance of the layer's unit activations (each unit's spatial mean, the quantity selectivity is
               measured on), and the participation ratio; both for the representation itself and for its
               change from the clean one (perturbed minus clean, image by image).

Tables, one per network family, beside the CCA one (`cca_experiment.table_path`):
    robustness.csv      run, perturbation, kind, severity, epsilon, n, correct, accuracy
    dimensionality.csv  run, layer, perturbation, kind, severity, epsilon, units, n, pc95,
                        participation_ratio, change_pc95, change_participation_ratio
    corruption_examples.npz   one test image under every corruption and severity (the book's example grid)
Rows carry their run's fingerprint and the sampling, and a checksum (`tables`): a second analysis keeps the
rows of runs it has already done and computes only new runs; the book reads the tables and never evaluates.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import tables
from .cca_experiment import evaluation_subset, load_network, table_path
from .corruptions import FAMILIES, SEVERITIES, corrupt
from .data import normalize
from .errors import ConfigError, RunFolderError
from .grid import arch_label
from .results import load_results
from .runfolder import BEST, atomic_write, run_key, write_csv

ROBUSTNESS_FILE, DIMENSIONALITY_FILE, EXAMPLES_FILE = "robustness.csv", "dimensionality.csv", "corruption_examples.npz"
EPSILONS = (1 / 255, 2 / 255, 4 / 255, 8 / 255)
PGD_STEPS, PGD_REL_STEP = 10, 0.25
VARIANCE_EXPLAINED = 0.95
ATTACK_BATCH = 250

PARAMS = ("n_images", "attack_images", "sample_seed")  # how the images were chosen
RUN_KEY = ("run", *PARAMS)  # one trained run, analysed one way
CONDITION = (("perturbation", str), ("kind", str), ("severity", int), ("epsilon", float))
_IDENTITY = (("run", str), ("alpha", float), ("seed", int), ("n_images", int), ("attack_images", int))
ROBUSTNESS_CHECKED = (*_IDENTITY, ("sample_seed", int), *CONDITION, ("n", int), ("correct", int))
DIMENSIONALITY_CHECKED = (
    *_IDENTITY,
    ("sample_seed", int),
    ("layer_index", int),
    *CONDITION,
    ("units", int),
    ("n", int),
    ("pc95", int),
    ("participation_ratio", float),
    ("change_pc95", float),
    ("change_participation_ratio", float),
)
READ_TYPES = {"run": str, "perturbation": str, "kind": str}


def pca_dimensionality(x: np.ndarray, explained: float = VARIANCE_EXPLAINED) -> tuple[int, float]:
    """(number of principal components explaining `explained` of the variance, participation ratio) of the
    rows of `x` (datapoints x features). Data spanning exactly k directions gives (k, k) when they carry equal
    variance; data with no variance gives (0, 0)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"dimensionality needs a (datapoints, features) array with >= 2 rows, not {x.shape}")
    eig = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) ** 2
    total = eig.sum()
    if total <= 1e-12 * max(1.0, float(np.abs(x).max()) ** 2):
        return 0, 0.0
    share = np.cumsum(eig) / total
    return int(np.searchsorted(share, explained - 1e-9) + 1), float(total**2 / (eig**2).sum())


class _Net(torch.nn.Module):
    """The network on pixel-space inputs in [0, 1]: its own input normalisation inside."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, return_units: bool = False):
        return self.model(normalize(x * 255, channels_last=False), return_units=return_units)


@torch.no_grad()
def _evaluate(net, x01: torch.Tensor, labels: torch.Tensor, n_units: int, batch: int = 500):
    """(correct per image, each layer's unit means on the first `n_units` images)."""
    correct, units = [], None
    for start in range(0, len(x01), batch):
        logits, maps = net(x01[start : start + batch], return_units=True)
        correct.append(logits.argmax(1) == labels[start : start + batch])
        if start < n_units:
            means = [m[: n_units - start].mean(dim=(2, 3)) for m in maps]
            units = means if units is None else [torch.cat([u, m]) for u, m in zip(units, means, strict=True)]
    return torch.cat(correct), [u.numpy() for u in units or []]


def _attack(net, x01, labels, kind: str, epsilon: float, seed: int) -> torch.Tensor:
    """Adversarial images (foolbox 3) within the L-infinity ball of `epsilon` around `x01`, clipped to [0, 1]."""
    import foolbox as fb  # deferred: only this analysis needs it

    model = fb.PyTorchModel(net, bounds=(0, 1))
    attack = fb.attacks.FGSM() if kind == "fgsm" else fb.attacks.LinfPGD(steps=PGD_STEPS, rel_stepsize=PGD_REL_STEP)
    out = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # PGD's random start
        for start in range(0, len(x01), ATTACK_BATCH):
            _, clipped, _ = attack(
                model, x01[start : start + ATTACK_BATCH], labels[start : start + ATTACK_BATCH], epsilons=epsilon
            )
            out.append(clipped.detach())
    return torch.cat(out)


def corrupted_sets(images: torch.Tensor, seed: int, progress=print) -> dict[tuple[str, int], torch.Tensor]:
    """Every corruption at every severity of `images` (uint8), made once for all networks."""
    start, out = time.perf_counter(), {}
    for family in FAMILIES:
        for severity in SEVERITIES:
            out[family, severity] = corrupt(images, family, severity, seed)
    progress(f"corrupted {len(images)} images {len(out)} ways in {time.perf_counter() - start:.0f} s")
    return out


def analyse_run(folder: Path, images, labels, corrupted, attack_images: int, seed: int):
    """One network's robustness rows and dimensionality rows (without identity columns)."""
    net = _Net(load_network(folder, "the robustness analysis")).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    names = net.model.unit_layers
    x01 = images.float() / 255
    conditions = {("clean", "clean", 0, 0.0): x01}  # clean first
    conditions |= {("corruption", f, s, 0.0): c.float() / 255 for (f, s), c in corrupted.items()}
    robust, units, clean = [], {}, None
    for cond, x in conditions.items():
        correct, units[cond] = _evaluate(net, x, labels, attack_images)
        robust.append((cond, len(correct), int(correct.sum())))
        clean = correct if clean is None else clean
    sub_x, sub_y = x01[:attack_images], labels[:attack_images]
    robust.append((("clean", "attack subset", 0, 0.0), attack_images, int(clean[:attack_images].sum())))
    for kind in ("fgsm", "pgd"):
        for i, eps in enumerate(EPSILONS):
            adv = _attack(net, sub_x, sub_y, kind, eps, seed * 100 + i)
            if (adv - sub_x).abs().max() > eps + 1e-6:
                raise RuntimeError(f"{kind} left its epsilon ball ({eps}); the attack library misbehaved")
            cond = (kind, kind, 0, float(eps))
            correct, units[cond] = _evaluate(net, adv, sub_y, attack_images)
            robust.append((cond, attack_images, int(correct.sum())))
    keys = ("perturbation", "kind", "severity", "epsilon")
    robust_rows = [dict(zip(keys, c, strict=True)) | {"n": n, "correct": k, "accuracy": k / n} for c, n, k in robust]
    dim_rows = []
    clean_units = units["clean", "clean", 0, 0.0]
    for cond, layers in units.items():
        for i, (name, acts) in enumerate(zip(names, layers, strict=True)):
            pc, pr = pca_dimensionality(acts)
            change = (np.nan, np.nan) if cond[0] == "clean" else pca_dimensionality(acts - clean_units[i])
            dim_rows.append(
                dict(zip(keys, cond, strict=True))
                | {"layer_index": i, "layer": name, "units": acts.shape[1], "n": len(acts), "pc95": pc}
                | {"participation_ratio": pr, "change_pc95": float(change[0])}
                | {"change_participation_ratio": float(change[1])}
            )
    return robust_rows, dim_rows


def robustness_analysis(
    sweep: str | Path,
    n_images: int = 1000,
    attack_images: int = 500,
    seed: int = 0,
    data_dir: str | None = None,
    progress=print,
) -> dict[Path, pd.DataFrame]:
    """Analyse every complete run with weights under `sweep`; returns {robustness.csv path: table}.

    Incremental as `cca_experiment` is: a run already in its family's tables (same fingerprint, same sampling)
    is kept without loading its weights; runs no longer in the sweep are dropped. Runs without best.pt are
    listed and left out (their earlier rows, if any, are kept); if no run at all can be analysed, RunFolderError.
    """
    sweep = Path(sweep)
    if not sweep.is_dir():
        raise RunFolderError(f"{sweep} is not a folder: pass a sweep folder such as runs/full")
    if not 0 < attack_images <= n_images:
        raise ConfigError(f"--attack-images {attack_images}: pass a number from 1 to --images ({n_images})")
    runs = load_results(sweep).runs
    if runs.empty:
        raise RunFolderError(f"no complete runs under {sweep}: train some first")
    params = {"n_images": n_images, "attack_images": attack_images, "sample_seed": seed}
    written, lacking, analysed, data = {}, [], 0, {}
    family_keys = ["model", "activation", "slope"]
    for key, family in runs.groupby(family_keys):
        info = dict(zip(family_keys, key, strict=True))
        out = table_path(sweep, *key, name=ROBUSTNESS_FILE)
        dim_out = out.with_name(DIMENSIONALITY_FILE)
        cached, old_rows, checked = tables.cached_rows(out, ROBUSTNESS_CHECKED, RUN_KEY, READ_TYPES, progress)
        dims, old_dims, dims_checked = tables.cached_rows(
            dim_out, DIMENSIONALITY_CHECKED, RUN_KEY, READ_TYPES, progress
        )
        parts, dim_parts, computed = [], [], 0
        for run in family.sort_values(["profile", "alpha", "seed"]).itertuples():
            folder = Path(run.path)
            ident = {
                "profile": run.profile,
                "dataset": run.dataset,
                "recipe": run.recipe,
                "alpha": float(run.alpha),
                "seed": int(run.seed),
                "test_acc": float(run.test_acc),
                "mu_si": float(run.mu_si),
                "si_unit_mean": float(run.si_unit_mean),
                "run": run_key(folder),
            } | params
            k = tuple(ident[c] for c in RUN_KEY)
            if k in cached and k in dims:
                parts.append(cached[k])
                dim_parts.append(dims[k])
                continue
            if not (folder / BEST).is_file():
                lacking.append(folder)
                continue
            if run.dataset not in data:
                data[run.dataset] = _prepare(run.dataset, n_images, seed, data_dir, sweep, progress)
            images, labels, corrupted = data[run.dataset]
            start = time.perf_counter()
            robust, dim = analyse_run(folder, images, labels, corrupted, attack_images, seed)
            parts.append(pd.DataFrame([info | ident | r for r in robust]))
            dim_parts.append(pd.DataFrame([info | ident | r for r in dim]))
            computed += 1
            clean = robust[0]["accuracy"]
            progress(
                f"{folder}: clean {100 * clean:.1f}% on {n_images} images (recorded test accuracy "
                f"{100 * run.test_acc:.1f}%), {time.perf_counter() - start:.0f} s"
            )
        analysed += computed
        if not parts:
            continue
        table, dim_table = pd.concat(parts, ignore_index=True), pd.concat(dim_parts, ignore_index=True)
        table[tables.CHECK] = tables.row_checks(table, ROBUSTNESS_CHECKED)
        dim_table[tables.CHECK] = tables.row_checks(dim_table, DIMENSIONALITY_CHECKED)
        if computed or len(table) < old_rows or len(dim_table) < old_dims or not (checked and dims_checked):
            write_csv(out, table.to_dict("records"))
            write_csv(dim_out, dim_table.to_dict("records"))
        written[out] = table
        progress(f"{arch_label(*key)}: {table.run.nunique()} run(s) in {out}, {computed} analysed now")
    if lacking:
        shown = ", ".join(map(str, lacking[:5])) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
        note = f"{len(lacking)} run(s) have no {BEST} and were left out: {shown}"
        if not written:
            raise RunFolderError(
                f"no run under {sweep} could be analysed: {note}. The analysis needs each run's best weights; "
                "retrain a run (python -m selectivity_lib command FOLDER prints its command) to add it"
            )
        progress(f"note: {note}")
    return written


def _prepare(dataset: str, n_images: int, seed: int, data_dir, sweep: Path, progress):
    images, labels = evaluation_subset(dataset, n_images, seed, data_dir)
    corrupted = corrupted_sets(images, seed, progress)
    examples = np.stack([images[0].numpy()] + [corrupted[f, s][0].numpy() for f in FAMILIES for s in SEVERITIES])
    if (sweep / EXAMPLES_FILE).is_file():
        with np.load(sweep / EXAMPLES_FILE) as z:
            if np.array_equal(z["images"], examples):
                return images, labels, corrupted  # the same images: leave the file (and git) alone
    atomic_write(
        sweep / EXAMPLES_FILE,
        lambda f: np.savez_compressed(f, images=examples, families=np.array(FAMILIES), severities=SEVERITIES),
    )
    return images, labels, corrupted


def load_robustness(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All robustness and dimensionality tables under `root` (each refused if a row fails its checksum)."""
    robust = tables.load_checked(root, ROBUSTNESS_FILE, ROBUSTNESS_CHECKED, READ_TYPES, "robustness")
    dims = tables.load_checked(root, DIMENSIONALITY_FILE, DIMENSIONALITY_CHECKED, READ_TYPES, "robustness")
    return robust, dims


IDENTITY = ["model", "activation", "slope", "profile", "dataset", "recipe", "alpha", "seed", "run"]


def early_layers(dims: pd.DataFrame) -> pd.DataFrame:
    """The rows of each network's early layers: those as wide as its first unit layer, i.e. before the first
    downsampling (ResNet20: conv1 and the first stage, 16 units each; VGG16: the first block, 64)."""
    first = dims[dims.layer_index == 0].groupby("model").units.first()
    return dims[dims.units == dims.model.map(first)]


def run_summary(robust: pd.DataFrame, dims: pd.DataFrame) -> pd.DataFrame:
    """One row per analysed run: its identity, test accuracy and mean SI as recorded, and in percent
    clean        clean accuracy on the corruption subset; clean_attack on the attacks' subset
    corruption   mean accuracy over every corruption and severity; corruption_rel: that / clean
    pgd, fgsm    mean accuracy over the epsilons; pgd_rel: that / clean_attack
    pgd_<e>      accuracy at epsilon = e/255
    and, over the early layers (`early_layers`), the mean participation ratio of the clean representation
    (dim_clean) and its mean increase under corruption (dim_up_corruption: over every family and severity)
    and under PGD (dim_up_pgd: over the epsilons)."""
    if robust.empty:
        return pd.DataFrame()
    keys = [c for c in IDENTITY if c in robust.columns]
    out = robust.groupby(keys, dropna=False)[["test_acc", "mu_si", "si_unit_mean"]].first()
    acc = robust.assign(accuracy=100 * robust.accuracy)
    clean = acc[acc.perturbation == "clean"].pivot_table(index=keys, columns="kind", values="accuracy")
    out["clean"], out["clean_attack"] = clean["clean"], clean["attack subset"]
    for kind in ("corruption", "pgd", "fgsm"):
        out[kind] = acc[acc.perturbation == kind].groupby(keys).accuracy.mean()
    out["corruption_rel"] = out.corruption / out.clean
    out["pgd_rel"] = out.pgd / out.clean_attack
    for eps, part in acc[acc.perturbation == "pgd"].groupby("epsilon"):
        out[f"pgd_{round(eps * 255):g}"] = part.groupby(keys).accuracy.mean()
    if not dims.empty:
        early = early_layers(dims)
        per = early.groupby([*keys, "perturbation"]).participation_ratio.mean().unstack()
        out["dim_clean"] = per["clean"]
        out["dim_up_corruption"] = per["corruption"] - per["clean"]
        out["dim_up_pgd"] = per["pgd"] - per["clean"]
    return out.reset_index()
