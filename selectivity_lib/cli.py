"""Command line: `python -m selectivity_lib {train,sweep,bench} ...`.

Every sub-command validates its input before it writes anything; a bad value ends with one sentence on
stderr and exit status 2, never a traceback or a damaged run folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import types
import typing
from pathlib import Path

from .config import (
    ACTIVATIONS,
    AMP_MODES,
    DATASETS,
    MODELS,
    PROFILES,
    RunConfig,
    complete_experiment,
    make_config,
)
from .engines import ENGINES
from .engines.cluster import CLUSTERS
from .errors import ConfigError, SelectivityError
from .grid import (
    EVIDENCE_GRID,
    describe_grid,
    epochs_done,
    grid_configs,
    grid_status,
    planned_alphas,
    recipe_clash,
    run_clash,
    run_dir,
    status_table,
)
from .runfolder import is_complete, is_locked


def at_least(low: int):
    """An argparse type: a whole number no smaller than `low` (a negative count is an error, not a slice)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def config_flags(p: argparse.ArgumentParser, single: bool) -> None:
    """One flag per RunConfig field that declares one (`config.flag` metadata): --name (underscores as
    hyphens), its type from the field's annotation (a tuple: nargs="+"; a bool: --name/--no-name), its help
    and any other argparse keywords from the declaration. Per-run fields (model, alpha, seed, ...) only where
    one run is trained (`single`); a sweep takes their lists instead. Flags default to None, which keeps the
    profile's value, unless the declaration gives a default."""
    hints = typing.get_type_hints(RunConfig)
    names = {"models": MODELS, "activations": ACTIVATIONS, "datasets": DATASETS, "amp_modes": AMP_MODES}
    for f in dataclasses.fields(RunConfig):
        spec = dict(f.metadata.get("flag", {}))
        if not spec or (spec.pop("per_run", False) and not single):
            continue
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kind = next(t for t in typing.get_args(hint) if t is not type(None)) if union else hint  # X | None: X
        element = None
        if typing.get_origin(kind) is tuple:
            kind, element = tuple, typing.get_args(kind)[0]
        kwargs = {"dest": f.name, "default": None}
        if "action" not in spec:
            if kind is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif kind is tuple:
                kwargs |= {"type": element, "nargs": "+"}
            elif kind in (int, float):
                kwargs["type"] = kind
        kwargs |= {k: v for k, v in spec.items() if k not in ("names", "help")}
        kwargs = {k: v for k, v in kwargs.items() if v is not None or k == "default"}
        flags = spec.get("names") or ("--" + f.name.replace("_", "-"),)
        help_text = spec.get("help", "").format(**{k: ", ".join(v) for k, v in names.items()})
        p.add_argument(*flags, help=help_text or None, **kwargs)


def _experiment_args(p: argparse.ArgumentParser, single: bool) -> None:
    p.add_argument("--profile", default="cpu", help=f"compute profile: {', '.join(PROFILES)} (default cpu)")
    config_flags(p, single)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")


# RunConfig fields a command line sets one run at a time (train) or as a grid's axes (sweep); every other field
# with a flag of its own name (--epochs, --lr, --device, ...) is read from the parsed arguments by that name.
PER_RUN = ("model", "activation", "slope", "alpha", "seed", "profile")


def _common_fields(a: argparse.Namespace) -> dict:
    """The RunConfig fields that `a` sets by flags of the same name (None where a flag was not given)."""
    return {
        f.name: getattr(a, f.name)
        for f in dataclasses.fields(RunConfig)
        if f.name not in PER_RUN and hasattr(a, f.name)
    }


