"""A sweep's grid: which runs it holds, where each one lives, and which of them are done.

Every engine (in-process, papermill, a cluster) executes the runs that `grid_status` leaves to do; what counts
as complete, and what counts as a folder holding some other run, is decided here, once, from the run's whole
experiment config (`RunConfig.experiment_fields`), never from the folder's name alone; whether an incomplete
run is being trained now (its folder's lock is held, or the job recorded in it is queued or running) is
decided here too, so that no engine starts a run that another sweep is training.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import RunConfig, make_config
from .errors import ConfigError, RunFolderError
from .jobs import JOB, read_job, recorded_job, slurm_states
from .runfolder import CONFIG, HISTORY, check_reusable, is_locked, read_record

# Grid states of a run folder.
COMPLETE, PARTIAL, NEW, CONFLICT = "complete", "partial", "not started", "conflict"


def alpha_label(alpha: float) -> str:
    """The folder label of `alpha`: its shortest form ('-1', '0.3') where that reads back as exactly the same
    number, else its full repr ('-1.0000001'), so two different alphas never share a folder."""
    alpha = float(alpha) + 0.0  # -0.0 -> 0.0
    short = f"{alpha:g}"
    return short if float(short) == alpha else repr(alpha)


def arch_label(model: str, activation: str, slope: float) -> str:
    """'resnet20', or 'resnet20-leaky0.5' for a leaky ReLU network: the folder name a sweep uses."""
    return model if activation == "relu" else f"{model}-leaky{alpha_label(slope)}"


def run_dir(root: str | Path, config: RunConfig) -> Path:
    """The folder of one run inside a sweep: <root>/<model>[-leaky<b>]/alpha=<a>/seed=<s>."""
    arch = arch_label(config.model, config.activation, config.slope)
    return Path(root) / arch / f"alpha={alpha_label(config.alpha)}" / f"seed={config.seed}"


def grid_configs(
    profile: str,
    models: list[str],
    activations: list[str],
    slopes: list[float] | None,
    alphas: list[float],
    seeds: list[int],
    **fields,
) -> list[RunConfig]:
    """Every run of the grid, validated, seed-major (all alphas at seed 0, then seed 1, ...), so that a sweep
    stopped part-way leaves whole alpha sweeps. ReLU rows take no slope; leaky ReLU rows take each of
    `slopes`."""
    if "leaky_relu" in activations and not slopes:
        raise ConfigError("--activations leaky_relu needs --slopes (e.g. --slopes 0.5)")
    arch = [(a, None) for a in dict.fromkeys(activations) if a != "leaky_relu"]
    if "leaky_relu" in activations:
        arch += [("leaky_relu", s) for s in dict.fromkeys(slopes)]
    configs = [
        make_config(profile, model=model, activation=act, slope=slope, alpha=alpha, seed=seed, **fields)
        for seed, model, (act, slope), alpha in itertools.product(
            dict.fromkeys(seeds), dict.fromkeys(models), arch, dict.fromkeys(alphas)
        )
    ]
    dupes = [c for c, n in Counter(configs).items() if n > 1]
    if dupes:  # e.g. alphas 0 and -0: the same run twice
        raise ConfigError(f"the grid names the same run twice (alpha {dupes[0].alpha:g}, seed {dupes[0].seed})")
    return configs


@dataclass(frozen=True)
class GridSpec:
    """One rectangular part of a planned grid: a network at some alphas and seeds."""

    model: str
    activation: str
    slope: float | None
    alphas: tuple[float, ...]
    seeds: tuple[int, ...]

    def configs(self, profile: str, **fields) -> list[RunConfig]:
        slopes = [self.slope] if self.slope is not None else None
        alphas, seeds = list(self.alphas), list(self.seeds)
        return grid_configs(profile, [self.model], [self.activation], slopes, alphas, seeds, **fields)


# The book's primary evidence at the `full` profile (`make runs` trains it in this order): the paper's ResNet20
# alphas at 3 seeds, with the ones the paper reports on at -2, -5, -0.2 and 0.2 last; then seeds 3-5 where a
# test needs 6 seeds to reach p < 0.05: first at the CCA claim's strongest cases (alpha 0, -1, -3, -10, -30),
# so those five reach 6 seeds before the rest starts, then at the differences of a few tenths at small |alpha|
# and where the earlier runs' weights are gone (alpha 1, 2, 5, so every alpha has 3 networks to analyse); the
# leaky-ReLU networks where units die and the paper tests the rescue, and VGG16 at three alphas.
# Seeds 0-2 at most alphas have no weights, so their CCA pairs never join seeds 3-5: two rounds of 3 seeds,
# whose permutation-test floor is 4/64 (`cca_stats`). Alpha = 0 at seed 6 breaks the second round's mirror
# image (floor 2/64 at every such alpha); alpha = 0.2, whose seeds 0-2 have weights but no alpha = 0 twin
# with weights, reaches 1/32 with seeds 6-7 at both.
EVIDENCE_GRID = (
    GridSpec(
        "resnet20", "relu", None, (0, 1, -1, -0.1, -0.3, -3, -10, -30, 0.1, 0.3, 2, 5, -2, 0.2, -5, -0.2), (0, 1, 2)
    ),
    GridSpec("resnet20", "relu", None, (0, -1, -3, -10, -30), (3, 4, 5)),
    GridSpec("resnet20", "relu", None, (0,), (6,)),
    GridSpec("resnet20", "relu", None, (-0.1, -0.3, 0.1, 0.2, 0.3, 1, 2, 5), (3, 4, 5)),
    GridSpec("resnet20", "relu", None, (0.2,), (6, 7)),
    GridSpec("resnet20", "relu", None, (0,), (7,)),
    GridSpec("resnet20", "leaky_relu", 0.5, (0, 1, 2, 5), (0, 1)),
    GridSpec("vgg16", "relu", None, (0, -1, 1), (0, 1)),
)


@dataclass
class GridRun:
    config: RunConfig
    folder: Path
    state: str  # COMPLETE, PARTIAL, NEW or CONFLICT
    detail: str = ""  # why a folder conflicts


def plan(root: str | Path, configs: list[RunConfig]) -> list[GridRun]:
    """The state of each run of the grid under `root`, judged by the config recorded in its folder."""
    runs = []
    for cfg in configs:
        folder = run_dir(root, cfg)
        try:
            state = check_reusable(folder, {"config": cfg.experiment_fields(), "data": {}})
        except RunFolderError as e:
            runs.append(GridRun(cfg, folder, CONFLICT, str(e)))
            continue
        runs.append(GridRun(cfg, folder, {"complete": COMPLETE, "resume": PARTIAL, "new": NEW}[state]))
    folders = Counter(r.folder for r in runs)
    clash = [f for f, n in folders.items() if n > 1]
    if clash:  # only distinct configs that share a label could do this; alpha_label rules it out
        raise ConfigError(f"two runs of the grid map to one folder, {clash[0]}")
    return runs


@dataclass
class RunStatus:
    run: GridRun
    state: str  # complete, conflict, running, queued, unknown, failed, partial or not started
    job_id: str = ""
    note: str = ""

    @property
    def to_train(self) -> bool:
        """Whether a sweep should train this run now: nobody is training it and it is not complete."""
        return self.state in ("not started", "partial", "failed")


def epochs_done(folder: Path) -> int:
    """Finished epochs of a run, from its history.csv (rewritten after each epoch; far smaller than the
    checkpoint)."""
    try:
        return max(0, len((folder / HISTORY).read_text().splitlines()) - 1)
    except OSError:
        return 0


def run_status(run: GridRun, forget_unknown: bool = False, states: dict[str, str] | None = None) -> RunStatus:
    """What the run's folder, its lock and the job recorded in it (if any) say about the run now."""
    if run.state == COMPLETE:
        return RunStatus(run, "complete")
    if run.state == CONFLICT:
        return RunStatus(run, "conflict", note=run.detail)
    done = epochs_done(run.folder)
    epochs = f"epoch {done}/{run.config.epochs}" if done else ""
    locked = is_locked(run.folder)
    try:
        job = recorded_job(run.folder, ask_scheduler=not locked, states=states)
    except RunFolderError as e:
        if (run.folder / JOB).exists() and not (run.folder / JOB).is_file():  # no job record can be written there
            return RunStatus(run, "conflict", note=str(e))
        job, epochs = None, str(e)
    if locked:  # a process on this machine trains it now (any engine)
        return RunStatus(run, "running", job.job_id if job else "", epochs)
    if job is None:
        return RunStatus(run, "partial" if done else "not started", note=epochs)
    if job.state == "ended":
        return RunStatus(run, "failed", job.job_id, f"{epochs}; {job.note}" if epochs else job.note)
    if job.state == "unknown" and forget_unknown:
        note = "the scheduler does not know its job: trained again (--forget-unknown)"
        return RunStatus(run, "failed", job.job_id, f"{epochs}; {note}" if epochs else note)
    return RunStatus(run, job.state, job.job_id, job.note or epochs)


