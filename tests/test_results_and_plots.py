import itertools
import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from selectivity_lib import plots
from selectivity_lib.results import Results, load_results

matplotlib.use("Agg")


def test_results_tables(tiny_sweep):
    r = load_results(tiny_sweep, units=True)
    assert len(r.runs) == 4 and set(r.runs.alpha) == {0.0, -1.0}
    assert {"model", "activation", "slope", "alpha", "seed", "profile", "dataset", "test_acc", "mu_si"} <= set(r.runs)
    assert (r.runs.dataset == "synthetic").all() and (r.runs.profile == "smoke").all()
    assert len(r.layers) == 4 * 19 and len(r.units) == 4 * 688
    assert r.units.groupby(["alpha", "seed"]).unit.max().eq(63).all()  # last layer: units 0..63


def test_incomplete_and_corrupt_folders_are_skipped_with_one_warning(tiny_sweep, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(tiny_sweep, root)
    (root / "resnet20" / "alpha=0" / "seed=1" / "metrics.json").write_text("{ half written")
    (root / "resnet20" / "alpha=-1" / "seed=0" / "metrics.json").unlink()
    with pytest.warns(UserWarning, match="skipped 2 run folder") as record:
        r = load_results(root)
    assert len(record) == 1 and len(r.runs) == 2
    assert {why.split(" ")[0] for _, why in r.skipped} == {"incomplete", "unreadable"}


def synthetic_results() -> tuple[Results, pd.DataFrame]:
    """A results table shaped like load_results' output, for every figure, with made-up numbers."""
    rng = np.random.default_rng(0)
    runs, layers, cca_rows = [], [], []
    alphas = [0.0, -0.1, -1.0, -10.0, 0.1, 1.0, 10.0]
    for model, n_layers in (("resnet20", 19), ("vgg16", 13)):
        for activation, slope in (("relu", 0.0), ("leaky_relu", 0.5)):
            for alpha in alphas:
                for seed in range(3):
                    ident = dict(
                        model=model,
                        activation=activation,
                        slope=slope,
                        alpha=alpha,
                        seed=seed,
                        profile="smoke",
                        dataset="synthetic",
                    )
                    si = max(0.01, 0.2 + 0.05 * np.sign(alpha) * np.log1p(abs(alpha)) + 0.01 * rng.standard_normal())
                    runs.append(
                        ident
                        | dict(
                            test_acc=0.9 - 0.05 * max(alpha, 0) + 0.01 * rng.standard_normal(),
                            si_unit_mean=si,
                            si_unit_mean_alive=si * 1.1,
                            mu_si=si,
                            precision_unit_mean=0.2 + si / 2,
                            dead_fraction=0.01 * max(alpha, 0),
                        )
                    )
                    for i in range(n_layers):
                        layers.append(
                            ident
                            | dict(
                                layer_index=i,
                                layer=f"l{i}",
                                si_mean=si + 0.01 * i,
                                si_mean_alive=si,
                                dead_fraction=0.0,
                                precision_mean=0.3,
                            )
                        )
        for alpha in alphas:
            for kind in ("within", "cross"):
                for pair in range(3):
                    for i in range(n_layers):
                        cca_rows.append(
                            dict(
                                model=model,
                                activation="relu",
                                slope=0.0,
                                profile="smoke",
                                dataset="synthetic",
                                reduce="positions",
                                alpha=alpha,
                                kind=kind,
                                pair=f"{pair}-{pair + 1}",
                                seed_a=pair,
                                seed_b=pair + 1,
                                layer_index=i,
                                layer=f"l{i}",
                                distance=0.2
                                + (0.1 * abs(alpha) if kind == "cross" else 0)
                                + 0.01 * rng.standard_normal(),
                            )
                        )
    return Results(pd.DataFrame(runs), pd.DataFrame(layers)), pd.DataFrame(cca_rows)


@pytest.mark.parametrize("name", list(plots.FIGURES))
def test_every_figure_renders_from_a_synthetic_table(name):
    results, distances = synthetic_results()
    fig = plots.FIGURES[name](distances if name in plots.CCA_FIGURES else results)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.has_data(), name  # something was drawn, not the "no runs" placeholder
    assert any("profile smoke" in t.get_text() for t in fig.texts), name
    fig.canvas.draw()
    matplotlib.pyplot.close(fig)


def test_figure_without_runs_says_which_runs_it_needs():
    empty = Results(pd.DataFrame(), pd.DataFrame())
    note = plots.fig1b(empty)
    assert isinstance(note, plots.NoData) and "needs runs at two or more alphas" in note._repr_markdown_()
    results, _ = synthetic_results()
    only_zero = Results(results.runs[results.runs.alpha == 0], results.layers[results.layers.alpha == 0])
    for name in ("A4a", "A4b", "A5a", "A5c", "A6"):  # VGG16 with alpha = 0 only: no empty panels
        note = plots.FIGURES[name](only_zero)
        assert isinstance(note, plots.NoData) and "so far alpha 0" in note.message, name


def test_alpha_axes_are_in_signed_order():
    results, distances = synthetic_results()
    for name, fig in (("5b", plots.fig5b(results)), ("A12a", plots.figA12a(results)), ("3b", plots.fig3b(distances))):
        assert fig is not None, f"figure {name} was not drawn from data built to draw it"
        ticks = [float(t.get_text().replace("\u2212", "-")) for t in fig.axes[0].get_xticklabels() if t.get_text()]
        assert len(ticks) >= 2, f"figure {name} has no labelled alpha ticks to check"
        assert ticks == sorted(ticks), name
        matplotlib.pyplot.close(fig)


def test_figures_from_real_tiny_runs(tiny_sweep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no skipped folder here
        r = load_results(tiny_sweep)
    for name in ("1a", "1b", "2a", "2c", "A7a"):
        assert plots.FIGURES[name](r).axes[0].has_data()
    json.loads((tiny_sweep / "resnet20" / "alpha=0" / "seed=0" / "config.json").read_text())


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
    table = plots.cca_ratio_table(pd.DataFrame(rows)).set_index("activation")
    assert len(table) == 2
    expected = {
        a: np.mean([(c + 0.01 * k) / (0.4 + 0.01 * k) for k in range(3)])
        for a, c in (("relu", 0.6), ("leaky_relu", 0.2))
    }
    for activation, ratio in expected.items():
        assert table.loc[activation, "ratio"] == pytest.approx(ratio)
    with pytest.raises(ValueError, match="select one model"):
        plots.cca_ratio(pd.DataFrame(rows))


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
    with_same = plots.cca_ratio_table(_cca_rows(0.36, same_seed_cross=0.1)).iloc[0]
    without = plots.cca_ratio_table(_cca_rows(0.36)).iloc[0]
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
    assert plots.ratio_above_one(table).tolist() == [True, False, True, False, True]


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
    row = plots.cca_ratio_table(table).iloc[0]
    flips = [dict(zip((0, 1, 2), sides, strict=True)) for sides in itertools.product("a0", repeat=3)]
    values = np.array([_pooled_statistic(table, f) for f in flips])
    observed = _pooled_statistic(table, {0: "a", 1: "a", 2: "a"})
    assert row.relabelings == 8 and row.p == pytest.approx(np.mean(values >= observed - 1e-12))
    # Clearly separated: the observed labelling and its mirror image (every seed swapped) lead, and 2 in 8 is
    # as small as 3 seeds allow, so no star.
    assert row.p == row.p_min == 0.25 and plots.stars(row.p) == ""
    below = plots.cca_ratio_table(_cca_rows(0.2)).iloc[0]
    assert below.ratio < 1 and below.p == 1.0 and below.p_layers > 0.95  # one-sided, as the paper's layer test


def test_cca_permutation_floor_without_the_mirror_image():
    # alpha = 0 has a third seed that alpha = -1 lacks: that network keeps its label under every swap, so
    # swapping both shared seeds no longer gives the observed value back, and 1 of 4 relabelings can lead.
    table = _cca_rows(0.4, noise=0.03)
    table = table[~((table.alpha == -1) & ((table.seed_a == 2) | ((table.kind == "within") & (table.seed_b == 2))))]
    row = plots.cca_ratio_table(table).iloc[0]
    flips = [dict(zip((0, 1, 2), (*sides, "a"), strict=True)) for sides in itertools.product("a0", repeat=2)]
    values = np.array([_pooled_statistic(table, f) for f in flips])
    observed = _pooled_statistic(table, {0: "a", 1: "a", 2: "a"})  # seed 2 has only its alpha = 0 network
    assert row.relabelings == 4 and row.p == pytest.approx(np.mean(values >= observed - 1e-12))
    assert row.p == row.p_min == 0.25 and row.within_pairs == 1


def test_cca_permutation_test_needs_enough_seeds_for_a_star():
    six = plots.cca_ratio_table(_cca_rows(0.4, seeds=range(6))).iloc[0]
    assert six.relabelings == 64 and six.p == six.p_min == pytest.approx(2 / 64) and plots.stars(six.p) == "*"
    untested = plots.cca_ratio_table(_cca_rows(0.4, base=False)).iloc[0]  # alpha = 0's own pairs are missing
    assert np.isnan(untested.p) and untested.relabelings == 0 and untested.ratio > 1


def test_recipe_table_times_by_the_median_epoch_and_ranks_by_validation():
    runs = pd.DataFrame(
        dict(
            path=["r/a", "r/b"],
            schedule=["linear", "step"],
            lr=[0.2, 0.1],
            nesterov=[True, False],
            warmup_epochs=[1.0, 0.0],
            epochs=[3, 3],
            alpha=[0.0, 0.0],
            train_seconds=[300.0, 200.0],
            best_val_acc=[0.80, 0.82],
            test_acc=[0.81, 0.79],
            model="resnet20",
            activation="relu",
            slope=0.0,
            seed=0,
            profile="full",
            dataset="synthetic",
            train_images=45_000,
        )
    )
    history = pd.DataFrame(
        dict(
            path=["r/a"] * 3 + ["r/b"] * 3,
            seconds=[50, 50, 200, 60, 70, 70],
            epoch=[1, 2, 3] * 2,
            val_acc=[0.5, 0.7, 0.8, 0.6, 0.7, 0.82],
        )
    )
    table = plots.recipe_table(runs.assign(device="cpu"), history)
    assert list(table.run) == ["b", "a"] and list(table.device) == ["cpu", "cpu"]  # by validation, not test
    assert table.set_index("run").loc["a", "minutes (median epoch)"] == pytest.approx(3 * 50 / 60)
    assert table.set_index("run").loc["a", "minutes"] == pytest.approx(5.0)
    fig = plots.recipe_curves(history, runs)
    assert len(fig.axes[0].get_lines()) == 2 and fig.axes[0].get_xlabel() == "epoch"
    assert any("resnet20, seed 0, 45,000 training images" in t.get_text().replace("\n", " ") for t in fig.texts)
    matplotlib.pyplot.close(fig)
    long = pd.DataFrame(dict(path="r/ref", seconds=60, epoch=range(1, 21), val_acc=np.linspace(0.5, 0.9, 20)))
    fig = plots.recipe_curves(pd.concat([history, long]), pd.concat([runs, runs.iloc[:1].assign(path="r/ref")]))
    assert fig.axes[0].get_xscale() == "log"  # a reference run 7 times longer does not squash the short ones
    matplotlib.pyplot.close(fig)
    check = runs.iloc[:1].assign(path="r/check", alpha=1.0, best_val_acc=0.9)  # best, but a stability check
    table = plots.recipe_table(
        pd.concat([runs, check]), pd.concat([history, history[history.path == "r/a"].assign(path="r/check")])
    )
    assert list(table.run) == ["b", "a", "check"]  # the alpha = 0 ranking stays whole
    fig = plots.recipe_curves(
        pd.concat([history, history[history.path == "r/a"].assign(path="r/check")]), pd.concat([runs, check])
    )
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 1]  # the checks in their own panel
    assert fig.axes[1].get_title() == "stability checks, alpha != 0"
    matplotlib.pyplot.close(fig)


def test_epochs_are_assigned_to_the_device_that_trained_them():
    from selectivity_lib.results import device_stretches, epoch_devices, typical_minutes

    resumed = [{"epoch": 2, "environment": {"device": "cpu"}}, {"epoch": 3, "environment": {"device": "gpu"}}]
    record = {"environment": {"device": "cpu"}, "resumed": resumed}
    assert epoch_devices(record, range(1, 6)) == ["cpu", "cpu", "cpu", "gpu", "gpu"]
    assert epoch_devices({"environment": {"device": "cpu"}}, [1, 2]) == ["cpu", "cpu"]
    history = pd.DataFrame(
        dict(
            epoch=[5, 4, 3, 2, 1],
            seconds=[1.0, 1.0, 100.0, 100.0, 100.0],
            device=epoch_devices(record, [5, 4, 3, 2, 1]),
        )
    )
    assert device_stretches(history) == [(1, 3, "cpu", 300.0), (4, 5, "gpu", 2.0)]
    # a median over two devices' epochs is no machine's cost: typical_minutes leaves it out
    runs = pd.DataFrame(dict(path=["mixed", "one"], epochs=[5, 2]))
    both = pd.concat([history.assign(path="mixed"), history.iloc[3:].assign(path="one")])
    minutes = typical_minutes(runs, both)
    assert np.isnan(minutes[0]) and minutes[1] == pytest.approx(2 * 100 / 60)


def test_seeds_per_alpha_names_uneven_seed_counts():
    from selectivity_lib.results import seeds_per_alpha

    ident = {"model": "resnet20", "activation": "relu", "slope": 0.0}
    runs = pd.DataFrame([ident | {"alpha": a, "seed": s} for a, s in ((0.0, 0), (0.0, 1), (-1.0, 0))])
    assert seeds_per_alpha(runs) == "1-2 seeds per alpha"
    assert seeds_per_alpha(runs[runs.alpha == 0]) == "2 seeds per alpha"
    assert seeds_per_alpha(runs[runs.alpha == -1]) == "1 seed per alpha"


def test_fig3a_shows_the_most_negative_alpha_that_has_replicates():
    # alpha = -10 has one seed so far (cross pairs only): Figure 3a needs within pairs too, so it takes -1
    one_seed = _cca_rows(0.5, seeds=(0, 1)).query("alpha == -1 and kind == 'cross' and seed_a == 0").assign(alpha=-10.0)
    table = pd.concat([_cca_rows(0.4), one_seed]).assign(profile="full", dataset="synthetic", reduce="positions")
    fig = plots.fig3a(table.assign(layer=table.layer_index.map(lambda i: f"conv{i}")))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0].startswith("rho(a-1, a-1)")
