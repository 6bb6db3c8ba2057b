"""Sentences the chapters glue into their text, computed from the runs: intervals, comparisons between
alphas or recipes, seed noise, and the paper-recipe costs. Each returns a string for `pages.glue`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .pages import runs_root
from .results import (
    load_results,
    network,
)


def mean_ci(runs: pd.DataFrame, value: str, alpha: float | None = None, scale: float = 1.0, digits: int = 3) -> str:
    """'0.229 (95% t-interval 0.221–0.237, n = 3)' for `value` over the runs at `alpha` (an interval cut at
    the value's possible range says so: '(95% t-interval 0.0–46.7, cut at 0, n = 3)'); below
    `stats.MIN_INTERVAL_N` runs, their values instead ('0.229 (n = 2: 0.221 and 0.237, no interval)'); or a
    note that none exist."""
    from .stats import INTERVAL, MIN_INTERVAL_N, t_interval, value_bounds

    sel = runs if (alpha is None or runs.empty) else runs[runs.alpha == alpha]
    if sel.empty:
        return "(no runs yet)"
    if len(sel) == 1:  # one run has no spread
        return f"{scale * sel[value].iloc[0]:.{digits}f} (n = 1, no interval)"
    if len(sel) < MIN_INTERVAL_N:
        values = " and ".join(f"{scale * v:.{digits}f}" for v in sel[value])
        return f"{scale * sel[value].mean():.{digits}f} (n = {len(sel)}: {values}, no interval)"
    bounds = value_bounds(value)
    lo, hi = t_interval(sel[value], bounds=bounds)
    mean = sel[value].mean()  # an end at a bound the mean is not on was cut there (the mean on it: no spread)
    ends = zip(bounds, (lo, hi), strict=True) if bounds else ()
    cut = [f"cut at {scale * b:g}" for b, end in ends if end == b != mean]
    # an interval whose ends round to one number reads as no spread: print more digits until they differ
    while digits < 6 and f"{scale * lo:.{digits}f}" == f"{scale * hi:.{digits}f}" and hi > lo:
        digits += 1
    return (
        f"{scale * mean:.{digits}f} ({INTERVAL} {scale * lo:.{digits}f}–{scale * hi:.{digits}f}, "
        + "".join(f"{c}, " for c in cut)
        + f"n = {len(sel)})"
    )


def numerics(run) -> str:
    """How a run computed, from one row of the runs table: 'bf16, channels-last, compiled' (a run that
    resumed under other settings: each, in order, e.g. 'compiled+eager')."""

    def label(value, yes: str, no: str) -> str:
        values = value.split("+") if isinstance(value, str) else [value]
        return "+".join(yes if v in (True, "True") else no for v in values)

    layout = label(run["channels_last"], "channels-last", "NCHW")
    return f"{run['amp']}, {layout}, {label(run['compiled'], 'compiled', 'eager')}"


FP32_CHECK = "parity-fp32-full"
"""The runs folder (under the runs root) of `full`-profile ResNet20 runs repeated in fp32 under the regularizer."""


def precision_check(fast: pd.DataFrame, alpha: float, fp32: pd.DataFrame | None = None) -> str:
    """Whether the fast path's arithmetic moves a result at `alpha`: the plain-ReLU ResNet20 fp32 run(s) of
    `fp32` (default: those under FP32_CHECK) against the `fast` runs of that network and profile at `alpha`, in
    test accuracy and mean SI. Each fp32 value is placed against the fast runs' seed range; with two or more fp32
    runs, an exact two-sided rank-sum test (`stats.ranksum`) with the smallest p its counts allow; with one, the
    chance that a run lands outside n runs' range if precision changes nothing (2/(n + 1) for exchangeable runs),
    since one run can flag a gross effect of precision but not test a small one. A run of `fp32` that did not
    train in fp32 throughout is left out, and the sentence says so."""
    from .stats import ranksum

    if fp32 is None:
        folder = runs_root() / FP32_CHECK
        fp32 = load_results(folder).runs if folder.is_dir() else pd.DataFrame()
    at = lambda runs: runs[runs.alpha == alpha] if not runs.empty else runs  # noqa: E731
    exact, quick = at(network(fp32)), at(network(fast))
    other = exact[exact.amp != "fp32"] if not exact.empty else exact
    exact = exact.drop(other.index)
    if exact.empty:
        left = f" ({len(other)} run(s) there did not train in fp32 and are left out)" if len(other) else ""
        return f"no fp32 run at alpha = {alpha:g} is complete yet{left}"
    quick = quick[quick.profile.isin(set(exact.profile))] if not quick.empty else quick  # like against like
    if quick.empty:
        return f"no {listed(sorted(set(exact.profile)))}-profile run at alpha = {alpha:g} to set the fp32 run against"
    k, n = len(exact), len(quick)
    parts = []
    for value, scale, digits, name in (("test_acc", 100, 1, "test accuracy (%)"), ("si_unit_mean", 1, 3, "mean SI")):
        lo, hi = scale * quick[value].min(), scale * quick[value].max()
        mine = [scale * v for v in exact[value]]
        where = ["inside" if lo <= v <= hi else ("below" if v < lo else "above") for v in mine]
        values = listed([f"{v:.{digits}f} ({w} their range)" for v, w in zip(mine, where, strict=True)])
        test = ""
        if k > 1:
            values += f", mean {sum(mine) / k:.{digits}f},"
            _, p, method, floor = ranksum(exact[value], quick[value])
            test = f" (two-sided {method} rank-sum p = {p:.2g}; the smallest {k} runs against {n} allow: {floor:.2g})"
        parts.append(
            f"{name} {values} against {mean_ci(quick, value, scale=scale, digits=digits)}, from {lo:.{digits}f} "
            f"to {hi:.{digits}f}{test}"
        )
    seeds = listed([str(s) for s in sorted(exact.seed)])
    left = f" ({len(other)} run(s) of the fp32 folder that did not train in fp32 left out)" if len(other) else ""
    chance = (  # one more run of the fast path's own arithmetic is equally likely at any rank among n + 1
        f". Were precision to change nothing, a run would still land outside {n} runs' range with probability "
        f"2/{n + 1} ({2 / (n + 1):.2f}; below it with 1/{n + 1}), so one run outside the range is not by itself "
        "evidence of a difference"
        if k == 1
        else ""
    )
    return (
        f"at alpha = {alpha:g}, the fp32 run{'s' if k > 1 else ''} (seed {seeds}; {numerics(exact.iloc[0])}) "
        f"against the {n} {quick.profile.iloc[0]} runs on the fast path "
        f"({listed(sorted({numerics(r) for _, r in quick.iterrows()}))}): " + "; ".join(parts) + left + chance
    )


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


def compare(a: pd.DataFrame, b: pd.DataFrame, value: str, names: tuple[str, str], words=("higher", "lower")) -> str:
    """A sentence-part comparing the mean of `value` in two sets of runs, computed from them: 'higher in A than
    in B (Welch t-test p = 0.01, n = 3 and 3)', 'not distinguishable ...' when p >= 0.05, or why no test is
    possible. Nothing is asserted that the data do not show."""
    from scipy import stats as sps

    x, y = a[value].dropna(), b[value].dropna()
    if len(x) == 0 or len(y) == 0:
        return f"not comparable yet (runs: {len(x)} of {names[0]}, {len(y)} of {names[1]})"
    direction = words[0] if x.mean() > y.mean() else words[1]
    if len(x) < 2 or len(y) < 2:
        return f"{direction} in {names[0]} than in {names[1]} on average, untested (n = {len(x)} and {len(y)})"
    p = sps.ttest_ind(x, y, equal_var=False).pvalue
    if p >= 0.05:
        return (
            f"not distinguishable between {names[0]} and {names[1]} (Welch t-test p = {p:.2g}, "
            f"n = {len(x)} and {len(y)})"
        )
    return f"{direction} in {names[0]} than in {names[1]} (Welch t-test p = {p:.2g}, n = {len(x)} and {len(y)})"


def paired_runs(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> str:
    """Runs of two recipes matched by alpha and seed (two `runs` tables of one network): for each run of `a`
    with a partner in `b`, both test accuracies and the gap in points; single runs, so no test."""
    if a.empty or b.empty:
        return "no pair yet"
    pairs = a.merge(b, on=["alpha", "seed"], suffixes=("_a", "_b")).sort_values(["alpha", "seed"])
    if pairs.empty:
        return "no pair yet: no run of one shares an alpha and seed with a run of the other"
    return "; ".join(
        f"alpha = {r.alpha:g}, seed {r.seed}: {100 * r.test_acc_a:.1f}% ({names[0]}) against {100 * r.test_acc_b:.1f}% "
        f"({names[1]}), {100 * (r.test_acc_a - r.test_acc_b):+.1f} points"
        for r in pairs.itertuples()
    )


def seed_noise(spread: pd.DataFrame) -> str:
    """A `plots.seed_spread` table in a sentence: how far apart ResNet20's seeds land at alpha = 0, and the
    network and alpha whose seeds lie furthest apart in test accuracy."""
    if spread.empty:
        return "no alpha has two seeds yet"
    widest = spread.loc[spread["test acc. SD"].idxmax()]
    parts = []
    zero = spread[(spread.alpha == 0) & (spread.network == "resnet20")]
    if not zero.empty:
        z = zero.iloc[0]
        parts.append(
            f"at alpha = 0 ResNet20's {z.seeds} seeds lie within "
            f"{z['test acc. highest (%)'] - z['test acc. lowest (%)']:.1f} points of test accuracy "
            f"(SD {z['test acc. SD']:.2f}) and {z['SI highest'] - z['SI lowest']:.3f} of SI"
        )
    parts.append(
        f"the seeds lie furthest apart for {widest.network} at alpha = {widest.alpha:g} "
        f"({widest['test acc. highest (%)'] - widest['test acc. lowest (%)']:.1f} points, "
        f"SD {widest['test acc. SD']:.1f})"
    )
    return "; ".join(parts)


def against_zero(runs: pd.DataFrame) -> str:
    """One network's runs (a `runs` table) at each alpha != 0 against alpha = 0, from seed means: mean SI and
    the factor it moved by, test accuracy and the points it moved by, and the seeds behind each mean."""
    if runs.empty or not (runs.alpha == 0).any():
        return "no runs at alpha = 0 yet"
    m = runs.groupby("alpha").agg(si=("si_unit_mean", "mean"), acc=("test_acc", "mean"), n=("seed", "nunique"))
    zero = m.loc[0.0]
    parts = [
        f"alpha = 0: mean SI {zero.si:.3f}, test accuracy {100 * zero.acc:.1f}% ({int(zero.n)} "
        f"seed{'s' if zero.n != 1 else ''})"
    ]
    for alpha, row in m.drop(0.0).iterrows():
        lower = row.si <= zero.si
        factor = f"{zero.si / row.si:.1f} times lower" if lower else f"{row.si / zero.si:.1f} times higher"
        parts.append(
            f"alpha = {alpha:g}: mean SI {row.si:.3f} ({factor}), test accuracy {100 * row.acc:.1f}% "
            f"({100 * (row.acc - zero.acc):+.1f} points; {int(row.n)} seed{'s' if row.n != 1 else ''})"
        )
    return "; ".join(parts) if len(parts) > 1 else parts[0] + "; no other alpha yet"


def precision_course(runs: pd.DataFrame, units: pd.DataFrame | None = None) -> str:
    """How mean precision moves with alpha in one network's runs (a `runs` table), on each side of 0: its
    Spearman rho with mean SI over the alphas <= 0, where it peaks among the alphas >= 0 and where it ends,
    and (given the per-unit table) how much leaving dead units out changes it."""
    from scipy import stats as sps

    m = runs.groupby("alpha")[["si_unit_mean", "precision_unit_mean"]].mean()
    neg, pos = m[m.index <= 0], m[m.index >= 0]
    parts = []
    if len(neg) >= 3:
        rho = sps.spearmanr(neg.si_unit_mean, neg.precision_unit_mean).statistic
        parts.append(f"over the {len(neg)} alphas <= 0, mean precision and mean SI have Spearman rho {rho:.2f}")
    if len(pos) >= 2:
        peak, top = pos.precision_unit_mean.idxmax(), pos.index.max()
        course = (
            f"over the alphas >= 0, mean precision is highest at alpha = {peak:g} ({pos.precision_unit_mean[peak]:.3f})"
        )
        if peak < top:
            course += (
                f" and falls beyond it, to {pos.precision_unit_mean[top]:.3f} at alpha = {top:g}, while mean SI "
                f"goes from {pos.si_unit_mean[peak]:.3f} to {pos.si_unit_mean[top]:.3f}"
            )
        parts.append(course)
    if units is not None and not units.empty and units.dead.any():
        per_run = ["alpha", "seed"]
        alive = units[~units.dead].groupby(per_run).precision.mean().groupby("alpha").mean()
        every = units.groupby(per_run).precision.mean().groupby("alpha").mean()
        parts.append(f"leaving dead units out moves mean precision by at most {(alive - every).abs().max():.3f}")
    return "; ".join(parts) or "too few alphas yet"


def ranksum_reach(tests: pd.DataFrame, level: float = 0.05) -> str:
    """What a `stats.ranksum_by_magnitude` table can show at its seed counts: per |alpha|, the seeds of each
    sign and the smallest Bonferroni-corrected p its rank-sum test could give, and whether any could reach
    `level` (a star). Exact rank-sum tests of a few seeds cannot: 3 against 3 never give less than 0.1."""
    if tests.empty:
        return "no |alpha| has runs of both signs yet"
    from .stats import bonferroni

    tested = tests[tests.method != "none"]
    floors = pd.Series(bonferroni(tested.min_p), index=tested.index)  # the smallest p each test can give, corrected
    parts = [
        f"|alpha| = {row.magnitude:g}: {row.n_neg} against {row.n_pos} seeds, "
        + (
            "no test (one seed on a side)"
            if row.method == "none"
            else f"smallest corrected p {floors[row.Index]:.2g}"
            if row.method == "exact"
            else "normal approximation, no floor"
        )
        for row in tests.itertuples()
    ]
    reachable = (floors < level).any()
    verdict = (
        f"so a star (corrected p < {level:g}) is possible"
        if reachable
        else f"so no star (corrected p < {level:g}) can appear at these seed counts, whatever the accuracies"
    )
    return "; ".join(parts) + f"; {verdict}"


PAPER_RECIPE_ALPHAS = (-30.0, -10.0, 2.0)
"""The alphas the paper's 200-epoch recipe is run at (seed 0): the extremes the book's 20-epoch runs cannot
settle on their own."""


def _paper_recipe(paper: Path | None = None, reference: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The complete paper-recipe ResNet20 runs under `paper` (default runs/paper) and the 200-epoch alpha = 0
    reference run at `reference` (default runs/recipe/paper-e200), each a runs table (empty where missing)."""
    paper = paper or runs_root() / "paper"
    reference = reference or runs_root() / "recipe" / "paper-e200"
    runs = network(load_results(paper).runs) if paper.is_dir() else pd.DataFrame()
    ref = load_results(reference).runs if (reference / "metrics.json").is_file() else pd.DataFrame()
    return runs, ref


def paper_recipe_runs(paper: Path | None = None, reference: Path | None = None) -> pd.DataFrame:
    """The paper-recipe ResNet20 runs with the 200-epoch reference run as one of their alpha = 0 runs, in one runs
    table, the reference first (a run under `paper` at alpha = 0 is one more run there; empty if neither exists).
    The table `paper_recipe_costs`, `paper_alpha_zero`, `schedule_share` and the scorecard's `at_paper_recipe`
    read, so a chapter loads the folders once."""
    tables = [t for t in _paper_recipe(paper, reference) if not t.empty]
    return pd.concat(tables[::-1], ignore_index=True) if tables else pd.DataFrame()


_SMALL_NUMBERS = "zero one two three four five six seven eight nine".split()  # in words before another number


def paper_alpha_zero(long: pd.DataFrame, spread: bool = True) -> str:
    """What the paper-recipe costs are measured against: the 200-epoch alpha = 0 runs of `long`
    (`paper_recipe_runs`), each by seed and folder, and, with `spread`, where there are several, how far apart
    their test accuracies are (the only gauge these single runs have of how far one run's cost can move)."""
    zero = long[long.alpha == 0] if not long.empty else long
    if zero.empty:
        return "no 200-epoch alpha = 0 run (none is complete yet)"
    root = runs_root().resolve()

    def where(path: str) -> str:  # the run's folder, relative to the runs root where it lies under it
        p = Path(path).resolve()
        return f"runs/{p.relative_to(root)}" if p.is_relative_to(root) else str(p)

    which = listed([f"seed {r.seed} in {where(r.path)}" for r in zero.itertuples()])
    if len(zero) == 1 or not spread:
        return f"the 200-epoch alpha = 0 run{'s' if len(zero) > 1 else ''} ({which})"
    acc = 100 * zero.test_acc
    return (
        f"the {len(zero) if len(zero) > 9 else _SMALL_NUMBERS[len(zero)]} 200-epoch alpha = 0 runs ({which}), "
        "whose test accuracies "
        f"({listed([f'{a:.2f}%' for a in acc])}) lie {acc.max() - acc.min():.2f} points apart, the only measure "
        "here of how far a single 200-epoch run's accuracy moves with its seed"
    )


def paper_recipe_costs(long: pd.DataFrame, alphas=PAPER_RECIPE_ALPHAS, paper: Path | None = None) -> str:
    """The paper-recipe (200-epoch) ResNet20 runs of `long` (`paper_recipe_runs`) at `alphas`, in numbers, each
    against the mean of `long`'s alpha = 0 runs: its change of mean SI and its accuracy cost (single runs, so no
    test); and which of `alphas` are not complete yet, with how far each has trained under `paper` (default
    runs/paper)."""
    paper = paper or runs_root() / "paper"
    zero = long[long.alpha == 0] if not long.empty else long
    if zero.empty:
        return "no 200-epoch alpha = 0 run is complete, so no paper-recipe cost can be computed"
    runs = long[long.alpha.isin(alphas)]
    acc0, si0 = 100 * zero.test_acc.mean(), zero.si_unit_mean.mean()
    baseline = f"at alpha = 0{f' (mean of {len(zero)} runs)' if len(zero) > 1 else ''}"
    parts = [
        f"alpha = {r.alpha:g} {'cuts' if r.si_unit_mean < si0 else 'raises'} mean SI "
        f"{max(si0 / r.si_unit_mean, r.si_unit_mean / si0):.{0 if r.si_unit_mean < si0 else 1}f}-fold "
        f"({r.si_unit_mean:.4f} against {si0:.3f}) and "
        f"reaches {100 * r.test_acc:.1f}% against {acc0:.1f}% {baseline}, {abs(acc0 - 100 * r.test_acc):.1f} points "
        f"{'lower' if 100 * r.test_acc < acc0 else 'higher'} (seed {r.seed}, best epoch {r.best_epoch})"
        for r in runs.sort_values("alpha", kind="stable").itertuples()
    ]
    pending = [a for a in alphas if a not in set(runs.alpha)]
    which = ", ".join(f"{a:g}" for a in alphas)
    trained = {a: _epochs_so_far(paper, a) for a in pending}
    if not parts:
        so_far = "".join(f"alpha = {a:g}: {t}; " for a, t in trained.items() if t)
        return (
            f"no paper-recipe run at alpha = {which} is complete yet ({so_far}it is planned: python -m "
            f"selectivity_lib sweep --profile paper --alphas {' '.join(f'{a:g}' for a in alphas)} --seeds 0 --out "
            "runs/paper)"
        )
    text = "; ".join(parts)
    if pending:
        text += "; still to train: alpha = " + ", ".join(f"{a:g} ({t})" if t else f"{a:g}" for a, t in trained.items())
    return text


def schedule_share(short: pd.DataFrame, long: pd.DataFrame, alphas) -> str:
    """How much of the short recipe's accuracy cost at each of `alphas` the paper's 200-epoch recipe removes:
    each recipe's cost against its own alpha = 0 (`short`: seed means of one network's runs; `long`:
    `paper_recipe_runs`, single runs), the difference, and its share of the short cost. Alphas missing from
    either recipe are left out; '' where none is in both."""
    if short.empty or long.empty:
        return ""

    def cost(runs: pd.DataFrame, a: float) -> float:  # points of test accuracy lost at `a` against alpha = 0
        return 100 * (runs[runs.alpha == 0].test_acc.mean() - runs[runs.alpha == a].test_acc.mean())

    parts = []
    for a in alphas:
        if not all({0.0, a} <= set(runs.alpha) for runs in (short, long)):
            continue
        cost_short, cost_long = cost(short, a), cost(long, a)
        n = short[short.alpha == a].seed.nunique()
        n0 = (long.alpha == 0).sum()
        gone = cost_short - cost_long
        share = f" ({100 * gone / cost_short:.0f}% of it)" if cost_short > 0 and gone > 0 else ""
        parts.append(
            f"at alpha = {a:g} the {short.profile.iloc[0]} runs lose {cost_short:.1f} points against their alpha = 0 "
            f"(mean of {n} seeds) and the 200-epoch run {cost_long:.1f} against its own"
            f"{f' (mean of {n0} runs)' if n0 > 1 else ''}, so the longer schedule "
            f"{'removes' if gone >= 0 else 'adds'} {abs(gone):.1f} points{share}"
        )
    if not parts:
        return ""
    return "; ".join(parts) + " (each 200-epoch cost is one run's, with no interval)"


def _epochs_so_far(paper: Path, alpha: float) -> str:
    """How far the seed-0 paper-recipe run at `alpha` under `paper` has trained ('61 of its 200 epochs trained
    so far'), or '' where it has no finished epoch."""
    from .config import make_config
    from .grid import epochs_done, run_dir

    config = make_config("paper", alpha=alpha, seed=0)
    done = epochs_done(run_dir(paper, config))
    return f"{done} of its {config.epochs} epochs trained so far" if done else ""


def listed(values) -> str:
    """'a, b and c' (one value: 'a')."""
    values = list(values)
    return ", ".join(values[:-1]) + (" and " if len(values) > 1 else "") + values[-1]


def leaky_comparison(runs: pd.DataFrame) -> str:
    """What the runs (ReLU and leaky-ReLU ResNet20) say about the paper's leaky-ReLU rescue: the accuracy each
    activation lost at every alpha >= 1 against its own alpha = 0, and whether leaky ReLU rescued it (lost under
    half of ReLU's loss, the scorecard's rule), with a caveat where a mean rests on fewer seeds than an interval
    needs."""
    from .scorecard import leaky_losses, leaky_seeds
    from .stats import MIN_INTERVAL_N

    losses = leaky_losses(runs)
    if losses.empty:
        return (
            "The book has no leaky-ReLU runs at alpha = 0 and at an alpha ≥ 1 yet, so it cannot compare the two "
            "activations' losses."
        )

    def alphas(rows):
        return listed(f"{a:g}" for a in rows.alpha)

    leaky = network(runs, activation="leaky_relu")
    fewest = leaky[leaky.alpha.isin([0, *losses.alpha])].groupby("alpha").seed.nunique().min()
    if losses.rescued.all():
        verdict = "a rescue at every alpha"
    elif not losses.rescued.any():
        verdict = "no rescue at any alpha"
    else:
        verdict = f"a rescue at alpha = {alphas(losses[losses.rescued])} and none at {alphas(losses[~losses.rescued])}"
    caveat = (
        ""
        if fewest >= MIN_INTERVAL_N
        else f" Some leaky-ReLU means rest on {'a single run' if fewest == 1 else f'{fewest} seeds'}, fewer than "
        "an interval needs, so this reading compares means alone."
    )
    return (
        f"In this book's runs, leaky-ReLU ResNet20 lost {listed(f'{x:.1f}' for x in losses.leaky_loss)} points "
        f"of test accuracy at alpha = {alphas(losses)}, each against its own alpha = 0, where ReLU lost "
        f"{listed(f'{x:.1f}' for x in losses.relu_loss)} ({leaky_seeds(runs)}; seed means). "
        f"Counting a loss under half of ReLU's as a rescue, as the scorecard does, that is {verdict}. The "
        "paper saw its largest slope improve accuracy at large alpha only slightly, with large alphas still "
        f"catastrophic.{caveat}"
    )