def _slurm_jobs(runs: list[GridRun]) -> list[str]:
    """The SLURM job ids recorded in the folders of the runs that are not complete (malformed records aside)."""
    ids = []
    for run in runs:
        if run.state in (COMPLETE, CONFLICT):
            continue
        try:
            job = read_job(run.folder)
        except RunFolderError:
            continue
        if job is not None and job.get("cluster") == "slurm":
            ids.append(job["job_id"])
    return ids


def grid_status(root: str | Path, configs: list[RunConfig], forget_unknown: bool = False) -> list[RunStatus]:
    """`plan`, with what is being trained now: the state of every run of the grid. With `forget_unknown`, a run
    whose recorded job the scheduler does not report is taken as failed (to train again), not as busy."""
    runs = plan(root, configs)
    states = slurm_states(_slurm_jobs(runs))  # one sacct call for the whole grid
    return [run_status(r, forget_unknown, states) for r in runs]


_RUN_IDENTITY = {"model", "activation", "slope", "alpha", "seed"}


def _other_recipe(arch: Path, config: RunConfig, skip: Path | None = None) -> str | None:
    """Where a run record in network folder `arch` (but `skip`) has another recipe than `config` (its
    experiment fields but the network, alpha and seed): the differing fields and that run. Runs another process
    is writing are read as they are."""
    recipe = {k: v for k, v in config.experiment_fields().items() if k not in _RUN_IDENTITY}
    skip = skip.resolve() if skip is not None else None
    for record_file in sorted(arch.glob(f"alpha=*/seed=*/{CONFIG}")):
        if record_file.parent.resolve() == skip:
            continue
        try:
            saved = read_record(record_file.parent)["config"]
        except RunFolderError:
            continue  # a damaged record is the run's own conflict, reported by `plan` or the trainer
        diffs = [f"{k}: {saved[k]!r} there, {v!r} here" for k, v in recipe.items() if k in saved and saved[k] != v]
        if diffs:
            return (
                f"{arch} holds runs of another recipe ({'; '.join(diffs[:4])}; e.g. {record_file.parent}): "
                "training here would mix two recipes of one network in that tree, which the tables, figures and "
                "analyse refuse to average. Pass the flags those runs were trained with (their config.json), "
                "or choose another --out"
            )
    return None


