"""The in-process engine: the runs one after another in this process, sharing the decoded data."""

from __future__ import annotations

import time

from ..errors import RunBusy, SelectivityError
from ..grid import GridRun


def execute(runs: list[GridRun], progress: bool = True, log=print) -> list[str]:
    """Train `runs` in order; a run whose input is refused is reported and the others go on."""
    from tqdm.auto import tqdm

    from ..train import load_data, train_run

    data, failed = None, []
    for run in tqdm(runs, desc="sweep", unit="run", disable=not progress or not runs):
        started = time.perf_counter()
        try:
            data = data or load_data(run.config)
            train_run(run.config, run.folder, data=data, progress=progress)
        except RunBusy:  # another sweep took it since this one planned: not a failure
            log(f"left {run.folder} to the process training it")
            continue
        except SelectivityError as e:
            failed.append(f"{run.folder}: {e}")
            log(f"failed {failed[-1]}")
            continue
        log(f"done {run.folder} ({time.perf_counter() - started:.0f} s)")
    return failed
