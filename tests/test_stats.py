import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from selectivity_lib.stats import (
    bonferroni,
    bootstrap_ci,
    paired_ttest,
    ranksum_by_magnitude,
    stars,
    summarize,
    ttest_vs_baseline,
)


def test_bootstrap_ci_coverage_near_95_percent():
    rng = np.random.default_rng(1)
    hits, sims = 0, 400
    for i in range(sims):
        sample = rng.normal(loc=2.0, scale=3.0, size=40)
        lo, hi = bootstrap_ci(sample, n_boot=2000, seed=i)
        hits += lo <= 2.0 <= hi
    assert 0.91 <= hits / sims <= 0.98


def test_bootstrap_ci_edge_cases_and_seed():
    assert bootstrap_ci([3.0]) == (3.0, 3.0)
    assert all(np.isnan(bootstrap_ci([])))
    assert bootstrap_ci([1, 2, 3, 4], seed=5) == bootstrap_ci([1, 2, 3, 4], seed=5)


def _runs():
    rng = np.random.default_rng(0)
    rows = []
    for alpha, mu in [(0.0, 0.9), (-1.0, 0.89), (1.0, 0.7), (-2.0, 0.88), (2.0, 0.5)]:
        rows += [{"alpha": alpha, "acc": mu + 0.01 * rng.standard_normal()} for _ in range(8)]
    return pd.DataFrame(rows)


def test_ttest_vs_baseline_equals_scipy_with_bonferroni():
    df = _runs()
    out = ttest_vs_baseline(df, "acc").set_index("alpha")
    base = df[df.alpha == 0].acc
    for alpha in (-2.0, -1.0, 1.0, 2.0):
        t, p = sps.ttest_ind(df[df.alpha == alpha].acc, base)
        assert out.loc[alpha, "t"] == pytest.approx(t) and out.loc[alpha, "p"] == pytest.approx(p)
        assert out.loc[alpha, "p_bonferroni"] == pytest.approx(min(4 * p, 1.0))


def test_ranksum_by_magnitude_equals_scipy():
    df = _runs()
    out = ranksum_by_magnitude(df, "acc").set_index("magnitude")
    assert list(out.index) == [1.0, 2.0]
    for mag in (1.0, 2.0):
        stat, p = sps.ranksums(df[df.alpha == -mag].acc, df[df.alpha == mag].acc)
        assert out.loc[mag, "statistic"] == pytest.approx(stat) and out.loc[mag, "p"] == pytest.approx(p)
        assert out.loc[mag, "p_bonferroni"] == pytest.approx(min(2 * p, 1.0))


def test_paired_ttest_equals_scipy():
    a, b = np.array([1.0, 2.0, 3.5, 4.0]), np.array([0.5, 2.1, 2.0, 3.0])
    t, p = sps.ttest_rel(a, b)
    assert paired_ttest(a, b) == (pytest.approx(t), pytest.approx(p))


def test_summarize_bonferroni_and_stars():
    s = summarize(_runs(), "alpha", "acc").set_index("alpha")
    assert s.loc[0.0, "n"] == 8 and s.loc[0.0, "ci_low"] < s.loc[0.0, "mean"] < s.loc[0.0, "ci_high"]
    assert list(bonferroni([0.01, 0.5, 0.2])) == [0.03, 1.0, pytest.approx(0.6)]
    assert stars(0.01) == "*" and stars(1e-7) == "***" and stars(0.2) == "" and stars(float("nan")) == ""
