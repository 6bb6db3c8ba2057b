"""The training loop: cross-entropy minus alpha times the selectivity term, written into a run folder.

`train_run(config, out_dir)` is the one entry point (CLI, sweeps, notebooks and tests call it). It
validates the folder, trains with SGD under the config's schedule, checkpoints every epoch, keeps the
weights of the best-validation epoch, evaluates them on the test set and writes the per-unit results.
A killed run resumes from its last finished epoch with the same result as an uninterrupted one: the
shuffling and augmentation of each epoch come from a generator seeded by (seed, epoch).

Speed (see `python -m selectivity_lib bench`): images stay in memory as one uint8 tensor (on the GPU when
training there), augmentation is done for a whole batch by one gather, the model runs channels-last under
bf16 autocast where the hardware supports it, and the selectivity term is computed in fp32 from the
spatial means of the maps the forward pass produced anyway, with one scatter for all layers. On the CPU,
glibc is told to keep freed activation memory (`keep_freed_memory`). Runs long enough to repay it
(`compile="auto"`) torch.compile the forward pass, loss and selectivity term as one graph, so that the
elementwise work around the convolutions fuses in both passes; an epoch's last, smaller batch runs eagerly.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import platform
import re
import shutil
import subprocess
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import __version__
from .config import RunConfig
from .data import ImageData, load_cifar10, normalize, random_crop_flip, split_indices, synthetic_dataset
from .errors import ConfigError, RunFolderError, TrainingDiverged
from .models import build_model
from .runfolder import (
    BEST,
    CHECKPOINT,
    CONFIG,
    HISTORY,
    METRICS,
    UNITS,
    atomic_write,
    check_reusable,
    load_state,
    load_tensors,
    read_metrics,
    record_resume,
    run_lock,
    save_tensors,
    write_csv,
    write_json,
)
from .selectivity import layer_weights, selectivity_term, spatial_means, unit_statistics


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for `name` (auto, cpu, cuda, cuda:1, ...); a ConfigError if it is unknown or absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:<index>") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device {name!r} asked for, but no CUDA GPU is visible: use --device cpu or auto")
        if (device.index or 0) >= count:
            raise ConfigError(f"device {name!r} asked for, but only {count} CUDA GPU(s) are visible")
    elif device.type != "cpu":
        raise ConfigError(f"device {name!r} is not supported: use auto, cpu, cuda or cuda:<index>")
    return device


def cpuinfo() -> str:
    """The text of /proc/cpuinfo, empty where there is none."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 dot products (avx512_bf16 or AMX), where bf16 autocast pays."""
    flags = cpuinfo()
    return "avx512_bf16" in flags or "amx_bf16" in flags


# the instruction sets that decide how fast a CPU trains here (oneDNN's kernels, bf16 autocast)
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_description() -> str:
    """The CPU's model name and which of SPEED_FLAGS it has, e.g. 'AMD EPYC; avx2, avx512f, avx512_bf16'."""
    info = cpuinfo()
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", info, re.MULTILINE)
    has = [f for f in SPEED_FLAGS if flags and f in flags.group(1).split()]
    name = model.group(1).strip() if model else platform.processor() or platform.machine()
    return f"{name}; {', '.join(has) or 'none of ' + ', '.join(SPEED_FLAGS)}" if flags else name


# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@functools.cache  # process-wide: once is enough
def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed activation memory for the next step instead of returning it.

    By default glibc serves blocks above a (slowly adapting) threshold with fresh mmap calls and trims
    freed memory back to the system, so every training step page-faults its activations in again: on
    2 cores about a tenth of the step went to the kernel. Raising both thresholds (blocks up to 32 MiB
    come from the heap; up to 2 GiB of free heap is kept) removes that. Process-wide and harmless for
    other code; the process's resident memory stays at its peak. Returns False where it does not apply
    (not glibc).
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


# torch.compile is slow the first time on a machine (fast once its on-disk cache holds the graph) and
# saves about a tenth of each ResNet20 step on 2 CPU cores (benchmarks/cpu-2core.txt): `auto` compiles
# ResNet20 runs with at least this many full batches. VGG16 spends about three quarters of its step in
# convolutions (benchmarks/cpu-2core-breakdown.txt), which compilation leaves as they are; it measured no
# faster, so it stays eager.
COMPILE_MIN_STEPS = 400
COMPILE_PAYS = {"resnet20"}


