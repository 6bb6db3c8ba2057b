"""Job records: which cluster job trains a run (`job.json` in its folder) and what the scheduler says of it now.

The cluster engine writes the record when it submits a run; `grid.run_status` reads it, so a rerun of a
sweep leaves runs whose job is queued or running to that job. This module sits below both (it knows run
folders, not grids or engines).
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import RunFolderError
from .runfolder import JOB_RECORD, read_json, write_json

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


def last_error(job: dict) -> str:
    """The last line of the task's error log that names an error."""
    try:
        lines = [ln.strip() for ln in Path(job["stderr"]).read_text(errors="replace").splitlines() if ln.strip()]
    except (OSError, KeyError):
        return ""
    named = [ln for ln in lines if "Error" in ln or ln.startswith("error:") or "Exception" in ln]
    return (named or lines or [""])[-1][:300]


def read_job(folder: Path) -> dict | None:
    """The job record in `folder/job.json` (its id as text), or None when there is none. A malformed record
    raises RunFolderError."""
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
    return job | {"job_id": str(job_id)}


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM's state of each job id (PENDING, RUNNING, FAILED, ..., or UNKNOWN where it does not say), asked
    with one sacct call for all of them, then one squeue call for those sacct did not report (sacct may be
    disabled, or slow to see a new job)."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    states = _ask(["sacct", "-j", ",".join(ids), "-o", "JobID,State", "--parsable2", "--noheader", "--allocations"])
    missing = [i for i in ids if i not in states]
    if missing:
        states |= _ask(["squeue", "-h", "-j", ",".join(missing), "-o", "%i|%T"])
    return {i: states.get(i, "UNKNOWN") for i in ids}


def _ask(command: list[str]) -> dict[str, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_states(done.stdout) if done.returncode == 0 else {}


def parse_states(text: str) -> dict[str, str]:
    """'JobID|State' lines (sacct --parsable2, or squeue -o '%i|%T') -> {job id: state}. Steps (4242_0.batch)
    are skipped, a pending array's range (4242_[0-3,7%2]) is expanded, and a job listed twice (requeued) takes
    its last state."""
    states = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 2 or not fields[1].strip() or fields[0] == "JobID" or "." in fields[0]:
            continue
        state = fields[1].split()[0].upper()  # 'CANCELLED by 123' -> CANCELLED
        array = re.fullmatch(r"(\d+)_\[([^\]]+)\]", fields[0].strip())
        for job_id in _expand(array) if array else [fields[0].strip()]:
            states[job_id] = state
    return states


def _expand(array: re.Match) -> list[str]:
    base, spec = array.group(1), array.group(2).split("%")[0]
    ids = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            ids += [f"{base}_{i}" for i in range(int(low), int(high or low) + 1)]
    return ids


def recorded_job(folder: Path, ask_scheduler: bool = True, states: dict[str, str] | None = None) -> RecordedJob | None:
    """The job recorded in `folder/job.json` and what its scheduler says about it now; None when the folder
    records no job. `states`: SLURM states already asked for (`slurm_states`), so that a grid asks once. A
    malformed job.json raises RunFolderError."""
    job = read_job(folder)
    if job is None:
        return None
    if not ask_scheduler:
        return RecordedJob(job["job_id"], "running")
    if job.get("cluster") == "slurm":
        state = (states if states is not None else slurm_states([job["job_id"]])).get(job["job_id"], "UNKNOWN")
    else:
        state = "RUNNING" if job.get("cluster") == "local" and local_job_alive(job) else "GONE"
    if state in WAITING:
        return RecordedJob(job["job_id"], "queued")
    if state in ACTIVE:  # started, not yet training (decoding data, or between two runs of its task)
        return RecordedJob(job["job_id"], "running")
    if state == "UNKNOWN":
        note = "the scheduler did not say; not resubmitted (--forget-unknown resubmits it)"
        return RecordedJob(job["job_id"], "unknown", note)
    if state == "PREEMPTED":
        # a cluster with PreemptMode=REQUEUE puts it back in the queue itself: submitting it again here would
        # train the run twice at once, so it is left alone unless the user says otherwise
        note = "preempted; a cluster that requeues preempted jobs runs it again (--forget-unknown resubmits it)"
        return RecordedJob(job["job_id"], "unknown", note)
    note = last_error(job) or f"job ended ({state.lower()}) before the run completed"
    log = f" (log: {job['stderr']})" if isinstance(job.get("stderr"), str) else ""
    return RecordedJob(job["job_id"], "ended", note + log)


def cancel_jobs(folders: list[Path]) -> list[str]:
    """Cancel the jobs recorded in `folders` (one scancel call for the SLURM ones; a local job's process is sent
    SIGTERM), and mark each record cancelled. Returns the job ids cancelled. A run folder's lock held by a
    process on this machine is left alone: stop that process yourself."""
    jobs = {}
    for folder in folders:
        try:
            job = read_job(folder)
        except RunFolderError:
            continue
        if job is not None and job.get("cluster") in ("slurm", "local"):
            jobs.setdefault(job["job_id"], (job, []))[1].append(folder)
    slurm = [i for i, (job, _) in jobs.items() if job["cluster"] == "slurm"]
    if slurm:
        done = subprocess.run(["scancel", *slurm], capture_output=True, text=True)
        if done.returncode != 0:
            raise RunFolderError(f"scancel refused ({done.stderr.strip()[:300]}): cancel the jobs by hand (scancel ID)")
    for job_id, (job, _) in jobs.items():
        if job["cluster"] == "local" and local_job_alive(job):
            os.kill(int(job_id), signal.SIGTERM)
    moment = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    for job, job_folders in jobs.values():
        for folder in job_folders:
            write_json(folder / JOB, job | {"cancelled": moment})
    return sorted(jobs)