def _flag_fields(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """The experiment fields that `train` sets by a flag of the same name (others keep the profile's values)."""
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    dests = {action.dest for action in train._actions}
    return tuple(
        f.name for f in dataclasses.fields(RunConfig) if f.compare and f.name in dests and f.name not in PER_RUN
    )


def _flag_value(name: str, value) -> list[str]:
    if name == "layers":
        return [",".join(value)]
    if isinstance(value, list):
        return [str(v) for v in value]
    if name == "train_subset" and value is None:
        return ["0"]  # the full training split
    return [repr(value) if isinstance(value, float) else str(value)]


def train_command(experiment: dict) -> str:
    """The `train` command that trains the run whose recorded experiment config is `experiment` (config.json's
    "config"), naming only what departs from its profile; add --data-dir and --out. Raises ConfigError for a
    config no command line can make (a field without a flag changed)."""
    e = complete_experiment(experiment)
    expected = [f.name for f in dataclasses.fields(RunConfig) if f.compare]
    missing = [name for name in expected if name not in e]
    if missing:
        raise ConfigError(
            f"the record lacks {', '.join(missing)}: no command can remake a run whose config is not all there"
        )
    try:  # the record's values as a config would hold them (seed 1.0 -> 1), or its one wrong value named
        fields = {k: v for k, v in e.items() if k in expected and k != "profile"}
        fields["train_subset"] = 0 if fields["train_subset"] is None else fields["train_subset"]  # None: all of it
        e = make_config(e["profile"], **fields)
        e = e.experiment_fields()
    except ConfigError as err:
        raise ConfigError(f"the record is not a valid run config ({err})") from None
    leaky = e["activation"] != "relu"
    net = dict(model=e["model"], activation=e["activation"], slope=e["slope"] if leaky else None)
    base = make_config(e["profile"], **net, alpha=e["alpha"], seed=e["seed"]).experiment_fields()
    args = ["--profile", e["profile"], "--model", e["model"], "--alpha", repr(float(e["alpha"]))]
    args += ["--seed", str(e["seed"])]
    if leaky:
        args += ["--activation", e["activation"], "--slope", repr(float(e["slope"]))]
    parser = build_parser()
    for name in _flag_fields(parser):
        value = e[name]
        if value == base[name] or (name == "milestones" and e["schedule"] != "step"):
            continue  # (another schedule has no milestones: --schedule alone drops the profile's)
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, *_flag_value(name, value)]
    remade = train_config(parser.parse_args(["train", *args])).experiment_fields()
    if remade != e:
        differ = ", ".join(sorted(k for k in e if remade.get(k) != e[k]))
        raise ConfigError(f"no train command makes this config: {differ} cannot be set from the command line")
    return "python -m selectivity_lib train " + " ".join(args)


def train_config(a: argparse.Namespace) -> RunConfig:
    """The run config of parsed `train` arguments."""
    net = dict(model=a.model, activation=a.activation, slope=a.slope)
    return make_config(a.profile, **net, alpha=a.alpha, seed=a.seed, **_common_fields(a))


