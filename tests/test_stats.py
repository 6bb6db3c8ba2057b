from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from selectivity_lib.stats import (
    bonferroni,
    bootstrap_ci,
    paired_ttest,
    ranksum,
    ranksum_by_magnitude,
    stars,
    summarize,
    t_interval,
    ttest_vs_baseline,
)


def _coverage(interval, n: int, sims: int, seed: int = 0) -> float:
    """Share of `sims` normal samples of size n whose interval covers the true mean."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        lo, hi = interval(rng.normal(loc=2.0, scale=3.0, size=n))
        hits += lo <= 2.0 <= hi
    return hits / sims


@pytest.mark.parametrize("n", [2, 3, 5, 20])
def test_the_books_95_percent_interval_covers_95_percent_at_the_books_sample_sizes(n):
    # 4,000 samples: the binomial standard error of a 95% coverage is 0.0034, so +-0.015 is over 4 of them.
    assert 0.935 <= _coverage(t_interval, n, 4000, seed=n) <= 0.965


def test_percentile_bootstrap_undercovers_at_small_n():
    # Why the book does not label a bootstrap of its seeds "95%": at n = 3 it covers about 3 times in 4.
    cover = _coverage(lambda x: bootstrap_ci(x, n_boot=500), 3, 600)
    assert cover < 0.85


def test_t_interval_matches_scipy_and_needs_two_values():
    x = [0.81, 0.83, 0.86]
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert t_interval(x) == (pytest.approx(lo), pytest.approx(hi))
    assert all(np.isnan(t_interval([1.0]))) and all(np.isnan(t_interval([])))


def test_intervals_of_a_proportion_are_cut_at_its_range():
    dead = [0.153, 0.165, 0.333]  # alpha = 5's dead fractions at full: the plain interval starts below 0
    assert t_interval(dead)[0] < 0
    lo, hi = t_interval(dead, bounds=(0.0, 1.0))
    assert lo == 0.0 and hi == pytest.approx(t_interval(dead)[1])
    table = pd.DataFrame({"alpha": [5.0] * 3, "dead_fraction": dead, "loss": [-v for v in dead]})
    assert summarize(table, "alpha", "dead_fraction").ci_low.iloc[0] == 0.0
    assert summarize(table, "alpha", "loss").ci_low.iloc[0] < -0.3  # no known range: not cut
    from selectivity_lib.book import mean_ci

    text = mean_ci(table, "dead_fraction", 5.0, scale=100, digits=1)
    assert text == "21.7 (95% t-interval 0.0–46.7, cut at 0, n = 3)"
    none = table.assign(dead_fraction=0.0)  # an interval that only touches the bound was not cut
    assert mean_ci(none, "dead_fraction", 5.0, scale=100, digits=1) == "0.0 (95% t-interval 0.0–0.0, n = 3)"


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


def _enumerated_ranksum_p(a, b) -> float:
    """Two-sided p of U from every split of the pooled values (midranks for ties), written out here."""
    pooled = np.concatenate([a, b])
    ranks = sps.rankdata(pooled)
    u = [ranks[list(idx)].sum() - len(a) * (len(a) + 1) / 2 for idx in combinations(range(len(pooled)), len(a))]
    u, observed = np.array(u), ranks[: len(a)].sum() - len(a) * (len(a) + 1) / 2
    return min(1.0, 2 * min(np.mean(u >= observed - 1e-9), np.mean(u <= observed + 1e-9)))


@pytest.mark.parametrize(
    "a, b",
    [([0.81, 0.83], [0.70, 0.72]), ([0.8, 0.81, 0.82], [0.7, 0.71, 0.83]), ([0.8, 0.8, 0.81], [0.8, 0.7, 0.7])],
)
def test_ranksum_is_exact_at_the_books_seed_counts(a, b):
    u, p, method, min_p = ranksum(a, b)
    assert method == "exact" and p == pytest.approx(_enumerated_ranksum_p(np.array(a), np.array(b)))
    assert u == pytest.approx(sps.mannwhitneyu(a, b).statistic)
    assert min_p == pytest.approx(2 / comb(len(a) + len(b), len(a))) and p >= min_p - 1e-12


def test_ranksum_never_claims_more_than_its_sample_size_allows():
    # Two seeds a side, completely separated: no split of 4 values is rarer than 2 in 6, yet the normal
    # approximation the paper can use at 20 seeds says 0.12 here.
    separated = ([0.83, 0.84], [0.72, 0.74])
    assert ranksum(*separated)[1] == pytest.approx(1 / 3)
    assert sps.ranksums(*separated).pvalue < 0.15
    assert ranksum([0.83], [0.72, 0.74])[2] == "none" and np.isnan(ranksum([0.83], [0.72, 0.74])[1])


def test_ranksum_uses_the_normal_approximation_at_the_papers_seed_counts():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.9, 0.01, 20), rng.normal(0.89, 0.01, 20)
    u, p, method, _ = ranksum(a, b)
    assert method == "normal approx."
    assert p == pytest.approx(sps.mannwhitneyu(a, b, method="asymptotic").pvalue) and u == pytest.approx(
        sps.mannwhitneyu(a, b).statistic
    )


def test_ranksum_by_magnitude_tests_each_magnitude_with_bonferroni():
    df = _runs()
    out = ranksum_by_magnitude(df, "acc").set_index("magnitude")
    assert list(out.index) == [1.0, 2.0]
    for mag in (1.0, 2.0):
        u, p, method, min_p = ranksum(df[df.alpha == -mag].acc, df[df.alpha == mag].acc)
        assert out.loc[mag, "U"] == u and out.loc[mag, "p"] == pytest.approx(p) and out.loc[mag, "method"] == method
        assert out.loc[mag, "min_p"] == min_p and out.loc[mag, "p_bonferroni"] == pytest.approx(min(2 * p, 1.0))
    # 8 seeds a side, completely separated: exact, and as small as 12,870 splits allow
    assert out.loc[1.0, "method"] == "exact" and out.loc[1.0, "p"] == pytest.approx(2 / 12870)


def test_paired_ttest_equals_scipy():
    a, b = np.array([1.0, 2.0, 3.5, 4.0]), np.array([0.5, 2.1, 2.0, 3.0])
    t, p = sps.ttest_rel(a, b)
    assert paired_ttest(a, b) == (pytest.approx(t), pytest.approx(p))


def test_summarize_bonferroni_and_stars():
    s = summarize(_runs(), "alpha", "acc").set_index("alpha")
    assert s.loc[0.0, "n"] == 8 and s.loc[0.0, "ci_low"] < s.loc[0.0, "mean"] < s.loc[0.0, "ci_high"]
    assert (s.loc[0.0, "ci_low"], s.loc[0.0, "ci_high"]) == pytest.approx(t_interval(_runs().query("alpha == 0").acc))
    one = summarize(pd.DataFrame({"g": [1], "v": [0.5]}), "g", "v").iloc[0]
    assert one.n == 1 and one.ci_low == one.ci_high == 0.5  # no interval: no bar
    two = summarize(pd.DataFrame({"g": [1, 1], "v": [0.2, 0.8]}), "g", "v").iloc[0]
    assert two.n == 2 and two.ci_low == two.ci_high == pytest.approx(0.5)  # t = 12.7 would span -3.3 to 4.3
    assert list(bonferroni([0.01, 0.5, 0.2])) == [0.03, 1.0, pytest.approx(0.6)]
    assert stars(0.01) == "*" and stars(1e-7) == "***" and stars(0.2) == "" and stars(float("nan")) == ""
