import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from selectivity_lib.config import make_config
from selectivity_lib.errors import RunFolderError
from selectivity_lib.runfolder import BEST, CHECKPOINT, CONFIG, HISTORY, METRICS, UNITS, load_tensors
from selectivity_lib.train import train_run

TINY = dict(dataset="synthetic", val_size=500, train_subset=1000, batch_size=64)


def tiny_config(**overrides):
    return make_config("smoke", **(TINY | dict(epochs=4) | overrides))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, synthetic):
    out = tmp_path_factory.mktemp("runs") / "alpha0"
    metrics = train_run(tiny_config(epochs=6), out, data=synthetic, progress=False)
    return out, metrics


def folder_digest(folder: Path) -> dict:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_tiny_model_learns_synthetic_data(finished_run):
    _, metrics = finished_run
    assert metrics["test_acc"] > 0.6  # chance is 0.1


def test_run_folder_is_complete_and_consistent(finished_run):
    out, metrics = finished_run
    assert {CONFIG, HISTORY, UNITS, METRICS, CHECKPOINT, BEST} <= {p.name for p in out.iterdir()}
    assert not list(out.glob("*.tmp"))
    record = json.loads((out / CONFIG).read_text())
    assert record["config"]["alpha"] == 0.0 and record["data"]["name"] == "synthetic"
    assert {"code_version", "torch", "device", "cpu"} <= set(record["environment"])
    history = pd.read_csv(out / HISTORY)
    assert list(history.epoch) == [1, 2, 3, 4, 5, 6]
    assert metrics["best_val_acc"] == history.val_acc.max()
    assert metrics["best_epoch"] == history.epoch[history.val_acc.idxmax()]
    units = np.load(out / UNITS)
    assert units["si"].shape == (688,) and units["class_means"].shape == (688, 10)
    assert len(units["layer_names"]) == 19 and units["layer"].max() == 18
    layer_means = [units["si"][units["layer"] == i].mean() for i in range(19)]
    assert metrics["mu_si"] == pytest.approx(float(np.mean(layer_means)), rel=1e-5)
    assert 0 <= metrics["mu_si"] <= 1 and len(metrics["layers"]) == 19
    # Weights load without unpickling arbitrary objects.
    assert isinstance(load_tensors(out / BEST), dict)


def test_complete_run_is_skipped_untouched(finished_run, synthetic):
    out, metrics = finished_run
    before = folder_digest(out)
    assert train_run(tiny_config(epochs=6), out, data=synthetic, progress=False) == metrics
    assert folder_digest(out) == before


def test_folder_holding_another_run_is_refused_untouched(finished_run, synthetic):
    out, _ = finished_run
    before = folder_digest(out)
    with pytest.raises(RunFolderError, match="holds a different run.*alpha"):
        train_run(tiny_config(epochs=6, alpha=-1.0), out, data=synthetic, progress=False)
    assert folder_digest(out) == before


def test_regularizer_moves_selectivity_with_sign_of_alpha(tmp_path, synthetic, finished_run):
    _, base = finished_run
    low = train_run(tiny_config(epochs=6, alpha=-5.0), tmp_path / "neg", data=synthetic, progress=False)
    high = train_run(tiny_config(epochs=6, alpha=5.0), tmp_path / "pos", data=synthetic, progress=False)
    assert low["mu_si"] < base["mu_si"] < high["mu_si"], (low["mu_si"], base["mu_si"], high["mu_si"])


def _cli(out: Path, *extra: str) -> list[str]:
    args = [
        "--dataset",
        "synthetic",
        "--profile",
        "smoke",
        "--epochs",
        "4",
        "--val-size",
        "500",
        "--train-subset",
        "1000",
        "--batch-size",
        "64",
        "--alpha",
        "-1",
        "--no-progress",
        "--out",
        str(out),
    ]
    return [sys.executable, "-m", "selectivity_lib", "train", *args, *extra]


def test_run_killed_mid_way_resumes_to_the_same_result(tmp_path):
    env = os.environ | {"OMP_NUM_THREADS": "2"}  # the same thread count in every process: same arithmetic
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (killed / CHECKPOINT).is_file() and load_tensors(killed / CHECKPOINT)["epoch"] >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / METRICS).exists(), "the run finished before it could be killed"
    assert len(pd.read_csv(killed / HISTORY)) >= 2

    subprocess.run(_cli(killed), env=env, check=True, capture_output=True)
    subprocess.run(_cli(tmp_path / "straight"), env=env, check=True, capture_output=True)
    resumed, straight = (json.loads((p / METRICS).read_text()) for p in (killed, tmp_path / "straight"))
    for key in ("test_acc", "test_loss", "mu_si", "best_epoch"):
        assert resumed[key] == pytest.approx(straight[key], rel=1e-6), key
    h1, h2 = pd.read_csv(killed / HISTORY), pd.read_csv(tmp_path / "straight" / HISTORY)
    np.testing.assert_allclose(h1.train_loss, h2.train_loss, rtol=1e-6)
    u1, u2 = np.load(killed / UNITS), np.load(tmp_path / "straight" / UNITS)
    np.testing.assert_allclose(u1["si"], u2["si"], rtol=1e-5, atol=1e-7)


