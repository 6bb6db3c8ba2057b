"""The cluster engine: a sweep's incomplete runs as one SLURM job array through submitit.

One array task trains `runs_per_job` runs, one after another, through the same `train_run` the other
engines call (sharing the decoded data). The task is checkpointable: on SLURM's signal before a time
limit or a preemption, submitit requeues it, and the requeued task resumes each run from its last finished
epoch (the trainer's own resume). `local` runs the same tasks as processes on this machine, at most
`max_parallel` at once, and waits for them; `debug` runs them in this process (for tests).

Each run folder records the job that trains it in `job.json` (cluster, job id, log files), so a rerun of
the sweep asks the scheduler about that job and submits only runs that are neither complete nor queued nor
running (`jobs.recorded_job`, which `grid.run_status` consults).
"""

from __future__ import annotations

import datetime
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import RunConfig
from ..errors import ConfigError, DataError, RunBusy, SelectivityError
from ..grid import GridRun
from ..jobs import JOB, last_error
from ..runfolder import write_json

CLUSTERS = ("slurm", "local", "debug")


@dataclass
class ClusterOptions:
    """What a cluster user sets for the array (SLURM's names in comments)."""

    cluster: str = "slurm"
    partition: str | None = None  # --partition
    time_min: int = 60  # --time, per task; the task is requeued when it runs out
    gpus_per_task: int = 0  # --gpus-per-task
    cpus_per_task: int = 4  # --cpus-per-task
    mem_gb: float | None = None  # --mem
    array_parallelism: int = 64  # --array=0-N%P
    max_parallel: int = 1  # local only: processes at once
    runs_per_job: int = 1
    runs_per_gpu: int = 1  # trainers at once in one task, on its one device (each task takes at least this many runs)
    sbatch: dict[str, str] = field(default_factory=dict)  # any other #SBATCH key=value
    signal_delay_s: int = 120  # --signal=USR2@: how long before the limit the task is told to requeue
    max_requeues: int = 3  # times a task that reaches its time limit is requeued (preemptions are not counted)
    setup: list[str] = field(default_factory=list)  # shell lines run before the task: module load, venv activation
    python: str | None = None  # the nodes' python command (default: this interpreter's path)

    def validate(self) -> None:
        if self.cluster not in CLUSTERS:
            raise ConfigError(f"unknown cluster {self.cluster!r}: choose one of {', '.join(CLUSTERS)}")
        for name in ("time_min", "cpus_per_task", "array_parallelism", "max_parallel", "runs_per_job", "runs_per_gpu"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.max_requeues < 0:
            raise ConfigError(f"max-requeues must be 0 or more, got {self.max_requeues}")
        if self.python is not None and not self.python.strip():
            raise ConfigError("--python needs a command, e.g. --python /shared/venv/bin/python")
        if self.gpus_per_task < 0 or (self.mem_gb is not None and self.mem_gb <= 0):
            raise ConfigError("gpus-per-task must be >= 0 and mem positive")
        if self.signal_delay_s >= 60 * self.time_min:
            raise ConfigError(f"a {self.time_min}-minute limit leaves no time after the requeue signal")


def parse_sbatch(pairs: list[str] | None) -> dict[str, str]:
    """['account=abc', 'qos=long'] -> {'account': 'abc', 'qos': 'long'} for extra #SBATCH lines."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--sbatch takes key=value (e.g. account=myproject), got {pair!r}")
        out[key.strip().lstrip("-").replace("-", "_")] = value.strip()
    return out


def _train_share(runs: list[tuple[RunConfig, str]]) -> list[str]:
    """Train `runs` one after another in this process, sharing the decoded data; returns the failures."""
    from ..train import load_data, train_run

    data, failed = None, []
    for config, folder in runs:
        try:
            data = data or load_data(config)
            metrics = train_run(config, folder, data=data, progress=False)
            print(f"done {folder}: test accuracy {metrics['test_acc']:.4f}", flush=True)
        except RunBusy:
            print(f"left {folder} to the process training it", flush=True)
        except SelectivityError as e:
            print(f"error: {folder}: {e}", flush=True)
            failed.append(f"{folder}: {e}")
    return failed


class TrainTask:
    """One array task: train its runs, sharing the decoded data; requeued as it is on a signal.

    With `concurrent` k > 1 the runs are dealt to k processes that train at once on the task's device: one
    small network leaves most of a large GPU idle (the H200 benchmark: about 1% of its peak for one ResNet20
    run), so k runs side by side finish in far less than k times one run's time."""

    def __init__(self, concurrent: int = 1):
        self.concurrent = concurrent

    def __call__(self, runs: list[tuple[RunConfig, str]]) -> list[str]:
        k = min(self.concurrent, len(runs))
        if k <= 1:
            failed = _train_share(runs)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            shares = [runs[i::k] for i in range(k)]
            with ProcessPoolExecutor(k, mp_context=multiprocessing.get_context("spawn")) as pool:
                failed = [f for share in pool.map(_train_share, shares) for f in share]
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(runs)} runs failed: " + " | ".join(failed))
        return [folder for _, folder in runs]

    def checkpoint(self, runs):
        """Called by submitit on SLURM's pre-timeout or preemption signal: requeue the same task, which
        resumes each run from its last finished epoch."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, runs)


def check_data(config: RunConfig) -> None:
    """Refuse (DataError) a CIFAR-10 location that holds no copy, here, before tasks that would all fail on it
    are queued. The tasks read the same path, so on a cluster it must be on a filesystem the nodes share."""
    if config.dataset != "cifar10":
        return
    from ..data import detect_layout, resolve_data_dir

    root, source = resolve_data_dir(config.data_dir)
    if detect_layout(root) is None:
        raise DataError(
            f"no CIFAR-10 in {root} (from the {source}), and every task would read it there: pass --data-dir "
            "with a folder on a filesystem the compute nodes share that holds cifar-10-batches-py/ or train/ and test/"
        )


def _executor(root: Path, options: ClusterOptions):
    import submitit

    logs = root / ".submitit" / "%j"
    extra = {"slurm_python": options.python} if options.python else {}
    executor = submitit.AutoExecutor(
        folder=logs, cluster=options.cluster, slurm_max_num_timeout=options.max_requeues, **extra
    )
    params = dict(name=f"selectivity-{root.name}", timeout_min=options.time_min, cpus_per_task=options.cpus_per_task)
    if options.cluster == "slurm":
        params |= dict(
            slurm_partition=options.partition,
            slurm_gpus_per_task=options.gpus_per_task or None,
            slurm_array_parallelism=options.array_parallelism,
            slurm_signal_delay_s=options.signal_delay_s,
            slurm_setup=list(options.setup) or None,
            # requeue: preempted tasks go back in the queue. SLURM (23.11 and later) refuses --gpus-per-task without
            # an explicit task count, so a GPU array states its one task
            slurm_additional_parameters={
                "requeue": True,
                **({"ntasks": 1} if options.gpus_per_task else {}),
                **options.sbatch,
            },
        )
        if options.mem_gb is not None:
            params["slurm_mem_gb"] = options.mem_gb
    elif options.cluster == "local":
        params |= dict(gpus_per_node=options.gpus_per_task)
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor


def _record(job, chunk: list[GridRun], options: ClusterOptions) -> None:
    for run in chunk:
        write_json(
            run.folder / JOB,
            {
                "cluster": options.cluster,
                "job_id": str(job.job_id),
                "submitit_folder": str(job.paths.folder),
                "stdout": str(job.paths.stdout),
                "stderr": str(job.paths.stderr),
                "submitted": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "host": socket.gethostname(),  # where a local job's process number means something
            },
        )


def submit(root: str | Path, todo: list[GridRun], options: ClusterOptions, progress=print) -> list[str]:
    """Submit (slurm) or run (local, debug) the runs in `todo`; returns the errors of runs that failed here
    (local and debug only: a SLURM array's failures show in `sweep --status` later)."""
    options.validate()
    if options.cluster == "slurm" and todo and not (shutil.which("sbatch") and shutil.which("srun")):
        raise ConfigError(
            "no SLURM here (sbatch and srun not found on PATH): run the sweep on the cluster's login node, or "
            "use --cluster local to run the same tasks on this machine"
        )
    if options.cluster in ("slurm", "local") and todo:
        check_data(todo[0].config)  # before anything is queued: a wrong path would fail every task
    root = Path(root).resolve()
    per_task = max(options.runs_per_job, options.runs_per_gpu)
    chunks = [todo[i : i + per_task] for i in range(0, len(todo), per_task)]
    if not chunks:
        return []
    made = [run.folder for run in todo if not run.folder.exists()]
    for run in todo:
        run.folder.mkdir(parents=True, exist_ok=True)
    executor = _executor(root, options)
    task = TrainTask(options.runs_per_gpu)
    args = [[(r.config, str(r.folder.resolve())) for r in chunk] for chunk in chunks]
    if options.cluster == "slurm":
        try:
            jobs = executor.map_array(task, args)
        except Exception as e:  # sbatch said no (a bad account, partition or limit): nothing is queued
            _remove_empty(made, root)
            raise SelectivityError(
                f"sbatch refused the array ({_sbatch_reason(e)}): nothing was queued; fix what it names "
                "(--partition, --time, --gpus-per-task, --sbatch account=...) and run the same sweep again"
            ) from None
        for job, chunk in zip(jobs, chunks, strict=True):
            _record(job, chunk, options)
        progress(f"submitted array {jobs[0].job_id.split('_')[0]}: {len(jobs)} tasks, {len(todo)} runs")
        return []
    errors: list[str] = []
    if options.cluster == "debug":
        for a, chunk in zip(args, chunks, strict=True):
            job = executor.submit(task, a)
            _record(job, chunk, options)
            errors += _outcome(job)
        return errors
    pending, running = list(zip(args, chunks, strict=True)), []
    while pending or running:
        for job in [j for j in running if j.done()]:
            running.remove(job)
            errors += _outcome(job)
        while pending and len(running) < options.max_parallel:
            a, chunk = pending.pop(0)
            job = executor.submit(task, a)
            _record(job, chunk, options)
            progress(f"started job {job.job_id} ({len(chunk)} run(s))")
            running.append(job)
        time.sleep(0.5)
    return errors


def _sbatch_reason(error: Exception) -> str:
    """The line of sbatch's answer that says why it refused (its 'sbatch: error: ...' lines)."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    named = [ln for ln in lines if "error" in ln.lower()]
    return ((named or lines or [type(error).__name__])[-1])[:300]


def _remove_empty(folders: list[Path], root: Path) -> None:
    """Remove the run folders this submission made, and their parents up to `root`, where they are empty."""
    for folder in folders:
        for path in [folder, *folder.parents]:
            if path == root or root not in path.parents:
                break
            try:
                path.rmdir()  # only an empty folder goes
            except OSError:
                break


def _outcome(job) -> list[str]:
    try:
        job.result()
        return []
    except Exception as e:  # the task's own summary, or the process's death
        # the task's error log names the error; submitit's own message ends with a log path or an INFO line
        logged = last_error({"stderr": str(job.paths.stderr)})
        text = [ln for ln in str(e).strip().splitlines() if ln.strip() and "INFO" not in ln]
        named = [ln for ln in text if "Error" in ln or ln.startswith("error:")]
        return [f"job {job.job_id}: {logged or (named or text or [type(e).__name__])[-1]}"]
