"""The CCA experiment's statistics: the distance ratio per network and alpha, its permutation test over networks
(exact at the book's seed counts, with the floor the seed count allows), and the rule for "above 1"."""

import itertools

import numpy as np
import pandas as pd
import pytest

from selectivity_lib import plots
from selectivity_lib.cca_stats import cca_ratio_table, ratio_above_one
from selectivity_lib.stats import stars


def test_cca_ratio_table_keeps_networks_apart():
    rows = []
    for activation, slope, cross in (("relu", 0.0, 0.6), ("leaky_relu", 0.5, 0.2)):
        for layer in range(3):
            for kind, distance in (("within", 0.4), ("cross", cross)):
                rows.append(
                    dict(
                        model="resnet20",
                        activation=activation,
                        slope=slope,
                        alpha=-1.0,
                        kind=kind,
                        pair="0-1",
                        seed_a=0,
                        seed_b=1,
                        layer_index=layer,
                        distance=distance + 0.01 * layer,
                    )
                )
    table = cca_ratio_table(pd.DataFrame(rows)).set_index("activation")
    assert len(table) == 2
    expected = {
        a: np.mean([(c + 0.01 * k) / (0.4 + 0.01 * k) for k in range(3)])
        for a, c in (("relu", 0.6), ("leaky_relu", 0.2))
    }
    for activation, ratio in expected.items():
        assert table.loc[activation, "ratio"] == pytest.approx(ratio)
    with pytest.raises(ValueError, match="select one model"):
        plots.cca_ratio(pd.DataFrame(rows))  # the figure refuses to mix networks


def _cca_rows(
    cross_mean: float, same_seed_cross: float | None = None, seeds=(0, 1, 2), layers=4, noise=0.01, base: bool = True
):
    """A CCA table for one network at alpha = -1: within pairs near 0.3, cross pairs near `cross_mean`, and (with
    `base`) alpha = 0's within pairs near 0.3."""
    rng = np.random.default_rng(3)
    rows = []
    for s1, s2 in [(a, b) for a in seeds for b in seeds if a < b]:
        for alpha in (-1.0, 0.0) if base else (-1.0,):
            rows += [
                dict(
                    alpha=alpha,
                    kind="within",
                    seed_a=s1,
                    seed_b=s2,
                    layer_index=i,
                    distance=0.3 + noise * rng.standard_normal(),
                )
                for i in range(layers)
            ]
    for s1 in seeds:
        for s2 in seeds:
            mean = cross_mean if s1 != s2 else (same_seed_cross if same_seed_cross is not None else cross_mean)
            noisy = mean + noise * rng.standard_normal(layers)
            rows += [
                dict(alpha=-1.0, kind="cross", seed_a=s1, seed_b=s2, layer_index=i, distance=noisy[i])
                for i in range(layers)
            ]
    table = pd.DataFrame(rows).assign(model="resnet20", activation="relu", slope=0.0)
    return table.assign(pair=table.seed_a.astype(str) + "-" + table.seed_b.astype(str))


def test_cca_ratio_leaves_out_same_seed_pairs():
    # Same-seed networks share initialisation and data order: far closer than replicates. They must not count.
    with_same = cca_ratio_table(_cca_rows(0.36, same_seed_cross=0.1)).iloc[0]
    without = cca_ratio_table(_cca_rows(0.36)).iloc[0]
    assert with_same.ratio == pytest.approx(without.ratio, rel=0.01) and with_same.ratio == pytest.approx(1.2, rel=0.03)
    assert with_same.cross_pairs == 6 and with_same.within_pairs == 3 and with_same.p == without.p
    assert (with_same.cross_mean, with_same.within_mean) == pytest.approx((0.36, 0.3), abs=0.01)  # its two sides


def test_a_ratio_counts_as_above_one_by_its_test_where_the_seeds_allow_one_else_by_its_value():
    table = pd.DataFrame(
        {
            "ratio": [1.3, 1.3, 1.1, 0.9, 1.2],
            "p": [0.01, 0.2, 0.25, 0.5, np.nan],  # the last untested
            "p_min": [0.002, 0.002, 0.25, 0.25, np.nan],
        }
    )
    assert ratio_above_one(table).tolist() == [True, False, True, False, True]