def cmd_train(a: argparse.Namespace) -> int:
    from .train import train_run

    cfg = train_config(a)
    out = Path(a.out) if a.out else run_dir(Path("runs") / a.profile, cfg)
    clash = run_clash(out, cfg)
    if clash:
        raise ConfigError(clash)
    start = time.perf_counter()
    m = train_run(cfg, out, progress=a.progress)
    print(
        f"{out}: test accuracy {m['test_acc']:.4f}, mean SI (eq. 3) {m['mu_si']:.4f}, "
        f"all-unit mean SI {m['si_unit_mean']:.4f}, best epoch {m['best_epoch']}, "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


def sweep_configs(a: argparse.Namespace) -> list[RunConfig]:
    if a.grid:
        if a.alphas or a.seeds is not None or a.slopes:
            raise ConfigError(
                "--grid evidence fixes the alphas, seeds and slopes: drop --alphas, --seeds, --slopes "
                "(--models and --activations choose parts of it)"
            )
        specs = [
            s
            for s in EVIDENCE_GRID
            if s.model in (a.models or MODELS) and s.activation in (a.activations or ACTIVATIONS)
        ]
        if not specs:
            parts = ", ".join(f"{model} {activation}" for model, activation in planned_alphas())
            raise ConfigError(
                f"--grid evidence has no {' or '.join(a.models or MODELS)} network with "
                f"{' or '.join(a.activations or ACTIVATIONS)}: its parts are {parts}"
            )
        return [c for spec in specs for c in spec.configs(a.profile, **_common_fields(a))]
    if not a.alphas:
        raise ConfigError("sweep needs --alphas (e.g. --alphas 0 -1 1), or --grid evidence for the book's grid")
    seeds = a.seeds if a.seeds is not None else list(range(PROFILES[a.profile].seeds if a.profile in PROFILES else 1))
    models, activations = a.models or ["resnet20"], a.activations or ["relu"]
    return grid_configs(a.profile, models, activations, a.slopes, a.alphas, seeds, **_common_fields(a))


def cluster_options(a: argparse.Namespace):
    from .engines.cluster import ClusterOptions, parse_sbatch

    options = ClusterOptions(
        cluster=a.cluster,
        partition=a.partition,
        time_min=a.time,
        gpus_per_task=a.gpus_per_task,
        cpus_per_task=a.cpus_per_task,
        mem_gb=a.mem,
        array_parallelism=a.array_parallelism,
        max_parallel=a.max_parallel,
        runs_per_job=a.runs_per_job,
        runs_per_gpu=a.runs_per_gpu,
        sbatch=parse_sbatch(a.sbatch),
        max_requeues=a.max_requeues,
        setup=a.setup or [],
        python=a.python,
    )
    options.validate()
    return options


def cmd_sweep(a: argparse.Namespace) -> int:
    if a.engine == "submitit" and a.gpus_per_task > 0:  # the tasks asked for a GPU: use it or fail loudly
        if a.device == "cpu":
            raise ConfigError(
                "--gpus-per-task asks each task for a GPU, and --device cpu would leave it idle: drop one of them"
            )
        if a.device == "auto":
            a.device = "cuda"  # not auto: a node where CUDA is unusable fails its task instead of training on CPU
    configs = sweep_configs(a)  # validates the whole grid before anything runs
    root = Path(a.out) if a.out else Path("runs") / a.profile
    options = cluster_options(a) if a.engine == "submitit" else None  # checked before anything runs, too
    statuses = grid_status(root, configs, forget_unknown=a.forget_unknown)
    clash = recipe_clash(root, configs)
    if a.status:
        print(status_table(statuses, root) + (f"\nwarning: {clash}" if clash else ""))
        return 0
    if clash and not a.cancel:
        raise ConfigError(clash)
    if a.cancel:
        from .jobs import cancel_jobs

        cancelled = cancel_jobs([s.run.folder for s in statuses if s.state in ("queued", "running", "unknown")])
        print(f"sweep {root}: cancelled {len(cancelled)} job(s){': ' + ', '.join(cancelled) if cancelled else ''}")
        return 0
    todo = [s.run for s in statuses if s.to_train]
    busy = [s for s in statuses if s.state in ("queued", "running", "unknown")]
    conflicts = [s for s in statuses if s.state == "conflict"]
    done = sum(s.state == "complete" for s in statuses)
    resumed = sum(epochs_done(r.folder) > 0 for r in todo)
    engine = f"{a.engine}, {options.cluster}" if options else a.engine
    verb = "submit" if options and options.cluster == "slurm" else "run"
    print(
        f"sweep {root}: {len(configs)} runs in the grid, {done} already complete, {len(busy)} queued or running, "
        f"{len(todo)} to {verb} ({resumed} resumed; {engine}), {len(conflicts)} conflicting",
        flush=True,
    )
    for s in conflicts:
        print(f"conflict {s.run.folder}: {s.note}", file=sys.stderr, flush=True)

    def log(line: str) -> None:
        print(line, file=sys.stderr if line.startswith("failed") else sys.stdout, flush=True)

    if options:
        from .engines.cluster import submit

        failed = submit(root, todo, options, log)  # one line per failed job (local and debug)
    elif a.engine == "papermill":
        from .engines.papermill import execute

        failed = execute(todo, progress=a.progress, log=log)
    else:
        from .engines.inprocess import execute

        failed = execute(todo, progress=a.progress, log=log)
    if options and options.cluster == "slurm":
        return 1 if conflicts else 0  # the array's outcome shows in `sweep ... --status`
    # runs another sweep took after this one planned them: still being trained there, not failed here
    taken = sum(not options and is_locked(r.folder) and not is_complete(r.folder) for r in todo)
    trained = len(todo) - len(failed) - taken
    ran = f"{len(todo)} submitted, {len(failed)} job(s)" if options else f"{trained} ran, {len(failed)}"
    print(
        f"sweep {root}: {ran} failed, {done} already complete, {len(busy) + taken} left to the process or job "
        f"training them, {len(conflicts)} conflicting (left untouched)"
    )
    for why in failed:
        print(f"  failed {why}")
    for s in conflicts:
        print(f"  conflict {s.run.folder}: {s.note}")
    if options:
        print("`sweep ... --status` shows every run")
    return 1 if failed or conflicts else 0


# How a run's recorded arithmetic (config.json's "environment") is asked for again on the command line.
_AMP_FLAG = {"fp32": "off", "bfloat16": "bf16", "float16": "fp16"}


def arithmetic_note(record: dict) -> str:
    """A comment line for `command`: the arithmetic a run recorded (precision, layout, compilation) and the
    `train` options that repeat it, which `command` leaves out because they are the machine's choice by default
    (bf16 autocast only where the hardware has it); '' where the record does not say."""
    envs = [record.get("environment", {}), *(r.get("environment", {}) for r in record.get("resumed", []))]
    seen = {key: list(dict.fromkeys(env.get(key) for env in envs)) for key in ("amp", "channels_last", "compile")}
    if any(None in values for values in seen.values()):
        return ""
    if any(len(values) > 1 for values in seen.values()):
        what = ", ".join(f"{key} {' then '.join(map(str, values))}" for key, values in seen.items())
        return f"# it resumed under other arithmetic ({what}), so no one set of options repeats it"
    amp, layout, compiled = (values[0] for values in seen.values())
    if amp not in _AMP_FLAG:
        return f"# it computed in {amp}, which no --amp value asks for"
    flags = [
        f"--amp {_AMP_FLAG[amp]}",
        *([] if layout else ["--no-channels-last"]),
        f"--compile {'on' if compiled else 'off'}",
    ]
    label = f"{amp}, {'channels-last' if layout else 'NCHW'}, {'compiled' if compiled else 'eager'}"
    return f"# it computed in {label}; to repeat that arithmetic too, add: {' '.join(flags)}"


def cmd_command(a: argparse.Namespace) -> int:
    from .runfolder import read_record

    folder = Path(a.run)
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder} is not a run folder (it has no config.json)")
    record = read_record(folder)
    print(f"{train_command(record['config'])} --data-dir <CIFAR-10 folder> --out <new folder>")
    note = arithmetic_note(record)
    if note:
        print(note)
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from .bench import run_activation_benchmark, run_benchmark, run_breakdown

    if a.steps and min(a.steps) < 1 or a.rounds < 1:
        raise ConfigError("--steps and --rounds must be at least 1")
    if a.steps and len(a.steps) != len(a.models):
        raise ConfigError(f"--steps takes one number per model: {len(a.models)} models, {len(a.steps)} numbers")
    steps = dict(zip(a.models, a.steps, strict=True)) if a.steps else None
    if a.breakdown and a.activations:
        raise ConfigError("--breakdown and --activations are two different benchmarks: choose one")
    if a.activations:
        run_activation_benchmark(a.models, steps, a.rounds, a.batch_size, a.device, a.data_dir, a.compile, a.json)
        return 0
    if a.breakdown:
        if a.device not in ("auto", "cpu"):
            raise ConfigError(f"--breakdown profiles the CPU trainer only; drop --device {a.device}")
        run_breakdown(a.models, steps, a.batch_size, a.data_dir, a.compile, a.json)
        return 0
    run_benchmark(
        models=a.models,
        steps=steps,
        rounds=a.rounds,
        batch_size=a.batch_size,
        device=a.device,
        data_dir=a.data_dir,
        compile=a.compile,
        json_out=a.json,
    )
    return 0