def test_damaged_checkpoint_is_a_clear_error(tmp_path, synthetic):
    out = tmp_path / "run"
    train_run(tiny_config(epochs=1), out, data=synthetic, progress=False)
    (out / METRICS).unlink()
    (out / CHECKPOINT).write_bytes(b"half a checkpoint")
    with pytest.raises(RunFolderError, match="checkpoint.pt is damaged.*delete .*checkpoint.pt to train"):
        train_run(tiny_config(epochs=1), out, data=synthetic, progress=False)


def test_bf16_and_fp32_paths_both_learn(tmp_path, synthetic):
    # a third of TINY's images at a third of its batch (as many steps): a CPU without native bf16 emulates it
    small = dict(epochs=4, train_subset=320, batch_size=20, val_size=100)
    accs = {
        amp: train_run(tiny_config(amp=amp, **small), tmp_path / amp, data=synthetic, progress=False)["test_acc"]
        for amp in ("off", "bf16")
    }
    assert min(accs.values()) > 0.5, accs


def test_divergence_is_a_clear_error_that_keeps_the_last_epoch(tmp_path, synthetic, monkeypatch):
    from selectivity_lib.errors import TrainingDiverged
    from selectivity_lib.train import Trainer

    real_step, calls = Trainer.train_step, []

    def step_that_blows_up_in_epoch_2(self, x, y):
        calls.append(1)
        out = real_step(self, x, y)
        return out * float("nan") if len(calls) > 16 else out  # 1000 images / batch 64 = 16 steps an epoch

    monkeypatch.setattr(Trainer, "train_step", step_that_blows_up_in_epoch_2)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match="diverged in epoch 2.*lower"):
        train_run(tiny_config(epochs=2), out, data=synthetic, progress=False)
    assert load_tensors(out / CHECKPOINT)["epoch"] == 1 and not (out / METRICS).exists()


def test_compile_auto_only_where_it_pays():
    import torch

    from selectivity_lib.train import COMPILE_MIN_STEPS, use_compile

    cpu = torch.device("cpu")
    assert not use_compile("auto", "resnet20", cpu, COMPILE_MIN_STEPS - 1)
    assert not use_compile("auto", "vgg16", cpu, 10**6)  # convolution-bound: compiling does not pay
    assert use_compile("on", "vgg16", cpu, 1) and not use_compile("off", "resnet20", cpu, 10**6)
    if shutil.which("g++"):
        assert use_compile("auto", "resnet20", cpu, COMPILE_MIN_STEPS)
    assert make_config("smoke", compile=True).compile == "on" and make_config("smoke", compile=False).compile == "off"


def test_compiled_step_matches_the_eager_one(synthetic):
    import torch

    from selectivity_lib.data import random_crop_flip
    from selectivity_lib.train import Trainer

    def gradients(trainer, fn):
        g = torch.Generator().manual_seed(0)
        idx = torch.randperm(len(trainer.train_y), generator=g)[:32]  # all classes, not one
        trainer.model.train()
        trainer.model.zero_grad(set_to_none=True)
        loss, stats = fn(random_crop_flip(trainer.train_x[idx], g), trainer.train_y[idx])
        loss.backward()
        return stats, torch.cat([p.grad.flatten() for p in trainer.model.parameters()])

    def relative(a, b):
        return ((a - b).norm() / b.norm()).item()

    compiled = Trainer(tiny_config(alpha=-10.0, batch_size=32, amp="off", compile="on"), synthetic)
    eager_stats, eager = gradients(compiled, compiled.losses)
    compiled_stats, compiled_grad = gradients(compiled, compiled.compiled_losses)
    torch.testing.assert_close(compiled_stats, eager_stats, rtol=1e-4, atol=1e-5)
    # fp32 sums in another order: ~0.5% apart at initialisation, through 19 batch norms.
    assert relative(compiled_grad, eager) < 0.01
    # ... far less than what the selectivity term adds to the gradient, so that part is compiled right too.
    plain = Trainer(tiny_config(alpha=0.0, batch_size=32, amp="off"), synthetic)  # same seed: same weights
    _, without_term = gradients(plain, plain.losses)
    assert relative(eager, without_term) > 10 * relative(compiled_grad, eager)


