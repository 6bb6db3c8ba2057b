"""Statistics of the paper, as tidy tables: intervals over seeds, corrected tests against alpha = 0, rank-sum
tests at equal |alpha|, paired t-tests. Thin wrappers over numpy and scipy.stats; every p-value comes from scipy.

Intervals. The paper bootstraps 95% CIs over 20 seeds. A percentile bootstrap of 2 or 3 values is their
[min, max] or close to it, and covers the mean far less often than 95% (tests/test_stats.py measures it), so
the book's intervals are Student t intervals, mean +- t(0.975, n - 1) s / sqrt(n): exact for normally
distributed seeds at every n >= 2, and close to the bootstrap's at the paper's n. The book draws and prints
them from 3 seeds (`MIN_INTERVAL_N`): at 2 the interval has one degree of freedom (t = 12.7) and is about 13
times as wide as the gap between the two values, so two seeds 17 points apart (alpha = 5's seeds 0 and 1
at `full`) give an interval from below 0% to above 100% accuracy. Below 3 seeds the book shows the runs'
own values instead. At any n, an interval of a value that lies in [0, 1] by definition is cut there
(`UNIT_RANGE`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps


def bootstrap_ci(values, ci: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of `values` (1-D), all resamples drawn at once. Kept to show why
    the book does not use it at its seed counts (it under-covers below about 20 values); see `t_interval`.

    One value gives (value, value); no value gives (nan, nan).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan")
    if len(x) == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - ci) / 2, (1 + ci) / 2])
    return float(lo), float(hi)


INTERVAL = "95% t-interval"  # what every interval the book draws is, in words
MIN_INTERVAL_N = 3  # fewest seeds the book draws or prints an interval for (module docstring: why)


# Values that lie in [0, 1] by definition (accuracies, the index, fractions, precision, PWCCA distances). Their
# intervals are cut at 0 and 1: the true mean lies inside, so the cut interval covers it exactly as often.
UNIT_RANGE = frozenset(
    {
        "test_acc",
        "val_acc",
        "best_val_acc",
        "train_acc",
        "si_unit_mean",
        "si_unit_mean_alive",
        "si_mean",
        "si_mean_alive",
        "dead_fraction",
        "precision_unit_mean",
        "precision_mean",
        "mu_si",
        "distance",
    }
)


def t_interval(values, level: float = 0.95, bounds: tuple[float, float] | None = None) -> tuple[float, float]:
    """Student t interval for the mean of `values` (1-D; NaNs dropped), cut at `bounds` (the values' possible
    range) where given: (nan, nan) for fewer than 2 values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return float("nan"), float("nan")
    half = sps.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    lo, hi = x.mean() - half, x.mean() + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(lo), float(hi)


def value_bounds(value: str) -> tuple[float, float] | None:
    """(0, 1) for a column of `UNIT_RANGE`, else None (no known range)."""
    return (0.0, 1.0) if value in UNIT_RANGE else None


