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
    cross_mean: float,
    same_seed_cross: float | None = None,
    seeds=(0, 1, 2),
    layers=4,
    noise=0.01,
    base: bool = True,
    rng: int = 3,
):
    """A CCA table for one network at alpha = -1: within pairs near 0.3, cross pairs near `cross_mean`, and (with
    `base`) alpha = 0's within pairs near 0.3."""
    rng = np.random.default_rng(rng)
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


def _two_rounds(table: pd.DataFrame) -> pd.DataFrame:
    """`table` as analysed in two rounds, seeds 0-2 and then 3-5 after the first round's weights were gone: no
    pair joins a network of one round to one of the other."""
    return table[(table.seed_a < 3) == (table.seed_b < 3)]


def _pooled_p(table: pd.DataFrame, shared, fixed=()) -> float:
    """The exact p of the permutation test, written out: every swap of the `shared` seeds, the seeds in `fixed`
    having their alpha = 0 network only."""
    flips = [
        {**dict(zip(shared, sides, strict=True)), **dict.fromkeys(fixed, "a")}
        for sides in itertools.product("a0", repeat=len(shared))
    ]
    values = np.array([_pooled_statistic(table, f) for f in flips])
    return float(np.mean(values >= values[0] - 1e-12))  # flips[0] labels every seed's 'a' network alpha


def test_cca_permutation_test_joins_two_rounds_of_seeds_whose_cross_pairs_were_never_computed():
    """Seeds 0-2 and 3-5 at both alphas, each round's pairs computed, none between rounds: which pairs exist
    does not change when a seed's networks swap labels, so the test reads the pairs that exist and has 6 seeds.
    Swapping every seed of one round sorts the pairs as the observed labelling does, so 4 of 64 relabelings
    tie with it: floor 1 / 16, not 2 / 64. A fourth seed in the second round brings it to 4 / 128."""
    table = _two_rounds(_cca_rows(0.4, seeds=range(6), noise=0.03))
    row = cca_ratio_table(table).iloc[0]
    assert row.relabelings == 64 and row.p_min == pytest.approx(4 / 64)
    assert row.p == pytest.approx(_pooled_p(table, range(6))) == pytest.approx(4 / 64) and stars(row.p) == ""
    assert row.cross_pairs == 2 * 3 * 2 and row.within_pairs == 2 * 3
    fig = plots.cca_ratio(
        table.assign(profile="full", dataset="cifar10", reduce="mean")
    )  # the figure's footnote says the floor these networks allow
    assert any(
        "the smallest p these networks allow is 0.062 (p_min" in t.get_text().replace("\n", " ") for t in fig.texts
    )
    seven = _two_rounds(_cca_rows(0.4, seeds=range(7), noise=0.03))
    row = cca_ratio_table(seven).iloc[0]
    assert row.relabelings == 128 and row.p == row.p_min == pytest.approx(4 / 128) and stars(row.p) == "*"


def test_cca_permutation_test_holds_its_level_on_two_rounds_under_the_null():
    """No effect (every distance drawn alike): the test must reject at its level no more often than that; with
    two rounds of 3 and 4 seeds, p <= 4/128 has chance 4/128 exactly (each round's mirror image ties). 300
    tables, binomial sd of the count 3.0."""
    from selectivity_lib.cca_stats import cca_permutation_test

    ps = []
    for r in range(300):
        t = _two_rounds(_cca_rows(0.3, seeds=range(7), layers=2, noise=0.03, rng=100 + r))
        ps.append(cca_permutation_test(t[t.alpha == -1], t[(t.alpha == 0) & (t.kind == "within")])[0])
    rejected = int((np.array(ps) < 0.05).sum())
    assert 2 <= rejected <= 20, rejected  # expected 300 * 4/128 = 9.4
    assert np.mean(ps) == pytest.approx(0.5 + 2 / 128, abs=0.04)  # under the null, E[p] = (1 + ties) / 2


def test_cca_permutation_test_leaves_out_networks_whose_pairs_depend_on_the_label():
    """A new alpha trained at seeds 0-2 after alpha = 0's seeds 0-2 lost their weights: its networks pair with
    alpha = 0's seeds 3-5 only, so swapping a seed's labels would move a network onto a place with other pairs.
    The test leaves networks out until that cannot happen; here that leaves no seed run at both: untested."""
    table = _cca_rows(0.4, seeds=range(6), noise=0.03)
    late = (table.alpha == -1) & ((table.seed_a >= 3) | ((table.kind == "within") & (table.seed_b >= 3)))
    table = table[~late]  # alpha = -1 at seeds 0-2 only
    table = table[~((table.kind == "cross") & (table.seed_b < 3))]  # no pair with alpha = 0's seeds 0-2
    table = table[(table.kind == "cross") | ((table.seed_a < 3) == (table.seed_b < 3))]  # alpha = 0 in two rounds
    row = cca_ratio_table(table).iloc[0]
    assert np.isnan(row.p) and row.relabelings == 0 and row.ratio > 1


def test_cca_permutation_test_keeps_networks_added_later_with_pairs_among_themselves():
    # two alpha = 0 networks added after the others' weights were gone: their pairs with the older networks do
    # not exist, but their pair with each other does and keeps its label under every swap, so they stay in the
    # test. No pair joins them to the others, so swapping every seed still sorts the pairs as observed: the
    # floor stays 2 / 8, and their pair enters every relabeling's "same label" side.
    table = _cca_rows(0.4, noise=0.03)
    newcomers = table[(table.alpha == 0) & (table.seed_a == 0) & (table.seed_b == 1)].assign(seed_a=3, seed_b=4)
    grown = pd.concat([table, newcomers.assign(distance=newcomers.distance + 0.1)])
    row, before = cca_ratio_table(grown).iloc[0], cca_ratio_table(table).iloc[0]
    assert (row.relabelings, row.p_min) == (8, 2 / 8)
    assert row.p == pytest.approx(_pooled_p(grown, (0, 1, 2), fixed=(3, 4))) == pytest.approx(2 / 8)
    assert row.tested_ratio < before.tested_ratio  # their (larger) distance is read
