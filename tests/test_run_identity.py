"""A run's identity is its whole experiment config: sweeps, analyses and resumes never take one run's folder
for another's, never write over files they did not write, and end bad input with one line, not a traceback.
Each test reproduces one way this used to fail."""

import errno
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from types import SimpleNamespace

import pytest
import torch
from conftest import TINY_RUN

from selectivity_lib import plots
from selectivity_lib.cca_experiment import cca_experiment
from selectivity_lib.cli import main
from selectivity_lib.config import make_config
from selectivity_lib.data import _fingerprint_files
from selectivity_lib.errors import ConfigError, MixedRunsError, RunFolderError
from selectivity_lib.grid import COMPLETE, CONFLICT, NEW, plan, run_dir
from selectivity_lib.notebook import check_parameters
from selectivity_lib.results import describe, load_histories, load_results
from selectivity_lib.runfolder import BEST, CHECKPOINT, CONFIG, HISTORY, METRICS, load_tensors, run_lock
from selectivity_lib.train import best_weights, train_run

S = [*TINY_RUN, "--epochs", "2"]  # a tiny synthetic run: seconds on 2 cores


def tiny(**overrides):
    fields = dict(dataset="synthetic", train_subset=200, epochs=2, batch_size=64, val_size=100, compile="off")
    return make_config("smoke", **(fields | overrides))


