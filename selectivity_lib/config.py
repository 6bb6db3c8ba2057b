"""One frozen configuration per run, and the named compute profiles.

`make_config(profile=..., **overrides)` is the single entry point used by the CLI, the notebooks and the
tests: it fills in the profile's defaults, validates every field once, and returns a `RunConfig` that
travels whole into the trainer and is written whole into the run folder.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field

from .errors import ConfigError

MODELS = ("resnet20", "vgg16")
ACTIVATIONS = ("relu", "leaky_relu")
DATASETS = ("cifar10", "synthetic")
AMP_MODES = ("auto", "bf16", "fp16", "off")
COMPILE_MODES = ("auto", "on", "off")
# step: x lr_decay at each milestone epoch (the paper's); linear and cosine: decay per step to zero at the end.
SCHEDULES = ("step", "linear", "cosine")

# Learning rates of the paper (appendix A.1): 0.1 for ResNet20, 0.01 for VGG16.
DEFAULT_LR = {"resnet20": 0.1, "vgg16": 0.01}
# The paper anneals at epochs 100 and 150 of 200; shorter profiles keep the same fractions.
MILESTONE_FRACTIONS = (0.5, 0.75)


@dataclass(frozen=True)
class Profile:
    """A named compute budget: how long each run trains and on how much data."""

    epochs: int
    train_subset: int | None  # None: the full 45k training split
    seeds: int  # replicates per alpha that a sweep at this profile runs by default
    description: str
    schedule: str = "step"
    warmup_epochs: float = 0.0
    nesterov: bool = False
    lr: tuple[tuple[str, float], ...] = ()  # (model, peak lr) where the profile departs from DEFAULT_LR
    model_epochs: tuple[tuple[str, int], ...] = ()  # (model, epochs) where a model trains shorter than `epochs`

    def epochs_for(self, model: str) -> int:
        return dict(self.model_epochs).get(model, self.epochs)


PROFILES: dict[str, Profile] = {
    "paper": Profile(200, None, 20, "the paper's recipe: 200 epochs on the 45k split, 20 seeds (GPU work)"),
    # Chosen by the recipe study (scripts/recipe-study.sh, runs/recipe/): the best validation accuracy in about
    # 20 minutes of training on 2 CPU cores among the recipes that train stably at alpha = 1. Peak lr 0.4 and
    # 0.2 with Nesterov were 2.4 and 1.2 points better at alpha = 0, but at alpha = 1 their cross-entropy and
    # selectivity got worse together in the middle of training (runs/recipe/linear-e20-lr0.4-nesterov-alpha1,
    # linear-e20-lr0.2-nesterov-alpha1). Peak lr is the paper's (0.1 ResNet20, 0.01 VGG16). VGG16 does about
    # 5 times the work per image (benchmarks/cpu-2core.json: 206 against 983 images/s), so it trains 10
    # epochs: 36-44 minutes at the 172-206 images/s its runs have measured here, within a 45-minute budget.
    "full": Profile(
        20,
        None,
        3,
        "20 epochs (VGG16: 10) on the 45k split, linear decay per step after a 1-epoch warm-up, 3 seeds "
        "(about 17 minutes per ResNet20 on 2 CPU cores, about 40 per VGG16)",
        schedule="linear",
        warmup_epochs=1.0,
        model_epochs=(("vgg16", 10),),
    ),
    "cpu": Profile(12, 10_000, 3, "12 epochs on a 10k subset of the training split, 3 seeds (2-core CPU)"),
    "smoke": Profile(2, 1_000, 2, "2 epochs on 1k images: checks that the pipeline runs end to end"),
}


def scaled_milestones(epochs: int) -> tuple[int, ...]:
    """Learning-rate milestones at the paper's fractions (100/200, 150/200) of `epochs`."""
    return tuple(sorted({max(1, round(f * epochs)) for f in MILESTONE_FRACTIONS}))


