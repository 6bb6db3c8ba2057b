"""The statistics of the paper's CCA experiment (section 4.2), from the distance tables `analyse` writes.

`cca_ratio_table` gives, per network and alpha, the paper's CCA distance ratio (per layer, mean distance to the
alpha = 0 networks over mean distance among replicates, averaged over layers) with two one-sided tests of
"ratio above 1": `cca_permutation_test`, whose replicates are networks, and the paper's paired t-test over
layers. `cca_pair_ratios` gives the ratio per cross pair. Plots, the scorecard, `analyse` and the chapters all
take these from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .stats import paired_ttest


def replicate_pairs(distances: pd.DataFrame) -> pd.DataFrame:
    """Only pairs of networks with different seeds (tables written before that rule may hold others)."""
    return distances[distances.seed_a != distances.seed_b] if "seed_a" in distances else distances


def cca_pair_ratios(distances: pd.DataFrame) -> pd.DataFrame:
    """Per network, alpha != 0 and cross pair: mean over layers of the pair's distance / the layer's mean
    within-alpha distance. Their mean over cross pairs is the paper's CCA distance ratio."""
    networks = [c for c in ("model", "activation", "slope") if c in distances.columns]
    rows = []
    d_all = replicate_pairs(distances)
    for key, d in d_all[d_all.alpha != 0].groupby([*networks, "alpha"]):
        within = d[d.kind == "within"].groupby("layer_index").distance.mean()
        cross = d[d.kind == "cross"]
        if within.empty or cross.empty:
            continue
        for pair, c in cross.groupby("pair"):
            r = (c.set_index("layer_index").distance / within).dropna()
            rows.append(
                {**dict(zip(networks, key[:-1], strict=True)), "alpha": key[-1], "pair": pair, "ratio": r.mean()}
            )
    return pd.DataFrame(rows)


PERMUTATION_EXACT_MAX_SEEDS = 12  # up to 2^12 relabelings are enumerated; beyond, a seeded random sample
PERMUTATION_SAMPLES = 4096


