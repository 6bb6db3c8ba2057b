"""The sweep grid: one folder per alpha, the order a sweep trains in, and the book's grid-status table."""

import pytest
from conftest import TINY_RUN, tiny_sweep_args

from selectivity_lib.cli import main
from selectivity_lib.errors import ConfigError
from selectivity_lib.grid import EVIDENCE_GRID, alpha_label, grid_configs, run_dir, seeds_planned


def test_distinct_alphas_get_distinct_folders():
    assert alpha_label(-1.0) == "-1" and alpha_label(0.3) == "0.3" and alpha_label(-0.0) == "0"
    assert alpha_label(-1.0000001) != alpha_label(-1.0000002)
    assert float(alpha_label(-1.0000001)) == -1.0000001
    assert alpha_label(1e-7) == "1e-07"  # the short form, where it reads back exactly
    configs = grid_configs("smoke", ["resnet20"], ["relu"], None, [-1.0000001, -1.0000002, -1], [0])
    assert len({run_dir("r", c) for c in configs}) == 3


def test_sweep_grid_keeps_relu_rows_beside_leaky_ones():
    configs = grid_configs("smoke", ["resnet20"], ["relu", "leaky_relu"], [0.5, 0.2], [0, -1], [0, 1])
    assert len(configs) == 2 * 3 * 2
    assert {(c.activation, c.slope) for c in configs} == {("relu", 0.0), ("leaky_relu", 0.5), ("leaky_relu", 0.2)}
    assert [c.seed for c in configs[:6]] == [0] * 6  # seed-major: a whole alpha sweep first
    with pytest.raises(ConfigError, match="needs --slopes"):
        grid_configs("smoke", ["resnet20"], ["leaky_relu"], None, [0], [0])


def test_grid_progress_counts_only_the_planned_configs(tmp_path):
    """The book's grid-status table: complete runs of the planned config count, a folder of another config
    at a planned place does not, and a seed counts as whole only when every alpha has it."""
    from selectivity_lib.grid import GridSpec, grid_progress

    spec = GridSpec("resnet20", "relu", None, (0, -1), (0, 1))
    assert main(tiny_sweep_args(tmp_path, ("0", "-1"))) == 0
    # another config at a planned place (`train` refuses to put it there, so it is trained aside and moved in)
    other = ["--alpha", "0", "--seed", "1", "--lr", "0.05", "--out", str(tmp_path / "aside")]
    assert main(["train", *TINY_RUN, "--epochs", "1", "--val-size", "500", *other]) == 0
    (tmp_path / "aside").rename(tmp_path / "resnet20" / "alpha=0" / "seed=1")
    (row,) = grid_progress(
        tmp_path, "smoke", (spec,), dataset="synthetic", epochs=1, val_size=500, train_subset=200, batch_size=64
    )
    assert (row["planned"], row["complete"], row["alphas_done"], row["whole_seeds"]) == (4, 2, 2, "0")
    # `sweep --grid evidence` is that grid: ResNet20 seed-major first, then the leaky-ReLU and VGG16 parts.
    from selectivity_lib.cli import build_parser, sweep_configs
    from selectivity_lib.grid import EVIDENCE_GRID

    configs = sweep_configs(build_parser().parse_args(["sweep", "--profile", "full", "--grid", "evidence"]))
    assert len(configs) == sum(len(s.alphas) * len(s.seeds) for s in EVIDENCE_GRID) == 16 * 3 + 13 * 3 + 4 + 8 + 6
    first = len(EVIDENCE_GRID[0].alphas)
    assert [c.alpha for c in configs[:first]] == list(EVIDENCE_GRID[0].alphas)
    assert {c.seed for c in configs[:first]} == {0}
    # then seeds 3-5 at the CCA claim's strongest cases, all three seeds before the other alphas' seed 3
    strongest = [(c.alpha, c.seed) for c in configs[3 * first : 3 * first + 16]]
    assert strongest == [*((a, s) for s in (3, 4, 5) for a in (0, -1, -3, -10, -30)), (0, 6)]
    assert {c.alpha for c in configs[3 * first + 16 : 3 * first + 40]} == {-0.1, -0.3, 0.1, 0.2, 0.3, 1, 2, 5}
    assert [(c.alpha, c.seed) for c in configs[3 * first + 40 : 3 * first + 43]] == [(0.2, 6), (0.2, 7), (0, 7)]
    assert [(c.model, c.activation) for c in configs[-7:-5]] == [("resnet20", "leaky_relu"), ("vgg16", "relu")]


