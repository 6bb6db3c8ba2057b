import json
import re
import shutil

import pandas as pd
import pytest
import torch

from selectivity_lib import book
from selectivity_lib.selectivity import class_selectivity_index
from selectivity_lib.widgets import IndexExplorer, default_presets


def test_explorer_index_is_the_library_index():
    explorer = IndexExplorer()
    for name, means in explorer.presets.items():
        explorer.means = means
        expected = float(class_selectivity_index(torch.tensor(means, dtype=torch.float64)))
        assert explorer.si == pytest.approx(expected), name


def test_presets_include_the_real_unit_scaled_to_its_largest_mean():
    presets = default_presets([0.2, 0.4, 0.1] + [0.05] * 7)
    assert list(presets)[0] == "real unit" and max(presets["real unit"]) == 1.0
    assert {"uniform", "one class", "sparse"} <= set(presets)
    assert all(len(m) == 10 for m in presets.values())


def test_display_carries_widget_view_and_a_static_page_version():
    explorer = IndexExplorer(real_unit=[1.0] + [0.5] * 9)
    data, _ = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    state = json.loads(re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S).group(1))
    assert state["means"] == explorer.means and state["classes"][0] == "airplane"
    assert 'type="module"' in html and "function selectivity(" in html


def test_mean_ci_text_and_missing_runs():
    runs = pd.DataFrame({"alpha": [0.0, 0.0, -1.0], "test_acc": [0.5, 0.6, 0.4]})
    assert book.mean_ci(runs, "test_acc", 0.0, scale=100, digits=1) == "55.0 (n = 2: 50.0 and 60.0, no interval)"
    three = pd.concat([runs, runs.iloc[:1].assign(test_acc=0.55)])
    text = book.mean_ci(three, "test_acc", 0.0, scale=100, digits=1)
    assert text == "55.0 (95% t-interval 42.6–67.4, n = 3)"
    assert book.mean_ci(runs, "test_acc", -3.0) == "(no runs yet)"
    assert book.mean_ci(runs.iloc[:1], "test_acc", scale=100, digits=1).endswith("(n = 1, no interval)")
    tight = pd.DataFrame({"alpha": [0.0] * 3, "si": [0.09301, 0.09302, 0.09303]})  # ends round to 0.093 at 3 digits
    assert book.mean_ci(tight, "si", 0.0) == "0.09302 (95% t-interval 0.09300–0.09304, n = 3)"


def test_book_profile_is_the_profile_with_most_complete_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("SELECTIVITY_RUNS", str(tmp_path))
    monkeypatch.delenv("SELECTIVITY_BOOK_PROFILE", raising=False)
    for folder, n in (("smoke", 1), ("cpu", 2), ("parity-fp32", 5)):
        for i in range(n):
            run = tmp_path / folder / f"r{i}"
            run.mkdir(parents=True)
            (run / "config.json").write_text("{}")
            (run / "metrics.json").write_text("{}")
    assert book.book_profile() == "cpu"  # parity-fp32 is not a profile: never the book's sweep
    monkeypatch.setenv("SELECTIVITY_BOOK_PROFILE", "smoke")
    assert book.book_profile() == "smoke"


def test_real_unit_comes_from_a_plain_relu_resnet20_at_alpha_0():
    rows = []
    for model, activation, alpha, si in [
        ("resnet20", "leaky_relu", 0.0, 0.9),
        ("vgg16", "relu", 0.0, 0.8),
        ("resnet20", "relu", -1.0, 0.7),
        ("resnet20", "relu", 0.0, 0.3),
    ]:
        for unit in range(5):
            rows.append(
                dict(
                    model=model,
                    activation=activation,
                    alpha=alpha,
                    dead=False,
                    layer_index=18,
                    layer="l18",
                    unit=unit,
                    seed=0,
                    si=si + 0.01 * unit,
                )
            )
    pick = book.real_unit(pd.DataFrame(rows))
    assert (pick.model, pick.activation, pick.alpha) == ("resnet20", "relu", 0.0)
    assert book.real_unit(pd.DataFrame(rows[:5])) is None  # only a leaky network: no preset


def test_a_chapter_describes_the_networks_it_reads_not_the_whole_sweep():
    from pathlib import Path

    from selectivity_lib.results import Results

    networks = [("resnet20", "relu", 0.0, 3), ("resnet20", "leaky_relu", 0.5, 2), ("vgg16", "relu", 0.0, 1)]
    rows = [
        dict(model=m, activation=a, slope=b, alpha=alpha, seed=seed, profile="full", dataset="cifar10-jpg")
        for m, a, b, seeds in networks
        for alpha in (0.0, 1.0)
        for seed in range(seeds)
    ]
    results = Results(pd.DataFrame(rows), pd.DataFrame())
    main = book.BookData("full", Path("runs/full"), results, pd.DataFrame())  # loaded for ReLU ResNet20
    assert main.describe() == "profile full; dataset cifar10-jpg; 6 runs; 3 seeds per alpha"
    both = book.BookData("full", Path("runs/full"), results, pd.DataFrame(), (("resnet20", "relu"), ("vgg16", "relu")))
    assert both.describe() == "profile full; dataset cifar10-jpg; 8 runs; 1-3 seeds per alpha"
    assert len(book.network(results.runs, "resnet20", "leaky_relu")) == 4
    assert book.network(pd.DataFrame()).empty  # an empty table has no columns to select by