def one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def listing(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def one_run(tmp_path_factory, synthetic):
    """A finished tiny run at alpha 0, seed 0, in a sweep layout."""
    root = tmp_path_factory.mktemp("sweep")
    train_run(tiny(), run_dir(root, tiny()), data=synthetic, progress=False)
    return root


# 1. sweep skips a folder only when its recorded config is the requested one
def test_sweep_reports_a_folder_of_another_recipe_as_a_conflict_and_leaves_it(one_run, tmp_path, capsys):
    root = tmp_path / "sweep"
    shutil.copytree(one_run, root)
    before = listing(root)
    assert main(["sweep", "--engine", "inprocess", *S, "--alphas", "0", "--seeds", "0", "--out", str(root)]) == 0
    assert "1 already complete" in capsys.readouterr().out
    code = main(
        [
            "sweep",
            "--engine",
            "inprocess",
            *S,
            "--epochs",
            "3",
            "--lr",
            "0.05",
            "--alphas",
            "0",
            "--seeds",
            "0",
            "--out",
            str(root),
        ]
    )
    out = capsys.readouterr()  # refused before planning any training: the tree holds the other recipe
    assert code == 2 and "holds runs of another recipe" in out.err
    assert "epochs: 2 there, 3 here" in out.err
    assert listing(root) == before
    code = main(
        ["sweep", "--engine", "inprocess", *S, "--epochs", "3", "--lr", "0.05", "--alphas", "0"]
        + ["--seeds", "0", "--out", str(root), "--status"]
    )
    out = capsys.readouterr()
    assert code == 0 and "conflict" in out.out and "epochs: 2 there, 3 here" in out.out
    assert listing(root) == before


def test_sweep_with_nearby_alphas_trains_both(tmp_path, capsys):
    args = [
        "sweep",
        "--engine",
        "inprocess",
        *S,
        "--alphas",
        "-1.0000001",
        "-1.0000002",
        "--seeds",
        "0",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert len(list(tmp_path.rglob(METRICS))) == 2
    assert main(args) == 0
    assert "2 already complete" in capsys.readouterr().out


def test_plan_states(one_run, tmp_path):
    (done,) = plan(one_run, [tiny()])
    assert done.state == COMPLETE
    (other,) = plan(one_run, [tiny(lr=0.05)])
    assert other.state == CONFLICT and "lr: 0.1 there, 0.05 here" in other.detail
    assert plan(tmp_path, [tiny()])[0].state == NEW


# 2. tables, figures and the CCA analysis never average two recipes of one network
@pytest.fixture(scope="module")
def mixed_tree(one_run, tmp_path_factory, synthetic):
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(one_run, root, dirs_exist_ok=True)
    cfg = tiny(alpha=-1.0, epochs=3)  # another number of epochs, in the same tree
    train_run(cfg, run_dir(root, cfg), data=synthetic, progress=False)
    return root


def test_mixed_recipes_are_refused_by_figures_and_analyses(mixed_tree, capsys):
    r = load_results(mixed_tree)
    assert r.runs.recipe.nunique() == 2 and {"epochs", "lr", "schedule", "dataset"} <= set(r.runs)
    with pytest.raises(MixedRunsError, match="2 recipes of resnet20 .epochs: 2, 3."):
        plots.fig1b(r)
    with pytest.raises(MixedRunsError, match="epochs: 2, 3"):
        cca_experiment(mixed_tree, n_images=50, max_datapoints=200, progress=lambda *_: None)
    assert main(["analyse", str(mixed_tree), "--images", "50", "--datapoints", "200"]) == 2
    one_line_error(capsys, "epochs: 2, 3")
    assert "1 seed per alpha" in describe(r.runs)


# 3. train never writes over files it did not write
def test_train_refuses_a_non_empty_folder_without_a_run_record(tmp_path, capsys):
    folder = tmp_path / "u"
    folder.mkdir()
    (folder / HISTORY).write_text("precious\n")
    assert main(["train", *S, "--out", str(folder)]) == 2
    one_line_error(capsys, "not empty (history.csv)")
    assert (folder / HISTORY).read_text() == "precious\n" and len(list(folder.iterdir())) == 1


# 4. analyse on a family with a single run
def test_analyse_with_one_run_says_so(one_run, capsys):
    assert main(["analyse", str(one_run), "--images", "50", "--datapoints", "200"]) == 0
    assert "pairs must be of networks with different seeds" in capsys.readouterr().out


# 5. a checkpoint resumes only its own run
def test_checkpoint_of_another_run_is_refused(tmp_path, synthetic):
    a, b = tmp_path / "a", tmp_path / "b"
    train_run(tiny(epochs=3), a, data=synthetic, progress=False)
    train_run(tiny(epochs=3, alpha=-1.0, seed=1), b, data=synthetic, progress=False)
    assert load_tensors(a / CHECKPOINT)["config"] == tiny(epochs=3).experiment_fields()
    (a / METRICS).unlink()
    shutil.copy(b / CHECKPOINT, a / CHECKPOINT)
    with pytest.raises(RunFolderError, match="belongs to another run .alpha: -1.0 there, 0.0 here"):
        train_run(tiny(epochs=3), a, data=synthetic, progress=False)
    shutil.copy(a / BEST, a / CHECKPOINT)  # weights only, not a checkpoint
    with pytest.raises(RunFolderError, match="not a training checkpoint"):
        train_run(tiny(epochs=3), a, data=synthetic, progress=False)


# 6. papermill parameters
def test_unknown_notebook_parameter_names_the_valid_ones():
    namespace = {"In": [], "Out": {}, "get_ipython": print, "alpha": 0.0, "alhpa": -2.0, "_i1": "x", "json": json}
    with pytest.raises(ConfigError, match="unknown parameter.s. alhpa: the valid ones are .*alpha"):
        check_parameters(namespace)
    check_parameters({k: v for k, v in namespace.items() if k != "alhpa"})


def test_whole_number_fields_take_integral_floats_only():
    cfg = make_config("smoke", batch_size=64.0, seed=1.0, epochs=3.0, milestones=[1.0, 2.0])
    assert (cfg.batch_size, cfg.seed, cfg.epochs, cfg.milestones) == (64, 1, 3, (1, 2))
    assert type(cfg.seed) is int and run_dir("r", cfg).name == "seed=1"
    for field in ("batch_size", "seed", "val_size"):
        with pytest.raises(ConfigError, match=f"{field} must be a whole number"):
            make_config("smoke", **{field: 64.5})
    with pytest.raises(ConfigError, match="milestones must be a whole number"):
        make_config("smoke", epochs=4, milestones=[1.5])


def test_papermill_run_with_a_misspelled_parameter_fails_before_training(tmp_path):
    from selectivity_lib.notebook import notebook_ipynb

    out = tmp_path / "nb.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(notebook_ipynb()),
            str(out),
            "-p",
            "alhpa",
            "-2.0",
            "-p",
            "dataset",
            "synthetic",
            "-p",
            "out",
            str(tmp_path / "run"),
            "--no-progress-bar",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "unknown parameter(s) alhpa" in proc.stderr + proc.stdout
    assert not (tmp_path / "run").exists()


# 7. a sweep over ReLU and leaky ReLU keeps both


# 8. one line, exit 2, for OS errors, devices and malformed run files
def test_output_under_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["train", *S, "--out", str(tmp_path / "f" / "run")]) == 2
    one_line_error(capsys, "is a file")


def test_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import selectivity_lib.train as train

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / CONFIG))

    monkeypatch.setattr(train, "write_json", full)
    assert main(["train", *S, "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys, "No space left on device", "run the same command again")


@pytest.mark.parametrize(
    "device,message",
    [("foo", "unknown device 'foo'"), ("tpu", "unknown device 'tpu'"), ("cuda:7", "device 'cuda:7' asked for")],
)
def test_bad_devices(device, message, tmp_path, capsys):
    if device.startswith("cuda") and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    assert main(["train", *S, "--device", device, "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys, message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "name,content,message",
    [(METRICS, "{}", "lacks test_acc"), (CONFIG, "[]", "holds a JSON list"), (CONFIG, '{"a": 1}', "not a run record")],
)
def test_malformed_run_files(one_run, tmp_path, capsys, name, content, message):
    root = tmp_path / "sweep"
    shutil.copytree(one_run, root)
    folder = run_dir(root, tiny())
    (folder / name).write_text(content)
    assert main(["train", *S, "--out", str(folder)]) == 2
    err = one_line_error(capsys, message)
    if name == CONFIG and "JSON list" in message:  # the advice, followed, leads to a run, not to the next error
        assert "delete it or" not in err and "aside" in err
        shutil.move(folder, tmp_path / "aside")
        assert main(["train", *S, "--out", str(folder)]) == 0


def test_analyse_on_a_missing_folder(tmp_path, capsys):
    assert main(["analyse", str(tmp_path / "nowhere")]) == 2
    one_line_error(capsys, "is not a folder")


# 9. lost best weights say how to recover, and the advice works
def test_lost_best_weights(tmp_path):
    model = torch.nn.Linear(2, 2)
    trainer = SimpleNamespace(model=model, device=torch.device("cpu"))
    history = [{}, {}, {}]
    assert best_weights(trainer, tmp_path, history, {"epoch": 3}) is not None  # the last epoch: in memory
    with pytest.raises(RunFolderError, match="best.pt is missing: .*delete .*checkpoint.pt"):
        best_weights(trainer, tmp_path, history, {"epoch": 2})
    (tmp_path / BEST).write_bytes(b"junk")
    with pytest.raises(RunFolderError, match="damaged.*lost: delete .*checkpoint.pt"):
        best_weights(trainer, tmp_path, history, {"epoch": 2})


# 10. the smaller ones
def test_cache_fingerprint_sees_an_image_edited_in_place(tmp_path):
    image = tmp_path / "train" / "a" / "0.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"12345")
    before = _fingerprint_files(tmp_path / "train")
    image.write_bytes(b"54321")  # same name, same size
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    assert _fingerprint_files(tmp_path / "train") != before
    # replaced with the same size and its old mtime put back (touch -r): the ctime still moves
    stamp = image.stat()
    before = _fingerprint_files(tmp_path / "train")
    time.sleep(0.01)
    image.write_bytes(b"99999")
    os.utime(image, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert image.stat().st_size == stamp.st_size and image.stat().st_mtime_ns == stamp.st_mtime_ns
    assert _fingerprint_files(tmp_path / "train") != before


def test_truncated_history_is_warned_about(one_run, tmp_path):
    root = tmp_path / "sweep"
    shutil.copytree(one_run, root)
    history = run_dir(root, tiny()) / HISTORY
    history.write_text("".join(history.read_text().splitlines(keepends=True)[:2]))  # header and epoch 1
    runs = load_results(root).runs
    with pytest.warns(UserWarning, match="has 1 epochs, but the run trained 2"):
        curves = load_histories(runs)
    assert len(curves) == 1 and list(curves.device) == list(runs.device)  # each epoch's device, from the record


def test_stray_temporaries_and_lone_locks_are_cleaned(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "history.csv.k2j3x9ab.tmp").write_text("half")  # as atomic_write names them
    with run_lock(folder):
        assert not list(folder.glob("*.tmp"))
    assert not folder.exists()  # nothing but the lock was left: the folder goes
    with pytest.raises(ValueError), run_lock(folder):
        raise ValueError("a check after data loading failed")
    assert not folder.exists()


def test_malicious_checkpoint_refusal_gives_no_unsafe_advice(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "checkpoint.pt"
    torch.save({"x": Payload()}, path)
    with pytest.raises(RunFolderError) as info:
        load_tensors(path)
    assert "weights_only" not in str(info.value) and "damaged or not a checkpoint" in str(info.value)
    message = str(info.value)
    assert "(print)" in message and "still be loaded" not in message and "\x1b" not in message
    assert "Re-running" not in message and "two options" not in message
    path.write_bytes(b"garbage")  # not a pickle at all: torch says so in the same words
    with pytest.raises(RunFolderError, match=r"it is not a file that torch.save wrote") as info:
        load_tensors(path)
    assert "Re-running" not in str(info.value) and "weights_only" not in str(info.value)


def test_precision_top_n_larger_than_the_test_set_is_recorded(one_run):
    metrics = json.loads((run_dir(one_run, tiny()) / METRICS).read_text())
    assert metrics["precision_top_n_used"] == 500  # the synthetic test set has 500 images


def test_precision_top_n_shrinking_is_warned_about(tmp_path, synthetic):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_run(tiny(epochs=1), tmp_path / "r", data=synthetic, progress=False)
    assert any("precision uses the top 500 test images" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(profile="full", alpha=1.0),
        dict(profile="full", alpha=-0.3, lr=0.4, nesterov=True, epochs=22),
        dict(profile="full", schedule="step", warmup_epochs=0.0, milestones=(10, 15), epochs=20),
        dict(profile="cpu", model="vgg16", alpha=-1.0000001, seed=2, train_subset=0, layers=("conv1_1", "conv5_3")),
        dict(profile="cpu", activation="leaky_relu", slope=0.5, alpha=5.0, batch_size=128, dataset="synthetic"),
    ],
)
def test_train_command_remakes_the_recorded_config(overrides):
    from selectivity_lib.cli import build_parser, train_command, train_config

    profile = overrides.pop("profile")
    cfg = make_config(profile, **overrides)
    command = train_command(cfg.experiment_fields())
    remade = train_config(build_parser().parse_args(command.split()[3:]))
    assert remade.experiment_fields() == cfg.experiment_fields()


def test_train_command_refuses_what_no_flag_sets():
    from selectivity_lib.cli import train_command

    with pytest.raises(ConfigError, match="momentum cannot be set from the command line"):
        train_command(make_config("full", momentum=0.5).experiment_fields())


def test_a_run_retrained_from_its_command_matches(tmp_path, capsys):
    tiny_args = [
        "--dataset",
        "synthetic",
        "--profile",
        "smoke",
        "--epochs",
        "2",
        "--val-size",
        "500",
        "--train-subset",
        "200",
        "--no-progress",
        "--compile",
        "off",
    ]
    first = tmp_path / "first"
    assert main(["train", *tiny_args, "--alpha", "-1", "--lr", "0.05", "--out", str(first)]) == 0
    capsys.readouterr()
    assert main(["command", str(first)]) == 0
    command = capsys.readouterr().out.split(" --data-dir")[0].split()
    assert "--lr" in command and "--train-subset" in command
    again = tmp_path / "again"
    assert main([*command[3:], "--no-progress", "--compile", "off", "--out", str(again)]) == 0
    a, b = (json.loads((f / METRICS).read_text()) for f in (first, again))
    for key in ("test_acc", "test_loss", "mu_si", "best_epoch"):
        assert a[key] == pytest.approx(b[key], rel=1e-6), key
    assert main(["command", str(tmp_path / "absent")]) == 2
    assert "is not a run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "overrides",
    [
        dict(profile="smoke", schedule="linear", warmup_epochs=0.5),
        dict(profile="paper", schedule="cosine"),
        dict(profile="cpu", schedule="linear", alpha=-2.0, seed=4),
    ],
)
def test_train_command_remakes_runs_of_any_schedule(overrides):
    from selectivity_lib.cli import build_parser, train_command, train_config

    profile = overrides.pop("profile")
    cfg = make_config(profile, **overrides)
    command = train_command(cfg.experiment_fields())
    assert "--milestones" not in command
    assert train_config(build_parser().parse_args(command.split()[3:])).experiment_fields() == cfg.experiment_fields()


@pytest.mark.parametrize(
    "edit, message",
    [
        (dict(seed=1.0), None),  # a whole number written as a float still names the run
        (dict(nesterov="yes"), None),
        (dict(nesterov="perhaps"), "the record is not a valid run config (nesterov must be true or false"),
        (dict(seed=1.5), "the record is not a valid run config (seed must be a whole number, got 1.5)"),
        (dict(lr="deleted"), "the record lacks lr"),
    ],
)
def test_command_on_an_edited_record_prints_a_command_or_one_line(one_run, tmp_path, capsys, edit, message):
    run = tmp_path / "run"
    shutil.copytree(run_dir(one_run, tiny()), run)
    record = json.loads((run / CONFIG).read_text())
    record["config"] |= edit
    record["config"] = {k: v for k, v in record["config"].items() if v != "deleted"}
    (run / CONFIG).write_text(json.dumps(record))
    code = main(["command", str(run)])
    out, err = capsys.readouterr()
    if message is None:
        assert code == 0 and out.startswith("python -m selectivity_lib train --profile smoke") and not err
    else:
        assert code == 2 and message in err and "usage" not in err and "Traceback" not in err


def test_command_names_the_arithmetic_a_run_computed_in_and_the_options_that_repeat_it(one_run, tmp_path, capsys):
    """`command` leaves precision, layout and compilation to the machine (bf16 only where the hardware has it),
    so a parity run's point, its arithmetic, comes as a second line with the options that ask for it again."""
    from selectivity_lib.cli import arithmetic_note, build_parser

    run = tmp_path / "run"
    shutil.copytree(run_dir(one_run, tiny()), run)
    record = json.loads((run / CONFIG).read_text())
    record["environment"] |= dict(amp="fp32", channels_last=False, compile=False)
    (run / CONFIG).write_text(json.dumps(record))
    assert main(["command", str(run)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("python -m selectivity_lib train --profile smoke")
    assert second == (
        "# it computed in fp32, NCHW, eager; to repeat that arithmetic too, add: --amp off --no-channels-last "
        "--compile off"
    )
    options = build_parser().parse_args([*first.split()[3:-4], *second.split("add: ")[1].split()])
    assert (options.amp, options.channels_last, options.compile) == ("off", False, "off")

    environment = dict(amp="bfloat16", channels_last=True, compile=True)
    assert arithmetic_note({"environment": environment}).endswith("add: --amp bf16 --compile on")
    resumed = {"environment": environment, "resumed": [{"epoch": 3, "environment": environment | {"amp": "fp32"}}]}
    assert arithmetic_note(resumed) == (
        "# it resumed under other arithmetic (amp bfloat16 then fp32, channels_last True, compile True), so no one "
        "set of options repeats it"
    )
    assert arithmetic_note({"environment": {"amp": "fp32"}}) == ""  # an older record that does not say
    assert "which no --amp value asks for" in arithmetic_note({"environment": environment | {"amp": "float64"}})
