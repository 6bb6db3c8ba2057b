"""The scorecard's verdicts follow their stated rules, on made-up tables where the answer is known."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from selectivity_lib.cca_stats import cca_ratio_table
from selectivity_lib.scorecard import (
    AGREES,
    CLAIMS,
    DISAGREES,
    NOT_RUN,
    NOT_TESTABLE,
    PARTLY,
    at_paper_recipe,
    average_case_without_collapsed,
    followup_scorecard,
    leaky_losses,
    scorecard,
    spearman_test,
)


def runs_table(si: dict, acc: dict, seeds=3, model="resnet20", activation="relu", dead=None, noise=0.002):
    rng = np.random.default_rng(0)
    rows = []
    for alpha in si:
        for seed in range(seeds):
            rows.append(
                dict(
                    model=model,
                    activation=activation,
                    slope=0.0 if activation == "relu" else 0.5,
                    alpha=alpha,
                    seed=seed,
                    si_unit_mean=si[alpha] + noise * rng.standard_normal(),
                    test_acc=acc[alpha] + noise * rng.standard_normal(),
                    precision_unit_mean=0.2 + si[alpha] / 2,
                    si_unit_mean_alive=si[alpha] + 0.01,
                    dead_fraction=(dead or {}).get(alpha, 0.0),
                )
            )
    return pd.DataFrame(rows)


PAPER_LIKE = runs_table(
    si={-30: 0.003, -3: 0.02, -1: 0.07, -0.3: 0.12, 0: 0.22, 0.3: 0.3, 1: 0.4, 2: 0.5, 5: 0.6},
    acc={-30: 0.89, -3: 0.905, -1: 0.91, -0.3: 0.91, 0: 0.91, 0.3: 0.88, 1: 0.8, 2: 0.6, 5: 0.3},
    dead={0: 0.0, 0.3: 0.01, 1: 0.05, 2: 0.1, 5: 0.2},
)


def verdicts(runs, cca=None):
    return scorecard(runs, cca if cca is not None else pd.DataFrame()).set_index("key").verdict


def test_paper_like_runs_agree_with_the_resnet20_claims():
    v = verdicts(PAPER_LIKE)
    for key in ("monotone", "free", "near-zero", "raises", "hurts-early", "collapse", "asymmetry", "dead", "precision"):
        assert v[key] == AGREES, key
    assert v["cca"] == NOT_RUN and v["leaky"] == NOT_RUN and v["vgg"] == NOT_RUN
    hurt = scorecard(PAPER_LIKE, pd.DataFrame()).set_index("key").evidence["hurts-early"]
    assert hurt.startswith("alpha 0.3: -2.9 points (lower, one-sided Welch p = ")  # how each alpha was decided
    one = scorecard(PAPER_LIKE[PAPER_LIKE.seed == 0], pd.DataFrame()).set_index("key").evidence["hurts-early"]
    assert one.startswith("alpha 0.3: -3.") and one.endswith(" points (lower, one seed: lower if 1+ points below)")


def test_opposite_runs_disagree():
    flipped = runs_table(
        si={-3: 0.3, -1: 0.25, 0: 0.22, 1: 0.1, 2: 0.05},
        acc={-3: 0.5, -1: 0.7, 0: 0.9, 1: 0.92, 2: 0.93},
    )
    v = verdicts(flipped)
    assert v["monotone"] == DISAGREES and v["free"] == DISAGREES and v["raises"] == DISAGREES
    assert v["asymmetry"] == DISAGREES and v["collapse"] == DISAGREES


def test_partial_and_missing_evidence():
    one_seed = runs_table(si={0: 0.22, -1: 0.15}, acc={0: 0.8, -1: 0.8}, seeds=1)
    v = verdicts(one_seed)
    assert v["monotone"] == NOT_RUN  # needs 3 alphas
    assert v["free"] == DISAGREES  # 0.22 / 0.15 = 1.47-fold, under the rule's 1.5
    half = runs_table(si={0: 0.22, -1: 0.14}, acc={0: 0.8, -1: 0.8})
    assert verdicts(half)["free"] == PARTLY  # 1.57-fold


def test_leaky_rescue_rule():
    relu = runs_table(si={0: 0.2, 1: 0.4}, acc={0: 0.9, 1: 0.6})
    leaky_hurt = runs_table(si={0: 0.2, 1: 0.4}, acc={0: 0.9, 1: 0.7}, activation="leaky_relu")
    leaky_fine = runs_table(si={0: 0.2, 1: 0.4}, acc={0: 0.9, 1: 0.89}, activation="leaky_relu", seeds=1)
    assert verdicts(pd.concat([relu, leaky_hurt]))["leaky"] == AGREES  # loss 20 of 30 points: not rescued
    assert verdicts(pd.concat([relu, leaky_fine]))["leaky"] == DISAGREES
    evidence = scorecard(pd.concat([relu, leaky_fine]), pd.DataFrame()).set_index("key").evidence["leaky"]
    assert evidence.endswith("(ReLU 3 seeds per alpha, leaky ReLU 1 seed per alpha)")
    losses = leaky_losses(pd.concat([relu, leaky_hurt])).iloc[0]  # what the dead-units chapter reports
    assert losses.alpha == 1 and not losses.rescued
    assert losses.relu_loss == pytest.approx(30, abs=1) and losses.leaky_loss == pytest.approx(20, abs=1)
    assert leaky_losses(relu).empty


def test_every_claim_has_a_rule_and_a_figure():
    from selectivity_lib.plots import FIGURES

    for c in CLAIMS:
        assert c.rule and c.book_figure in FIGURES and c.chapter


def test_near_zero_is_judged_at_a_twentyfold_cut_and_fails_on_a_large_cost():
    evidence = scorecard(PAPER_LIKE, pd.DataFrame()).set_index("key").evidence["near-zero"]
    # alpha = -3 cuts 0.22 to 0.02 (11x): not where the paper judges; -30 (70x) is, at 2 points
    assert evidence.startswith("the mildest alpha with a 20-fold cut is -30 (")
    assert "accuracy is 1.9 points below alpha = 0 (89.0% against 91.0%" in evidence
    gain = runs_table(si={0: 0.22, -3: 0.01}, acc={0: 0.8, -3: 0.82}, noise=0.0)
    assert (
        "accuracy is 2.0 points above alpha = 0"
        in scorecard(gain, pd.DataFrame()).set_index("key").evidence["near-zero"]
    )
    # this book's full grid in shape: a 48x cut that costs 16 points disagrees; 5 points is partly
    costly = runs_table(si={0: 0.2, -10: 0.016, -30: 0.004}, acc={0: 0.83, -10: 0.785, -30: 0.67})
    assert verdicts(costly)["near-zero"] == DISAGREES
    assert verdicts(costly.assign(test_acc=costly.test_acc.where(costly.alpha != -30, 0.78)))["near-zero"] == PARTLY
    # a 12x cut is not the claim's: no verdict until an alpha gets to 20-fold
    short = runs_table(si={0: 0.2, -10: 0.016}, acc={0: 0.83, -10: 0.785})
    card = scorecard(short, pd.DataFrame()).set_index("key").loc["near-zero"]
    assert card.verdict == NOT_RUN and "the largest cut is 12.5x, at alpha = -10" in card.evidence


def test_paper_recipe_runs_are_read_by_the_claims_own_rule():
    """Single 200-epoch runs with the reference as alpha = 0: the near-zero rule reads them as it reads a grid."""
    long = runs_table(si={0: 0.21, -30: 0.004, -10: 0.01}, acc={0: 0.868, -30: 0.804, -10: 0.85}, seeds=1, noise=0)
    verdict, evidence = at_paper_recipe("near-zero", long)
    assert verdict == AGREES  # -10 cuts 21-fold, the mildest that does, at 1.8 points
    assert evidence.startswith("the mildest alpha with a 20-fold cut is -10 (") and "1 seed per alpha" in evidence
    assert (verdict, evidence) == tuple(verdicts_and_evidence(long).loc["near-zero"])
    assert at_paper_recipe("near-zero", long[long.alpha != -10])[0] == DISAGREES  # -30 alone: 6.4 points
    assert at_paper_recipe("collapse", long) == (NOT_RUN, "needs runs at alpha = 2 and 5")
    at_two = pd.concat([long, runs_table(si={2: 0.43}, acc={2: 0.315}, seeds=1, noise=0)], ignore_index=True)
    assert at_paper_recipe("collapse", at_two) == (  # the rule itself says it can read partly at best
        DISAGREES,
        "alpha 2: 31.5% (paper ~60%); no run at alpha = 5, so the rule can read partly at best",
    )
    assert at_paper_recipe("near-zero", long.iloc[:0])[0] == NOT_RUN
    with pytest.raises(KeyError, match="no claim 'nearzero'"):
        at_paper_recipe("nearzero", long)


def verdicts_and_evidence(runs):
    return scorecard(runs, pd.DataFrame()).set_index("key")[["verdict", "evidence"]]


def test_asymmetry_needs_a_difference_beyond_seed_noise():
    # gaps of half a point at a seed SD of 0.4 points: the direction holds, no test shows it
    noisy = runs_table(si={-0.3: 0.15, 0: 0.2, 0.3: 0.25}, acc={-0.3: 0.0, 0: 0.834, 0.3: 0.0}, noise=0.0)
    noisy.loc[noisy.alpha == -0.3, "test_acc"] = [0.830, 0.838, 0.837]  # mean 83.5%
    noisy.loc[noisy.alpha == 0.3, "test_acc"] = [0.826, 0.834, 0.830]  # mean 83.0%
    card = scorecard(noisy, pd.DataFrame()).set_index("key").loc["asymmetry"]
    assert card.verdict == PARTLY and "not shown lower at + (one-sided Welch p = " in card.evidence
    clear = runs_table(si={-1: 0.1, 0: 0.2, 1: 0.4}, acc={-1: 0.83, 0: 0.834, 1: 0.8})
    assert verdicts(clear)["asymmetry"] == AGREES


def test_raises_fails_where_alive_unit_selectivity_falls_at_large_alpha():
    runs = PAPER_LIKE.copy()
    runs["si_unit_mean_alive"] = runs.alpha.map({0: 0.23, 0.3: 0.31, 1: 0.41, 2: 0.55, 5: 0.5})
    card = scorecard(runs, pd.DataFrame()).set_index("key").loc["raises"]
    assert card.verdict == PARTLY and "not rising from alpha 2 to 5" in card.evidence


def cca_table(cross: dict, seeds=3, layers=3, noise=0.005):
    """PWCCA distances of one ResNet20 at the alphas of `cross` (within pairs near 0.3 at every alpha, cross
    pairs to alpha = 0 near cross[alpha]); networks with the same seed are never paired."""
    rng = np.random.default_rng(1)
    rows = []
    pairs = [(a, b) for a in range(seeds) for b in range(seeds) if a != b]
    for alpha in (0.0, *cross):
        kinds = [("within", a, b) for a, b in pairs if a < b] + ([("cross", a, b) for a, b in pairs] if alpha else [])
        for kind, a, b in kinds:
            mean = 0.3 if kind == "within" else cross[alpha]
            rows += [
                dict(
                    model="resnet20",
                    activation="relu",
                    slope=0.0,
                    alpha=alpha,
                    kind=kind,
                    seed_a=a,
                    seed_b=b,
                    pair=f"{a}-{b}",
                    layer_index=i,
                    distance=mean + noise * rng.standard_normal(),
                )
                for i in range(layers)
            ]
    return pd.DataFrame(rows)


def test_cca_verdict_scores_alpha_below_0_by_the_test_of_the_ratio_it_prints():
    growing = {-1.0: 0.33, -10.0: 0.45, 1.0: 0.4}
    # 3 seeds: no test can reach p < 0.05, and a ratio's value alone is not scored
    card = scorecard(PAPER_LIKE, cca_table(growing)).set_index("key").loc["cca"]
    assert card.verdict == NOT_TESTABLE
    assert "alpha -1: tested ratio " in card.evidence and "not testable: p = 0.25 cannot go below 0.25" in card.evidence
    assert "alpha 1:" not in card.evidence  # alpha > 0 is not the paper's Figure 3b
    # 6 seeds: tested at every alpha < 0, each clearly above 1 and growing with |alpha|
    card = scorecard(PAPER_LIKE, cca_table(growing, seeds=6)).set_index("key").loc["cca"]
    assert card.verdict == AGREES and "(paper's ratio 1.499; p = 0.031)" in card.evidence
    # a ratio of 1.0 at alpha = -1: tested, not above 1 -> half the alphas
    card = scorecard(PAPER_LIKE, cca_table({-1.0: 0.3, -10.0: 0.45}, seeds=6)).set_index("key").loc["cca"]
    assert card.verdict == PARTLY and "alpha -1: tested ratio 1.000" in card.evidence
    # ratios below 1 everywhere, tested: disagrees, whatever alpha > 0 shows
    card = scorecard(PAPER_LIKE, cca_table({-1.0: 0.25, -10.0: 0.26, 1.0: 0.6}, seeds=6)).set_index("key").loc["cca"]
    assert card.verdict == DISAGREES
    # what it prints is what it tests: the tested ratio equals the permutation test's observed statistic
    from selectivity_lib.cca_stats import cca_permutation_test, replicate_pairs

    d = replicate_pairs(cca_table(growing, seeds=6))
    row = cca_ratio_table(d).set_index("alpha").loc[-10.0]
    observed = cca_permutation_test(d[d.alpha == -10.0], d[(d.alpha == 0) & (d.kind == "within")])[4]
    assert row.tested_ratio == pytest.approx(observed)


def test_free_reduction_does_not_count_a_loss_the_test_cannot_see():
    # Two seeds at alpha = -3, 1.3 points below alpha = 0 with a seed spread that keeps Welch's test at
    # p > 0.05: a test of 2 seeds cannot call that a loss, so the rule's 1-point bound does.
    runs = runs_table(si={-3: 0.05, -1: 0.1, 0: 0.2}, acc={-3: 0.0, -1: 0.0, 0: 0.0}, seeds=2, noise=0.0)
    runs["test_acc"] = [0.810, 0.826, 0.825, 0.837, 0.823, 0.839]  # means 81.8, 83.1 and 83.1%
    base, low = runs[runs.alpha == 0].test_acc, runs[runs.alpha == -3].test_acc
    assert sps.ttest_ind(low, base, equal_var=False, alternative="less").pvalue > 0.05
    card = scorecard(runs, pd.DataFrame()).set_index("key").loc["free"]
    assert card.evidence.startswith("largest cut without an accuracy loss: 2.0x at alpha = -1")


def test_precision_is_scored_where_the_paper_states_a_direction():
    # The paper: precision falls steadily for alpha < 0 and rises at small alpha > 0, but falls again at large
    # alpha (sparse, highly selective units have low precision). Runs shaped that way agree.
    si = {-10: 0.02, -1: 0.09, -0.1: 0.18, 0: 0.2, 0.1: 0.24, 1: 0.6, 5: 0.6}
    runs = runs_table(si=si, acc=dict.fromkeys(si, 0.8))
    precision = {-10: 0.17, -1: 0.23, -0.1: 0.31, 0: 0.33, 0.1: 0.36, 1: 0.3, 5: 0.2}
    runs["precision_unit_mean"] = runs.alpha.map(precision)
    card = scorecard(runs, pd.DataFrame()).set_index("key").loc["precision"]
    assert card.verdict == AGREES
    assert "rho of mean precision with mean SI 1.00 (4 alphas)" in card.evidence
    assert "highest at alpha 0.1 (0.360), 0.200 at alpha 5" in card.evidence
    runs["precision_unit_mean"] = runs.alpha.map({**precision, 0.1: 0.32})  # no rise at the smallest alpha > 0
    assert verdicts(runs)["precision"] == PARTLY
    runs["precision_unit_mean"] = runs.alpha.map({**precision, -10: 0.4, -1: 0.38, 0.1: 0.32})
    assert verdicts(runs)["precision"] == DISAGREES


def test_raises_reads_live_units_where_dead_ones_pull_the_mean_down():
    # The paper: SI rises with alpha > 0, less consistently at large alpha, where dead units (SI 0) pull the
    # mean down; without them the relation is consistent (its Figure A9b). Runs shaped that way agree.
    si = {0: 0.2, 0.3: 0.35, 1: 0.63, 2: 0.6, 5: 0.55}
    runs = runs_table(si=si, acc=dict.fromkeys(si, 0.8))
    runs["si_unit_mean_alive"] = runs.alpha.map({0: 0.2, 0.3: 0.35, 1: 0.64, 2: 0.66, 5: 0.67})
    card = scorecard(runs, pd.DataFrame()).set_index("key").loc["raises"]
    assert card.verdict == AGREES and "dead units left out: 0: 0.200, 0.3: 0.350" in card.evidence
    runs["si_unit_mean_alive"] = runs.alpha.map({0: 0.2, 0.3: 0.35, 1: 0.64, 2: 0.5, 5: 0.4})
    assert verdicts(runs)["raises"] == PARTLY  # above alpha = 0 everywhere, but not consistent without the dead
    runs["si_unit_mean"] = runs.alpha.map({**si, 5: 0.15})
    assert verdicts(runs)["raises"] == DISAGREES


def test_vgg_rule_and_the_seeds_it_rests_on():
    vgg = runs_table(si={-1: 0.1, 0: 0.24, 1: 0.5}, acc={-1: 0.808, 0: 0.81, 1: 0.7}, seeds=1, model="vgg16")
    card = scorecard(pd.concat([PAPER_LIKE, vgg]), pd.DataFrame()).set_index("key")
    assert card.verdict["vgg"] == AGREES  # above ResNet20's 0.22 at alpha = 0, falls below 0, no loss at -1, loss at 1
    assert card.evidence["vgg"].endswith("(VGG16 1 seed per alpha, ResNet20 3 seeds per alpha at alpha = 0)")
    lower = vgg.assign(si_unit_mean=vgg.si_unit_mean - 0.1)  # 0.14 at alpha = 0: below ResNet20's
    assert verdicts(pd.concat([PAPER_LIKE, lower]))["vgg"] == PARTLY
    # selectivity as the paper says, accuracy the other way round: two of four
    flipped = vgg.assign(test_acc=vgg.alpha.map({-1: 0.7, 0: 0.81, 1: 0.82}))
    card = scorecard(pd.concat([PAPER_LIKE, flipped]), pd.DataFrame()).set_index("key")
    assert card.verdict["vgg"] == PARTLY and "no accuracy loss at alpha = -1: no" in card.evidence["vgg"]
    wrong = flipped.assign(si_unit_mean=flipped.alpha.map({-1: 0.3, 0: 0.1, 1: 0.5}))
    assert verdicts(pd.concat([PAPER_LIKE, wrong]))["vgg"] == DISAGREES
    epochs = pd.concat([PAPER_LIKE.assign(epochs=20), vgg.assign(epochs=10)])
    assert "VGG16 trained 10 epochs, ResNet20 20" in scorecard(epochs, pd.DataFrame()).set_index("key").evidence["vgg"]


def followup_summary(corruption_rel, pgd_rel, dim_clean, up_pgd, up_corr, alphas=(-10, -1, 0, 1, 5), seeds=2):
    """A made-up robustness.run_summary: each value a function of alpha, plus a little seeded noise."""
    rng = np.random.default_rng(1)
    rows = []
    for alpha in alphas:
        for seed in range(seeds):
            jitter = 1e-3 * rng.standard_normal()
            rows.append(
                dict(
                    alpha=alpha,
                    seed=seed,
                    corruption_rel=corruption_rel(alpha) + jitter,
                    pgd_rel=pgd_rel(alpha) + jitter,
                    dim_clean=dim_clean(alpha) + jitter,
                    dim_up_pgd=up_pgd(alpha) + jitter,
                    dim_up_corruption=up_corr(alpha),
                )
            )
    return pd.DataFrame(rows)


def followup_verdicts(summary):
    return followup_scorecard(summary).set_index("key").verdict


def test_followup_claims_agree_on_followup_like_runs_and_fail_on_the_reverse():
    like = followup_summary(
        corruption_rel=lambda a: 0.8 - 0.01 * a,
        pgd_rel=lambda a: 0.3 + 0.01 * a,
        dim_clean=lambda a: 6 - 0.1 * a,
        up_pgd=lambda a: 1.0,
        up_corr=lambda a: 0.3,
    )
    assert set(followup_verdicts(like)) == {AGREES}
    reverse = followup_summary(
        corruption_rel=lambda a: 0.8 + 0.01 * a,
        pgd_rel=lambda a: 0.3 - 0.01 * a,
        dim_clean=lambda a: 6 + 0.1 * a,
        up_pgd=lambda a: 0.3,
        up_corr=lambda a: 1.0,
    )
    assert set(followup_verdicts(reverse)) == {DISAGREES}


def test_followup_claims_say_when_runs_are_too_few_to_decide():
    few = followup_summary(lambda a: -a, lambda a: a, lambda a: -a, lambda a: 1, lambda a: 0, alphas=(0, 1), seeds=1)
    assert set(followup_verdicts(few)) == {NOT_RUN}
    four = followup_summary(
        lambda a: -a, lambda a: a, lambda a: -a, lambda a: 1, lambda a: 0, alphas=(0, 1, 2, 3), seeds=1
    )
    v = followup_verdicts(four)  # 4 runs: the signed-rank floor is 1/16; the 24 pairings of a trend reach 1/24
    assert v["attack-dimensionality"] == NOT_TESTABLE and v["average-case"] == AGREES
    three = followup_summary(
        lambda a: -a, lambda a: a, lambda a: -a, lambda a: 1, lambda a: 0, alphas=(0, 1, 2), seeds=1
    )
    assert set(followup_verdicts(three)) == {NOT_RUN}
    assert set(followup_verdicts(pd.DataFrame())) == {NOT_RUN}


def test_collapsed_networks_are_set_aside_in_a_description_not_in_the_verdict():
    # corrupted / clean falls with alpha, but the alpha = 5 networks keep little clean accuracy and lose none of it
    runs = followup_summary(
        lambda a: 0.95 if a == 5 else 0.85 - 0.01 * a, lambda a: 0, lambda a: 0, lambda a: 1, lambda a: 0, seeds=3
    )
    runs["clean"] = np.where(runs.alpha == 5, 22.0, 84.0)
    assert followup_verdicts(runs)["average-case"] == PARTLY  # the rule, over every network
    text = average_case_without_collapsed(runs)
    assert text.startswith("3 of the 15 analysed networks have clean accuracy under 50%")
    assert "alpha = 5 (3 networks, 22% clean, ratio 0.95)" in text
    rho, p, _ = spearman_test(runs.alpha[runs.alpha < 5], runs.corruption_rel[runs.alpha < 5], "less")
    assert rho == pytest.approx(-1, abs=0.05) and f"rho {rho:+.2f}, one-sided permutation p = {p:.2g}" in text
    assert "Over the other 12 networks" in text
    runs["clean"] = 84.0
    assert average_case_without_collapsed(runs).startswith("Every analysed network has clean accuracy of 50% or more")
    assert "too few" in average_case_without_collapsed(runs.assign(clean=np.where(runs.alpha >= 0, 10.0, 80.0)))


def test_spearman_permutation_test_is_exact_at_small_n():
    rho, p, floor = spearman_test([0, 1, 2, 3, 4], [1, 2, 3, 4, 5], "greater")
    assert rho == pytest.approx(1.0) and p == pytest.approx(1 / 120) and floor == pytest.approx(1 / 120)
    # two runs at one alpha: the pairings that swap them tie, so no p can go below 2/24
    rho, p, floor = spearman_test([-10, -2, 0, 0], [4, 3, 2, 1], "less")
    assert rho < 0 and p == pytest.approx(2 / 24) and floor == pytest.approx(2 / 24)