def test_learning_curves_draw_one_network():
    from selectivity_lib import plots

    rows = []
    networks = [("resnet20", "relu", 0.0), ("resnet20", "leaky_relu", 0.5), ("vgg16", "relu", 0.0)]
    for model, activation, slope in networks:
        for alpha in (0.0, -1.0):
            for epoch in (1, 2):
                rows.append(
                    dict(
                        model=model,
                        activation=activation,
                        slope=slope,
                        alpha=alpha,
                        seed=0,
                        epoch=epoch,
                        profile="smoke",
                        dataset="synthetic",
                        recipe="r",
                        train_mu_si=0.1 * epoch,
                        val_acc=0.5 if model == "resnet20" and activation == "relu" else 0.9,
                    )
                )
    fig = plots.learning_curves(pd.DataFrame(rows))
    lines = fig.axes[1].get_lines()
    assert len(lines) == 2 and all(set(line.get_ydata()) == {0.5} for line in lines)  # ReLU ResNet20 only
    footnote = " ".join(t.get_text() for t in fig.texts)
    assert "lines: mean over seeds" in footnote and "dots" not in footnote  # it draws lines, no dots
    from test_results_and_plots import assert_legible

    assert_legible(fig, "learning curves")


def test_book_prefers_full_once_it_covers_enough_alphas(tmp_path, monkeypatch):
    def run(profile, alpha, model="resnet20", activation="relu"):
        folder = tmp_path / profile / f"{model}-{activation}" / f"alpha={alpha}" / "seed=0"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(
            json.dumps({"config": {"model": model, "activation": activation, "alpha": alpha}, "data": {}})
        )
        (folder / "metrics.json").write_text("{}")

    monkeypatch.setenv("SELECTIVITY_RUNS", str(tmp_path))
    monkeypatch.delenv("SELECTIVITY_BOOK_PROFILE", raising=False)
    for alpha in (0, -1, 1, -3, 3):
        run("cpu", alpha)
    for alpha in (0, -1, 1, -3):
        run("full", alpha)
    assert book.book_profile() == "cpu"  # full covers 4 alphas: not yet
    run("full", 3)
    assert book.book_profile() == "full"
    vgg = (("resnet20", "relu"), ("vgg16", "relu"))
    assert book.book_profile(needs=vgg) == "full"  # no profile has VGG16: the first with 5 alphas of a network
    for alpha in (0, -1):
        run("cpu", alpha, model="vgg16")
    assert book.book_profile(needs=vgg) == "cpu"  # VGG16 at 2 alphas in cpu beats none in full
    run("full", 0, model="vgg16")
    assert book.book_profile(needs=vgg) == "cpu"  # 1 alpha in full against 2 in cpu: the most alphas win
    for alpha in (-1, 1):
        run("full", alpha, model="vgg16")
    assert book.alphas_needed(("vgg16", "relu")) == 3  # the grid plans VGG16 at 3 alphas, not MIN_ALPHAS
    assert book.book_profile(needs=vgg) == "full"
    # leaky ReLU: cpu has 3 alphas; full is shown once it has the 4 the grid plans, never 5
    leaky = (("resnet20", "relu"), ("resnet20", "leaky_relu"))
    for alpha in (-1, 0, 1):
        run("cpu", alpha, activation="leaky_relu")
    for alpha in (0, 1):
        run("full", alpha, activation="leaky_relu")
    assert book.book_profile(needs=leaky) == "cpu"
    for alpha in (2, 5):
        run("full", alpha, activation="leaky_relu")
    assert book.book_profile(needs=leaky) == "full"

    # the CCA chapter: the first profile whose CCA tables give ratios at 4 alphas besides 0
    def cca(profile, alphas):
        rows = [
            dict(model="resnet20", activation="relu", alpha=a, kind=k, seed_a=0, seed_b=1)
            for a in alphas
            for k in ("within", "cross")
        ] + [
            dict(model="resnet20", activation="relu", alpha=-10, kind="cross", seed_a=0, seed_b=1),  # no within
            dict(model="resnet20", activation="relu", alpha=-30, kind="within", seed_a=1, seed_b=1),
        ]  # same seed
        pd.DataFrame(rows).to_csv(tmp_path / profile / "resnet20-relu" / "cca_distances.csv", index=False)

    assert book.book_profile(cca=True) == "full"  # no CCA anywhere: the runs decide
    cca("cpu", (-1, 1, -3, 3))
    assert book.book_profile(cca=True) == "cpu"
    cca("full", (-1, 1, -3))
    assert book.cca_ratio_alphas(tmp_path / "full") == {("resnet20", "relu"): 3}
    assert book.book_profile(cca=True) == "cpu"  # 3 ratios in full: not yet
    cca("full", (-1, 1, -3, 3))
    assert book.book_profile(cca=True) == "full"


def test_rising_loss_names_the_epochs():
    history = pd.DataFrame(
        dict(
            alpha=[1.0] * 4 + [0.0] * 4,
            seed=0,
            epoch=[1, 2, 3, 4] * 2,
            train_ce=[2.0, 1.5, 2.1, 1.9, 2.0, 1.6, 1.4, 1.41],
        )
    )
    text = book.rising_loss(history)
    assert "alpha = 1, seed 0: rises in epoch(s) 3 (by up to 0.60)" in text
    assert "alpha = 0, seed 0: falls or holds every epoch" in text


def test_rising_loss_keeps_runs_that_share_an_alpha_apart():
    """Two recipes checked at the same alpha and seed are two runs, named by their folders."""
    history = pd.DataFrame(
        dict(
            alpha=1.0,
            seed=0,
            epoch=[1, 2, 3] * 2,
            train_ce=[2.0, 2.2, 1.8, 2.0, 1.9, 1.8],
            path=["r/lr0.4-alpha1"] * 3 + ["r/lr0.1-alpha1"] * 3,
        )
    )
    table = book.loss_rises(history)
    assert table.set_index("run").rises.to_dict() == {"lr0.4-alpha1": [2], "lr0.1-alpha1": []}
    assert book.rising_loss(history) == (
        "lr0.4-alpha1: rises in epoch(s) 2 (by up to 0.20); lr0.1-alpha1: falls or holds every epoch"
    )


