"""The paper's claims, each checked against this book's runs by a rule stated in words beside it.

`scorecard(results, cca)` returns one row per claim: the claim (as the paper states it), the paper's figure,
the book's figure, the rule, a verdict computed from the runs, and the evidence in numbers. Verdicts:
`agrees`, `partly`, `disagrees`, or `not run yet` when the runs a rule needs are missing. No verdict is
typed by hand; a rule that needs seeds to test something says so and falls back to means only where it says.

Accuracy differences are in percentage points. "Lower than alpha = 0" means a one-sided Welch t-test at
p < 0.05 where both groups have at least 2 runs, and a mean at least 1 point lower where they do not. "No
loss" also needs the mean less than 1 point lower (a test of a few seeds misses a loss of that size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .cca_stats import cca_ratio_table, ratio_above_one
from .results import network, seeds_per_alpha

AGREES, PARTLY, DISAGREES, NOT_RUN = "agrees", "partly", "disagrees", "not run yet"


@dataclass
class Claim:
    key: str
    claim: str  # the paper's claim, in this book's words
    paper_figure: str
    book_figure: str  # key of plots.FIGURES
    chapter: str
    rule: str
    check: Callable[[pd.DataFrame, pd.DataFrame], tuple[str, str]]  # (runs, cca) -> (verdict, evidence)


def _means(runs: pd.DataFrame, value: str) -> pd.Series:
    return runs.groupby("alpha")[value].mean().sort_index()


def _lower_by(a: pd.Series, b: pd.Series, points: float = 1.0) -> tuple[bool, str]:
    """Whether accuracies `a` are lower than `b` (the module's rule), and by what: 'one-sided Welch p = 0.061'
    or, with a side of one seed, 'one seed: means compared'."""
    if len(a) >= 2 and len(b) >= 2:
        p = sps.ttest_ind(a, b, equal_var=False, alternative="less").pvalue
        return bool(p < 0.05), f"one-sided Welch p = {p:.2g}"
    return bool(100 * (b.mean() - a.mean()) >= points), f"one seed: lower if {points:g}+ points below"


def _lower(a: pd.Series, b: pd.Series, points: float = 1.0) -> bool:
    """Whether accuracies `a` are lower than `b` (the module's rule)."""
    return _lower_by(a, b, points)[0]


def _no_loss(a: pd.Series, b: pd.Series, points: float = 1.0) -> bool:
    """Whether accuracies `a` show no loss against `b`: not lower by the module's rule, and on average less
    than `points` below, since a test of 2 or 3 seeds cannot see a loss of a point or two."""
    return not _lower(a, b, points) and 100 * (b.mean() - a.mean()) < points


def _by_alpha(m: pd.Series) -> str:
    """'0: 0.202, 0.1: 0.240' for a series of means indexed by alpha."""
    return ", ".join(f"{a:g}: {v:.3f}" for a, v in m.items())


def _rises_with_alpha(runs: pd.DataFrame) -> tuple[str, str]:
    """Mean SI over alpha: agrees if it rises strictly with alpha, partly if Spearman rho >= 0.8."""
    m = _means(runs, "si_unit_mean")
    evidence = f"mean SI by alpha: {_by_alpha(m)} ({seeds_per_alpha(runs)})"
    if (np.diff(m.values) > 0).all():
        return AGREES, evidence
    rho = sps.spearmanr(m.index, m.values).statistic
    return (PARTLY if rho >= 0.8 else DISAGREES), f"{evidence}; Spearman rho {rho:.2f}"


def _monotone_down(runs, cca):
    r = network(runs)
    neg = r[r.alpha <= 0]
    if neg.alpha.nunique() < 3 or 0.0 not in set(neg.alpha):
        return NOT_RUN, f"alphas <= 0 run so far: {sorted(neg.alpha.unique()) if len(neg) else 'none'}"
    return _rises_with_alpha(neg)


def _free_reduction(runs, cca):
    r = network(runs)
    base = r[r.alpha == 0]
    neg = r[r.alpha < 0]
    if base.empty or neg.empty:
        return NOT_RUN, "needs alpha = 0 and alpha < 0 runs"
    free = [a for a, g in neg.groupby("alpha") if _no_loss(g.test_acc, base.test_acc)]
    if not free:
        return DISAGREES, "every alpha < 0 run so far costs accuracy"
    factor = {a: base.si_unit_mean.mean() / neg[neg.alpha == a].si_unit_mean.mean() for a in free}
    best = max(factor, key=factor.get)
    evidence = (
        f"largest cut without an accuracy loss: {factor[best]:.1f}x at alpha = {best:g} "
        f"(accuracy {100 * neg[neg.alpha == best].test_acc.mean():.1f}% vs {100 * base.test_acc.mean():.1f}%"
        f" at alpha = 0; {seeds_per_alpha(r)})"
    )
    if factor[best] >= 2.0:
        return AGREES, evidence
    return (PARTLY if factor[best] >= 1.5 else DISAGREES), evidence


def _near_zero_cost(runs, cca):
    r = network(runs)
    base = r[r.alpha == 0]
    m = _means(r[r.alpha < 0], "si_unit_mean") if not r.empty else pd.Series(dtype=float)
    low = m[m < 0.05]
    if base.empty or low.empty:
        return NOT_RUN, "needs an alpha < 0 whose mean SI is below 0.05, and alpha = 0"
    a = low.index.max()  # the mildest alpha that gets there
    drop = 100 * (base.test_acc.mean() - r[r.alpha == a].test_acc.mean())
    side = "below" if drop >= 0 else "above"
    evidence = f"at alpha = {a:g} (mean SI {low[a]:.3f}) accuracy is {abs(drop):.1f} points {side} alpha = 0"
    if abs(drop) <= 4:
        return AGREES, evidence
    return (PARTLY if abs(drop) <= 8 else DISAGREES), evidence


def _cca_ratio(runs, cca):
    d = network(cca)
    table = cca_ratio_table(d) if not d.empty else pd.DataFrame()
    if table.empty:
        return NOT_RUN, "needs CCA distances (analyse) with 2+ seeds at alpha = 0 and another alpha"
    testable = table.p_min < 0.05  # enough seeds for the permutation test to reach p < 0.05
    above = ratio_above_one(table)

    floored = ~testable & np.isfinite(table.p)  # a p-value that cannot decide at these seeds
    floors = set(table.p_min[floored])
    shared = len(floors) == 1 and floored[np.isfinite(table.p)].all()  # one floor for all: say it once

    def note(r, low):
        if not np.isfinite(r.p):
            return "untested"
        return (
            f"p = {r.p:.2g}, which cannot go below {r.p_min:.2g} at these seeds"
            if low and not shared
            else f"p = {r.p:.2g}"
        )

    rows = zip(table.itertuples(), floored, strict=True)
    evidence = "; ".join(f"alpha {r.alpha:g}: {r.ratio:.3f} ({note(r, low)})" for r, low in rows)
    if shared:
        evidence += f"; no p can go below {floors.pop():.2g} at these seeds"
    rho = sps.spearmanr(table.alpha.abs(), table.ratio).statistic if len(table) > 2 else np.nan
    evidence += f"; Spearman rho of ratio with |alpha| {rho:.2f}" if np.isfinite(rho) else ""
    if above.all() and (not np.isfinite(rho) or rho > 0):
        return AGREES, evidence
    return (PARTLY if above.mean() >= 0.5 else DISAGREES), evidence


def _promote_raises(runs, cca):
    r = network(runs)
    pos = r[r.alpha >= 0]
    if pos.alpha.nunique() < 3 or 0.0 not in set(pos.alpha):
        return NOT_RUN, "needs alpha = 0 and 2+ alphas > 0"
    m, alive = _means(pos, "si_unit_mean"), _means(pos, "si_unit_mean_alive").dropna()
    above = bool((m.drop(0.0) > m[0.0]).all())
    rho = sps.spearmanr(alive.index, alive.values).statistic if len(alive) > 2 else np.nan
    evidence = (
        f"mean SI by alpha: {_by_alpha(m)} ({seeds_per_alpha(pos)}); "
        f"dead units left out: {_by_alpha(alive)}, Spearman rho with alpha "
        f"{rho:.2f}"
    )
    consistent = bool(rho >= 0.8)
    return (AGREES if above and consistent else PARTLY if above or consistent else DISAGREES), evidence


def _promote_hurts_early(runs, cca):
    r = network(runs)
    base = r[r.alpha == 0]
    small = r[(r.alpha > 0) & (r.alpha <= 0.5)]
    if base.empty or small.empty:
        return NOT_RUN, "needs alpha = 0 and an alpha in (0, 0.5]"
    tests = {a: _lower_by(g.test_acc, base.test_acc) for a, g in small.groupby("alpha")}
    hurt = {a: lower for a, (lower, _) in tests.items()}
    evidence = ", ".join(
        f"alpha {a:g}: {100 * (small[small.alpha == a].test_acc.mean() - base.test_acc.mean()):+.1f} points "
        f"({'lower, ' if lower else ''}{how})"
        for a, (lower, how) in tests.items()
    )
    first = min((a for a, h in hurt.items() if h), default=None)
    if first is not None and first <= 0.3:
        return AGREES, evidence
    return (PARTLY if first is not None else DISAGREES), evidence


def _collapse(runs, cca):
    r = network(runs)
    targets = {2.0: 60.0, 5.0: 30.0}  # the paper's approximate test accuracies (%)
    have = {a: 100 * r[r.alpha == a].test_acc.mean() for a in targets if (r.alpha == a).any()}
    if not have:
        return NOT_RUN, "needs runs at alpha = 2 and 5"
    evidence = ", ".join(f"alpha {a:g}: {v:.1f}% (paper ~{targets[a]:.0f}%)" for a, v in have.items())
    close = [abs(v - targets[a]) <= 10 for a, v in have.items()]
    if all(close) and len(have) == 2:
        return AGREES, evidence
    return (PARTLY if any(close) else DISAGREES), evidence


def _asymmetry(runs, cca):
    r = network(runs)
    mags = sorted(set(-r.alpha[r.alpha < 0]) & set(r.alpha[r.alpha > 0])) if not r.empty else []
    if not mags:
        return NOT_RUN, "needs runs at alpha = -a and +a"
    acc = _means(r, "test_acc")
    worse = {m: acc[m] < acc[-m] for m in mags}
    evidence = ", ".join(f"|alpha| {m:g}: {100 * acc[-m]:.1f}% (-) vs {100 * acc[m]:.1f}% (+)" for m in mags)
    share = np.mean(list(worse.values()))
    return (AGREES if share == 1 else PARTLY if share >= 0.5 else DISAGREES), evidence


def _dead_units(runs, cca):
    r = network(runs)
    pos = r[r.alpha >= 0]
    if pos.alpha.nunique() < 2 or 0.0 not in set(pos.alpha):
        return NOT_RUN, "needs alpha = 0 and alpha > 0 runs"
    m = _means(pos, "dead_fraction")
    evidence = f"dead fraction by alpha: {', '.join(f'{a:g}: {100 * v:.1f}%' for a, v in m.items())}"
    rise = m.iloc[-1] - m.iloc[0]
    if rise >= 0.01 and (np.diff(m.values) >= 0).all():
        return AGREES, evidence
    return (PARTLY if rise >= 0.01 else DISAGREES), evidence


def leaky_losses(runs: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy lost from alpha = 0, in points, by ReLU and by leaky-ReLU ResNet20 at each alpha >= 1 that
    both have run, and whether leaky ReLU rescued it (lost under half of what ReLU lost); seed means."""
    relu, leaky = network(runs), network(runs, activation="leaky_relu")
    columns = ["alpha", "relu_loss", "leaky_loss", "rescued"]
    if leaky.empty or not (leaky.alpha == 0).any() or not (relu.alpha == 0).any():
        return pd.DataFrame(columns=columns)
    rows = []
    for a in sorted(x for x in set(relu.alpha) & set(leaky.alpha) if x >= 1):
        d_relu = 100 * (relu[relu.alpha == 0].test_acc.mean() - relu[relu.alpha == a].test_acc.mean())
        d_leaky = 100 * (leaky[leaky.alpha == 0].test_acc.mean() - leaky[leaky.alpha == a].test_acc.mean())
        rows.append((a, d_relu, d_leaky, bool(d_relu > 0 and d_leaky < 0.5 * d_relu)))
    return pd.DataFrame(rows, columns=columns)


def _leaky(runs, cca):
    losses = leaky_losses(runs)
    if losses.empty:
        return NOT_RUN, "needs ReLU and leaky-ReLU runs at alpha = 0 and at an alpha >= 1"
    parts = [
        f"alpha {r.alpha:g}: loss {r.relu_loss:.1f} points with ReLU, {r.leaky_loss:.1f} with leaky ReLU"
        for r in losses.itertuples()
    ]
    share = losses.rescued.mean()
    return (AGREES if share == 0 else PARTLY if share < 1 else DISAGREES), "; ".join(parts) + f" ({leaky_seeds(runs)})"


def leaky_seeds(runs: pd.DataFrame) -> str:
    """'ReLU 3 seeds per alpha, leaky ReLU 1 seed per alpha': the seeds behind `leaky_losses`."""
    used = [0, *leaky_losses(runs).alpha]
    relu, leaky = network(runs), network(runs, activation="leaky_relu")
    return (
        f"ReLU {seeds_per_alpha(relu[relu.alpha.isin(used)])}, "
        f"leaky ReLU {seeds_per_alpha(leaky[leaky.alpha.isin(used)])}"
    )


def _vgg(runs, cca):
    res, vgg = network(runs), network(runs, model="vgg16")
    if vgg.empty or not (vgg.alpha == 0).any() or not (res.alpha == 0).any():
        return NOT_RUN, "needs VGG16 and ResNet20 runs at alpha = 0"
    higher = vgg[vgg.alpha == 0].si_unit_mean.mean() > res[res.alpha == 0].si_unit_mean.mean()
    neg = vgg[vgg.alpha < 0]
    falls = (not neg.empty) and neg.si_unit_mean.mean() < vgg[vgg.alpha == 0].si_unit_mean.mean()
    used = [0.0, *neg.alpha.unique()]  # the alphas the rule reads: ResNet20 at 0, VGG16 at 0 and below
    evidence = (
        f"mean SI at alpha = 0: VGG16 {vgg[vgg.alpha == 0].si_unit_mean.mean():.3f}, ResNet20 "
        f"{res[res.alpha == 0].si_unit_mean.mean():.3f}; VGG16 SI falls for alpha < 0: "
        f"{'yes' if falls else 'no' if not neg.empty else 'not run'} (VGG16 "
        f"{seeds_per_alpha(vgg[vgg.alpha.isin(used)])}, ResNet20 {seeds_per_alpha(res[res.alpha == 0])} "
        "at alpha = 0)"
    )
    return (AGREES if higher and falls else PARTLY if higher or falls else DISAGREES), evidence


def _precision(runs, cca):
    r = network(runs)
    m = r.groupby("alpha")[["si_unit_mean", "precision_unit_mean"]].mean()
    down, up = m[m.index <= 0], m[m.index > 0]
    if len(down) < 3 or 0 not in m.index or up.empty:
        return NOT_RUN, "needs 3+ alphas <= 0 (alpha = 0 among them) and an alpha > 0"
    rho = sps.spearmanr(down.si_unit_mean, down.precision_unit_mean).statistic
    a = up.index.min()
    rises = m.precision_unit_mean[a] > m.precision_unit_mean[0]
    evidence = (
        f"alphas <= 0: Spearman rho of mean precision with mean SI {rho:.2f} ({len(down)} alphas); alpha {a:g}: "
        f"mean precision {m.precision_unit_mean[a]:.3f} against {m.precision_unit_mean[0]:.3f} at alpha = 0"
    )
    if len(up) > 1:  # what the rule leaves out, stated: the paper finds the larger alphas inconsistent
        top = up.precision_unit_mean.idxmax()
        evidence += f"; above 0 the mean is highest at alpha {top:g} ({up.precision_unit_mean[top]:.3f}), " + (
            f"{up.precision_unit_mean.iloc[-1]:.3f} at alpha {up.index[-1]:g}"
        )
    consistent = rho >= 0.8
    return (AGREES if consistent and rises else PARTLY if consistent or rises else DISAGREES), evidence


CLAIMS = [
    Claim(
        "monotone",
        "Penalizing selectivity (alpha < 0) lowers it, more so the more negative alpha is.",
        "1b",
        "1b",
        "reducing",
        "agrees if mean SI rises strictly with alpha over the alphas <= 0 run; partly if "
        "Spearman rho >= 0.8; disagrees otherwise.",
        _monotone_down,
    ),
    Claim(
        "free",
        "Selectivity can be cut about 2.5-fold with no loss of test accuracy.",
        "1b, 2a",
        "2c",
        "reducing",
        "among alphas < 0 whose accuracy is not lower than at alpha = 0 and, on average, less than 1 point "
        "below it (a test of a few seeds misses losses of that size), the largest ratio of mean SI at 0 to mean "
        "SI there: agrees if >= 2, partly if >= 1.5.",
        _free_reduction,
    ),
    Claim(
        "near-zero",
        "Selectivity near zero costs only about 2 points of accuracy.",
        "2a",
        "2a",
        "reducing",
        "at the mildest alpha < 0 with mean SI below 0.05: agrees if accuracy is within 4 points of alpha = 0, "
        "partly within 8.",
        _near_zero_cost,
    ),
    Claim(
        "cca",
        "Regularized networks are further from unregularized ones than replicates are (CCA distance "
        "ratio > 1), increasingly with |alpha|.",
        "3b",
        "3b",
        "cca",
        "agrees if the ratio is above 1 at every alpha with one and grows with |alpha| (Spearman rho > 0 over 3+ "
        "alphas); partly if it is above 1 at half of them or more. Above 1 means p < 0.05 in the one-sided "
        "permutation test over networks where the seeds allow that (from 5 or 6 seeds at both alphas), and a ratio "
        "over 1 where they do not.",
        _cca_ratio,
    ),
    Claim(
        "raises",
        "Promoting selectivity (alpha > 0) raises it, less consistently at large alpha, where units die; leaving the "
        "dead units out makes the relation consistent.",
        "A1b, A9b",
        "A1b",
        "increasing",
        "agrees if mean SI is above alpha = 0's at every alpha > 0 run and, with dead units left out, rises with "
        "alpha (Spearman rho >= 0.8 over the alphas >= 0); partly if one of the two.",
        _promote_raises,
    ),
    Claim(
        "hurts-early",
        "Promoting selectivity costs accuracy from alpha of about 0.2 on.",
        "4a",
        "4a",
        "increasing",
        "agrees if accuracy is lower than at alpha = 0 at some alpha <= 0.3; partly if only at alphas in (0.3, 0.5].",
        _promote_hurts_early,
    ),
    Claim(
        "collapse",
        "Accuracy falls to about 60% at alpha = 2 and about 30% at alpha = 5.",
        "4a",
        "4a",
        "increasing",
        "agrees if the mean test accuracy is within 10 points of both; partly if of one.",
        _collapse,
    ),
    Claim(
        "asymmetry",
        "Promoting selectivity hurts more than penalizing it by the same |alpha|.",
        "5a",
        "5a",
        "increasing",
        "agrees if accuracy at +a is below accuracy at -a for every |alpha| run with both signs; "
        "partly for at least half.",
        _asymmetry,
    ),
    Claim(
        "dead",
        "Dead units become more common as alpha > 0 grows.",
        "A9a",
        "A9a",
        "dead_units",
        "agrees if the dead fraction never falls with alpha >= 0 and rises by 1 point or more; partly if it "
        "rises by 1 point or more.",
        _dead_units,
    ),
    Claim(
        "leaky",
        "Leaky ReLUs, which cannot die, do not rescue the accuracy lost at alpha > 0.",
        "A10a",
        "A10a",
        "dead_units",
        "at each alpha >= 1 with both: rescued if the leaky-ReLU loss is under half the "
        "ReLU loss; agrees if no alpha is rescued, disagrees if all are.",
        _leaky,
    ),
    Claim(
        "vgg",
        "VGG16 behaves the same way, from a higher selectivity baseline.",
        "A2b, A12b",
        "A12b",
        "resnet_vs_vgg",
        "agrees if VGG16's mean SI at alpha = 0 is above ResNet20's and falls for alpha < 0; partly if one of the two.",
        _vgg,
    ),
    Claim(
        "precision",
        "A second selectivity metric, precision, falls consistently when selectivity is penalized, and rises when "
        "it is promoted at small alpha, less consistently at larger alpha.",
        "A7b, A8b",
        "A7b",
        "precision",
        "agrees if mean precision follows mean SI over the alphas <= 0 (Spearman rho >= 0.8) and is higher at the "
        "smallest alpha > 0 run than at alpha = 0; partly if one of the two. Larger alphas > 0, where the paper "
        "finds precision inconsistent, are shown but not scored.",
        _precision,
    ),
]


def scorecard(runs: pd.DataFrame, cca: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: key, claim, paper figure, book figure, chapter, rule, verdict, evidence."""
    rows = []
    for c in CLAIMS:
        verdict, evidence = c.check(runs, cca if cca is not None else pd.DataFrame())
        rows.append(
            {
                "key": c.key,
                "claim": c.claim,
                "paper figure": c.paper_figure,
                "book figure": c.book_figure,
                "chapter": c.chapter,
                "rule": c.rule,
                "verdict": verdict,
                "evidence": evidence,
            }
        )
    return pd.DataFrame(rows)