def summarize(df: pd.DataFrame, by: str | list[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Mean, t interval and n of `value` for each group: columns by..., mean, ci_low, ci_high, n.
    A group of fewer than MIN_INTERVAL_N values has ci_low = ci_high = its mean (no interval; figures draw no
    bar, and their dots show its runs). Intervals of a `UNIT_RANGE` column are cut at 0 and 1."""
    rows = []
    for key, group in df.groupby(by, sort=True):
        x = group[value].dropna()
        lo, hi = t_interval(x, level, value_bounds(value)) if len(x) >= MIN_INTERVAL_N else (x.mean(), x.mean())
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, x.mean(), lo, hi, len(x)))
    by = [by] if isinstance(by, str) else list(by)
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])


def bonferroni(p, m: int | None = None) -> np.ndarray:
    """Bonferroni-corrected p-values: p x number of comparisons, capped at 1."""
    p = np.asarray(p, dtype=np.float64)
    return np.minimum(p * (m if m is not None else np.isfinite(p).sum()), 1.0)


def ttest_vs_baseline(
    df: pd.DataFrame, value: str, group: str = "alpha", baseline: float = 0.0, equal_var: bool = True
) -> pd.DataFrame:
    """Two-sample t-test of every group against the baseline group (scipy.stats.ttest_ind), Bonferroni-
    corrected over the groups compared. Columns: group, n, mean, diff, t, p, p_bonferroni.
    """
    base = df.loc[df[group] == baseline, value].dropna()
    rows = []
    for key, g in df[df[group] != baseline].groupby(group, sort=True):
        x = g[value].dropna()
        t, p = sps.ttest_ind(x, base, equal_var=equal_var) if len(x) > 1 and len(base) > 1 else (np.nan, np.nan)
        rows.append((key, len(x), x.mean(), x.mean() - base.mean(), t, p))
    out = pd.DataFrame(rows, columns=[group, "n", "mean", "diff", "t", "p"])
    out["p_bonferroni"] = bonferroni(out["p"])
    return out


EXACT_RANKSUM_MAX = 100_000  # splits of the pooled values up to which the rank-sum null is enumerated


def ranksum(a, b) -> tuple[float, float, str, float]:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) test of `a` against `b`: (U of a, p, method, smallest p
    the method can give at these sizes).

    The normal approximation (scipy.stats.ranksums) is only valid for large samples: at 2 seeds against 2
    it reports p = 0.12 where no arrangement of 4 values can give less than 1/3. So where the pooled values
    have at most EXACT_RANKSUM_MAX ways to split into the two samples (up to 8 seeds a side), p is exact,
    from every split (a permutation test of U, which stays exact with ties); beyond that, the tie-corrected
    normal approximation (scipy.stats.mannwhitneyu, method 'asymptotic'), as at the paper's 20 seeds.
    A side with fewer than 2 values gets no test (nan, nan, 'none', nan), as a one-seed alpha gets no t-test.
    """
    a, b = (np.asarray(v, dtype=np.float64) for v in (a, b))
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan"), "none", float("nan")
    splits = math.comb(len(a) + len(b), len(a))
    if splits <= EXACT_RANKSUM_MAX:
        method = sps.PermutationMethod(n_resamples=splits)  # as many as there are splits: exact enumeration
        u, p = sps.mannwhitneyu(a, b, alternative="two-sided", method=method)
        return float(u), float(p), "exact", min(1.0, 2 / splits)
    u, p = sps.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    return float(u), float(p), "normal approx.", 0.0


def ranksum_by_magnitude(df: pd.DataFrame, value: str, group: str = "alpha") -> pd.DataFrame:
    """Two-sided Wilcoxon rank-sum test (`ranksum`) of alpha < 0 against alpha > 0 at each |alpha| where both
    signs were run, Bonferroni-corrected. Columns: magnitude, n_neg, n_pos, mean_neg, mean_pos, U, p, method,
    min_p (the smallest p the test can give at these seed counts), p_bonferroni.
    """
    rows = []
    mags = sorted({abs(a) for a in df[group].unique() if a != 0})
    for mag in mags:
        neg = df.loc[df[group] == -mag, value].dropna()
        pos = df.loc[df[group] == mag, value].dropna()
        if len(neg) == 0 or len(pos) == 0:
            continue
        rows.append((mag, len(neg), len(pos), neg.mean(), pos.mean(), *ranksum(neg, pos)))
    columns = ["magnitude", "n_neg", "n_pos", "mean_neg", "mean_pos", "U", "p", "method", "min_p"]
    out = pd.DataFrame(rows, columns=columns)
    out["p_bonferroni"] = bonferroni(out["p"])
    return out


def paired_ttest(a, b) -> tuple[float, float]:
    """Paired t-test of a against b (scipy.stats.ttest_rel): (t, two-sided p)."""
    t, p = sps.ttest_rel(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return float(t), float(p)


def stars(p: float, thresholds: tuple[float, ...] = (0.05, 5e-3, 5e-6)) -> str:
    """'*' per threshold that p falls below (the paper's figures each state their own thresholds)."""
    if p is None or not np.isfinite(p):
        return ""
    return "*" * sum(p < t for t in thresholds)