def test_failed_compile_falls_back_to_eager_under_auto_and_raises_under_on(synthetic):
    import torch

    from selectivity_lib.train import Trainer

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    x, y = synthetic.train_x[:64], synthetic.train_y[:64]
    trainer = Trainer(tiny_config(batch_size=64, compile="auto"), synthetic)
    trainer.compiled_losses = broken
    with pytest.warns(UserWarning, match="torch.compile failed.*no C\\+\\+ compiler.*--compile off"):
        stats = trainer.train_step(x, y)
    assert trainer.compiled_losses is None and torch.isfinite(stats).all()

    trainer = Trainer(tiny_config(batch_size=64, compile="on"), synthetic)
    trainer.compiled_losses = broken
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler"):
        trainer.train_step(x, y)


def test_seeds_are_independent_and_a_seed_repeats_exactly(synthetic):
    """A run's seed sets its initial weights and, with the epoch, its data order and augmentation; the split
    into training and validation images is `split_seed`'s and the same for every seed, as in the paper."""
    import torch

    from selectivity_lib.train import Trainer, epoch_generator

    def start(seed):
        trainer = Trainer(tiny_config(seed=seed, model="resnet20", compile="off"), synthetic)
        weights = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        orders = [
            torch.randperm(len(trainer.train_y), generator=epoch_generator(seed, e, trainer.device)) for e in range(3)
        ]
        return trainer, weights, orders

    (a, wa, oa), (b, wb, ob), (_, wagain, oagain) = start(0), start(1), start(0)
    assert torch.equal(wa, wagain) and all(torch.equal(x, y) for x, y in zip(oa, oagain, strict=True))
    assert not torch.allclose(wa, wb)
    assert all(not torch.equal(x, y) for x, y in zip(oa, ob, strict=True))  # every epoch's order differs
    assert not torch.equal(oa[0], oa[1])  # and a seed's epochs differ from each other
    assert torch.equal(a.train_y, b.train_y) and torch.equal(a.val_y, b.val_y)  # one split for all seeds


def test_cpu_is_recorded_by_model_and_the_instruction_sets_that_set_its_speed(monkeypatch):
    from conftest import READ_CPU_BF16

    from selectivity_lib import train

    info = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16\n"
    monkeypatch.setattr(train, "cpu_has_bf16", READ_CPU_BF16)  # the reading itself, whatever --cpu-bf16 fakes
    monkeypatch.setattr(train, "cpuinfo", lambda: info)
    assert train.cpu_description() == "AMD EPYC 9R14; avx2, avx512f, avx512_bf16" and train.cpu_has_bf16()
    monkeypatch.setattr(train, "cpuinfo", lambda: info.replace(" avx2 avx512f avx512_bf16", ""))
    assert train.cpu_description() == "AMD EPYC 9R14; none of avx2, avx512f, avx512_bf16, amx_bf16"
    assert not train.cpu_has_bf16()


def test_record_says_which_environment_trained_which_epochs(finished_run, synthetic, tmp_path):
    from selectivity_lib import book
    from selectivity_lib.results import load_results

    src, _ = finished_run
    config = tiny_config(epochs=6)
    elsewhere = {"device": "cpu (elsewhere)"}

    resumed = tmp_path / "resumed"  # resumes at its last checkpoint (epoch 6: only the test figures are left)
    shutil.copytree(src, resumed)
    (resumed / METRICS).unlink()
    record = json.loads((resumed / CONFIG).read_text())
    here = record["environment"]
    # the other stretch computed otherwise than this machine does, whichever precision this machine has
    elsewhere |= {"compile": not here["compile"], "amp": "fp32" if here["amp"] != "fp32" else "bfloat16"}
    (resumed / CONFIG).write_text(json.dumps(record | {"environment": here | elsewhere}))
    train_run(config, resumed, data=synthetic, progress=False)
    record = json.loads((resumed / CONFIG).read_text())
    assert record["environment"] == here | elsewhere and record["resumed"] == [{"epoch": 6, "environment": here}]
    run = load_results(tmp_path).runs.set_index("path").loc[str(resumed)]
    assert run.device == f"cpu (elsewhere)+{here['device']}" and run.amp == f"{elsewhere['amp']}+{here['amp']}"
    assert run.compiled == f"{not here['compile']}+{here['compile']}"  # how each stretch computed, not the first
    first, then = ("compiled", "eager") if elsewhere["compile"] else ("eager", "compiled")
    assert book.numerics(run).endswith(f", {first}+{then}")

    (resumed / METRICS).unlink()  # resumed again where the last epochs ran: nothing new to record
    train_run(config, resumed, data=synthetic, progress=False)
    assert json.loads((resumed / CONFIG).read_text())["resumed"] == record["resumed"]

    restarted = tmp_path / "restarted"  # its checkpoint is gone, so it trains from epoch 0 here
    shutil.copytree(src, restarted)
    for name in (METRICS, CHECKPOINT):
        (restarted / name).unlink()
    (restarted / CONFIG).write_text(json.dumps(record | {"environment": here | elsewhere}))
    train_run(config, restarted, data=synthetic, progress=False)
    assert json.loads((restarted / CONFIG).read_text()) == {
        "config": record["config"],
        "data": record["data"],
        "environment": here,
    }
