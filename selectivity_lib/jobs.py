"""Job records: which cluster job trains a run (`job.json` in its folder) and what the scheduler says of it now.

The cluster engine writes the record when it submits a run; `grid.run_status` reads it, so a rerun of a
sweep leaves runs whose job is queued or running to that job. This module sits below both (it knows run
folders, not grids or engines).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .runfolder import JOB_RECORD, read_json

JOB = JOB_RECORD
# Scheduler states, as SLURM names them, grouped by what they mean for a run that is not complete yet.
WAITING = {"PENDING", "REQUEUED", "CONFIGURING", "RESIZING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED"}
ACTIVE = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}


@dataclass
class RecordedJob:
    job_id: str
    state: str  # queued, running, unknown (the scheduler did not answer) or ended
    note: str = ""  # for an ended job: the last error line of its log


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _scheduler_state(job: dict) -> str:
    if job.get("cluster") != "slurm":
        return "RUNNING" if job.get("cluster") == "local" and _pid_alive(job["job_id"]) else "GONE"
    import submitit

    try:
        return submitit.SlurmJob(folder=job["submitit_folder"], job_id=job["job_id"]).state.split()[0].upper()
    except Exception:  # no sacct/squeue here, or the scheduler does not answer
        return "UNKNOWN"


def _last_error(job: dict) -> str:
    """The last line of the task's error log that names an error."""
    try:
        lines = [ln.strip() for ln in Path(job["stderr"]).read_text(errors="replace").splitlines() if ln.strip()]
    except (OSError, KeyError):
        return ""
    named = [ln for ln in lines if "Error" in ln or ln.startswith("error:") or "Exception" in ln]
    return (named or lines or [""])[-1][:300]


def recorded_job(folder: Path, ask_scheduler: bool = True) -> RecordedJob | None:
    """The job recorded in `folder/job.json` and what its scheduler says about it now; None when the folder
    records no job. A malformed job.json raises RunFolderError."""
    if not (folder / JOB).is_file():
        return None
    job = read_json(folder / JOB)
    if not ask_scheduler:
        return RecordedJob(job["job_id"], "running")
    state = _scheduler_state(job)
    if state in WAITING:
        return RecordedJob(job["job_id"], "queued")
    if state in ACTIVE:  # started, not yet training (decoding data, or between two runs of its task)
        return RecordedJob(job["job_id"], "running")
    if state == "UNKNOWN":
        return RecordedJob(job["job_id"], "unknown", "the scheduler did not say; not resubmitted")
    note = _last_error(job) or f"job ended ({state.lower()}) before the run completed"
    return RecordedJob(job["job_id"], "ended", note)
