"""Training speed: the project's trainer against a plain PyTorch CIFAR loop, side by side in one run.

The plain loop is what a typical user writes: a Dataset that hands out PIL images, torchvision's
RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize, a DataLoader with one worker per
core, fp32, NCHW, SGD. The trainer paths are `Trainer.train_epoch`, the same code every run uses, eager and
compiled. All train the same model with the same batch size for the same number of steps, each in its own
process (the trainer's allocator settings are process-wide and must not reach the plain loop); rounds
alternate between the paths so that a disturbance of the machine hits all of them, and the best round of
each path is reported.

Also printed: the selectivity term's overhead (trainer at alpha = 0 against alpha = -1), the achieved
GFLOP/s (training FLOPs per image counted by torch.utils.flop_counter times images/s), the share of the
device's peak in the precision the trainer computes in there (bf16 where the device has it, else fp32), and
peak memory of each path (its process's resident set size on the CPU, without DataLoader workers; allocated
memory on CUDA).

`bench --activations` (`run_activation_benchmark`) instead times the trainer at alpha = 0 with ReLU, the
project's leaky ReLU (`models.LeakyReLU`) and torch's `nn.LeakyReLU`, eager and compiled, the same way.

`bench --breakdown` (`run_breakdown`) instead profiles the CPU trainer's steps and splits their time into
convolutions, torch.compile's generated kernels and the rest. FLOPs follow torch.utils.flop_counter, which
counts a convolution's multiply-adds over the zero padding too: layers with small maps (VGG16's 2 x 2)
compute fewer FLOPs than counted, which flatters their rates.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import make_config
from .data import CIFAR10_MEAN, CIFAR10_STD, ImageData, load_cifar10, synthetic_dataset
from .errors import ConfigError, DataError
from .models import build_model, use_torch_leaky_relu
from .train import Trainer, cpuinfo, resolve_amp, resolve_device


class PILImages(torch.utils.data.Dataset):
    """Images held as an HWC uint8 array and handed out as PIL images, as torchvision's CIFAR10 does."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        self.x, self.y, self.transform = x.permute(0, 2, 3, 1).numpy(), y.tolist(), transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i])), self.y[i]


def plain_loader(data: ImageData, batch_size: int, workers: int):
    import torchvision.transforms as T

    transform = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(CIFAR10_MEAN, CIFAR10_STD),
        ]
    )
    return torch.utils.data.DataLoader(
        PILImages(data.train_x, data.train_y, transform),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )


