"""Runs through the papermill notebook `notebooks/train_run.md`: the same `train_run`, with the executed
notebook kept beside the run folder (`train.ipynb`, not in git) as a record of what ran.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .config import RunConfig
from .errors import ConfigError, RunFolderError

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train_run.md"
EXECUTED = "train.ipynb"


def notebook_ipynb(source: Path = NOTEBOOK) -> Path:
    """The .ipynb made from the MyST source by jupytext (regenerated when the source is newer)."""
    import jupytext

    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing: the papermill engine needs the repository's notebooks/")
    target = source.with_suffix(".ipynb")
    if not target.is_file() or target.stat().st_mtime < source.stat().st_mtime:
        jupytext.write(jupytext.read(source), target)
    return target


PARAMETERS = frozenset(f.name for f in dataclasses.fields(RunConfig)) | {"out"}
_VALUE_TYPES = (str, int, float, bool, type(None), list, tuple)


def check_parameters(namespace: dict) -> None:
    """Refuse names in the notebook's namespace that look like papermill parameters but are none of ours.

    papermill only warns about a parameter the notebook does not declare (`-p alhpa -2`) and would train
    with the default; this makes it an error that names the valid parameters. Called with `globals()`
    right after the parameters cell, where the only other plain values are IPython's `In` and `Out`.
    """
    unknown = sorted(
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in ("In", "Out")
        and isinstance(value, _VALUE_TYPES)
        and name not in PARAMETERS
    )
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {', '.join(unknown)}: the valid ones are {', '.join(sorted(PARAMETERS))}"
        )


def config_from_parameters(namespace: dict) -> RunConfig:
    """The run config the notebook's parameters name (its `globals()` after the parameters cell): every
    RunConfig field by its own name. A field the parameters cell does not list is None there (the profile's
    value) unless papermill passed it, so a new RunConfig field needs no line in the notebook."""
    from .config import make_config

    values = {f.name: namespace.get(f.name) for f in dataclasses.fields(RunConfig)}
    return make_config(values.pop("profile") or RunConfig.profile, **values)


def parameters(config: RunConfig, out: Path) -> dict:
    """Papermill parameters for `config`: every RunConfig field, plus the run folder."""
    return config.to_dict() | {"out": str(out)}


def written_by_us(executed: Path) -> bool:
    """Whether `executed` is an executed copy of this project's training notebook (papermill records the
    notebook it ran in the copy's metadata), which a new execution may replace."""
    try:
        meta = json.loads(executed.read_text())["metadata"]["papermill"]
        return Path(meta["input_path"]).name == NOTEBOOK.with_suffix(".ipynb").name
    except (OSError, ValueError, KeyError, TypeError):
        return False


def execute_run(config: RunConfig, out: Path, log_output: bool = False) -> Path:
    """Execute the training notebook for one run; returns the executed notebook's path. A `train.ipynb`
    already in the folder that this engine did not write is refused, never replaced."""
    import papermill

    out = Path(out).resolve()
    executed = out / EXECUTED
    if executed.exists() and not written_by_us(executed):
        raise RunFolderError(
            f"{executed} is not an executed copy of notebooks/train_run.md, and the papermill engine would "
            "replace it: move it out of the run folder, or train this run with --engine inprocess"
        )
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook_ipynb()),
        str(executed),
        parameters=parameters(config, out),
        kernel_name="python3",
        progress_bar=False,
        log_output=log_output,
        cwd=str(NOTEBOOK.parents[1]),
    )
    return executed