def use_compile(mode: str, model: str, device: torch.device, full_steps: int) -> bool:
    """Whether to torch.compile the training step: `on`, `off`, or `auto` (long ResNet20 runs where a
    compiler is available: a C++ compiler on the CPU, Triton on CUDA)."""
    if mode != "auto":
        return mode == "on"
    if model not in COMPILE_PAYS or full_steps < COMPILE_MIN_STEPS:
        return False
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return device.type == "cpu" and any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++"))


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `amp` on `device`, or None for fp32."""
    if amp == "off":
        return None
    if amp == "bf16" or amp == "fp16":
        return torch.bfloat16 if amp == "bf16" else torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def load_data(config: RunConfig) -> ImageData:
    if config.dataset == "synthetic":
        return synthetic_dataset()
    return load_cifar10(config.data_dir)


def lr_at(config: RunConfig, epoch: int, step: int = 0, steps_per_epoch: int = 1) -> float:
    """Learning rate of step `step` (0-based) of 0-based `epoch`, with `steps_per_epoch` steps per epoch.

    A warm-up of `warmup_epochs` raises the rate linearly per step to `lr`. After it, `step` multiplies by
    lr_decay at each milestone already reached (per epoch, the paper's schedule); `linear` falls per step
    to lr / (remaining steps) at the last step, never reaching zero; `cosine` follows half a cosine to ~0.
    """
    g = epoch * steps_per_epoch + step  # global step
    warmup = round(config.warmup_epochs * steps_per_epoch)
    total = config.epochs * steps_per_epoch
    if g < warmup:
        return config.lr * (g + 1) / warmup
    if config.schedule == "step":
        return config.lr * config.lr_decay ** sum(epoch >= m for m in config.milestones)
    done = (g - warmup) / (total - warmup)  # 0 at the end of the warm-up, < 1 at the last step
    if config.schedule == "linear":
        return config.lr * (1 - done)
    return config.lr * 0.5 * (1 + math.cos(math.pi * done))


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


class Trainer:
    """The model, data and optimizer of one run: `train_epoch` trains, `evaluate` measures."""

    def __init__(self, config: RunConfig, data: ImageData):
        self.config = config
        self.device = resolve_device(config.device)
        self.amp = resolve_amp(config.amp, self.device)
        if self.device.type == "cuda" and self.amp is None:
            # fp32 means fp32 here as on a CPU: by default cuDNN runs fp32 convolutions in TF32 (a 10-bit
            # mantissa), which the run record would not show
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        if self.device.type == "cpu":
            keep_freed_memory()
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.num_classes = data.num_classes
        self.train_idx, self.val_idx = split_indices(
            len(data.train_y), config.val_size, config.split_seed, config.train_subset
        )
        dev = self.device
        self.train_x, self.train_y = data.train_x[self.train_idx].to(dev), data.train_y[self.train_idx].to(dev)
        self.val_x, self.val_y = data.train_x[self.val_idx].to(dev), data.train_y[self.val_idx].to(dev)
        self.test_x, self.test_y = data.test_x.to(dev), data.test_y.to(dev)

        torch.manual_seed(config.seed)
        self.model = build_model(config.model, config.activation, config.slope, self.num_classes)
        self.model.to(dev, memory_format=self.memory_format)
        self.layer_names = list(self.model.unit_layers)
        chosen = config.layers or self.layer_names
        self.reg_layers = [self.layer_names.index(name) for name in chosen]
        self.model.eval()  # a train-mode probe would move the BatchNorm running statistics
        with torch.no_grad():
            _, maps = self.model(self._batch(self.test_x[:2]), return_units=True)
        self.layer_sizes = [m.shape[1] for m in maps]
        self.reg_weights = layer_weights([self.layer_sizes[i] for i in self.reg_layers], device=dev)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.nesterov,
        )
        # Forward pass, loss and selectivity term as one graph: the elementwise work around the
        # convolutions, in both passes, fuses into a few loops.
        self.compiled_losses = None
        full_steps = config.epochs * (len(self.train_y) // config.batch_size)
        if use_compile(config.compile, config.model, self.device, full_steps):
            torch.compiler.reset()  # one trainer trains at a time: drop the graphs of earlier ones
            self.compiled_losses = torch.compile(self.losses, dynamic=False)
        self._compile_checked = False

    def _batch(self, x: torch.Tensor) -> torch.Tensor:
        return normalize(x, self.config.channels_last)

    def losses(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward pass of a uint8 batch: the loss to minimise and a (4,) tensor of loss, CE, mu_SI, correct."""
        alpha = self.config.alpha
        with autocast(self.device, self.amp):
            logits, maps = self.model(self._batch(xb), return_units=True)
        ce = F.cross_entropy(logits.float(), yb)
        # The term's inputs are maps the forward pass made anyway; at alpha = 0 it is only logged.
        maps = [maps[i] if alpha != 0 else maps[i].detach() for i in self.reg_layers]
        si = selectivity_term(spatial_means(maps), yb, self.num_classes, self.reg_weights)
        loss = ce - alpha * si
        correct = (logits.argmax(1) == yb).sum()
        return loss, torch.stack([loss.detach(), ce.detach(), si.detach(), correct.float()])

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One SGD step on a uint8 batch. Returns a (4,) tensor: loss, CE, mu_SI, correct count."""
        # The compiled graph is specialised to full batches; an epoch's last, smaller one runs eagerly.
        if self.compiled_losses is not None and len(yb) == self.config.batch_size:
            loss, stats = self._compiled_step_losses(xb, yb)
        else:
            loss, stats = self.losses(xb, yb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return stats

    def _compiled_step_losses(self, xb: torch.Tensor, yb: torch.Tensor):
        if self._compile_checked:
            return self.compiled_losses(xb, yb)
        try:  # the first call compiles; nothing has run yet if compilation fails
            out = self.compiled_losses(xb, yb)
        except Exception as e:
            if self.config.compile == "on":
                raise
            warnings.warn(
                f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                "training on without it. Pass compile='off' (--compile off) to skip the attempt.",
                stacklevel=2,
            )
            self.compiled_losses = None
            return self.losses(xb, yb)
        self._compile_checked = True
        return out

    def train_epoch(self, epoch: int, bar=None, max_steps: int | None = None) -> dict:
        """One pass over the training images (or its first `max_steps` batches, for benchmarks)."""
        cfg = self.config
        self.model.train()
        g = epoch_generator(cfg.seed, epoch, self.device)
        perm = torch.randperm(len(self.train_y), generator=g, device=self.device)
        steps_per_epoch = math.ceil(len(perm) / cfg.batch_size)  # the schedule's clock: full epochs
        if max_steps is not None:
            perm = perm[: max_steps * cfg.batch_size]
        n = len(perm)
        totals = torch.zeros(4, device=self.device)
        start = time.perf_counter()
        for i in range(0, n, cfg.batch_size):
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(cfg, epoch, i // cfg.batch_size, steps_per_epoch)
            idx = perm[i : i + cfg.batch_size]
            xb = random_crop_flip(self.train_x[idx], g)
            stats = self.train_step(xb, self.train_y[idx])
            totals += stats * torch.tensor([len(idx), len(idx), len(idx), 1.0], device=self.device)
            if bar is not None:
                bar.update(1)
                if (i // cfg.batch_size) % 10 == 0:
                    loss, ce, si = stats[:3].tolist()
                    bar.set_postfix(loss=f"{loss:.3f}", ce=f"{ce:.3f}", mu_si=f"{si:.3f}", refresh=False)
        seconds = time.perf_counter() - start
        loss, ce, si, correct = (totals / n).tolist()
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1} (loss {loss}); the run folder keeps the last finished "
                "epoch: lower |alpha| or the learning rate"
            )
        return {
            "epoch": epoch + 1,
            "lr": lr_at(cfg, epoch, 0, steps_per_epoch),  # at the epoch's first step
            "train_loss": loss,
            "train_ce": ce,
            "train_mu_si": si,
            "train_acc": correct,
            "seconds": seconds,
            "images_per_s": n / seconds,
        }

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, units: bool = False, batch_size: int = 1000) -> dict:
        """Loss and accuracy on (x, y); with units=True also the (N, U) unit responses of every layer."""
        self.model.eval()
        loss, correct, responses = 0.0, 0, []
        for i in range(0, len(y), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            with autocast(self.device, self.amp):
                logits, maps = self.model(self._batch(xb), return_units=True)
            loss += F.cross_entropy(logits.float(), yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
            if units:
                responses.append(spatial_means(maps).cpu())
        out = {"loss": loss / len(y), "acc": correct / len(y)}
        if units:
            out["responses"] = torch.cat(responses)
        return out

    def state(self, epoch: int, history: list, best: dict) -> dict:
        return {
            "config": self.config.experiment_fields(),  # a checkpoint resumes only the run it belongs to
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": history,
            "best": best,
        }


def run_record(config: RunConfig, data: ImageData, trainer: Trainer | None = None) -> dict:
    """What config.json holds: the experiment, the data it saw, and the software and hardware it ran on."""
    record = {
        "config": config.experiment_fields(),
        "data": {"name": data.name, "num_classes": data.num_classes, "num_test": len(data.test_y)},
    }
    if trainer is not None:
        record["data"] |= {"num_train": len(trainer.train_idx), "num_val": len(trainer.val_idx)}
        record["environment"] = {
            "code_version": code_version(),
            "torch": torch.__version__,
            "device": _device_name(trainer.device),
            "amp": str(trainer.amp).replace("torch.", "") if trainer.amp else "fp32",
            "channels_last": config.channels_last,
            "compile": trainer.compiled_losses is not None,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
        }
        if trainer.device.type == "cpu":
            record["environment"]["cpu"] = cpu_description()
    return record


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def train_run(config: RunConfig, out_dir: str | Path, data: ImageData | None = None, progress: bool = True) -> dict:
    """Train (or resume, or skip if complete) the run `config` in `out_dir`; returns its final metrics."""
    out = Path(out_dir)
    resolve_device(config.device)  # an unknown or absent device fails before anything is written
    state = check_reusable(out, {"config": config.experiment_fields(), "data": {}})
    if state == "complete":
        return read_metrics(out)
    data = data if data is not None else load_data(config)
    with run_lock(out):
        return _train_locked(config, out, data, progress)


def load_checkpoint(out: Path, config: RunConfig, device: torch.device) -> dict:
    """The run's checkpoint.pt, refused unless it belongs to this run (same experiment config)."""
    path = out / CHECKPOINT
    restart = f"delete {path} to train this run from its first epoch"
    ckpt = load_tensors(path, map_location=device, what=restart)
    keys = {"config", "epoch", "model", "optimizer", "history", "best"}
    if not isinstance(ckpt, dict) or not keys <= set(ckpt):
        raise RunFolderError(f"{path} is not a training checkpoint of this project (a copy of best.pt?): {restart}")
    saved = ckpt["config"]
    if saved != config.experiment_fields():
        diffs = [
            f"{k}: {saved.get(k)!r} there, {v!r} here"
            for k, v in config.experiment_fields().items()
            if saved.get(k) != v
        ]
        raise RunFolderError(f"{path} belongs to another run ({'; '.join(diffs[:4])}): {restart}")
    if not 0 <= int(ckpt["epoch"]) <= config.epochs or len(ckpt["history"]) != int(ckpt["epoch"]):
        raise RunFolderError(f"{path} is inconsistent (epoch {ckpt['epoch']}, {len(ckpt['history'])} rows): {restart}")
    return ckpt


def _train_locked(config: RunConfig, out: Path, data: ImageData, progress: bool) -> dict:
    trainer = Trainer(config, data)
    record = run_record(config, data, trainer)
    check_reusable(out, record)  # now also against the data actually loaded

    history, best, start_epoch = [], {"epoch": 0, "val_acc": -1.0}, 0
    if (out / CHECKPOINT).is_file():
        ckpt = load_checkpoint(out, config, trainer.device)
        load_state(trainer.model, ckpt["model"], out / CHECKPOINT, f"delete {out / CHECKPOINT} to start the run over")
        trainer.optimizer.load_state_dict(ckpt["optimizer"])
        history, best, start_epoch = list(ckpt["history"]), dict(ckpt["best"]), int(ckpt["epoch"])
        record_resume(out, record["environment"], start_epoch)
    else:  # a new run, or one whose checkpoint is gone: it trains from epoch 0 here, so the record is this one
        write_json(out / CONFIG, record)

    steps = math.ceil(len(trainer.train_y) / config.batch_size)
    desc = f"{config.model} alpha={config.alpha:g} seed={config.seed}"
    with tqdm(
        total=config.epochs * steps, initial=start_epoch * steps, desc=desc, disable=not progress, dynamic_ncols=True
    ) as bar:
        for epoch in range(start_epoch, config.epochs):
            row = trainer.train_epoch(epoch, bar)
            val = trainer.evaluate(trainer.val_x, trainer.val_y)
            row |= {"val_loss": val["loss"], "val_acc": val["acc"]}
            history.append(row)
            if val["acc"] > best["val_acc"]:
                best = {"epoch": epoch + 1, "val_acc": val["acc"]}
                save_tensors(out / BEST, trainer.model.state_dict())
            write_csv(out / HISTORY, history)
            save_tensors(out / CHECKPOINT, trainer.state(epoch + 1, history, best))
            bar.set_postfix(
                loss=f"{row['train_loss']:.3f}",
                ce=f"{row['train_ce']:.3f}",
                mu_si=f"{row['train_mu_si']:.3f}",
                val_acc=f"{val['acc']:.3f}",
            )
    return finish_run(trainer, out, history, best)


def best_weights(trainer: Trainer, out: Path, history: list, best: dict) -> dict:
    """The best-validation weights: best.pt, or the model in memory when the best epoch was the last one."""
    if best["epoch"] == len(history):  # the weights in memory are the best ones
        return trainer.model.state_dict()
    lost = (
        f"the best-validation weights (epoch {best['epoch']}) are lost: delete {out / CHECKPOINT}, {out / BEST} "
        f"and {out / HISTORY} to train the run again"
    )
    if not (out / BEST).is_file():
        raise RunFolderError(f"{out / BEST} is missing: {lost}")
    return load_tensors(out / BEST, map_location=trainer.device, what=lost)


def finish_run(trainer: Trainer, out: Path, history: list, best: dict) -> dict:
    """Evaluate the best-validation weights on the test set; write units.npz, then metrics.json."""
    cfg = trainer.config
    lost = f"delete {out / CHECKPOINT}, {out / BEST} and {out / HISTORY} to train the run again"
    load_state(trainer.model, best_weights(trainer, out, history, best), out / BEST, lost)
    test = trainer.evaluate(trainer.test_x, trainer.test_y, units=True)
    top_n = min(cfg.precision_top_n, len(trainer.test_y))
    if top_n < cfg.precision_top_n:
        warnings.warn(
            f"precision uses the top {top_n} test images per unit, not {cfg.precision_top_n}: the test set has "
            f"only {len(trainer.test_y)} (recorded as precision_top_n_used)",
            stacklevel=2,
        )
    stats = unit_statistics(test["responses"], trainer.test_y.cpu(), trainer.num_classes, top_n)
    layer_of_unit = np.repeat(np.arange(len(trainer.layer_sizes)), trainer.layer_sizes)
    arrays = {k: v.numpy() for k, v in stats.items()}
    units = {"layer_names": np.array(trainer.layer_names), "layer": layer_of_unit} | {
        "si": arrays["si"].astype(np.float32),
        "precision": arrays["precision"].astype(np.float32),
        "dead": arrays["dead"],
        "class_means": arrays["class_means"].astype(np.float32),
    }
    atomic_write(out / UNITS, lambda f: np.savez_compressed(f, **units))
    metrics = summarize_units(units) | {
        "test_acc": test["acc"],
        "test_loss": test["loss"],
        "best_epoch": best["epoch"],
        "best_val_acc": best["val_acc"],
        "precision_top_n_used": top_n,
        "epochs_trained": len(history),
        "train_seconds": sum(r["seconds"] for r in history),
        "train_images_per_s": float(np.mean([r["images_per_s"] for r in history])),
        "code_version": code_version(),  # the code that evaluated the run (a resumed run may start older)
    }
    write_json(out / METRICS, metrics)
    return metrics


def summarize_units(units: dict) -> dict:
    """Network-level summaries of the per-unit results (dict of arrays as in units.npz)."""
    names, layer = list(units["layer_names"]), units["layer"]
    si, dead, prec = units["si"], units["dead"], units["precision"]
    per_layer = []
    for i, name in enumerate(names):
        sel = layer == i
        alive = sel & ~dead
        per_layer.append(
            {
                "layer": str(name),
                "units": int(sel.sum()),
                "si_mean": float(si[sel].mean()),
                "si_mean_alive": float(si[alive].mean()) if alive.any() else float("nan"),
                "dead_fraction": float(dead[sel].mean()),
                "precision_mean": float(prec[sel].mean()),
            }
        )
    return {
        "mu_si": float(np.mean([row["si_mean"] for row in per_layer])),  # eq. 3: mean of layer means
        "si_unit_mean": float(si.mean()),
        "si_unit_mean_alive": float(si[~dead].mean()) if (~dead).any() else float("nan"),
        "precision_unit_mean": float(prec.mean()),
        "dead_fraction": float(dead.mean()),
        "layers": per_layer,
    }