def flag(help: str = "", **argparse_kwargs) -> dict:
    """A RunConfig field's command-line flag, declared with the field (`field(metadata=flag(...))`): its help,
    and any argparse keywords beyond the ones its type implies (`cli.config_flags` builds the flag: --name,
    type from the annotation, nargs="+" for a tuple, --name/--no-name for a bool). `{models}`, `{activations}`,
    `{datasets}`, `{amp_modes}` in the help are filled in with the valid values. A field without one has no
    flag (a run that changes it cannot be remade from a command line)."""
    return {"flag": {"help": help, **argparse_kwargs}}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run. Build it with `make_config`, which validates it. A field with
    `flag` metadata is set on the command line by a flag of its own name; nothing else needs to list it."""

    model: str = field(default="resnet20", metadata=flag("one of {models}", default="resnet20", per_run=True))
    activation: str = field(default="relu", metadata=flag("one of {activations}", default="relu", per_run=True))
    # negative slope b of the leaky ReLU; 0 for ReLU
    slope: float = field(default=0.0, metadata=flag("negative slope b of the leaky ReLU", per_run=True))
    # regularizer scale: < 0 penalizes class selectivity, > 0 promotes it
    alpha: float = field(
        default=0.0, metadata=flag("regularizer scale (<0 penalizes selectivity)", default=0.0, per_run=True)
    )
    seed: int = field(default=0, metadata=flag(default=0, per_run=True))
    profile: str = "cpu"  # its flag comes first, with the list of profiles (cli)
    epochs: int = field(default=12, metadata=flag("override the profile's epochs (milestones scale with them)"))
    # step schedule only: epochs at which the lr is multiplied by lr_decay
    milestones: tuple[int, ...] = field(default=(6, 9), metadata=flag("step schedule: epochs at which the lr is x0.1"))
    # the peak learning rate (reached after the warm-up)
    lr: float = field(default=0.1, metadata=flag("peak learning rate (default: 0.1 ResNet20, 0.01 VGG16)"))
    lr_decay: float = 0.1
    schedule: str = field(
        default="step", metadata=flag("learning-rate schedule (default: the profile's)", choices=SCHEDULES)
    )
    # the lr rises linearly, per step, from lr/warm-up steps to lr over these epochs
    warmup_epochs: float = field(default=0.0, metadata=flag("linear warm-up per step over this many epochs"))
    momentum: float = 0.9
    nesterov: bool = field(default=False, metadata=flag("Nesterov momentum"))
    weight_decay: float = 1e-4
    batch_size: int = field(default=256, metadata=flag())
    train_subset: int | None = field(default=10_000, metadata=flag("train on this many images of the split (0: all)"))
    val_size: int = field(default=5_000, metadata=flag())
    # seeds the train/validation split and the training subset, shared by replicates
    split_seed: int = field(default=0, metadata=flag())
    # unit layers in the regularizer and analysis; None: all
    layers: tuple[str, ...] | None = field(
        default=None,
        metadata=flag("comma-separated unit layers in the regularizer (default: all)", type=str, nargs=None),
    )
    dataset: str = field(default="cifar10", metadata=flag("one of {datasets}", default="cifar10"))
    precision_top_n: int = 1000
    # Machine-local settings: they change speed, not the experiment, and may differ on resume.
    data_dir: str | None = field(
        default=None,
        compare=False,
        metadata=flag("CIFAR-10 folder (else $SELECTIVITY_DATA, else the default cache)"),
    )
    device: str = field(default="auto", compare=False, metadata=flag("auto, cpu, cuda, cuda:1, ...", default="auto"))
    amp: str = field(default="auto", compare=False, metadata=flag("mixed precision: {amp_modes}", default="auto"))
    channels_last: bool = field(
        default=True,
        compare=False,
        metadata=flag(names=("--no-channels-last",), action="store_false", default=True),
    )
    compile: str = field(  # torch.compile: auto (long runs), on, off
        default="auto",
        compare=False,
        metadata=flag(
            "torch.compile the training step: auto (runs long enough to repay it), on (also bare --compile), off",
            nargs="?",
            const="on",
            default="auto",
            choices=COMPILE_MODES,
        ),
    )

    def experiment_fields(self) -> dict:
        """The fields that define the experiment (not machine-local settings), JSON-ready."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.compare}

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


