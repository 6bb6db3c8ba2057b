import subprocess
import sys

import pytest
from conftest import tiny_sweep_args

from selectivity_lib.cli import main

BASE = ["train", "--dataset", "synthetic", "--profile", "smoke", "--val-size", "500", "--no-progress"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--alpha", "nan"], "alpha must be a finite number"),
        (["--alpha", "inf"], "alpha must be a finite number"),
        (["--alpha=-inf"], "alpha must be a finite number"),
        (["--model", "resnet50"], "unknown model 'resnet50'"),
        (["--activation", "swish"], "unknown activation 'swish'"),
        (["--profile", "huge"], "unknown profile 'huge'"),
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--epochs", "-2"], "epochs must be at least 1"),
        (["--amp", "fp8"], "unknown amp mode"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(BASE + args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_missing_dataset(tmp_path, capsys, isolated_cache):
    out = tmp_path / "run"
    code = main(["train", "--profile", "smoke", "--data-dir", str(tmp_path / "absent"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "no CIFAR-10 found in" in err and "--data-dir" in err
    assert not out.exists()


def test_folder_with_different_config(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(BASE + ["--epochs", "1", "--train-subset", "200", "--out", str(out)]) == 0
    before = sorted(p.name for p in out.iterdir())
    assert main(BASE + ["--epochs", "1", "--train-subset", "200", "--alpha", "-2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds a different run" in err and "alpha: 0.0 there, -2.0 here" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_real_process_exit_status_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "selectivity_lib", *BASE, "--alpha", "nan", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: alpha must be a finite number")
    assert "Traceback" not in proc.stderr


def test_sweep_runs_grid_then_skips_complete_runs(tmp_path, capsys):
    args = tiny_sweep_args(tmp_path, ["0", "-1"])
    assert main(args) == 0
    assert "2 ran, 0 failed, 0 already complete" in capsys.readouterr().out
    assert (tmp_path / "resnet20" / "alpha=-1" / "seed=0" / "metrics.json").is_file()
    assert main(args) == 0
    assert "0 ran, 0 failed, 2 already complete" in capsys.readouterr().out


def test_sweep_validates_whole_grid_first(tmp_path, capsys):
    args = ["sweep", "--dataset", "synthetic", "--profile", "smoke", "--alphas", "0", "nan", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "alpha must be a finite number" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_compile_flag_alone_means_on_and_takes_a_mode():
    from selectivity_lib.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["train"]).compile == "auto"
    assert parse(["train", "--compile"]).compile == "on"
    assert parse(["sweep", "--compile", "off", "--alphas", "0"]).compile == "off"
    assert parse(["bench"]).compile and not parse(["bench", "--no-compile"]).compile


def test_bench_refuses_zero_steps(capsys):
    assert main(["bench", "--models", "resnet20", "--steps", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_sweep_leaves_a_run_that_another_process_trains(tmp_path, capsys):
    """A run whose folder lock is held (another sweep, any engine, trains it) is reported running and left
    alone; the rest of the grid trains, and the next sweep picks the run up once the lock is gone."""
    from selectivity_lib.runfolder import run_lock

    args = tiny_sweep_args(tmp_path, ["0", "-1"])
    busy = tmp_path / "resnet20" / "alpha=-1" / "seed=0"
    with run_lock(busy):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "1 queued or running, 1 to run" in out and "1 ran, 0 failed" in out
        assert main([*args, "--status"]) == 0
        assert "alpha=-1/seed=0  running" in capsys.readouterr().out
    assert not (busy / "metrics.json").exists()
    assert main(args) == 0
    assert "1 ran, 0 failed, 1 already complete" in capsys.readouterr().out
    assert (busy / "metrics.json").is_file()


@pytest.mark.parametrize(
    "flags, networks",
    [
        ([], {("resnet20", "relu"), ("resnet20", "leaky_relu"), ("vgg16", "relu")}),
        (["--models", "vgg16"], {("vgg16", "relu")}),
        (["--activations", "leaky_relu"], {("resnet20", "leaky_relu")}),
    ],
)
def test_grid_parts_are_chosen_by_models_and_activations(flags, networks, tmp_path, capsys):
    assert main(["sweep", "--grid", "evidence", "--profile", "full", *flags, "--status", "--out", str(tmp_path)]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:-1]]
    named = {(r.split("/")[0].split("-leaky")[0], "leaky_relu" if "-leaky" in r else "relu") for r in rows}
    assert named == networks


def test_a_grid_part_that_does_not_exist_is_refused(tmp_path, capsys):
    args = ["sweep", "--grid", "evidence", "--models", "vgg16", "--activations", "leaky_relu", "--status"]
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--grid evidence has no vgg16 network with leaky_relu: its parts are" in err


def test_config_flags_come_from_the_fields_that_declare_one():
    # a RunConfig field with `flag` metadata gets a flag of its own name on `train` (and on `sweep` unless it
    # is set per run), typed from its annotation; a field without one gets none
    import argparse
    import dataclasses

    from selectivity_lib.cli import build_parser
    from selectivity_lib.config import RunConfig

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    train = {a.dest for a in commands["train"]._actions}
    sweep = {a.dest for a in commands["sweep"]._actions}
    for f in dataclasses.fields(RunConfig):
        declared = "flag" in f.metadata
        if f.name == "profile":  # its own flag, with the profiles listed
            continue
        assert (f.name in train) == declared, f.name
        assert (f.name in sweep) == (declared and not f.metadata["flag"].get("per_run")), f.name
    a = parser.parse_args(["train", "--batch-size", "7", "--milestones", "3", "4", "--warmup-epochs", "0.5"])
    assert (a.batch_size, a.milestones, a.warmup_epochs) == (7, [3, 4], 0.5)
    assert (a.nesterov, a.channels_last, a.epochs) == (None, True, None)  # not given: the profile's
