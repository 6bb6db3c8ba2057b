"""The papermill engine: each run through the training notebook (`notebooks/train_run.md`), whose executed
copy stays in the run folder (`train.ipynb`, not in git) as the record of what ran."""

from __future__ import annotations

import time

from ..errors import RunBusy, SelectivityError
from ..grid import GridRun
from ..notebook import EXECUTED, execute_run


def execute(runs: list[GridRun], progress: bool = True, log=print) -> list[str]:
    """Execute the notebook for each of `runs`; a notebook that fails is reported and the others go on."""
    from tqdm.auto import tqdm

    failed = []
    for run in tqdm(runs, desc="sweep", unit="run", disable=not progress or not runs):
        started = time.perf_counter()
        try:
            execute_run(run.config, run.folder)
        except RunBusy:
            log(f"left {run.folder} to the process training it")
            continue
        except SelectivityError as e:
            failed.append(f"{run.folder}: {e}")
        except Exception as e:  # the notebook's own error, whose last line names it
            if getattr(e, "ename", "") == RunBusy.__name__:  # raised in the notebook's kernel
                log(f"left {run.folder} to the process training it")
                continue
            text = str(e).strip().splitlines()
            failed.append(f"{run.folder}: {type(e).__name__}: {text[-1] if text else ''} (see {run.folder / EXECUTED})")
        else:
            log(f"done {run.folder} ({time.perf_counter() - started:.0f} s)")
            continue
        log(f"failed {failed[-1]}")
    return failed