def test_rising_loss_names_the_network_where_a_sweep_holds_several():
    """A grid of several networks repeats alphas and seeds: each run is named by its network too."""
    nets = [("resnet20", "relu", 0.0), ("resnet20", "leaky_relu", 0.5), ("vgg16", "relu", 0.0)]
    history = pd.concat(
        pd.DataFrame(
            dict(
                model=m,
                activation=a,
                slope=b,
                alpha=0.0,
                seed=0,
                epoch=[1, 2],
                train_ce=[2.0, 2.0 + i],
                path=f"full/{m}{a}/alpha=0/seed=0",
            )
        )
        for i, (m, a, b) in enumerate(nets)
    )
    assert book.rising_loss(history) == (
        "resnet20 alpha = 0, seed 0: falls or holds every epoch; resnet20-leaky0.5 alpha = 0, seed 0: rises in "
        "epoch(s) 2 (by up to 1.00); vgg16 alpha = 0, seed 0: rises in epoch(s) 2 (by up to 2.00)"
    )
    one = history[history.model == "vgg16"]  # one network: alpha and seed say enough
    assert book.rising_loss(one) == "alpha = 0, seed 0: rises in epoch(s) 2 (by up to 2.00)"


def test_recipe_ranking_says_why_each_better_recipe_was_passed_over():
    recipe = pd.DataFrame(
        dict(
            path=["r/fast", "r/fast-alpha1", "r/long", "r/plain", "r/plain-alpha1", "r/paper-e200"],
            recipe=["f", "f", "l", "p", "p", "ref"],
            alpha=[0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            epochs=[20, 20, 22, 20, 20, 200],
            profile=["full"] * 5 + ["paper"],
            best_val_acc=[0.86, 0.40, 0.835, 0.833, 0.75, 0.9],
            test_acc=[0.85, 0.39, 0.83, 0.828, 0.74, 0.893],
            train_seconds=[1200] * 5 + [10_800],
        )
    )
    history = pd.DataFrame(
        dict(
            path=["r/fast-alpha1"] * 3 + ["r/plain-alpha1"] * 3,
            alpha=1.0,
            seed=0,
            epoch=[1, 2, 3] * 2,
            train_ce=[2.0, 2.3, 1.9, 2.0, 1.8, 1.7],
        )
    )
    text = book.recipe_ranking(recipe, book.loss_rises(history), chosen="p")
    assert text.startswith("plain, ranked 3 of 3 by validation accuracy: above it, ")
    assert "fast (+2.7 points; its cross-entropy rose at alpha = 1 in epoch(s) 2)" in text
    assert "long (+0.2 points; not checked at alpha != 0; 22 epochs against 20)" in text
    rises = book.loss_rises(history)
    assert book.recipe_ranking(recipe, rises, chosen="f").endswith("ranked 1 of 3 by validation accuracy")
    assert book.recipe_ranking(recipe, rises, chosen=None).startswith("a recipe that has no")


def test_reference_run_is_measured_against_the_chosen_recipe_and_never_a_candidate():
    recipe = pd.DataFrame(
        dict(
            path=["r/plain", "r/plain-alpha1", "r/paper-e200"],
            recipe=["p", "p", "ref"],
            alpha=[0.0, 1.0, 0.0],
            epochs=[20, 20, 200],
            profile=["full", "full", "paper"],
            best_val_acc=[0.833, 0.75, 0.9],
            test_acc=[0.828, 0.74, 0.893],
            train_seconds=[1200, 1200, 10_800],
            amp=["bfloat16", "bfloat16", "bfloat16+fp32"],
        )
    )
    assert list(book.recipe_candidates(recipe).path) == ["r/plain", "r/plain-alpha1"]
    assert book.reference_gap(recipe, "p") == (
        "paper-e200 (200 epochs, 3.0 hours of recorded training in bfloat16+fp32) reached 89.3% test accuracy, "
        "6.5 points more than plain (82.8% in 20 epochs)"
    )
    assert book.reference_gap(recipe, None).endswith("reached 89.3% test accuracy")
    worse = recipe.assign(test_acc=[0.828, 0.74, 0.818])
    assert book.reference_gap(worse, "p").endswith("1.0 points less than plain (82.8% in 20 epochs)")
    assert book.reference_gap(recipe[recipe.profile == "full"], "p").startswith("not trained yet")
    assert book.reference_gap(recipe[recipe.profile == "full"], "p", "about 2.8 hours").endswith(
        "paper-e200, about 2.8 hours)"
    )
    # a reference run finished on another device: its time is told per device, with the epochs each trained
    history = pd.DataFrame(
        dict(
            path="r/paper-e200",
            epoch=range(1, 201),
            seconds=[150.0] * 70 + [2.5] * 130,
            device=["cpu (x86_64)"] * 70 + ["NVIDIA H200"] * 130,
        )
    )
    assert book.reference_gap(recipe, "p", history=history).startswith(
        "paper-e200 (200 epochs, in bfloat16+fp32: epochs 1-70 on cpu (x86_64), 2.9 hours; epochs 71-200 on "
        "NVIDIA H200, 5.4 minutes) reached 89.3% test accuracy, 6.5 points more"
    )


def test_at_chance_names_runs_that_collapsed_and_never_recovered(tmp_path):
    paths = []
    for alpha in (1.0, 5.0):
        folder = tmp_path / f"alpha={alpha:g}"
        folder.mkdir()
        (folder / "config.json").write_text(
            json.dumps({"config": {"model": "resnet20", "alpha": alpha}, "data": {"num_classes": 10}})
        )
        paths.append(str(folder))
    runs = pd.DataFrame(dict(path=paths, alpha=[1.0, 5.0], seed=0, best_epoch=[5, 2]))
    history = pd.DataFrame(
        dict(
            path=[paths[0]] * 5 + [paths[1]] * 5,
            epoch=[1, 2, 3, 4, 5] * 2,
            train_acc=[0.3, 0.11, 0.5, 0.6, 0.7, 0.2, 0.25, 0.11, 0.10, 0.10],
        )
    )
    assert book.at_chance(runs, history) == (
        "alpha = 5, seed 0: training accuracy at chance (10%) from epoch 3 to the last; its test figures come "
        "from epoch 2, the best by validation"
    )  # alpha = 1 touched chance in epoch 2 but recovered
    assert book.at_chance(runs.iloc[:1], history) == "none"


def test_ranksum_reach_says_when_no_star_is_possible():
    from selectivity_lib.stats import ranksum_by_magnitude

    accuracy = [0.83, 0.84, 0.85, 0.7, 0.71, 0.72, 0.8, 0.79]
    three = pd.DataFrame({"alpha": [-1.0] * 3 + [1.0] * 3 + [-0.3, 0.3], "test_acc": accuracy})
    text = book.ranksum_reach(ranksum_by_magnitude(three, "test_acc"))
    # 3 against 3, completely separated: p = 0.1 exactly, and the one-seed |alpha| = 0.3 is not tested
    assert "|alpha| = 1: 3 against 3 seeds, smallest corrected p 0.1" in text
    assert "|alpha| = 0.3: 1 against 1 seeds, no test" in text and "no star (corrected p < 0.05) can appear" in text
    eight = pd.DataFrame({"alpha": [-1.0] * 8 + [1.0] * 8, "test_acc": [0.8 + i / 100 for i in range(16)]})
    text = book.ranksum_reach(ranksum_by_magnitude(eight, "test_acc"))
    assert text.endswith("a star (corrected p < 0.05) is possible")


def test_convergence_reports_what_the_last_epochs_gained():
    runs = pd.DataFrame(
        dict(
            path=["a", "b"],
            model="vgg16",
            activation="relu",
            slope=0.0,
            alpha=0.0,
            seed=[0, 1],
            best_val_acc=[0.70, 0.81],
            best_epoch=[8, 8],
            train_seconds=[2400.0, 2460.0],
        )
    )
    val = [0.3, 0.4, 0.5, 0.55, 0.6, 0.62, 0.66, 0.70]  # the last 2 of 8 epochs gain 8 points
    history = pd.DataFrame(
        dict(
            path=["a"] * 8 + ["b"] * 8,
            epoch=list(range(1, 9)) * 2,
            val_acc=val + [0.81] * 8,
            train_acc=[0.5] * 7 + [0.72] + [0.9] * 8,
        )
    )
    text = book.convergence(runs, history)
    assert text.startswith(
        "vgg16 alpha = 0, seed 0: best validation accuracy 70.0% (epoch 8 of 8), training accuracy 72.0% in the last "
        "epoch, validation accuracy +8.0 points over the last 2 epochs, 40 minutes of training; vgg16 alpha = 0, seed 1"
    )
    assert "+0.0 points" in text and book.convergence(runs.iloc[:0], history) == "none run yet"


def test_rate_check_keeps_the_rate_within_the_margin_and_flags_it_beyond():
    res = pd.DataFrame(dict(best_val_acc=[0.84, 0.86], train_seconds=[1000.0, 1000.0]))
    near = pd.DataFrame(dict(best_val_acc=[0.82], train_seconds=[2500.0]))
    text = book.rate_check(near, res)
    assert text.startswith(
        "VGG16's mean best validation accuracy, 82.0%, is 3.0 points below ResNet20's 85.0% "
        "(1 VGG16 run against 2 of ResNet20), within the 5 points"
    )
    assert "keeps this rate" in text
    assert "within the 45-minute budget (the longest run: 42 minutes, as recorded)" in text
    far = near.assign(best_val_acc=0.70, train_seconds=3000.0)
    text = book.rate_check(far, res)
    assert "15.0 points below" in text and "may not converge" in text and "50 minutes" in text and "over the" in text
    # a disturbed epoch moves the recorded minutes, not epochs x the median epoch
    history = pd.DataFrame(dict(path="v", seconds=[240.0, 240.0, 900.0, 240.0]))
    text = book.rate_check(far.assign(path="v", epochs=4), res, history)
    assert "(the longest run: 16 minutes, epochs times median epoch)" in text
    assert book.rate_check(near.iloc[:0], res).startswith("not judged yet")


def test_against_zero_gives_each_alphas_factor_and_points_from_seed_means():
    runs = pd.DataFrame(
        dict(
            alpha=[0.0, 0.0, -1.0, 1.0],
            seed=[0, 1, 0, 0],
            si_unit_mean=[0.24, 0.26, 0.05, 0.5],
            test_acc=[0.80, 0.82, 0.805, 0.70],
        )
    )
    assert book.against_zero(runs) == (
        "alpha = 0: mean SI 0.250, test accuracy 81.0% (2 seeds); alpha = -1: mean SI 0.050 (5.0 times lower), test "
        "accuracy 80.5% (-0.5 points; 1 seed); alpha = 1: mean SI 0.500 (2.0 times higher), test accuracy 70.0% "
        "(-11.0 points; 1 seed)"
    )
    assert book.against_zero(runs[runs.alpha == 0]).endswith("; no other alpha yet")
    assert book.against_zero(runs[runs.alpha != 0]) == "no runs at alpha = 0 yet"


def test_precision_course_reads_each_side_of_alpha_zero():
    alphas = [-3.0, -1.0, 0.0, 1.0, 5.0]
    runs = pd.DataFrame(
        dict(alpha=alphas, si_unit_mean=[0.05, 0.1, 0.2, 0.6, 0.62], precision_unit_mean=[0.15, 0.25, 0.3, 0.4, 0.2])
    )
    units = pd.DataFrame(dict(alpha=[5.0] * 4, seed=0, dead=[True, True, False, False], precision=[0.1, 0.1, 0.3, 0.3]))
    assert book.precision_course(runs, units) == (
        "over the 3 alphas <= 0, mean precision and mean SI have Spearman rho 1.00; over the alphas >= 0, mean "
        "precision is highest at alpha = 1 (0.400) and falls beyond it, to 0.200 at alpha = 5, while mean SI goes "
        "from 0.600 to 0.620; leaving dead units out moves mean precision by at most 0.100"
    )
    assert (
        book.precision_course(runs.iloc[3:]) == "over the alphas >= 0, mean precision is highest at alpha = 1 "
        "(0.400) and falls beyond it, to 0.200 at alpha = 5, while mean SI goes from 0.600 to 0.620"
    )


def test_chapter_figure_captions_are_the_library_captions():
    # A chapter's `glue:figure` caption restates plots.CAPTIONS after the paper's figure number; they must not
    # drift apart when a figure changes what it shows (the scorecard's short captions only name the figure).
    from selectivity_lib.plots import CAPTIONS

    # ... and say where the panel comes from by the glued `drawn_<key>` (not drawn: no "from this book's runs")
    lead = r"\*\*The paper's Figure ([^*]+)\*\* \{cite:p\}`leavitt2020selectivity`, \{glue:text\}`drawn_(\w+)`\. "
    seen = set()
    for chapter in sorted((book.REPO / "book").glob("*.md")):
        pattern = r"```\{glue:figure\} fig_(\w+)\n:name: [^\n]+\n\n" + lead + r"(.*?)\n```"
        for key, number, drawn, caption in re.findall(pattern, chapter.read_text(), re.S):
            assert caption == CAPTIONS[key], f"{chapter.name}: Figure {key}"
            assert number == drawn == key, f"{chapter.name}: Figure {key} captioned as {number} / {drawn}"
            seen.add(key)
    assert len(seen) >= 32


def test_no_shown_cell_ends_in_a_glue_call():
    # book.glue returns its value, so a glue call as the last line of a cell whose output is shown prints the
    # glued sentence as a raw string under the figure; such a line ends in ';' (or the cell is removed).
    import ast

    import jupytext

    for chapter in sorted((book.REPO / "book").glob("*.md")):
        for cell in jupytext.read(chapter).cells:
            if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
                continue
            body = ast.parse(cell.source).body
            last = body[-1] if body else None
            glued = (
                isinstance(last, ast.Expr)
                and isinstance(last.value, ast.Call)
                and getattr(last.value.func, "attr", "").startswith("glue")
            )
            assert not glued or cell.source.rstrip().endswith(";"), f"{chapter.name}: {cell.source[-80:]}"


def test_knob_order_says_when_the_term_stops_ordering_runs_by_alpha():
    alphas = [-1.0, 0.0, 1.0, 5.0]
    term = {1: [0.05, 0.1, 0.3, 0.5], 2: [0.05, 0.1, 0.4, 0.6], 3: [0.05, 0.1, 0.4, 1e-8]}  # alpha = 5 collapses
    history = pd.DataFrame(
        [
            dict(epoch=e, alpha=a, seed=0, train_mu_si=v)
            for e, values in term.items()
            for a, v in zip(alphas, values, strict=True)
        ]
    )
    assert book.knob_order(history) == (
        "over the 4 alphas, Spearman rho between alpha and the term is 1.00 after epoch 1 and -0.20 after epoch 3; "
        "it is below 0.9 from epoch 3"
    )
    assert book.knob_order(history[history.epoch < 3]).endswith("1.00 after epoch 2")
    assert book.knob_order(history[history.alpha < 1]) == "too few alphas yet"


def test_downloadable_notebook_puts_glued_outputs_back_in_their_cells(tmp_path):
    """myst-nb takes glued outputs out of the notebook it writes; the downloadable copy has them back."""
    import nbformat
    from myst_nb.ext.glue import extract_glue_data
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from selectivity_lib import book\nprint('made')"),
        nbformat.v4.new_code_cell("book.glue('shown', 'kept', display=True)\nn = book.glue('n', 41 + 1)"),
        nbformat.v4.new_code_cell("print('no glue here')"),
        nbformat.v4.new_code_cell("later = book.glue('later', 'x' * 3)"),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    glued = extract_glue_data(notebook, [0] * len(notebook.cells), logger=None)  # as myst-nb's build does
    assert not any(
        o.get("metadata", {}).get("scrapbook", {}).get("mime_prefix") for c in notebook.cells for o in c.outputs
    )
    executed = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, executed)
    executed.with_suffix(".glue.json").write_text(json.dumps(glued))

    assert book.downloadable_notebook(executed, tmp_path / "out.ipynb") == 2
    cells = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells
    texts = [[o.get("text") or o.get("data", {}).get("text/plain") for o in c.outputs] for c in cells]
    assert texts == [["made\n"], ["'kept'", "42"], ["no glue here\n"], ["'xxx'"]]