# Experiment fields added after runs were committed, with the value that every earlier run had implicitly.
ADDED_FIELDS = {"schedule": "step", "warmup_epochs": 0.0, "nesterov": False}


def complete_experiment(saved: dict) -> dict:
    """A recorded experiment config with the fields added since it was written filled in (see ADDED_FIELDS)."""
    return {**ADDED_FIELDS, **saved}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def make_config(profile: str = "cpu", **overrides) -> RunConfig:
    """Build and validate a run configuration.

    Fields left out or given as None take their defaults: `epochs` (per model) and `train_subset` from the profile
    (`train_subset=0` asks for the full 45k split), `milestones` scaled to `epochs`, `lr` from the model.
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown config field(s) {', '.join(unknown)}: valid fields are {', '.join(sorted(known))}")
    p = PROFILES[profile]
    values = {k: v for k, v in overrides.items() if v is not None}  # None: take the default
    model = values.get("model", "resnet20")
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    epochs = _int(values.get("epochs", p.epochs_for(model)), "epochs", minimum=1)
    subset = values.get("train_subset", p.train_subset)
    values["train_subset"] = None if subset == 0 else subset  # 0 asks for the full training split
    values.update(profile=profile, epochs=epochs)
    values.setdefault("schedule", p.schedule)
    values.setdefault("warmup_epochs", p.warmup_epochs)
    values.setdefault("nesterov", p.nesterov)
    values.setdefault("milestones", scaled_milestones(epochs) if values["schedule"] == "step" else ())
    values.setdefault("lr", dict(p.lr).get(model, DEFAULT_LR[model]))
    cfg = RunConfig(**_coerce(values))
    validate(cfg)
    return cfg


def fields_of_type(kind: type) -> tuple[str, ...]:
    """The RunConfig fields annotated with `kind` (alone or in a union with None), in declaration order: the
    one place the int, float and bool fields are listed, so a new field is coerced and checked by its type."""

    def members(hint) -> tuple:  # int | None -> (int, None); tuple[int, ...] stays a tuple, not an int
        return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)

    hints = typing.get_type_hints(RunConfig)
    return tuple(f.name for f in dataclasses.fields(RunConfig) if kind in members(hints[f.name]))


INT_FIELDS = fields_of_type(int)  # seed, epochs, batch_size, train_subset, ...
FLOAT_FIELDS = fields_of_type(float)  # slope, alpha, lr, ...
BOOL_FIELDS = fields_of_type(bool)  # nesterov, channels_last


def _coerce(values: dict) -> dict:
    out = dict(values)
    for name in INT_FIELDS:  # 64.0 (papermill, YAML) means 64; 64.5 stays to be refused by validate
        v = out.get(name)
        if isinstance(v, float) and v.is_integer():
            out[name] = int(v)
    if "milestones" in out:
        milestones = out["milestones"]
        if isinstance(milestones, str):  # "100,150" (a papermill or YAML string)
            milestones = [_float(m, "milestones") for m in milestones.replace(",", " ").split()]
        elif isinstance(milestones, int | float) and not isinstance(milestones, bool):
            milestones = [milestones]  # one milestone given as a number
        elif not isinstance(milestones, list | tuple):
            raise ConfigError(f"milestones must be a list of epochs such as [100, 150], got {milestones!r}")
        out["milestones"] = tuple(_int(m, "milestones", 1) for m in milestones)
    for name in BOOL_FIELDS:
        if name in out:
            out[name] = _bool(out[name], name)
    if isinstance(out.get("compile"), bool):
        out["compile"] = "on" if out["compile"] else "off"
    if out.get("layers") is not None:
        layers = out["layers"]
        if isinstance(layers, str):
            layers = layers.split(",")
        if not isinstance(layers, list | tuple) or not all(isinstance(name, str) for name in layers):
            raise ConfigError(f"layers must be unit layer names such as 'conv1,layer1.0.conv1', got {layers!r}")
        out["layers"] = tuple(layers)
    for name in FLOAT_FIELDS:
        if name in out:
            out[name] = _float(out[name], name) + 0.0  # -0.0 -> 0.0: one run, one folder
    return out


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _bool(value, name: str) -> bool:
    """True or False, from a bool or the words a papermill or YAML parameter may carry ('no' is False); anything
    else is refused, never taken for True because it is a non-empty string."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if isinstance(value, str | int) and word in _TRUE + _FALSE:
        return word in _TRUE
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _float(value, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ConfigError(f"{name} must be a finite number, got {value!r}: pass a real value such as -1.0")
    return x


def _int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def validate(cfg: RunConfig) -> None:
    """Raise ConfigError, in one sentence, on the first invalid field."""
    choices = (
        ("model", "model", MODELS),
        ("activation", "activation", ACTIVATIONS),
        ("profile", "profile", PROFILES),
        ("dataset", "dataset", DATASETS),
        ("amp", "amp mode", AMP_MODES),
        ("compile", "compile mode", COMPILE_MODES),
        ("schedule", "schedule", SCHEDULES),
    )
    for key, name, allowed in choices:
        if getattr(cfg, key) not in allowed:
            raise ConfigError(f"unknown {name} {getattr(cfg, key)!r}: choose one of {', '.join(allowed)}")
    for name in FLOAT_FIELDS:
        _float(getattr(cfg, name), name)
    for name in BOOL_FIELDS:
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{name} must be true or false, got {getattr(cfg, name)!r}")
    if cfg.activation == "relu" and cfg.slope != 0:
        raise ConfigError(f"slope={cfg.slope} needs activation='leaky_relu'; plain ReLU has slope 0")
    if cfg.activation == "leaky_relu" and not 0 < cfg.slope < 1:
        raise ConfigError(f"leaky ReLU slope must lie in (0, 1), got {cfg.slope}")
    if cfg.lr <= 0:
        raise ConfigError(f"lr must be positive, got {cfg.lr}")
    if not 0 < cfg.lr_decay <= 1:
        raise ConfigError(f"lr_decay must lie in (0, 1], got {cfg.lr_decay}")
    if cfg.weight_decay < 0 or not 0 <= cfg.momentum < 1:
        raise ConfigError("weight_decay must be >= 0 and momentum in [0, 1)")
    if cfg.nesterov and cfg.momentum == 0:
        raise ConfigError("nesterov needs momentum > 0")
    if not 0 <= cfg.warmup_epochs < cfg.epochs:
        raise ConfigError(f"warmup_epochs must lie in [0, epochs={cfg.epochs}), got {cfg.warmup_epochs}")
    _int(cfg.epochs, "epochs", 1)
    _int(cfg.seed, "seed", 0)
    _int(cfg.split_seed, "split_seed", 0)
    _int(cfg.batch_size, "batch_size", 2)
    _int(cfg.val_size, "val_size", 1)
    _int(cfg.precision_top_n, "precision_top_n", 1)
    if cfg.train_subset is not None:
        _int(cfg.train_subset, "train_subset", 10)
    if any(not 0 < m <= cfg.epochs for m in cfg.milestones) or list(cfg.milestones) != sorted(cfg.milestones):
        raise ConfigError(f"milestones {cfg.milestones} must be increasing epochs within 1..{cfg.epochs}")
    if cfg.schedule != "step" and cfg.milestones:
        raise ConfigError(f"milestones {cfg.milestones} belong to the step schedule, not {cfg.schedule!r}: drop them")
    if cfg.layers is not None:
        from .models import unit_layer_names

        names = unit_layer_names(cfg.model)
        bad = [name for name in cfg.layers if name not in names]
        if bad or not cfg.layers:
            raise ConfigError(f"unknown unit layer(s) {bad} for {cfg.model}: choose from {', '.join(names)}")