class PlainLoop:
    """The reference: a plain fp32 training loop fed by a DataLoader."""

    def __init__(self, model_name: str, data: ImageData, batch_size: int, device: torch.device, lr: float):
        torch.manual_seed(0)
        self.device = device
        self.model = build_model(model_name).to(device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
        self.loader = plain_loader(data, batch_size, workers=os.cpu_count() or 1)
        self.batches = iter(())

    def run(self, steps: int) -> int:
        self.model.train()
        images = 0
        for _ in range(steps):
            try:
                x, y = next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)
                x, y = next(self.batches)
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            loss = F.cross_entropy(self.model(x), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            images += len(y)
        loss.item()  # wait for the device
        return images


class TrainerSteps:
    """The project's trainer, driven for a fixed number of steps through `Trainer.train_epoch`."""

    def __init__(self, model_name: str, data: ImageData, batch_size: int, device: str, alpha: float, **kw):
        cfg = make_config(
            "smoke",
            model=model_name,
            alpha=alpha,
            batch_size=batch_size,
            device=device,
            dataset="synthetic",
            train_subset=len(data.train_y) - 100,
            val_size=100,
            **kw,
        )
        self.trainer = Trainer(cfg, data)
        self.epoch = 0

    def run(self, steps: int) -> int:
        self.epoch += 1
        self.trainer.train_epoch(self.epoch, max_steps=steps)  # ends by reading the losses: synchronised
        return min(steps * self.trainer.config.batch_size, len(self.trainer.train_y))


def training_flops_by_op(model_name: str, batch_size: int = 32) -> dict[str, float]:
    """FLOPs per image of one forward and backward pass, by ATen op, counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(model_name)
    x, y = torch.randn(batch_size, 3, 32, 32), torch.arange(batch_size) % 10
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return {str(op): flops / batch_size for op, flops in counter.get_flop_counts()["Global"].items()}


def training_flops_per_image(model_name: str, batch_size: int = 32) -> float:
    """FLOPs of one forward and backward pass per image, counted by torch.utils.flop_counter."""
    return sum(training_flops_by_op(model_name, batch_size).values())


def peak_dtype(device: torch.device) -> torch.dtype:
    """The precision the trainer computes in on `device` by default (amp "auto"): bf16 where the device has
    native bf16 arithmetic, else fp32. The peak that rates are compared with is measured in it, since bf16
    emulated on a CPU without bf16 instructions is no ceiling for an fp32 step (and takes minutes to time)."""
    return resolve_amp("auto", device) or torch.float32


@torch.no_grad()
def measured_peak(device: torch.device, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best GFLOP/s of ideal `dtype` work on `device`: large matrix products and a wide 3x3 convolution.

    The larger of the two stands for the peak: on a CPU that boosts above its nominal clock, and with
    oneDNN's convolutions outrunning its matrix product, neither the nominal figure nor a GEMM alone is
    a ceiling that training cannot pass.
    """
    best = 0.0
    n = 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = max(best, 2 * n**3 / _best_time(lambda: a @ b, device, repeats) / 1e9)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device, dtype)
    conv = conv.to(memory_format=torch.channels_last)
    x = torch.randn(256, 256, 16, 16, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * 256 * 256 * 9 * 256 * 16 * 16
    return max(best, flops / _best_time(lambda: conv(x), device, repeats) / 1e9)


def _best_time(fn, device: torch.device, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def nominal_cpu_bf16_peak() -> tuple[float | None, str]:
    """Nominal bf16 peak of this process's CPU cores, where we know the core's bf16 throughput.

    AMD Zen 4 (family 25, models 0x10-0x1f and 0x60-0x7f, 0xa0-0xaf) runs AVX-512 on two 256-bit FMA
    pipes; VDPBF16PS on 256 bits does 16 bf16 products and sums into 8 fp32 lanes, 32 FLOPs, so a core
    does 64 bf16 FLOPs per cycle. Peak = cores x clock x 64.
    """
    info = cpuinfo()
    if not info:
        return None, "no /proc/cpuinfo"
    family = int(re.search(r"cpu family\s*:\s*(\d+)", info).group(1))
    model = int(re.search(r"model\s*:\s*(\d+)", info).group(1))
    mhz = float(re.search(r"cpu MHz\s*:\s*([\d.]+)", info).group(1))
    cores = len(os.sched_getaffinity(0))
    zen4 = (
        "AuthenticAMD" in info
        and family == 25
        and (0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF)
    )
    if not zen4 or "avx512_bf16" not in info:
        return None, "nominal peak known only for AMD Zen 4 here"
    return cores * mhz / 1e3 * 64, f"{cores} cores x {mhz / 1e3:.2f} GHz x 64 bf16 FLOP/cycle (Zen 4)"


def compute_peaks(device: torch.device) -> dict:
    """The measured and (on a known CPU) nominal peaks in the precision the trainer computes in on `device`
    (`peak_dtype`), and the one that % peak is taken of: the larger, since a CPU that boosts above its
    nominal clock beats the nominal figure."""
    dtype = peak_dtype(device)
    measured = measured_peak(device, dtype)
    nominal, how = nominal_cpu_bf16_peak() if device.type == "cpu" and dtype == torch.bfloat16 else (None, "")
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "measured": measured,
        "nominal": nominal,
        "nominal_how": how,
        "used": max(nominal or 0.0, measured),
    }


def _write_json(path: str, report: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets the resident-set high-water mark
        except OSError:
            pass


def _peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s*(\d+) kB", status).group(1)) / 1024
    except (OSError, AttributeError):
        return float("nan")


def timed(runner, steps: int, device: torch.device) -> tuple[float, float]:
    _reset_peak_memory(device)
    _sync(device)
    start = time.perf_counter()
    images = runner.run(steps)
    _sync(device)
    return images / (time.perf_counter() - start), _peak_memory_mib(device)


def _serve_path(conn, spec: dict, data: ImageData) -> None:
    """Child process of one benchmark path: build it, warm it up, then time rounds until told to stop."""
    device = torch.device(spec["device"])
    if spec["kind"] == "plain":
        runner = PlainLoop(spec["model"], data, spec["batch_size"], device, spec["lr"])
    else:
        activation = spec.get("activation", "relu")
        runner = TrainerSteps(
            spec["model"],
            data,
            spec["batch_size"],
            spec["device"],
            spec["alpha"],
            compile=spec["compile"],
            activation="relu" if activation == "relu" else "leaky_relu",
            slope=0.0 if activation == "relu" else LEAKY_SLOPE,
        )
        if activation == "torch_leaky_relu":  # before the first step: torch.compile traces the swapped model
            use_torch_leaky_relu(runner.trainer.model)
    runner.run(3)  # warm-up: worker start, allocator, autotuning, compilation
    conn.send("ready")
    while (steps := conn.recv()) is not None:
        conn.send(timed(runner, steps, device))


def bench_model(
    model_name: str,
    data: ImageData,
    device: torch.device,
    steps: int,
    rounds: int,
    batch_size: int,
    compile: bool = True,
) -> list[dict]:
    """The plain loop and the trainer at alpha = 0 and -1, eager and compiled."""
    specs = {
        "plain loop (DataLoader + torchvision transforms, fp32, NCHW)": {
            "kind": "plain",
            "lr": 0.1 if model_name == "resnet20" else 0.01,
        },
        "trainer, alpha = 0": {"kind": "trainer", "alpha": 0.0},
        "trainer, alpha = -1": {"kind": "trainer", "alpha": -1.0},
    }
    if compile:
        specs["trainer, alpha = 0, torch.compile"] = {"kind": "trainer", "alpha": 0.0, "compile": "on"}
        specs["trainer, alpha = -1, torch.compile"] = {"kind": "trainer", "alpha": -1.0, "compile": "on"}
    return time_paths(model_name, specs, data, device, steps, rounds, batch_size)


def time_paths(
    model_name: str, specs: dict, data: ImageData, device: torch.device, steps: int, rounds: int, batch_size: int
) -> list[dict]:
    """Time each path in its own process (see the module docstring), alternating rounds between them."""
    common = {"model": model_name, "batch_size": batch_size, "device": str(device), "compile": "off"}
    ctx = torch.multiprocessing.get_context("spawn")
    workers = {}
    try:
        for name, spec in specs.items():
            conn, child_conn = ctx.Pipe()
            proc = ctx.Process(target=_serve_path, args=(child_conn, common | spec, data))
            proc.start()
            workers[name] = (conn, proc)
        for name, (conn, proc) in workers.items():
            _receive(conn, proc, name)  # "ready"
        results = {name: [] for name in specs}
        for _ in range(rounds):
            for name, (conn, proc) in workers.items():
                conn.send(steps)
                results[name].append(_receive(conn, proc, name))
    finally:
        for conn, proc in workers.values():
            if proc.is_alive():
                try:
                    conn.send(None)
                except OSError:
                    pass
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    flops = training_flops_per_image(model_name)
    rows = []
    for name, measurements in results.items():
        speed, memory = max(measurements)  # the least disturbed round
        rows.append(
            {
                "model": model_name,
                "path": name,
                "images_per_s": speed,
                "peak_memory_mib": memory,
                "gflop_per_s": speed * flops / 1e9,
                "train_gflop_per_image": flops / 1e9,
                "all_rounds_images_per_s": [round(m[0], 1) for m in measurements],
            }
        )
    return rows


def _receive(conn, proc, name: str):
    while not conn.poll(1.0):
        if not proc.is_alive():
            raise RuntimeError(f"benchmark path {name!r} died (exit code {proc.exitcode}); its error is above")
    return conn.recv()


# Where a trainer step's time goes: the profiler's self time of each op, grouped. A torch.compile graph's
# generated kernels are not ATen ops; they run inside the graph's call and count as its self time. "Other
# ATen ops" are, eager, batch norm, ReLU, the residual adds and the loss; either way the data augmentation
# and the optimizer. "Outside ATen ops" is Python, the autograd engine and the profiler itself.
PARTS = (
    ("convolutions, forward", lambda k: "convolution" in k and "backward" not in k),
    ("convolutions, backward", lambda k: "convolution_backward" in k),
    ("matrix products", lambda k: k in ("aten::mm", "aten::addmm", "aten::bmm")),
    ("generated kernels (torch.compile)", lambda k: k.startswith("## Call CompiledFxGraph")),
    ("other ATen ops", lambda k: k.startswith("aten::")),
)
PART_FLOP_OPS = {PARTS[0][0]: ("aten.convolution",), PARTS[1][0]: ("aten.convolution_backward",)}


def step_breakdown(
    model_name: str, data: ImageData, batch_size: int, compile: str, steps: int = 10, alpha: float = 0.0
) -> dict:
    """Profile `steps` trainer steps on the CPU and split the time per step into PARTS.

    Each part gets its milliseconds per step, its share of the step's wall time and, for the convolutions,
    the GFLOP/s they achieve (FLOPs counted by torch.utils.flop_counter). What no ATen op covers (Python
    between ops, the autograd engine's bookkeeping, the profiler's own cost) is its own part, so the parts
    add up to the wall time. The profiler slows the eager trainer, with its many small ops, the most.
    """
    from torch.profiler import ProfilerActivity, profile

    runner = TrainerSteps(model_name, data, batch_size, "cpu", alpha, compile=compile)
    if steps * batch_size > len(runner.trainer.train_y):
        raise ConfigError(
            f"{steps} steps of {batch_size} images need more than the {len(runner.trainer.train_y)} training "
            "images here: ask for fewer steps or a smaller batch"
        )
    runner.run(3)  # warm-up, compilation included
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        images = runner.run(steps)
        wall = time.perf_counter() - start
    n_steps = images / batch_size
    seconds = dict.fromkeys([name for name, _ in PARTS], 0.0)
    for event in prof.key_averages():
        name = next((name for name, match in PARTS if match(event.key)), None)
        if name is not None:
            seconds[name] += event.self_cpu_time_total / 1e6
    flops = training_flops_by_op(model_name)
    parts = []
    for name, t in [*seconds.items(), ("outside ATen ops", None)]:
        ms = (wall - sum(seconds.values())) / n_steps * 1e3 if t is None else t / n_steps * 1e3
        part = {"part": name, "ms_per_step": ms, "share": ms / (wall / n_steps * 1e3)}
        if name in PART_FLOP_OPS and ms > 0:
            per_step = sum(flops.get(op, 0.0) for op in PART_FLOP_OPS[name]) * batch_size
            part["gflop_per_s"] = per_step / (ms / 1e3) / 1e9
        parts.append(part)
    return {
        "model": model_name,
        "path": "trainer, alpha = 0" + (", torch.compile" if runner.trainer.compiled_losses is not None else ""),
        "steps": n_steps,
        "ms_per_step": wall / n_steps * 1e3,
        "images_per_s": images / wall,
        "parts": parts,
    }


def print_breakdown(result: dict, peak: float) -> None:
    print(
        f"\n{result['model']}, {result['path']}: {result['ms_per_step']:.0f} ms per step "
        f"({result['images_per_s']:.0f} img/s under the profiler, {result['steps']:.0f} steps)"
    )
    print(f"  {'part':<36}{'ms/step':>8}{'share':>8}{'GFLOP/s':>9}{'% peak':>8}")
    for part in result["parts"]:
        rate = part.get("gflop_per_s")
        figures = f"{rate:9.0f}{100 * rate / peak:8.1f}" if rate is not None else ""
        print(f"  {part['part']:<36}{part['ms_per_step']:8.1f}{100 * part['share']:7.1f}%{figures}")


def load_bench_data(data_dir: str | None) -> ImageData:
    try:
        data = load_cifar10(data_dir)
    except DataError:
        data = synthetic_dataset(train_per_class=600, test_per_class=10)
    return data


def _timing_setup(device: str, steps: dict | None, data_dir: str | None):
    """The device, steps per round (defaults by device), the first 12,000 training images, and the device's
    name: what the side-by-side benchmarks share."""
    dev = resolve_device(device)
    if steps is None:
        steps = {"resnet20": 20, "vgg16": 6} if dev.type == "cpu" else {"resnet20": 100, "vgg16": 50}
    data = load_bench_data(data_dir)
    data = ImageData(
        data.name, data.classes, data.train_x[:12_000], data.train_y[:12_000], data.test_x[:100], data.test_y[:100]
    )
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{platform.machine()} CPU"
    return dev, steps, data, device_name


def run_benchmark(
    models=("resnet20", "vgg16"),
    steps: dict | None = None,
    rounds: int = 5,
    batch_size: int = 256,
    device: str = "auto",
    data_dir: str | None = None,
    compile: bool = True,
    json_out: str | None = None,
) -> dict:
    dev, steps, data, device_name = _timing_setup(device, steps, data_dir)
    peaks = compute_peaks(dev)
    peak = peaks["used"]
    report = {
        "device": device_name,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "data": data.name,
        "batch_size": batch_size,
        "rounds": rounds,
        "steps": steps,
        "peak_dtype": peaks["dtype"],
        "measured_peak_gflop_per_s": peaks["measured"],
        "nominal_peak_gflop_per_s": peaks["nominal"],
        "nominal_peak_formula": peaks["nominal_how"],
        "peak_used_gflop_per_s": peak,
        "rows": [],
        "summary": {},
    }
    print(
        f"device: {device_name}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"data {data.name}, batch {batch_size}, best of {rounds} rounds"
    )
    print(
        f"{peaks['dtype']} peak: measured {peaks['measured']:.0f} GFLOP/s (best of a 2048^3 matmul and a "
        "256-channel 3x3 convolution)"
        + (f"; nominal {peaks['nominal']:.0f} GFLOP/s = {peaks['nominal_how']}" if peaks["nominal"] else "")
    )
    print(f"% peak below is of {peak:.0f} GFLOP/s, the larger of the two")
    for model_name in models:
        rows = bench_model(model_name, data, dev, steps[model_name], rounds, batch_size, compile)
        report["rows"] += rows
        base = rows[0]["images_per_s"]
        print(
            f"\n{model_name}: {steps[model_name]} steps of {batch_size} images per round, "
            f"{rows[0]['train_gflop_per_image']:.3f} training GFLOP per image"
        )
        print(f"  {'path':<62}{'img/s':>8}{'x plain':>9}{'GFLOP/s':>9}{'% peak':>8}{'peak MiB':>10}")
        for row in rows:
            print(
                f"  {row['path']:<62}{row['images_per_s']:8.0f}{row['images_per_s'] / base:9.2f}"
                f"{row['gflop_per_s']:9.0f}{100 * row['gflop_per_s'] / peak:8.1f}{row['peak_memory_mib']:10.0f}"
            )
        speeds = {row["path"]: row["images_per_s"] for row in rows}
        for variant in ("", ", torch.compile"):
            if f"trainer, alpha = 0{variant}" not in speeds:
                continue
            a0, a1 = speeds[f"trainer, alpha = 0{variant}"], speeds[f"trainer, alpha = -1{variant}"]
            summary = {
                "speedup_alpha_0": a0 / base,
                "speedup_alpha_-1": a1 / base,
                "selectivity_overhead_pct": 100 * (a0 / a1 - 1),
            }
            report["summary"].setdefault(model_name, {})["compiled" if variant else "eager"] = summary
            print(
                f"  trainer{variant or ', eager'}: {summary['speedup_alpha_0']:.2f}x (alpha = 0) and "
                f"{summary['speedup_alpha_-1']:.2f}x (alpha = -1) the plain loop; selectivity-term overhead "
                f"{summary['selectivity_overhead_pct']:+.1f}% time per image"
            )
    if json_out:
        _write_json(json_out, report)
    return report


LEAKY_SLOPE = 0.5  # the slope of the paper's Figure A10b, and of the evidence grid

ACTIVATION_PATHS = {
    "ReLU": "relu",
    "leaky ReLU (project's, backward reads the output)": "leaky_relu",
    "leaky ReLU (torch's nn.LeakyReLU)": "torch_leaky_relu",
}


def run_activation_benchmark(
    models=("resnet20",),
    steps: dict | None = None,
    rounds: int = 5,
    batch_size: int = 256,
    device: str = "auto",
    data_dir: str | None = None,
    compile: bool = True,
    json_out: str | None = None,
) -> dict:
    """`bench --activations`: the trainer at alpha = 0 with ReLU, the project's leaky ReLU and torch's
    `nn.LeakyReLU` (slope 0.5), eager and compiled, side by side in alternating rounds."""
    dev, steps, data, device_name = _timing_setup(device, steps, data_dir)
    print(
        f"device: {device_name}, {torch.get_num_threads()} threads, torch {torch.__version__}, data {data.name}, "
        f"batch {batch_size}, trainer at alpha = 0, leaky slope {LEAKY_SLOPE}, best of {rounds} rounds"
    )
    report = {
        "device": device_name,
        "torch": torch.__version__,
        "batch_size": batch_size,
        "rounds": rounds,
        "steps": steps,
        "rows": [],
        "summary": {},
    }
    modes = {"eager": "off", "torch.compile": "on"} if compile else {"eager": "off"}
    for model_name in models:
        specs = {
            f"{name}, {mode}": {"kind": "trainer", "alpha": 0.0, "compile": flag, "activation": activation}
            for mode, flag in modes.items()
            for name, activation in ACTIVATION_PATHS.items()
        }
        rows = time_paths(model_name, specs, data, dev, steps[model_name], rounds, batch_size)
        report["rows"] += rows
        speed = {row["path"]: row["images_per_s"] for row in rows}
        print(f"\n{model_name}: {steps[model_name]} steps of {batch_size} images per round")
        print(f"  {'path':<64}{'img/s':>8}{'x ReLU':>8}{'peak MiB':>10}")
        for row in rows:
            relu = speed[f"ReLU, {row['path'].rsplit(', ', 1)[1]}"]
            print(
                f"  {row['path']:<64}{row['images_per_s']:8.0f}{row['images_per_s'] / relu:8.2f}"
                f"{row['peak_memory_mib']:10.0f}"
            )
        names = list(ACTIVATION_PATHS)
        for mode in modes:
            ratio = speed[f"{names[1]}, {mode}"] / speed[f"{names[2]}, {mode}"]
            report["summary"].setdefault(model_name, {})[mode] = {"project_over_torch_leaky": ratio}
            print(f"  {mode}: the project's leaky ReLU trains {ratio:.2f}x as fast as nn.LeakyReLU")
    if json_out:
        _write_json(json_out, report)
    return report


def run_breakdown(
    models=("resnet20", "vgg16"),
    steps: dict | None = None,
    batch_size: int = 256,
    data_dir: str | None = None,
    compile: bool = True,
    json_out: str | None = None,
) -> dict:
    """`bench --breakdown`: where a step of the CPU trainer spends its time, eager and compiled."""
    steps = steps or {"resnet20": 10, "vgg16": 3}
    data = load_bench_data(data_dir)
    peaks = compute_peaks(torch.device("cpu"))
    peak = peaks["used"]
    print(
        f"device: {platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"data {data.name}, batch {batch_size}; % peak below is of the {peaks['dtype']} peak, {peak:.0f} GFLOP/s "
        "(as in the benchmark)"
    )
    print("convolution FLOPs as torch.utils.flop_counter counts them: taps over the zero padding included")
    report = {
        "device": f"{platform.machine()} CPU",
        "peak_dtype": peaks["dtype"],
        "peak_used_gflop_per_s": peak,
        "breakdowns": [],
    }
    for model_name in models:
        for mode in ("off", "on") if compile else ("off",):
            result = step_breakdown(model_name, data, batch_size, mode, steps.get(model_name, 10))
            print_breakdown(result, peak)
            report["breakdowns"].append(result)
    if json_out:
        _write_json(json_out, report)
    return report