def test_the_evidence_grid_plans_what_the_book_needs():
    """ResNet20 (ReLU) at 16 alphas with 3 seeds, and 6 where the tests need them; no network planned twice
    at one place."""
    relu = [s for s in EVIDENCE_GRID if (s.model, s.activation) == ("resnet20", "relu")]
    planned = {(a, seed) for s in relu for a in s.alphas for seed in s.seeds}
    alphas = {a for a, _ in planned}
    assert len(alphas) == 16 and {-2, 0.2, -5, -0.2} <= alphas
    assert all(sum(1 for b, _ in planned if b == a) >= 3 for a in alphas)
    for a in (0, -1, -3, -10, -30, -0.1, -0.3, 0.1, 0.2, 0.3):
        assert {seed for b, seed in planned if b == a} >= set(range(6)), a
    assert seeds_planned("resnet20", "relu") == 8 and seeds_planned("vgg16", "relu") == 2
    places = [(s.model, s.activation, a, seed) for s in EVIDENCE_GRID for a in s.alphas for seed in s.seeds]
    assert len(places) == len(set(places))


def test_a_sweep_refuses_to_add_a_second_recipe_to_a_tree(tmp_path, capsys):
    """A sweep whose recipe differs from the runs already in its tree (here: another learning rate) stops before
    training anything, names the differing field, and leaves the tree as it was; `--status` warns instead."""
    assert main(tiny_sweep_args(tmp_path, ("0",))) == 0
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main([*tiny_sweep_args(tmp_path, ("-1",)), "--lr", "0.05"]) == 2
    err = capsys.readouterr().err
    assert "holds runs of another recipe (lr: 0.1 there, 0.05 here" in err and "choose another --out" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing trained or written
    assert main([*tiny_sweep_args(tmp_path, ("-1",)), "--lr", "0.05", "--status"]) == 0
    assert "warning: " in capsys.readouterr().out
    # one run trained into a folder of the tree is held to the same rule (its own folder is the trainer's)
    into = tmp_path / "resnet20" / "alpha=-1" / "seed=0"
    tiny_train = ["train", *TINY_RUN, "--epochs", "1", "--val-size", "500", "--alpha", "-1", "--out", str(into)]
    assert main([*tiny_train, "--lr", "0.05"]) == 2
    assert "holds runs of another recipe (lr: 0.1 there, 0.05 here" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert main(tiny_sweep_args(tmp_path, ("-1",))) == 0  # the same recipe at a new alpha is welcome
    assert (tmp_path / "resnet20" / "alpha=-1" / "seed=0" / "metrics.json").is_file()


def test_the_grid_describes_itself():
    from selectivity_lib.grid import GridSpec, describe_grid

    specs = (GridSpec("resnet20", "relu", None, (0, -1), (0, 1)), GridSpec("resnet20", "relu", None, (0,), (2,)))
    assert describe_grid(specs) == "resnet20: 2 alphas (1 at 2 seeds, 1 at 3 seeds); 5 runs"
    assert describe_grid(specs[:1]) == "resnet20: 2 alphas x 2 seeds; 4 runs"
    assert describe_grid().endswith(f"; {sum(len(s.alphas) * len(s.seeds) for s in EVIDENCE_GRID)} runs")


def test_each_network_of_a_grid_lists_its_alphas_once():
    from selectivity_lib.grid import GridSpec, planned_alphas

    specs = (
        GridSpec("resnet20", "relu", None, (0, -1), (0, 1)),
        GridSpec("resnet20", "leaky_relu", 0.5, (0, 1), (0,)),
        GridSpec("resnet20", "relu", None, (0, 2), (2,)),
        GridSpec("resnet20", "leaky_relu", 0.3, (1, 5), (0,)),  # a second slope is the same network here
    )
    assert planned_alphas(specs) == {("resnet20", "relu"): [0, -1, 2], ("resnet20", "leaky_relu"): [0, 1, 5]}
