"""A sweep's grid: which runs it holds, where each one lives, and which of them are done.

Every engine (in-process, papermill, a cluster) executes the runs that `plan` leaves to do; what counts as
complete, and what counts as a folder holding some other run, is decided here, once, from the run's whole
experiment config (`RunConfig.experiment_fields`), never from the folder's name alone.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import RunConfig, make_config
from .errors import ConfigError, RunFolderError
from .runfolder import check_reusable

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
