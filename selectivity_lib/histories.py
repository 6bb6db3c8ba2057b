"""What the book reads from runs' per-epoch histories: rising training loss, runs stuck at chance, how far a
run converged, the recipe study's ranking and its 200-epoch reference run, and the knob's order in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .grid import arch_label
from .results import (
    device_stretches,
    load_histories,
    load_results,
    typical_minutes,
)


def loss_rises(history: pd.DataFrame, tolerance: float = 0.05) -> pd.DataFrame:
    """Per run of `history` (load_histories rows): the epochs whose mean training cross-entropy rose by more
    than `tolerance` over the epoch before, and the largest rise. One row per run folder; `run` names it by
    alpha and seed, led by its network (`arch_label`) where the runs hold more than one, or by its folder name
    where two runs of one network share an alpha and seed (a recipe study)."""
    if history.empty:
        return pd.DataFrame(columns=["path", "run", "alpha", "seed", "rises", "largest"])
    history = (
        history
        if "path" in history
        else history.assign(path=history.alpha.astype(str) + "/" + history.seed.astype(str))
    )
    networked = {"model", "activation", "slope"} <= set(history.columns)
    rows = []
    for path, h in history.groupby("path", sort=False):
        h = h.sort_values("epoch")
        step = h.train_ce.diff()
        net = arch_label(h.model.iloc[0], h.activation.iloc[0], h.slope.iloc[0]) if networked else ""
        rows.append(
            dict(
                path=path,
                network=net,
                alpha=h.alpha.iloc[0],
                seed=h.seed.iloc[0],
                rises=[int(e) for e in h.epoch[step > tolerance]],
                largest=float(step.max()),
            )
        )
    table = pd.DataFrame(rows)
    shared = table.duplicated(["network", "alpha", "seed"], keep=False)
    several = table.network.nunique() > 1
    names = zip(table.path, table.network, table.alpha, table.seed, shared, strict=True)
    table["run"] = [
        Path(p).name if dup else f"{n + ' ' if several else ''}alpha = {a:g}, seed {s}" for p, n, a, s, dup in names
    ]
    return table.drop(columns="network")


def rising_loss(history: pd.DataFrame, tolerance: float = 0.05) -> str:
    """`loss_rises` as one sentence-part: 'alpha = 1, seed 0: rises in epoch(s) 7 (by up to 0.25); ...'; a
    stable run 'falls or holds every epoch'."""
    table = loss_rises(history, tolerance)
    if table.empty:
        return "no runs yet"
    return "; ".join(
        f"{r.run}: "
        + (
            f"rises in epoch(s) {', '.join(map(str, r.rises))} (by up to {r.largest:.2f})"
            if r.rises
            else "falls or holds every epoch"
        )
        for r in table.itertuples()
    )


REFERENCE = "paper"  # the recipe study's reference runs: the paper's own recipe, not a candidate for `full`


def recipe_candidates(recipe: pd.DataFrame) -> pd.DataFrame:
    """The runs of a recipe study that compete for the `full` profile: all but the paper-recipe reference."""
    return recipe[recipe.profile != REFERENCE] if not recipe.empty else recipe


def reference_progress(skipped) -> str | None:
    """How far an unfinished reference run has trained, from the folders `load_results` skipped (its
    `Results.skipped`): epochs done of the planned and the best validation accuracy so far, or None where no
    reference run is under way."""
    from .errors import RunFolderError
    from .runfolder import HISTORY, read_record

    for folder, _ in skipped:
        folder = Path(folder)
        try:
            config = read_record(folder)["config"]
            best_val = pd.read_csv(folder / HISTORY)["val_acc"]
        except (OSError, ValueError, KeyError, RunFolderError):  # damaged, or no finished epoch yet
            continue
        if config["profile"] != REFERENCE or config["alpha"] != 0 or best_val.empty:
            continue
        return (
            f"{folder.name} is still training: {len(best_val)} of its {config['epochs']} epochs done, "
            f"{100 * best_val.max():.1f}% best validation accuracy so far; no test figure until "
            f"it finishes (resume it with bash scripts/recipe-study.sh {folder.name})"
        )
    return None


def reference_gap(
    recipe: pd.DataFrame,
    chosen: str | None,
    estimate: str | None = None,
    skipped=(),
    history: pd.DataFrame | None = None,
) -> str:
    """The recipe study's reference run (the paper's recipe, alpha = 0) against the chosen recipe's alpha = 0
    run (its `recipe` key): what each reached on the test set and the gap; where it has not finished, how far
    it has trained (from the study's `skipped` folders), or that it is not trained yet (with `estimate`, what it
    would cost, where given). Given the study's `history` (`load_histories` rows), the recorded time is told per
    device that trained it, with its epochs."""
    ref = recipe[(recipe.profile == REFERENCE) & (recipe.alpha == 0)] if not recipe.empty else recipe
    if ref.empty:
        cost = f", {estimate}" if estimate else ""
        return reference_progress(skipped) or f"not trained yet (bash scripts/recipe-study.sh paper-e200{cost})"
    r = ref.iloc[0]
    # recorded time: every epoch's wall time, on whichever machines and precisions ('bfloat16+fp32') trained it
    rows = history[history.path == r.path] if history is not None and not history.empty else None
    if rows is None or rows.empty or "device" not in rows:
        spent = f"{_duration(r.train_seconds)} of recorded training in {r.amp}"
    else:
        spent = f"in {r.amp}: " + "; ".join(
            f"epochs {first}-{last} on {device}, {_duration(seconds)}"
            for first, last, device, seconds in device_stretches(rows)
        )
    text = f"{Path(r.path).name} ({r.epochs} epochs, {spent}) reached {100 * r.test_acc:.1f}% test accuracy"
    mine = recipe[(recipe.recipe == chosen) & (recipe.alpha == 0)] if chosen is not None else ref.iloc[:0]
    if mine.empty:
        return text
    m = mine.iloc[0]
    gap = 100 * (r.test_acc - m.test_acc)
    return (
        f"{text}, {abs(gap):.1f} points {'more' if gap >= 0 else 'less'} than {Path(m.path).name} "
        f"({100 * m.test_acc:.1f}% in {m.epochs} epochs)"
    )


def _duration(seconds: float) -> str:
    """'3.6 hours', or '5.5 minutes' under two hours."""
    return f"{seconds / 3600:.1f} hours" if seconds >= 7200 else f"{seconds / 60:.1f} minutes"


def chance_runs(runs: pd.DataFrame, history: pd.DataFrame, margin: float = 0.02) -> list[tuple]:
    """(run, chance, first epoch at chance, last history row) for each run of a `runs` table (with its
    `load_histories` rows) whose training accuracy fell to chance (within `margin` of 1 / classes) and stayed
    there to the last epoch."""
    from .runfolder import read_record

    found = []
    for run in runs.sort_values(["alpha", "seed"]).itertuples():
        h = history[history.path == run.path].sort_values("epoch")
        if h.empty:
            continue
        chance = 1 / read_record(Path(run.path))["data"]["num_classes"]
        low = h.train_acc <= chance + margin
        if low.iloc[-1]:
            since = int(h.epoch[~low].max()) + 1 if (~low).any() else int(h.epoch.min())
            found.append((run, chance, since, h.iloc[-1]))
    return found


def at_chance(runs: pd.DataFrame, history: pd.DataFrame, margin: float = 0.02) -> str:
    """The runs (a `runs` table, with their `load_histories` rows) whose training accuracy fell to chance (within
    `margin` of 1 / classes) and stayed there to the last epoch: from which epoch, and which epoch their test
    figures come from (the best by validation). 'none' if no run did."""
    parts = [
        f"alpha = {run.alpha:g}, seed {run.seed}: training accuracy at chance ({100 * chance:.0f}%) from epoch "
        f"{since} to the last; its test figures come from epoch {run.best_epoch}, the best by validation"
        for run, chance, since, _ in chance_runs(runs, history, margin)
    ]
    return "; ".join(parts) or "none"


def convergence(runs: pd.DataFrame, history: pd.DataFrame) -> str:
    """How far each run (a `runs` table, with its `load_histories` rows) got towards convergence: its best
    validation accuracy and at which epoch, its last training accuracy, what validation accuracy gained over
    the last quarter of the epochs, and its minutes of training. 'none run yet' without runs."""
    parts = []
    for run in runs.sort_values(["model", "alpha", "seed"]).itertuples():
        h = history[history.path == run.path].sort_values("epoch")
        if h.empty:
            continue
        tail = max(1, len(h) // 4)
        gain = 100 * (h.val_acc.iloc[-1] - h.val_acc.iloc[-1 - tail]) if len(h) > tail else float("nan")
        parts.append(
            f"{arch_label(run.model, run.activation, run.slope)} alpha = {run.alpha:g}, seed {run.seed}: "
            f"best validation accuracy {100 * run.best_val_acc:.1f}% (epoch {run.best_epoch} of {len(h)}), "
            f"training accuracy {100 * h.train_acc.iloc[-1]:.1f}% in the last epoch, validation accuracy "
            f"{gain:+.1f} points over the last {tail} epochs, {run.train_seconds / 60:.0f} minutes "
            "of training"
        )
    return "; ".join(parts) or "none run yet"


def rate_check(
    vgg: pd.DataFrame,
    resnet: pd.DataFrame,
    history: pd.DataFrame | None = None,
    margin: float = 5.0,
    budget_minutes: float = 45.0,
) -> str:
    """Whether VGG16's alpha = 0 runs (a `runs` table) show its learning rate failing to converge in the
    profile's budget, judged against ResNet20's alpha = 0 runs of the same profile: it fails if VGG16's mean
    best validation accuracy falls more than `margin` points below ResNet20's. Also says whether each VGG16 run
    kept within `budget_minutes` of training: its epochs times its median epoch, given its `history` rows (other
    work slowing a few epochs does not move that), else its recorded minutes."""
    if vgg.empty or resnet.empty:
        return "not judged yet: it needs VGG16 and ResNet20 runs at alpha = 0"
    v, r = 100 * vgg.best_val_acc.mean(), 100 * resnet.best_val_acc.mean()
    gap = r - v
    typical = typical_minutes(vgg, history) if history is not None else np.full(len(vgg), np.nan)
    if np.isfinite(typical).all():
        minutes, kind = float(typical.max()), "epochs times median epoch"
    else:  # some run without its history: the recorded minutes, an upper bound
        minutes, kind = vgg.train_seconds.max() / 60, "as recorded"
    seeds = f"{len(vgg)} VGG16 run{'s' if len(vgg) != 1 else ''} against {len(resnet)} of ResNet20"
    time = (
        f"within the {budget_minutes:g}-minute budget (the longest run: {minutes:.0f} minutes, {kind})"
        if minutes <= budget_minutes
        else f"the longest run took {minutes:.0f} minutes ({kind}), over the {budget_minutes:g}-minute budget"
    )
    if gap > margin:
        return (
            f"VGG16's mean best validation accuracy, {v:.1f}%, is {gap:.1f} points below ResNet20's {r:.1f}% "
            f"({seeds}), more than the {margin:g} points the rule allows, so this rate may not converge in the "
            f"budget and a higher one deserves a try; {time}"
        )
    side = "below" if gap >= 0 else "above"
    return (
        f"VGG16's mean best validation accuracy, {v:.1f}%, is {abs(gap):.1f} points {side} ResNet20's {r:.1f}% "
        f"({seeds}), within the {margin:g} points the rule allows, so the profile keeps this rate; {time}"
    )


def knob_order(history: pd.DataFrame, level: float = 0.9) -> str:
    """Whether the minibatch selectivity term orders one network's runs by alpha during training (their
    `load_histories` rows): per epoch, Spearman rho between alpha and the term's mean over seeds, at the first
    and last epoch, and the epochs where it falls below `level`."""
    from scipy import stats as sps

    means = history.groupby(["epoch", "alpha"]).train_mu_si.mean().unstack()
    if means.shape[1] < 3:
        return "too few alphas yet"
    rho = means.apply(lambda row: sps.spearmanr(row.index, row.to_numpy(), nan_policy="omit").statistic, axis=1)
    text = (
        f"over the {means.shape[1]} alphas, Spearman rho between alpha and the term is {rho.iloc[0]:.2f} "
        f"after epoch {rho.index[0]} and {rho.iloc[-1]:.2f} after epoch {rho.index[-1]}"
    )
    low = rho.index[rho < level]
    return text + (f"; it is below {level:g} from epoch {low[0]}" if len(low) else "")


def recipe_ranking(recipe: pd.DataFrame, rises: pd.DataFrame, chosen: str | None) -> str:
    """How a recipe study's alpha = 0 ranking (by best validation accuracy) leads to the chosen recipe (its
    `recipe` key): its rank, and for each recipe ranked above it, its validation accuracy, epochs and what its
    runs at alpha != 0 (`loss_rises` rows) showed. Computed, so the chapter states only what the runs say."""
    recipe = recipe_candidates(recipe)
    at_zero = recipe[recipe.alpha == 0].sort_values("best_val_acc", ascending=False).reset_index(drop=True)
    if chosen is None or chosen not in set(at_zero.recipe):
        return "a recipe that has no alpha = 0 run in the study"
    rank = int(at_zero.index[at_zero.recipe == chosen][0])
    top = at_zero.iloc[rank]
    parts = []
    for r in at_zero.iloc[:rank].itertuples():
        checks = rises[rises.path.isin(recipe.path[(recipe.recipe == r.recipe) & (recipe.alpha != 0)])]
        rose = [
            f"at alpha = {c.alpha:g} in epoch(s) {', '.join(map(str, c.rises))}" for c in checks.itertuples() if c.rises
        ]
        if rose:
            what = "its cross-entropy rose " + " and ".join(rose)
        elif len(checks):
            what = f"no rise at alpha = {', '.join(f'{a:g}' for a in checks.alpha)}"
        else:
            what = f"not checked at alpha != 0; {r.epochs} epochs against {top.epochs}"
        parts.append(f"{Path(r.path).name} ({100 * (r.best_val_acc - top.best_val_acc):+.1f} points; {what})")
    ranked = f"{Path(top.path).name}, ranked {rank + 1} of {len(at_zero)} by validation accuracy"
    return ranked + (": above it, " + "; ".join(parts) if parts else "")


def training_length_note(runs: pd.DataFrame, reference: Path, last: int = 3) -> str:
    """How far the shown runs (one network's `runs` table) are from converged, in numbers: the rise of the
    strongest penalty's validation accuracy over its last `last` epochs, and alpha = 0's test accuracy against
    the 200-epoch reference run at `reference` (the paper's recipe) where that run is complete."""
    if runs.empty or not (runs.alpha < 0).any():
        return "no penalized runs to judge it by yet"
    strongest = runs[runs.alpha == runs.alpha.min()]
    curves = [h.sort_values("epoch").val_acc.to_numpy() for _, h in load_histories(strongest).groupby("path")]
    rise = 100 * np.mean([v[-1] - v[-1 - last] for v in curves if len(v) > last] or [np.nan])
    epochs = int(strongest.epochs.iloc[0])
    parts = [
        f"at alpha = {strongest.alpha.iloc[0]:g} the validation accuracy still rose {rise:.1f} points over the last "
        f"{last} of its {epochs} epochs (mean of {strongest.seed.nunique()} seeds)"
    ]
    base = runs[runs.alpha == 0]
    if (reference / "metrics.json").is_file() and not base.empty:
        ref = load_results(reference).runs
        if not ref.empty:
            gap = 100 * (ref.test_acc.iloc[0] - base.test_acc.mean())
            parts.append(
                f"and at alpha = 0 these {epochs}-epoch runs reach {100 * base.test_acc.mean():.1f}% against "
                f"{100 * ref.test_acc.iloc[0]:.1f}% for the {int(ref.epochs.iloc[0])}-epoch run with the paper's "
                f"recipe ({gap:.1f} points)"
            )
    return ", ".join(parts)
