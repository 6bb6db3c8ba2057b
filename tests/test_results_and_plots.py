import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_cca_stats import _cca_rows

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
    assert_legible(fig, name)
    matplotlib.pyplot.close(fig)


def assert_legible(fig, name: str, least_pt: float = 9.0) -> None:
    """Every text of `fig` reads at `least_pt` points or more when the book shows the figure's tight bounding
    box (what the page's PNG holds) at the width of its text column."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width_in = fig.get_tightbbox(renderer).width  # inches
    scale = plots.BOOK_WIDTH_PX / (96 * width_in)  # CSS points per figure point
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    small = {
        t.get_text()[:30]: round(t.get_fontsize() * scale, 1) for t in texts if t.get_fontsize() * scale < least_pt
    }
    assert not small, f"{name}: {width_in:.1f} in wide, text below {least_pt} pt as shown: {small}"


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
    assert_legible(fig, "recipe curves")
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


def _text(fig) -> str:
    """A figure's texts (its footnote unwrapped) as one string."""
    return " ".join(t.get_text() for t in fig.texts).replace("\n", " ")


def test_series_lines_break_where_a_category_has_no_runs_and_dots_stay_at_their_own_category():
    import matplotlib.pyplot as plt

    assert plots._segments([0, 1, 3, 4, 6]) == [[0, 1], [3, 4], [6]]
    runs = pd.DataFrame({"alpha": [0.0] * 3 + [2.0] * 3, "test_acc": [0.8, 0.81, 0.82, 0.5, 0.52, 0.54]})
    fig, ax = plt.subplots()
    plots._series(ax, runs, "alpha", "test_acc", [0.0, 1.0, 2.0], "k", dodge=0.15)
    lines = [line for line in ax.lines if len(line.get_xdata()) > 1 and line.get_linestyle() != "None"]
    assert not any(np.ptp(line.get_xdata()) > 1 for line in lines)  # no line over alpha = 1, which has no runs
    dots = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections if len(c.get_offsets()) == 3])
    assert np.all(np.abs(dots - np.round(dots - 0.15) - 0.15) <= 0.09)  # around their own (dodged) category
    plt.close(fig)


def test_star_footnotes_name_the_thresholds_and_what_the_seeds_allow():
    results, _ = synthetic_results()
    fig = plots.fig4a(results)
    text = _text(fig)
    assert "* p < 0.0002, ** p < 5e-07" in text and "at 3 seeds against 3 (df 4, 3 tests)" in text
    runs = pd.DataFrame({"alpha": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], "v": [0.0] * 6})
    needed = float(plots.t_reach(runs, "v", (0.05,)).rsplit("> ", 1)[1])
    assert needed == pytest.approx(2.776, abs=0.01)  # t_{0.975, 4} (printed to 3 digits): one test, no correction
    fig5 = plots.fig5a(results)
    assert "the smallest p these seed counts allow after correction: 0.3" in _text(fig5)


def test_few_seeds_are_drawn_as_runs_not_violins():
    results, _ = synthetic_results()
    fig = plots.fig2b(results)
    assert "violins from 5 seeds" in _text(fig)
    assert not any(type(c).__name__ == "PolyCollection" for c in fig.axes[0].collections)  # no violin bodies
    many = results.runs[results.runs.alpha.isin([0.0, -0.1])]
    many = pd.concat([many.assign(seed=many.seed + 3 * k) for k in range(2)])  # 6 seeds each
    fig = plots.violins(plots._select(many, "resnet20", sign="neg"), "test_acc")
    assert "kernel density" in _text(fig)


def test_two_recipes_set_the_long_runs_beside_the_short_ones_each_against_its_own_alpha_zero():
    results, _ = synthetic_results()
    short = plots._select(results.runs, "resnet20", sign="neg").assign(epochs=20)
    long = short[short.seed == 0].assign(profile="paper", epochs=200, test_acc=lambda t: t.test_acc + 0.05)
    long = long[long.alpha.isin([0.0, -1.0, short.alpha.min()])]
    fig = plots.two_recipes(short, long)
    ax = fig.axes[0]
    orange = [line for line in ax.lines if line.get_color() == "tab:orange"]
    diamonds = next(line for line in orange if line.get_marker() == "D")
    order = sorted(short.alpha.unique())
    assert list(diamonds.get_xdata()) == [order.index(a) for a in sorted(long.alpha)]
    assert np.allclose(diamonds.get_ydata(), 100 * long.sort_values("alpha").test_acc)
    # a dashed line only between alphas that sit next to each other on the axis, never across a missing one
    assert all(np.ptp(line.get_xdata()) <= 1 for line in orange if line.get_linestyle() == "--")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == [
        "smoke profile, 20 epochs (3 seeds per alpha)",
        "the paper's recipe, 200 epochs (1 seed per alpha)",
    ]
    assert {f"{100 * v:.1f}" for v in long.test_acc} <= {t.get_text() for t in ax.texts}  # each run's accuracy
    assert "Grey: profile smoke" in _text(fig) and "Orange: profile paper" in _text(fig)
    assert_legible(fig, "two_recipes")
    matplotlib.pyplot.close(fig)
    note = plots.two_recipes(short, long[long.alpha == 0])  # the reference alone: nothing to compare yet
    assert isinstance(note, plots.NoData) and "so far alpha 0" in note.message