def cmd_analyse(a: argparse.Namespace) -> int:
    from .cca_experiment import cca_experiment
    from .cca_stats import cca_ratio_table

    written = cca_experiment(
        a.sweep, reduce=a.reduce, n_images=a.images, max_datapoints=a.datapoints, seed=a.seed, data_dir=a.data_dir
    )
    for path, table in written.items():
        print(f"{path}: {len(table)} rows")
        ratios = cca_ratio_table(table)
        if not ratios.empty:
            print(ratios.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


def cmd_robustness(a: argparse.Namespace) -> int:
    import pandas as pd

    from .robustness import robustness_analysis, run_summary

    written = robustness_analysis(
        a.sweep, n_images=a.images, attack_images=a.attack_images, seed=a.seed, data_dir=a.data_dir
    )
    columns = ["clean", "corruption", "clean_attack", "fgsm", "pgd"]
    for path, table in written.items():
        summary = run_summary(table, pd.DataFrame()).groupby("alpha")[columns].mean()
        print(f"{path}: {table.run.nunique()} run(s); mean accuracy (%) by alpha (clean_attack: the attacked images)")
        print(summary.to_string(float_format=lambda x: f"{x:.1f}"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m selectivity_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one run into a run folder (resumes an interrupted one)")
    _experiment_args(p, single=True)
    p.add_argument("--out", help="run folder (default runs/<profile>/<model>/alpha=<a>/seed=<s>)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="train a grid of runs in-process, skipping complete ones")
    _experiment_args(p, single=False)
    p.add_argument("--models", nargs="+", help="default resnet20 (with --grid: the grid's parts of these models)")
    p.add_argument("--activations", nargs="+", help="default relu (with --grid: the grid's parts with these)")
    p.add_argument("--slopes", nargs="+", type=float, help="leaky ReLU slopes (with --activations leaky_relu)")
    p.add_argument("--alphas", nargs="+", type=float)
    p.add_argument(
        "--grid",
        choices=["evidence"],
        help=f"evidence: the book's planned grid at --profile full ({describe_grid()}), in that order, instead "
        "of --models/--activations/--alphas/--seeds",
    )
    p.add_argument("--seeds", nargs="+", type=int, help="default: 0..n-1 with n from the profile")
    p.add_argument("--out", help="sweep folder (default runs/<profile>)")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="papermill",
        help="papermill: execute notebooks/train_run.md per run and keep the executed notebook beside "
        "it (default); inprocess: call the trainer directly in this process; submitit: one job array "
        "on a cluster (see --cluster)",
    )
    p.add_argument(
        "--status",
        action="store_true",
        help="print the grid's state (complete, running, queued, failed, not started) with job ids, and train nothing",
    )
    p.add_argument(
        "--cancel",
        action="store_true",
        help="cancel the queued and running cluster jobs recorded in the grid's run folders (scancel for SLURM), "
        "and train nothing; a later sweep resubmits those runs, which resume from their last finished epoch",
    )
    c = p.add_argument_group("cluster (--engine submitit)")
    c.add_argument(
        "--cluster",
        default="slurm",
        choices=CLUSTERS,
        help="slurm: one SLURM job array; local: processes on this machine; debug: in this process",
    )
    c.add_argument("--partition", help="SLURM partition")
    c.add_argument("--time", type=int, default=60, help="time limit per task in minutes (requeued when reached)")
    c.add_argument("--gpus-per-task", type=int, default=0)
    c.add_argument("--cpus-per-task", type=int, default=4)
    c.add_argument("--mem", type=float, help="memory per task in GB")
    c.add_argument("--array-parallelism", type=int, default=64, help="array tasks running at once")
    c.add_argument("--max-parallel", type=int, default=1, help="local: processes at once")
    c.add_argument("--runs-per-job", type=int, default=1, help="runs trained one after another by each task")
    c.add_argument(
        "--runs-per-gpu",
        type=int,
        default=1,
        help="trainers each task runs at once on its device, one process each (a small network leaves a large GPU "
        "mostly idle); each task then takes at least this many runs",
    )
    c.add_argument("--sbatch", nargs="+", metavar="KEY=VALUE", help="extra #SBATCH settings, e.g. account=abc")
    c.add_argument(
        "--max-requeues",
        type=int,
        default=3,
        help="times a task that reaches --time is requeued to resume its run (default 3; preemptions do not count): "
        "a run needs about its training time / --time of them",
    )
    c.add_argument(
        "--setup",
        action="append",
        metavar="CMD",
        help="a shell line each task runs first, e.g. --setup 'module load cuda' --setup 'source /shared/venv/bin/"
        "activate' (repeatable)",
    )
    c.add_argument("--python", help="the python command on the nodes (default: this interpreter's path)")
    c.add_argument(
        "--forget-unknown",
        action="store_true",
        help="resubmit runs whose recorded job the scheduler no longer reports (sacct disabled or purged, an id "
        "from another cluster). Risk: if that job is in fact still running, the run is trained twice at once, and "
        "the second trainer stops at the run's lock",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("command", help="print the train command that retrains a run folder's run")
    p.add_argument("run", help="a run folder, e.g. runs/full/resnet20/alpha=1/seed=0")
    p.set_defaults(func=cmd_command)

    p = sub.add_parser("analyse", help="CCA experiment on a sweep's best weights -> cca_distances.csv")
    p.add_argument("sweep", help="sweep folder, e.g. runs/cpu")
    p.add_argument(
        "--reduce",
        default="positions",
        choices=["positions", "mean"],
        help="datapoints of a conv layer: spatial positions (default) or per-image spatial means",
    )
    p.add_argument("--images", type=at_least(1), default=2000, help="test images used (seeded subset)")
    p.add_argument(
        "--datapoints",
        type=at_least(2),
        default=10_000,
        help="at most this many positions per layer (CCA needs more than a layer's units: 64 in ResNet20)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir")
    p.set_defaults(
        func=cmd_analyse,
        interrupted="run the same command again: the tables already written are kept, and the pairs in them reused",
    )

    p = sub.add_parser(
        "robustness",
        help="corruption and attack accuracy and layer dimensionality of a sweep's best weights -> robustness.csv",
    )
    p.add_argument("sweep", help="sweep folder, e.g. runs/full")
    p.add_argument("--images", type=at_least(1), default=1000, help="test images for clean and corrupted accuracy")
    p.add_argument(
        "--attack-images",
        type=at_least(2),
        default=500,
        help="the first this many of those are attacked, and give every layer's dimensionality",
    )
    p.add_argument("--seed", type=int, default=0, help="chooses the test images, the corruptions' noise, PGD's start")
    p.add_argument("--data-dir")
    p.set_defaults(
        func=cmd_robustness,
        interrupted="run the same command again: runs already in the tables are kept and not evaluated again",
    )

    p = sub.add_parser("bench", help="trainer vs a plain PyTorch loop: images/s, overhead, GFLOP/s, memory")
    p.add_argument("--models", nargs="+", default=["resnet20", "vgg16"], choices=MODELS)
    p.add_argument("--steps", nargs="+", type=int, help="steps per round, one per model")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto")
    p.add_argument("--data-dir", help="CIFAR-10 folder (synthetic images if none is found)")
    p.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="leave out the trainer under torch.compile (saves its compile time)",
    )
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="instead of the comparison, profile the CPU trainer's steps (eager and compiled) and show where "
        "their time goes: convolutions, generated kernels, other ops",
    )
    p.add_argument(
        "--activations",
        action="store_true",
        help="instead of the comparison, time the trainer with ReLU, the project's leaky ReLU and torch's "
        "nn.LeakyReLU, eager and compiled",
    )
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SelectivityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        advice = getattr(args, "interrupted", "run the same command again to resume from the last finished epoch")
        print(f"interrupted: {advice}", file=sys.stderr)
        return 130
    except OSError as e:  # a read-only or full disk, a path under a file, ...
        where = f" ({e.filename})" if e.filename else ""
        print(
            f"error: {e.strerror or e}{where}: free space or choose a writable folder, then run the same "
            "command again (finished epochs are kept)",
            file=sys.stderr,
        )
        return 2