def _pooled_statistic(table: pd.DataFrame, alpha_side: dict[int, str]) -> float:
    """The permutation test's statistic, written out: networks are (label, seed); alpha_side maps each seed to
    which of its two networks ('a' or '0') is labelled alpha. Per layer, mean distance between differently
    labelled networks over mean distance between same-labelled ones, averaged over layers."""
    ends = {
        "within": lambda r: (("a", r.seed_a), ("a", r.seed_b)),
        "cross": lambda r: (("a", r.seed_a), ("0", r.seed_b)),
    }
    values = []
    for _, layer in table[table.seed_a != table.seed_b].groupby("layer_index"):
        same, across = [], []
        for r in layer.itertuples():
            x, y = (("0", r.seed_a), ("0", r.seed_b)) if r.alpha == 0 else ends[r.kind](r)
            labelled = [tag == alpha_side[seed] for tag, seed in (x, y)]
            (same if labelled[0] == labelled[1] else across).append(r.distance)
        values.append(np.mean(across) / np.mean(same))
    return float(np.mean(values))


def test_cca_permutation_test_relabels_networks_within_seeds():
    table = _cca_rows(0.4, noise=0.03)
    row = cca_ratio_table(table).iloc[0]
    flips = [dict(zip((0, 1, 2), sides, strict=True)) for sides in itertools.product("a0", repeat=3)]
    values = np.array([_pooled_statistic(table, f) for f in flips])
    observed = _pooled_statistic(table, {0: "a", 1: "a", 2: "a"})
    assert row.relabelings == 8 and row.p == pytest.approx(np.mean(values >= observed - 1e-12))
    # Clearly separated: the observed labelling and its mirror image (every seed swapped) lead, and 2 in 8 is
    # as small as 3 seeds allow, so no star.
    assert row.p == row.p_min == 0.25 and stars(row.p) == ""
    below = cca_ratio_table(_cca_rows(0.2)).iloc[0]
    assert below.ratio < 1 and below.p == 1.0 and below.p_layers > 0.95  # one-sided, as the paper's layer test


def test_cca_permutation_floor_without_the_mirror_image():
    # alpha = 0 has a third seed that alpha = -1 lacks: that network keeps its label under every swap, so
    # swapping both shared seeds no longer gives the observed value back, and 1 of 4 relabelings can lead.
    table = _cca_rows(0.4, noise=0.03)
    table = table[~((table.alpha == -1) & ((table.seed_a == 2) | ((table.kind == "within") & (table.seed_b == 2))))]
    row = cca_ratio_table(table).iloc[0]
    flips = [dict(zip((0, 1, 2), (*sides, "a"), strict=True)) for sides in itertools.product("a0", repeat=2)]
    values = np.array([_pooled_statistic(table, f) for f in flips])
    observed = _pooled_statistic(table, {0: "a", 1: "a", 2: "a"})  # seed 2 has only its alpha = 0 network
    assert row.relabelings == 4 and row.p == pytest.approx(np.mean(values >= observed - 1e-12))
    assert row.p == row.p_min == 0.25 and row.within_pairs == 1


def test_cca_permutation_test_needs_enough_seeds_for_a_star():
    six = cca_ratio_table(_cca_rows(0.4, seeds=range(6))).iloc[0]
    assert six.relabelings == 64 and six.p == six.p_min == pytest.approx(2 / 64) and stars(six.p) == "*"
    untested = cca_ratio_table(_cca_rows(0.4, base=False)).iloc[0]  # alpha = 0's own pairs are missing
    assert np.isnan(untested.p) and untested.relabelings == 0 and untested.ratio > 1


def test_cca_permutation_test_leaves_out_networks_whose_pairs_were_never_computed():
    # two alpha = 0 networks added after the others' weights were gone: their pairs with the older networks do
    # not exist. The test runs on the networks whose pairs are all there, as if the newcomers were not in it.
    table = _cca_rows(0.4, noise=0.03)
    newcomers = table[(table.alpha == 0) & (table.seed_a == 0) & (table.seed_b == 1)].assign(seed_a=3, seed_b=4)
    row = cca_ratio_table(table).iloc[0]
    grown = cca_ratio_table(pd.concat([table, newcomers])).iloc[0]
    assert not np.isnan(grown.p)
    assert (grown.p, grown.p_min, grown.relabelings) == (row.p, row.p_min, row.relabelings)
    assert grown.tested_ratio == pytest.approx(row.tested_ratio)
