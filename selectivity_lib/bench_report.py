"""The benchmark records in `benchmarks/` (written by `python -m selectivity_lib bench`) as the engineering
appendix's tables: each function reads one kind of record and returns what the page shows (a heading line, a
table) and the numbers the text quotes, or None where nothing is recorded yet."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class Report:
    heading: str  # the line above the table: the machine, the software, how it was measured
    table: pd.DataFrame
    quoted: dict[str, str] = field(default_factory=dict)  # the numbers the text quotes, by glue name


def speed(path: Path) -> Report | None:
    """`make bench`'s record: images/s, GFLOP/s and peak memory of each path, as a multiple of the plain
    PyTorch loop's speed (the first row of each model) and as a share of the measured peak."""
    if not path.is_file():
        return None
    bench = json.loads(path.read_text())
    table = pd.DataFrame(bench["rows"])[["model", "path", "images_per_s", "gflop_per_s", "peak_memory_mib"]]
    table["x plain"] = table.images_per_s / table.groupby("model").images_per_s.transform("first")
    peak_dtype = bench.get("peak_dtype", "bfloat16")  # benchmarks recorded before the field measured bf16
    table["% of peak"] = 100 * table.gflop_per_s / bench["peak_used_gflop_per_s"]
    heading = (
        f"{path.name}: {bench['device']}, {bench['threads']} threads, torch {bench['torch']}, "
        f"data {bench['data']}, batch {bench['batch_size']}, best of {bench['rounds']} rounds; "
        f"{peak_dtype} peak {bench['peak_used_gflop_per_s']:.0f} GFLOP/s"
    )
    return Report(heading, table)


BREAKDOWN_QUOTES = ("bd_conv_share", "bd_conv_peak", "bd_kernels_share", "bd_peak_dtype")


def breakdown(path: Path) -> Report | None:
    """`bench --breakdown`'s record: each part of a step (convolutions forward and backward, generated
    kernels, other ATen ops, outside any op) in ms per step, its share and its rate; quotes the compiled
    ResNet20 step's convolution share and rates and the generated kernels' share."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    peak = record["peak_used_gflop_per_s"]
    rows = [
        {"model": b["model"], "path": b["path"], "steps": b["steps"], **part}
        for b in record["breakdowns"]
        for part in b["parts"]
    ]
    table = pd.DataFrame(rows).rename(columns={"ms_per_step": "ms per step", "gflop_per_s": "GFLOP/s"})
    table["share %"] = 100 * table.pop("share")
    peak_dtype = record.get("peak_dtype", "bfloat16")  # as for the speed benchmark
    table["% of peak"] = 100 * table["GFLOP/s"] / peak
    compiled = next(b for b in record["breakdowns"] if b["model"] == "resnet20" and "compile" in b["path"])
    parts = {part["part"]: part for part in compiled["parts"]}
    conv = [part for name, part in parts.items() if name.startswith("convolutions")]
    quoted = {
        "bd_peak_dtype": peak_dtype,
        "bd_conv_share": f"{100 * sum(part['share'] for part in conv):.0f}%",
        "bd_conv_peak": " and ".join(f"{100 * part['gflop_per_s'] / peak:.0f}%" for part in conv),
        "bd_kernels_share": f"{100 * parts['generated kernels (torch.compile)']['share']:.0f}%",
    }
    heading = (
        f"{record['device']}; % of peak is of the {peak_dtype} peak, {peak:.0f} GFLOP/s, measured as in the benchmark"
    )
    return Report(heading, table, quoted)


ACTIVATION_QUOTES = ("act_compiled_gain", "act_eager_gain")


def activations(path: Path) -> Report | None:
    """`bench --activations`'s record: the trainer's speed and memory with ReLU, torch's leaky ReLU and the
    project's, each as a multiple of ReLU's speed in the same mode (eager or compiled); quotes the project's
    leaky ReLU's speed-up over torch's."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    table = pd.DataFrame(record["rows"])[["model", "path", "images_per_s", "peak_memory_mib"]]
    mode = table.path.str.rsplit(", ", n=1).str[1]
    relu_speed = table.images_per_s.where(table.path.str.startswith("ReLU,")).groupby(mode).transform("max")
    table["x ReLU"] = table.images_per_s / relu_speed
    heading = (
        f"{record['device']}, torch {record['torch']}, batch {record['batch_size']}, best of {record['rounds']} rounds"
    )
    summary = record["summary"]["resnet20"]
    quoted = {
        "act_compiled_gain": f"{summary['torch.compile']['project_over_torch_leaky']:.2f}",
        "act_eager_gain": f"{summary['eager']['project_over_torch_leaky']:.2f}",
    }
    return Report(heading, table, quoted)
