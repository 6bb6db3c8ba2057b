"""Statistics of the paper, as tidy tables: bootstrap CIs, corrected tests against alpha = 0, rank-sum tests
at equal |alpha|, paired t-tests. Thin wrappers over numpy and scipy.stats; every p-value comes from scipy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps


def bootstrap_ci(values, ci: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of `values` (1-D), all resamples drawn at once.

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


def summarize(df: pd.DataFrame, by: str | list[str], value: str, ci: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean, bootstrap CI and n of `value` for each group: columns by..., mean, ci_low, ci_high, n."""
    rows = []
    for key, group in df.groupby(by, sort=True):
        lo, hi = bootstrap_ci(group[value], ci=ci, seed=seed)
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, group[value].mean(), lo, hi, group[value].notna().sum()))
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


def ranksum_by_magnitude(df: pd.DataFrame, value: str, group: str = "alpha") -> pd.DataFrame:
    """Wilcoxon rank-sum test (scipy.stats.ranksums) of alpha < 0 against alpha > 0 at each |alpha| where both
    signs were run, Bonferroni-corrected. Columns: magnitude, n_neg, n_pos, mean_neg, mean_pos, statistic, p,
    p_bonferroni.
    """
    rows = []
    mags = sorted({abs(a) for a in df[group].unique() if a != 0})
    for mag in mags:
        neg = df.loc[df[group] == -mag, value].dropna()
        pos = df.loc[df[group] == mag, value].dropna()
        if len(neg) == 0 or len(pos) == 0:
            continue
        stat, p = sps.ranksums(neg, pos)
        rows.append((mag, len(neg), len(pos), neg.mean(), pos.mean(), stat, p))
    out = pd.DataFrame(rows, columns=["magnitude", "n_neg", "n_pos", "mean_neg", "mean_pos", "statistic", "p"])
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