def test_downloadable_notebook_refuses_a_glued_output_without_its_cell(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("1", execution_count=1)]
    nbformat.write(notebook, tmp_path / "c.ipynb")
    output = {
        "output_type": "display_data",
        "data": {"text/plain": "1"},
        "metadata": {"scrapbook": {"name": "a", "mime_prefix": "application/papermill.record/"}},
    }
    (tmp_path / "c.glue.json").write_text(json.dumps({"a": output}))
    with pytest.raises(ValueError, match="'a' names no executed cell"):
        book.downloadable_notebook(tmp_path / "c.ipynb", tmp_path / "out.ipynb")


def test_seed_spread_gives_each_alpha_its_seeds_range_and_seed_noise_names_the_widest():
    from selectivity_lib import plots

    runs = pd.DataFrame(
        dict(
            model="resnet20",
            activation=["relu"] * 5 + ["leaky_relu"],
            slope=[0.0] * 5 + [0.5],
            alpha=[0.0, 0.0, 0.0, 5.0, 5.0, 0.0],
            seed=[0, 1, 2, 0, 1, 0],
            test_acc=[0.83, 0.835, 0.826, 0.20, 0.35, 0.8],
            si_unit_mean=[0.202, 0.203, 0.2025, 0.3, 0.6, 0.2],
        )
    )
    spread = plots.seed_spread(runs)
    assert spread[["network", "alpha", "seeds"]].values.tolist() == [["resnet20", 0.0, 3], ["resnet20", 5.0, 2]]
    zero = spread.iloc[0]  # the leaky network's single seed has no spread to give
    assert (zero["test acc. lowest (%)"], zero["test acc. highest (%)"]) == pytest.approx((82.6, 83.5))
    assert zero["test acc. SD"] == pytest.approx(100 * runs.test_acc[:3].std())
    assert zero["SI highest"] - zero["SI lowest"] == pytest.approx(0.001)
    text = book.seed_noise(spread)
    assert text == (
        "at alpha = 0 ResNet20's 3 seeds lie within 0.9 points of test accuracy (SD 0.45) and 0.001 of "
        "SI; the seeds lie furthest apart for resnet20 at alpha = 5 (15.0 points, SD 10.6)"
    )
    assert plots.seed_spread(runs.iloc[[0, 5]]).empty
    assert book.seed_noise(pd.DataFrame()) == "no alpha has two seeds yet"