def _distance_cube(d: pd.DataFrame, base: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """(layers, n, n) PWCCA distances among the networks of one alpha ('a', seed) and of alpha = 0 ('0', seed),
    NaN where no distance was computed (same-seed pairs, or pairs the table lacks)."""
    tagged = {"within": ("a", "a"), "cross": ("a", "0")}
    parts = [
        d.assign(tag_a=d.kind.map(lambda k: tagged[k][0]), tag_b=d.kind.map(lambda k: tagged[k][1])),
        base.assign(tag_a="0", tag_b="0"),
    ]
    rows = pd.concat(parts)
    nodes = sorted({*zip(rows.tag_a, rows.seed_a, strict=True), *zip(rows.tag_b, rows.seed_b, strict=True)})
    index = {node: i for i, node in enumerate(nodes)}
    layers = sorted(rows.layer_index.unique())
    cube = np.full((len(layers), len(nodes), len(nodes)), np.nan)
    mean = rows.groupby(["layer_index", "tag_a", "seed_a", "tag_b", "seed_b"]).distance.mean()
    for (layer, ta, sa, tb, sb), value in mean.items():
        i, j, k = layers.index(layer), index[(ta, sa)], index[(tb, sb)]
        cube[i, j, k] = cube[i, k, j] = value
    return cube, nodes


def _swap_invariant_networks(cube: np.ndarray, nodes: list) -> tuple[np.ndarray, list, np.ndarray]:
    """The networks of `cube` on which the permutation test is exact, and which of their pairs it reads.

    A pair's distance exists only where both networks had weights when the later one was analysed: networks
    trained after the others' weights were gone pair only with each other (seeds 3-5 with seeds 3-5, say).
    The test may read only the pairs that exist, as long as which pairs exist does not change when the two
    networks of a seed swap labels: then every relabeling reads the same kind of data, and exchangeability
    under the null carries over. Where a swap would move a network onto a place with other pairs (its seed's
    twin at alpha = 0 has no weights, say), the network breaking the most of that symmetry is left out, the
    first in order on a tie, until none breaks it. Which networks stay depends only on which distances exist,
    never on their values. A pair counts as existing where it has a distance in every layer.

    Returns the kept cube and networks, and the (n, n) mask of the pairs to read: existing, different seeds."""
    nodes = list(nodes)
    seed_of = np.array([s for _, s in nodes])
    exists = ~np.isnan(cube).any(axis=0) & (seed_of[:, None] != seed_of[None, :])
    keep = np.ones(len(nodes), dtype=bool)
    while True:
        broken = np.zeros(len(nodes), dtype=int)
        kept = {node: i for i, node in enumerate(nodes) if keep[i]}
        sub = keep[:, None] & keep[None, :]
        for (tag, seed), i in kept.items():
            j = kept.get(("0", seed))
            if tag != "a" or j is None:
                continue
            swap = np.arange(len(nodes))
            swap[[i, j]] = j, i
            differs = (exists != exists[np.ix_(swap, swap)]) & sub
            broken += differs.sum(axis=1)
        if not broken.any():
            break
        keep[int(np.argmax(broken))] = False  # the first of the most-breaking: a fixed, value-blind order
    index = np.flatnonzero(keep)
    return cube[:, index][:, :, index], [nodes[i] for i in index], exists[np.ix_(index, index)]


def cca_permutation_test(d: pd.DataFrame, base: pd.DataFrame) -> tuple[float, float, int, str, float]:
    """One-sided test that networks at one alpha are further from networks at alpha = 0 than replicates are
    from each other: (p, smallest possible p, relabelings, method, the tested ratio's observed value). `d`: that
    alpha's within and cross rows of different seeds; `base`: alpha = 0's within rows.

    The replicates are networks. Under the null hypothesis that the regularizer leaves representations
    unchanged, the network at alpha and the network at alpha = 0 trained from one seed are exchangeable; the
    two share initialisation and data order, so labels are swapped within a seed, never across. The statistic
    is a ratio like the paper's but with both alphas' replicate pairs as the baseline (per layer, mean
    distance across the two labels over mean distance within a label, averaged over layers), so that swapping
    every seed gives the same value. Each of the 2^k swaps of the k seeds run at both alphas gives a value from
    distances already computed; p is the share at least as large as the observed one. Where every network's
    seed was run at both alphas, swapping every seed gives the observed value again, so p is never below
    2 / 2^k: 0.5 at 2 seeds, 0.25 at 3, under 0.05 from 6. A network whose seed was run at one alpha only (a
    third seed at alpha = 0, say) keeps its label and breaks that mirror image, and the floor is 1 / 2^k.
    Where the seeds fall into rounds no pair joins, each round's mirror image ties too: two rounds of 3 seeds
    have the floor 4 / 64, 3 and 4 seeds 4 / 128. `p_min` is counted, not assumed: the relabelings that sort
    the pairs as the observed labelling does.
    Up to PERMUTATION_EXACT_MAX_SEEDS seeds every swap is taken;
    beyond, PERMUTATION_SAMPLES seeded random swaps (p = (1 + hits) / (1 + samples)). Where some distances
    were never computed (seeds 0-2 and seeds 3-5 analysed in different rounds, the first round's weights gone),
    the statistic averages the pairs that exist, on the networks for which which pairs exist does not depend
    on the labels (`_swap_invariant_networks`): two such rounds of 3 seeds each are 6 seeds for the test. NaN
    where that leaves the alpha or alpha = 0 fewer than 2 networks, no seed run at both, or a relabeling
    without a pair of either kind in some layer.
    """
    cube, nodes, exists = _swap_invariant_networks(*_distance_cube(d, base))
    seeds_a = sorted(s for t, s in nodes if t == "a")
    shared = [s for s in seeds_a if ("0", s) in nodes]
    if len(seeds_a) < 2 or len(nodes) - len(seeds_a) < 2 or not shared:  # 2+ networks at each alpha
        return float("nan"), float("nan"), 0, "none", float("nan")
    tags = np.array([t for t, _ in nodes])
    seed_of = np.array([s for _, s in nodes])
    pairs = exists & np.triu(np.ones((len(nodes), len(nodes)), dtype=bool), 1)

    def same_label(flipped: np.ndarray) -> np.ndarray:
        group = (tags == "a") ^ np.isin(seed_of, np.asarray(shared)[flipped])  # labelled alpha after the swaps
        return group[:, None] == group[None, :]

    def statistic(flipped: np.ndarray) -> float:
        same = same_label(flipped)
        w, c = cube[:, pairs & same], cube[:, pairs & ~same]
        if w.size == 0 or c.size == 0:
            return float("nan")
        return float((c.mean(axis=1) / w.mean(axis=1)).mean())

    k = len(shared)
    if k <= PERMUTATION_EXACT_MAX_SEEDS:
        flips = [np.array([(m >> i) & 1 for i in range(k)], dtype=bool) for m in range(2**k)]
        # The floor: the relabelings that sort every pair read into "same label" and "across" as the observed
        # one does give its value again, whatever the distances (swapping every seed, where each network has
        # its twin; or every seed of one round, where no pair joins two rounds).
        observed = same_label(flips[0])[pairs]
        twins = sum(np.array_equal(same_label(f)[pairs], observed) for f in flips)
        method, p_min = "exact", twins / len(flips)
    else:
        rng = np.random.default_rng(0)
        flips = [np.zeros(k, dtype=bool), *(rng.random(k) < 0.5 for _ in range(PERMUTATION_SAMPLES))]
        method, p_min = f"{PERMUTATION_SAMPLES} random relabelings", 1 / (1 + PERMUTATION_SAMPLES)
    values = np.array([statistic(f) for f in flips])
    if np.isnan(values).any():
        return float("nan"), float("nan"), 0, "none", float("nan")
    hits = (values >= values[0] - 1e-12).sum()  # the observed labelling is flips[0] and counts itself
    return float(hits / len(values)), float(p_min), len(values), method, float(values[0])


def cca_ratio_table(distances: pd.DataFrame) -> pd.DataFrame:
    """Per network (model, activation, slope) and alpha != 0: the paper's CCA distance ratio (per layer, mean
    rho(a_r, a_0) / mean rho(a_r, a_r), averaged over layers), from pairs of networks with different seeds only,
    and its two sides averaged over layers (cross_mean, within_mean).

    `tested_ratio` is the ratio the permutation test relabels: per layer, mean distance across the two alphas
    over the mean distance among the replicates of both alphas (alpha = 0's among them), averaged over layers.
    It differs from `ratio` where the two alphas' replicates are unequally far apart.

    Tests (one-sided: is the ratio above 1?):
      p          `cca_permutation_test`: the networks are the replicates, relabelled within each seed; exact,
                 and never below p_min (0.25 at 3 seeds at both alphas, under 0.05 from 6). Needs 2+ seeds at the
                 alpha and alpha = 0's within-alpha distances.
      p_layers   the paper's method: a paired t-test over layers of the per-layer mean cross distance against
                 the per-layer mean within distance (layers of one network are not independent replicates).
    """
    networks = [c for c in ("model", "activation", "slope") if c in distances.columns]
    rows = []
    d_all = replicate_pairs(distances)
    for net, d_net in d_all.groupby(networks) if networks else [((), d_all)]:
        base = d_net[(d_net.alpha == 0) & (d_net.kind == "within")]  # alpha = 0's replicate pairs
        for alpha, d in d_net[d_net.alpha != 0].groupby("alpha"):
            key = (*net, alpha)  # groupby by a list of columns gives tuple keys
            rows += _cca_ratio_row(networks, key, d, base)
    return pd.DataFrame(rows)


def _cca_ratio_row(networks: list[str], key: tuple, d: pd.DataFrame, base: pd.DataFrame) -> list[dict]:
    """`cca_ratio_table`'s row for one network and alpha (`key`), or none without both kinds of pair."""
    per_layer = d.groupby(["layer_index", "kind"]).distance.mean().unstack()
    if not {"within", "cross"} <= set(per_layer.columns):
        return []
    ratio = (per_layer["cross"] / per_layer["within"]).mean()
    pairs = d.groupby(["kind", "pair"]).distance.mean()
    p, p_min, relabelings, _, tested = cca_permutation_test(d, base)
    if len(per_layer) > 1:
        t_layers, p_two = paired_ttest(per_layer["cross"], per_layer["within"])
        p_layers = p_two / 2 if t_layers > 0 else 1 - p_two / 2
    else:
        t_layers, p_layers = np.nan, np.nan
    return [
        {
            **dict(zip(networks, key[:-1], strict=True)),
            "alpha": key[-1],
            "ratio": ratio,
            "cross_mean": per_layer["cross"].mean(),  # the ratio's two sides, averaged over layers
            "within_mean": per_layer["within"].mean(),
            "cross_pairs": int(len(pairs["cross"])),
            "within_pairs": int(len(pairs["within"])),
            "layers": len(per_layer),
            "tested_ratio": tested,  # the ratio the permutation test is about: both alphas' replicates as baseline
            "p": p,
            "p_min": p_min,
            "relabelings": relabelings,
            "t_layers": t_layers,
            "p_layers": p_layers,
        }
    ]


def ratio_above_one(table: pd.DataFrame) -> pd.Series:
    """Whether each ratio of a `cca_ratio_table` counts as above 1: shown so by its permutation test where the
    seeds let that test reach p < 0.05, else (too few seeds, or untested) its value above 1."""
    testable = table.p_min < 0.05
    return (testable & (table.p < 0.05)) | (~testable & (table.ratio > 1))