def recipe_clash(root: str | Path, configs: list[RunConfig]) -> str | None:
    """Why training `configs` under `root` would leave two recipes of one network in that tree (which every
    table, figure and `analyse` refuse to average), or None. Each network's planned recipe is compared with
    the run records already in its folder, complete or not."""
    first: dict[Path, RunConfig] = {}  # one network folder, read once, however the grid interleaves networks
    for c in configs:
        first.setdefault(run_dir(root, c).parent.parent, c)
    return next(filter(None, (_other_recipe(arch, c) for arch, c in first.items())), None)


def run_clash(out: str | Path, config: RunConfig) -> str | None:
    """`recipe_clash` for one run trained into `out` (`train`): where `out` is a run folder of a tree
    (.../<network>/alpha=A/seed=S), the recipes of the other runs in its network folder; elsewhere None. The
    folder's own record is the trainer's to check (it refuses another config there)."""
    out = Path(out)
    if not (out.name.startswith("seed=") and out.parent.name.startswith("alpha=")):
        return None
    return _other_recipe(out.parent.parent, config, skip=out)


def status_table(statuses: list[RunStatus], root: Path) -> str:
    """The grid as text: one line per run with its state, job id and note."""
    rows = [("run", "state", "job", "note")]
    for s in statuses:
        rows.append((str(s.run.folder.relative_to(root)), s.state, s.job_id or "-", s.note))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    counts = Counter(s.state for s in statuses)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return "\n".join([*lines, f"{len(statuses)} runs: {summary}"])


