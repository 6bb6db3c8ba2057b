"""Job records: which cluster job trains a run (`job.json` in its folder) and what the scheduler says of it now.

The cluster engine writes the record when it submits a run; `grid.run_status` reads it, so a rerun of a
sweep leaves runs whose job is queued or running to that job. This module sits below both (it knows run
folders, not grids or engines).
"""

from __future__ import annotations

import datetime
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .errors import RunFolderError
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
    except (ValueError, ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def _started_after(pid: str, moment: str | None) -> bool:
    """Whether process `pid` started after `moment` (an ISO time): then it is another process that reuses the
    job's number. False where that cannot be told (no /proc, no recorded time)."""
    if not moment:
        return False
    try:
        fields = Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # starttime, in clock ticks after boot
        stat = Path("/proc/stat").read_text().splitlines()
        boot = next(float(line.split()[1]) for line in stat if line.startswith("btime"))
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
        return started > datetime.datetime.fromisoformat(moment).timestamp() + 5
    except (OSError, ValueError, IndexError, StopIteration):
        return False


def local_job_alive(job: dict) -> bool:
    """A job of the local cluster runs while its process does: on this machine (the recorded host), under its
    number, and started before the job was recorded (a reused number, a reboot or a tree copied from another
    machine leaves the run to be trained again)."""
    if job.get("host") not in (None, socket.gethostname()):
        return False
    return _pid_alive(job["job_id"]) and not _started_after(job["job_id"], job.get("submitted"))


def _scheduler_state(job: dict) -> str:
    if job.get("cluster") != "slurm":
        return "RUNNING" if job.get("cluster") == "local" and local_job_alive(job) else "GONE"
    import submitit

    try:
        return submitit.SlurmJob(folder=job["submitit_folder"], job_id=job["job_id"]).state.split()[0].upper()
    except Exception:  # no sacct/squeue here, or the scheduler does not answer
        return "UNKNOWN"


def last_error(job: dict) -> str:
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
    path = folder / JOB
    if not path.exists():
        return None
    if not path.is_file():
        raise RunFolderError(f"{path} is not a file: move it out of the run folder (the cluster engine writes one)")
    job = read_json(path)
    job_id = job.get("job_id")
    if isinstance(job_id, bool) or not isinstance(job_id, str | int) or not str(job_id).strip():
        raise RunFolderError(
            f"{path} names no job (job_id {job_id!r}): delete it, and the run counts as never submitted"
        )
    job["job_id"] = str(job_id)
    if not ask_scheduler:
        return RecordedJob(job["job_id"], "running")
    state = _scheduler_state(job)
    if state in WAITING:
        return RecordedJob(job["job_id"], "queued")
    if state in ACTIVE:  # started, not yet training (decoding data, or between two runs of its task)
        return RecordedJob(job["job_id"], "running")
    if state == "UNKNOWN":
        note = "the scheduler did not say; not resubmitted (--forget-unknown resubmits it)"
        return RecordedJob(job["job_id"], "unknown", note)
    note = last_error(job) or f"job ended ({state.lower()}) before the run completed"
    return RecordedJob(job["job_id"], "ended", note)
