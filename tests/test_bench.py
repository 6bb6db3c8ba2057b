import json

import pytest
import torch

from selectivity_lib.bench import ACTIVATION_PATHS, run_activation_benchmark, run_benchmark
from selectivity_lib.cli import main


def test_benchmark_times_every_path_in_its_own_process_and_reports_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    report = run_benchmark(
        models=("resnet20",),
        steps={"resnet20": 2},
        rounds=2,
        batch_size=32,
        device="cpu",
        data_dir=str(tmp_path / "no-cifar-here"),  # falls back to synthetic images
        compile=False,
        json_out=str(out),
    )
    assert report["data"] == "synthetic"
    paths = [row["path"] for row in report["rows"]]
    assert paths[0].startswith("plain loop") and paths[1:] == ["trainer, alpha = 0", "trainer, alpha = -1"]
    for row in report["rows"]:
        assert row["images_per_s"] > 0 and row["peak_memory_mib"] > 0 and row["gflop_per_s"] > 0
        assert len(row["all_rounds_images_per_s"]) == 2
    summary = report["summary"]["resnet20"]["eager"]
    base = report["rows"][0]["images_per_s"]
    assert summary["speedup_alpha_0"] == report["rows"][1]["images_per_s"] / base
    assert json.loads(out.read_text())["summary"] == report["summary"]
    printed = capsys.readouterr().out
    assert "x plain" in printed and "selectivity-term overhead" in printed
    assert report["peak_dtype"] in printed and report["peak_used_gflop_per_s"] >= report["measured_peak_gflop_per_s"]


@pytest.mark.parametrize("native_bf16, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_peak_is_measured_in_the_precision_the_trainer_computes_in(native_bf16, dtype, monkeypatch):
    # bf16 that a CPU only emulates is no ceiling for the fp32 steps the trainer runs there
    from selectivity_lib import bench, train

    monkeypatch.setattr(train, "cpu_has_bf16", lambda: native_bf16)
    assert bench.peak_dtype(torch.device("cpu")) == dtype
    timed = []
    monkeypatch.setattr(bench, "measured_peak", lambda device, dtype: timed.append(dtype) or 100.0)
    peaks = bench.compute_peaks(torch.device("cpu"))
    assert timed == [dtype] and peaks["dtype"] == str(dtype).removeprefix("torch.") and peaks["used"] >= 100.0
    if not native_bf16:
        assert peaks["nominal"] is None  # the nominal figure known here is a bf16 one


def test_activation_benchmark_times_relu_and_both_leaky_relus_side_by_side(tmp_path, capsys):
    report = run_activation_benchmark(
        steps={"resnet20": 2},
        rounds=2,
        batch_size=32,
        device="cpu",
        data_dir=str(tmp_path / "no-cifar-here"),
        compile=False,
    )
    rows = {row["path"]: row for row in report["rows"]}
    assert list(rows) == [f"{name}, eager" for name in ACTIVATION_PATHS]
    assert all(row["images_per_s"] > 0 and len(row["all_rounds_images_per_s"]) == 2 for row in rows.values())
    project, torch_leaky = (rows[f"{name}, eager"]["images_per_s"] for name in list(ACTIVATION_PATHS)[1:])
    assert report["summary"]["resnet20"]["eager"]["project_over_torch_leaky"] == project / torch_leaky
    assert "x ReLU" in capsys.readouterr().out


def test_breakdown_splits_a_step_into_parts_that_add_up_to_its_wall_time():
    from selectivity_lib.bench import PARTS, step_breakdown
    from selectivity_lib.data import synthetic_dataset

    data = synthetic_dataset(train_per_class=20, test_per_class=2)
    result = step_breakdown("resnet20", data, batch_size=32, compile="off", steps=2)
    parts = {part["part"]: part for part in result["parts"]}
    assert list(parts)[: len(PARTS)] == [name for name, _ in PARTS] and len(parts) == len(PARTS) + 1
    assert sum(part["ms_per_step"] for part in parts.values()) == pytest.approx(result["ms_per_step"])
    assert result["steps"] == 2 and result["path"] == "trainer, alpha = 0"
    forward, backward = parts[PARTS[0][0]], parts[PARTS[1][0]]
    assert forward["ms_per_step"] > 0 and backward["ms_per_step"] > 0
    assert forward["gflop_per_s"] > 0 and backward["gflop_per_s"] > 0
    assert parts["generated kernels (torch.compile)"]["ms_per_step"] == 0  # eager: no compiled graph


@pytest.mark.parametrize(
    "args,message",
    [
        (["--breakdown", "--device", "cuda"], "--breakdown profiles the CPU trainer only"),
        (["--models", "resnet20", "vgg16", "--steps", "3"], "--steps takes one number per model"),
        (["--breakdown", "--activations"], "two different benchmarks"),
    ],
)
def test_bench_bad_arguments_are_one_sentence_and_exit_2(args, message, capsys):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_breakdown_refuses_more_steps_than_the_data_holds():
    from selectivity_lib.bench import step_breakdown
    from selectivity_lib.data import synthetic_dataset
    from selectivity_lib.errors import ConfigError

    data = synthetic_dataset(train_per_class=20, test_per_class=2)  # 100 training images after validation
    with pytest.raises(ConfigError, match="ask for fewer steps"):
        step_breakdown("resnet20", data, batch_size=32, compile="off", steps=4)