def seeds_per_alpha(specs=EVIDENCE_GRID) -> dict[tuple, Counter]:
    """Per network (model, activation, slope) of a grid, in grid order: the seeds planned at each alpha."""
    nets: dict[tuple, Counter] = {}
    for s in specs:
        nets.setdefault((s.model, s.activation, s.slope), Counter()).update(a for a in s.alphas for _ in s.seeds)
    return nets


def planned_alphas(specs=EVIDENCE_GRID) -> dict[tuple[str, str], list[float]]:
    """Per network (model, activation) of a grid, once each in grid order (leaky ReLU's slopes together):
    the alphas planned for it."""
    nets: dict[tuple[str, str], dict] = {}
    for (model, activation, _), per_alpha in seeds_per_alpha(specs).items():
        nets.setdefault((model, activation), {}).update(dict.fromkeys(per_alpha))
    return {net: list(alphas) for net, alphas in nets.items()}


def describe_grid(specs=EVIDENCE_GRID) -> str:
    """The grid in a line: per network, its alphas and the seeds each has, and the number of runs."""
    lines = []
    for (model, activation, slope), per_alpha in seeds_per_alpha(specs).items():
        arch, counts = arch_label(model, activation, slope or 0.0), Counter(per_alpha.values())
        seeds = ", ".join(f"{n} at {k} seeds" for k, n in sorted(counts.items()))
        lines.append(
            f"{arch}: {len(per_alpha)} alphas ({seeds})"
            if len(counts) > 1
            else f"{arch}: {len(per_alpha)} alphas x {next(iter(counts))} seeds"
        )
    return f"{'; '.join(lines)}; {sum(len(s.alphas) * len(s.seeds) for s in specs)} runs"


def seeds_planned(model: str, activation: str, specs=EVIDENCE_GRID) -> int:
    """The most seeds the grid plans at any one alpha of (model, activation)."""
    nets = seeds_per_alpha(specs).items()
    return max((n for (m, a, _), per in nets if (m, a) == (model, activation) for n in per.values()), default=0)


def grid_progress(root: str | Path, profile: str, specs=EVIDENCE_GRID, **fields) -> list[dict]:
    """Per part of a planned grid: its network, the runs planned and complete, and the seeds
    complete at every one of its alphas (judged by `plan`, so a folder holding another config is not
    counted). `fields` override the profile's, as in `grid_configs`."""
    rows = []
    for spec in specs:
        runs = plan(root, spec.configs(profile, **fields))
        complete = [r.config for r in runs if r.state == COMPLETE]
        seeds = [s for s in spec.seeds if all(any(c.seed == s and c.alpha == a for c in complete) for a in spec.alphas)]
        rows.append(
            dict(
                network=arch_label(spec.model, spec.activation, spec.slope or 0.0),
                alphas=", ".join(alpha_label(a) for a in spec.alphas),
                seeds=", ".join(map(str, spec.seeds)),
                planned=len(runs),
                complete=len(complete),
                alphas_done=len({c.alpha for c in complete}),
                whole_seeds=", ".join(map(str, seeds)) or "none",
            )
        )
    return rows