def test_paired_runs_matches_alpha_and_seed_and_says_when_nothing_pairs():
    step = pd.DataFrame(dict(alpha=[1.0, -1.0], seed=0, test_acc=[0.609, 0.820]))
    full = pd.DataFrame(dict(alpha=[1.0, 1.0, -1.0, 0.0], seed=[0, 1, 0, 0], test_acc=[0.720, 0.74, 0.838, 0.83]))
    assert book.paired_runs(step, full, ("step", "full")) == (
        "alpha = -1, seed 0: 82.0% (step) against 83.8% (full), -1.8 points; "
        "alpha = 1, seed 0: 60.9% (step) against 72.0% (full), -11.1 points"
    )  # seed 1 at alpha = 1 has no partner, so it is left out
    assert book.paired_runs(step.assign(seed=5), full, ("a", "b")).startswith("no pair yet: no run")
    assert book.paired_runs(step.iloc[:0], full, ("a", "b")) == "no pair yet"


def test_reference_gap_reports_how_far_an_unfinished_reference_run_has_trained(tmp_path):
    skipped = []
    for name, profile in (("linear-e20", "full"), ("paper-e200", "paper")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(
            json.dumps({"config": {"profile": profile, "alpha": 0.0, "epochs": 200}, "data": {"num_classes": 10}})
        )
        pd.DataFrame(dict(epoch=[1, 2, 3], val_acc=[0.41, 0.55, 0.52])).to_csv(folder / "history.csv", index=False)
        skipped.append((str(folder), "incomplete (no metrics.json)"))
    (tmp_path / "empty").mkdir()  # no record, no finished epoch: passed over
    skipped.insert(0, (str(tmp_path / "empty"), "incomplete (no metrics.json)"))
    no_reference = pd.DataFrame(
        dict(
            path=["r/plain"],
            recipe=["p"],
            alpha=[0.0],
            epochs=[20],
            profile=["full"],
            test_acc=[0.828],
            train_seconds=[1200],
        )
    )
    assert book.reference_gap(no_reference, "p", "about 2.8 hours", skipped) == (
        "paper-e200 is still training: 3 of its 200 epochs done, 55.0% best validation accuracy so far; no test "
        "figure until it finishes (resume it with bash scripts/recipe-study.sh paper-e200)"
    )
    assert book.reference_gap(no_reference, "p", None, skipped[:2]).startswith("not trained yet")


def test_book_tables_drop_row_numbers_but_keep_an_index_that_names_rows():
    frame = pd.DataFrame({"alpha": [-0.1, -1.0], "test_acc": [0.81234, float("nan")]})
    html = book.table(frame, 2, missing="").data
    assert "0.81" in html and "0.81234" not in html and "-0.1" in html and "NaN" not in html
    assert "<th>0</th>" not in html  # pandas' row numbers
    named = book.table(frame.set_index("alpha")).data
    assert "<th>-0.1</th>" in named and "0.81234" in named  # no digits: as recorded


def test_training_length_note_reads_the_strongest_penalty_and_the_reference_run(tiny_sweep, tmp_path):
    from selectivity_lib.results import load_results

    runs = load_results(tiny_sweep).runs
    note = book.training_length_note(runs, tmp_path / "no-reference", last=0)
    assert note.startswith("at alpha = -1 the validation accuracy still rose 0.0 points over the last 0 of its 1")
    assert "200-epoch" not in note  # no reference run: nothing said about it
    reference = tiny_sweep / "resnet20" / "alpha=0" / "seed=0"
    with_ref = book.training_length_note(runs, reference, last=0)
    acc = 100 * runs[runs.alpha == 0].test_acc
    assert f"reach {acc.mean():.1f}% against {acc.iloc[0]:.1f}% for the 1-epoch run" in with_ref


def test_paper_recipe_costs_name_only_the_alphas_a_claim_is_about(tiny_sweep, tmp_path):
    """Each chapter shows the 200-epoch runs its claim is about (reducing: -30, -10; increasing: 2), each against
    the mean of the alpha = 0 runs, and names the ones still to train."""
    from selectivity_lib.results import load_results

    runs = load_results(tiny_sweep).runs.set_index(["alpha", "seed"])
    reference = tiny_sweep / "resnet20" / "alpha=0" / "seed=0"
    both = book.paper_recipe_runs(paper=tiny_sweep, reference=reference)  # reference first, then all
    assert len(both) == len(runs) + 1 and both.test_acc.iloc[0] == runs.test_acc[(0.0, 0)]
    one_zero = both.drop(index=both.index[both.alpha.eq(0.0)][1:])  # the reference alone at alpha = 0
    acc0, acc1 = 100 * runs.test_acc[(0.0, 0)], 100 * runs.test_acc[(-1.0, 0)]
    text = book.paper_recipe_costs(one_zero, alphas=(-1, 2), paper=tiny_sweep)
    assert text.startswith(
        f"alpha = -1 {'cuts' if runs.si_unit_mean[(-1.0, 0)] < runs.si_unit_mean[(0.0, 0)] else 'raises'}"
    )
    assert f"reaches {acc1:.1f}% against {acc0:.1f}% at alpha = 0, {abs(acc0 - acc1):.1f} points" in text
    assert "alpha = 0 cuts" not in text and "alpha = 0 raises" not in text  # runs at other alphas are left out
    assert text.endswith("; still to train: alpha = 2")
    # several alpha = 0 runs: each cost is against their mean, and the sentence says so
    mean0 = 100 * both[both.alpha == 0].test_acc.mean()
    text = book.paper_recipe_costs(both, alphas=(-1,), paper=tiny_sweep)
    assert f"reaches {acc1:.1f}% against {mean0:.1f}% at alpha = 0 (mean of 3 runs), " in text
    assert book.paper_recipe_costs(one_zero, alphas=(2,), paper=tiny_sweep).startswith(
        "no paper-recipe run at alpha = 2 is complete yet (it is planned: python -m selectivity_lib sweep --profile "
        "paper --alphas 2 --seeds 0"
    )
    no_zero = both[both.alpha != 0]
    assert book.paper_recipe_costs(no_zero, paper=tiny_sweep).startswith("no 200-epoch alpha = 0 run is complete")
    assert book.paper_recipe_costs(both.iloc[:0], paper=tiny_sweep).startswith("no 200-epoch alpha = 0 run")

    # a run still training says how far it has got, from its history
    partial = tmp_path / "paper" / "resnet20" / "alpha=2" / "seed=0"
    partial.mkdir(parents=True)
    (partial / "history.csv").write_text("epoch,val_acc\n0,0.3\n1,0.4\n2,0.5\n")
    text = book.paper_recipe_costs(one_zero, alphas=(-10, 2), paper=tmp_path / "paper")
    assert text.startswith("no paper-recipe run at alpha = -10, 2 is complete yet (alpha = 2: 3 of its 200 epochs ")


def test_paper_alpha_zero_names_each_baseline_run_and_how_far_apart_they_lie(tiny_sweep):
    reference = tiny_sweep / "resnet20" / "alpha=0" / "seed=0"
    both = book.paper_recipe_runs(paper=tiny_sweep, reference=reference)
    one_zero = both.drop(index=both.index[both.alpha.eq(0.0)][1:])
    assert book.paper_alpha_zero(one_zero) == f"the 200-epoch alpha = 0 run (seed 0 in {reference})"
    acc = 100 * both[both.alpha == 0].test_acc
    text = book.paper_alpha_zero(both)
    assert text.startswith(f"the three 200-epoch alpha = 0 runs (seed 0 in {reference}, seed 0 in {reference} and ")
    assert f"lie {acc.max() - acc.min():.2f} points apart" in text and f"{acc.iloc[0]:.2f}%" in text
    assert book.paper_alpha_zero(both, spread=False).startswith("the 200-epoch alpha = 0 runs (seed 0 in")
    assert "apart" not in book.paper_alpha_zero(both, spread=False)
    assert book.paper_alpha_zero(both[both.alpha != 0]).startswith("no 200-epoch alpha = 0 run")


def test_a_chapter_glues_its_claims_verdicts_from_the_scorecards_rules():
    from types import SimpleNamespace

    from test_scorecard import PAPER_LIKE

    from selectivity_lib.scorecard import scorecard

    text = book.glue_verdicts(SimpleNamespace(runs=PAPER_LIKE, cca=pd.DataFrame()), "near-zero", "cca")
    card = scorecard(PAPER_LIKE, pd.DataFrame()).set_index("key")
    assert text.splitlines() == [
        f"near-zero: {card.verdict['near-zero']} ({card.evidence['near-zero']})",
        f"cca: not run yet ({card.evidence['cca']})",
    ]


def test_book_tables_show_fractions_in_percent_and_scroll_inside_the_column():
    frame = pd.DataFrame({"alpha": [-1.0, -10.0], "mean": [0.83446, 0.78], "p": [0.00851, 0.5]})
    html = book.table(frame, 4, percent={"mean": "mean test acc. (%)"}).data
    assert "mean test acc. (%)" in html and "83.45" in html and "78.0" in html
    assert "0.0085" in html  # the other columns keep their digits
    assert "0.8345" not in html and "<th>mean</th>" not in html
    assert html.startswith('<div class="table-scroll" style="overflow-x: auto')


def test_the_scorecard_page_scores_each_claim_on_its_chapters_sweep(tiny_sweep, tmp_path, monkeypatch):
    import shutil

    from selectivity_lib.scorecard import CLAIMS

    shutil.copytree(tiny_sweep, tmp_path / "smoke")
    monkeypatch.setenv("SELECTIVITY_RUNS", str(tmp_path))
    monkeypatch.setenv("SELECTIVITY_BOOK_PROFILE", "smoke")
    card = book.glue_scorecard()
    assert list(card.index) == [c.key for c in CLAIMS]  # every claim once, in the scorecard's order
    assert set(card.profile) == {"smoke, 2 seeds per alpha"}
    verdicts = {"agrees", "partly", "disagrees", "not run yet", "not testable at these seeds"}
    assert set(card.verdict) <= verdicts and card.evidence.str.len().gt(0).all()
    assert card.loc["leaky", "verdict"] == "not run yet"  # no leaky-ReLU runs in that sweep
    # the primary sweep a page has loaded already is scored as it is, not read again
    from selectivity_lib import pages

    main, reads, read = book.load(), [], pages.load
    monkeypatch.setattr(pages, "load", lambda **arguments: reads.append(arguments) or read(**arguments))
    pd.testing.assert_frame_equal(book.glue_scorecard(main), card)
    assert reads and {} not in reads  # the other claims' sweeps are read; the primary one is not read again


def test_schedule_share_sets_each_recipes_cost_against_its_own_alpha_zero():
    def runs(profile, accs):
        return pd.DataFrame(
            [
                dict(profile=profile, alpha=a, seed=s, test_acc=v)
                for a, values in accs.items()
                for s, v in enumerate(values)
            ]
        )

    short = runs("full", {0.0: [0.83, 0.83], -10.0: [0.785, 0.785], -30.0: [0.67, 0.67], -3.0: [0.81]})
    long = runs("paper", {0.0: [0.868], -10.0: [0.854], -30.0: [0.804]})
    text = book.schedule_share(short, long, (-30, -10, -3, 2))
    assert text.startswith(
        "at alpha = -30 the full runs lose 16.0 points against their alpha = 0 (mean of 2 seeds) and the 200-epoch "
        "run 6.4 against its own, so the longer schedule removes 9.6 points (60% of it); at alpha = -10 the full runs "
        "lose 4.5 points"
    )
    assert "alpha = -3 " not in text and "alpha = 2 " not in text  # in one recipe only: left out
    assert text.endswith("(each 200-epoch cost is one run's, with no interval)")
    worse = book.schedule_share(short, long.assign(test_acc=[0.868, 0.80, 0.70]), (-10,))
    assert "the longer schedule adds 2.3 points" in worse and "% of it" not in worse
    assert book.schedule_share(short, long.iloc[:0], (-10,)) == ""
    two_zeros = pd.concat([long, runs("paper", {0.0: [0.872, 0.864]}).iloc[[1]]], ignore_index=True)
    text = book.schedule_share(short, two_zeros, (-30,))  # their mean, 86.6%, is alpha = 0
    assert "and the 200-epoch run 6.2 against its own (mean of 2 runs), so the longer schedule removes 9.8" in text


def test_precision_check_places_each_fp32_run_against_the_fast_runs_seed_range(tiny_sweep, tmp_path, monkeypatch):
    from selectivity_lib import prose

    def runs(amp, accs, sis, alpha=2.0):
        return pd.DataFrame(
            [
                dict(
                    model="resnet20",
                    activation="relu",
                    profile="full",
                    alpha=alpha,
                    seed=s,
                    test_acc=a,
                    si_unit_mean=si,
                    amp=amp,
                    channels_last=True,
                    compiled=True,
                )
                for s, (a, si) in enumerate(zip(accs, sis, strict=True))
            ]
        )

    fast = runs("bfloat16", [0.405, 0.477, 0.376], [0.60, 0.62, 0.58])
    text = book.precision_check(fast, 2.0, runs("fp32", [0.41], [0.65]))
    assert text.startswith(
        "at alpha = 2, the fp32 run (seed 0; fp32, channels-last, compiled) against the 3 full runs on the fast path "
        "(bfloat16, channels-last, compiled): test accuracy (%) 41.0 (inside their range) against "
        f"{book.mean_ci(fast, 'test_acc', scale=100, digits=1)}, from 37.6 to 47.7; mean SI 0.650 (above their range)"
    )
    assert (
        "from 0.580 to 0.620. Were precision to change nothing, a run would still land outside 3 runs' range " in text
    )
    chance = "probability 2/4 (0.50; below it with 1/4), so one run outside the range is not by itself evidence"
    assert text.endswith(f"with {chance} of a difference")
    assert "30.0 (below their range)" in book.precision_check(fast, 2.0, runs("fp32", [0.30], [0.6]))
    # several fp32 runs: an exact rank-sum test of each quantity, with the floor its counts allow
    three = book.precision_check(fast, 2.0, runs("fp32", [0.30, 0.31, 0.32], [0.66, 0.67, 0.68]))
    assert three.startswith("at alpha = 2, the fp32 runs (seed 0, 1 and 2; fp32, channels-last, compiled) against")
    assert (
        "30.0 (below their range), 31.0 (below their range) and 32.0 (below their range), mean 31.0, against" in three
    )
    floor = 2 / 20  # 3 runs against 3: C(6, 3) = 20 splits, the two extreme ones as far out as these counts allow
    assert f"from 37.6 to 47.7 (two-sided exact rank-sum p = {floor:.2g}; the smallest 3 runs against 3 allow" in three
    assert three.endswith(f"from 0.580 to 0.620 (two-sided exact rank-sum p = {floor:.2g}; the smallest 3 runs "
                          f"against 3 allow: {floor:.2g})")  # fmt: skip
    assert "Were precision to change nothing" not in three  # the test replaces the one-run caveat
    assert book.precision_check(fast, 2.0, runs("fp32", [0.41], [0.6], alpha=1.0)) == (
        "no fp32 run at alpha = 2 is complete yet"
    )
    assert book.precision_check(fast.iloc[:0], 2.0, runs("fp32", [0.41], [0.6])).startswith(
        "no full-profile run at alpha = 2"
    )
    assert "no full-profile run" in book.precision_check(fast.assign(profile="cpu"), 2.0, runs("fp32", [0.4], [0.6]))
    # by default, the real runs under runs/parity-fp32-full, of which only those that trained in fp32 count
    monkeypatch.setenv("SELECTIVITY_RUNS", str(tmp_path))
    assert book.precision_check(fast, 2.0) == "no fp32 run at alpha = 2 is complete yet"  # no such folder
    shutil.copytree(tiny_sweep, tmp_path / prose.FP32_CHECK)
    for seed, amp in ((0, "fp32"), (1, "bfloat16")):  # as recorded by the machine that trained each
        record = tmp_path / prose.FP32_CHECK / "resnet20" / "alpha=-1" / f"seed={seed}" / "config.json"
        config = json.loads(record.read_text())
        config["environment"]["amp"] = amp
        record.write_text(json.dumps(config))
    text = book.precision_check(fast.assign(alpha=-1.0, profile="smoke"), -1.0)  # the tiny runs are smoke
    assert text.startswith("at alpha = -1, the fp32 run (seed 0; fp32, ")
    assert " (1 run(s) of the fp32 folder that did not train in fp32 left out). Were precision" in text
