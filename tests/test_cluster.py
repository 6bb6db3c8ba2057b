"""The cluster engine without a cluster: submitit's debug and local executors train a tiny grid for real,
a killed job is resubmitted and resumes, and a stand-in sbatch captures the SLURM script it would run."""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import torch
from conftest import TINY_RUN

from selectivity_lib.cli import main
from selectivity_lib.engines.cluster import JOB, ClusterOptions, parse_sbatch
from selectivity_lib.errors import ConfigError
from selectivity_lib.runfolder import CHECKPOINT, LOCK, METRICS, load_tensors

TINY = TINY_RUN


def sweep(root, *extra, alphas=("0", "-1", "1"), epochs="1"):
    return [
        "sweep",
        "--engine",
        "submitit",
        *TINY,
        "--epochs",
        epochs,
        "--alphas",
        *alphas,
        "--seeds",
        "0",
        "--out",
        str(root),
        *extra,
    ]


def metrics(root):
    return {p.parent.relative_to(root).as_posix(): json.loads(p.read_text()) for p in sorted(root.rglob(METRICS))}


def test_debug_cluster_trains_the_grid_then_submits_nothing(tmp_path, capsys):
    assert main(sweep(tmp_path, "--cluster", "debug")) == 0
    assert len(metrics(tmp_path)) == 3
    assert all((f.parent / JOB).is_file() for f in tmp_path.rglob(METRICS))
    capsys.readouterr()
    assert main(sweep(tmp_path, "--cluster", "debug")) == 0
    assert "3 already complete, 0 queued or running, 0 to run" in capsys.readouterr().out
    assert main(sweep(tmp_path, "--status")) == 0
    table = capsys.readouterr().out
    assert "3 runs: 3 complete" in table and "resnet20/alpha=-1/seed=0  complete" in table


def test_local_cluster_runs_processes_and_packs_runs(tmp_path, capsys):
    assert main(sweep(tmp_path, "--cluster", "local", "--max-parallel", "2", "--runs-per-job", "2")) == 0
    assert len(metrics(tmp_path)) == 3
    jobs = {json.loads(p.read_text())["job_id"] for p in tmp_path.rglob(JOB)}
    assert len(jobs) == 2  # three runs, two per task
    assert "started job" in capsys.readouterr().out


@contextmanager
def two_threads():
    """torch at two intra-op threads, as a process started with OMP_NUM_THREADS=2 has: a run in this process
    then does the arithmetic of one in a process of its own."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_killed_job_is_resubmitted_and_ends_as_an_uninterrupted_run(tmp_path, capsys, monkeypatch):
    env = os.environ | {"OMP_NUM_THREADS": "2"}  # the same threads in every process: the same arithmetic
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    cli = [sys.executable, "-m", "selectivity_lib"]
    # fp32 throughout: the runs in this process would otherwise follow --cpu-bf16, the job's processes the CPU
    five = dict(alphas=("-1",), epochs="5")
    args = sweep(killed, "--cluster", "local", "--amp", "off", **five)
    proc = subprocess.Popen(cli + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = killed / "resnet20" / "alpha=-1" / "seed=0"
    deadline = time.time() + 180
    while time.time() < deadline:
        if (run / CHECKPOINT).is_file() and load_tensors(run / CHECKPOINT)["epoch"] >= 2:
            break
        time.sleep(0.05)
    assert json.loads((run / JOB).read_text())["cluster"] == "local"
    os.kill(int((run / LOCK).read_text()), signal.SIGKILL)  # the job's trainer (its pid is in the lock), not the sweep
    assert proc.wait(timeout=60) == 1
    assert not (run / METRICS).exists(), "the run finished before it could be killed"
    # The rest in this process (each Python started costs seconds): the status, the resubmitting sweep (its job
    # still a process of its own), and the uninterrupted run, on debug's in-process executor at the same threads.
    capsys.readouterr()
    assert main(sweep(killed, "--status", "--amp", "off", **five)) == 0
    status = capsys.readouterr().out
    assert "failed" in status and "epoch" in status
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert main(args) == 0
    with two_threads():
        assert main(sweep(straight, "--cluster", "debug", "--amp", "off", **five)) == 0
    (a,), (b,) = metrics(killed).values(), metrics(straight).values()
    for key in ("test_acc", "test_loss", "mu_si", "best_epoch", "epochs_trained"):
        assert a[key] == pytest.approx(b[key], rel=1e-6), key


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch, srun and sacct stand-ins on PATH: sbatch keeps each script it is given and answers with a job id;
    sacct answers from a file the test writes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = tmp_path / "submitted"
    scripts.mkdir()
    (bin_dir / "sbatch").write_text(
        f'#!/bin/sh\nn=$(ls {scripts} | wc -l)\ncp "$1" {scripts}/$n.sh\necho "Submitted batch job $((4242 + n))"\n'
    )
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sacct").write_text(
        f'#!/bin/sh\necho "$@" >> {tmp_path / "sacct.calls"}\ncat {tmp_path / "sacct.txt"}\n'
    )
    (bin_dir / "scancel").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scancel.calls"}\n')
    (bin_dir / "squeue").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "squeue.calls"}\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return scripts


def test_slurm_script_asks_for_an_array_with_requeue_signal_gpus_and_time(tmp_path, fake_slurm, capsys):
    root = tmp_path / "sweep"
    args = sweep(
        root,
        "--cluster",
        "slurm",
        "--partition",
        "gpu",
        "--time",
        "90",
        "--gpus-per-task",
        "1",
        "--cpus-per-task",
        "8",
        "--mem",
        "16",
        "--array-parallelism",
        "2",
        "--sbatch",
        "account=abc",
    )
    assert main(args) == 0
    (script,) = fake_slurm.iterdir()
    text = script.read_text()
    for line in (
        "#SBATCH --array=0-2%2",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --requeue",
        "#SBATCH --time=90",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --partition=gpu",
        "#SBATCH --mem=16GB",
        "#SBATCH --account=abc",
        "#SBATCH --ntasks=1",
    ):
        assert line in text.splitlines(), line
    assert "srun" in text and "submitit.core._submit" in text
    jobs = sorted(json.loads(p.read_text())["job_id"] for p in root.rglob(JOB))
    assert jobs == ["4242_0", "4242_1", "4242_2"]
    assert "submitted array 4242: 3 tasks, 3 runs" in capsys.readouterr().out

    # The scheduler says: one pending, one running, one failed. Status shows it; a rerun resubmits the failed one.
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n4242_0|PENDING|\n4242_1|RUNNING|n1\n4242_2|FAILED|n2\n")
    assert main(sweep(root, "--status")) == 0
    table = capsys.readouterr().out
    assert "3 runs: 1 failed, 1 queued, 1 running" in table
    assert main(args) == 0
    assert "2 queued or running, 1 to submit" in capsys.readouterr().out
    assert len(list(fake_slurm.iterdir())) == 2  # one task, which submitit sends as a plain job
    resubmitted = json.loads((root / "resnet20" / "alpha=1" / "seed=0" / JOB).read_text())
    assert resubmitted["job_id"] == "4243"


def test_slurm_without_slurm_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no srun
    assert main(sweep(tmp_path / "sweep", "--cluster", "slurm")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no SLURM here") and "Traceback" not in err
    assert not (tmp_path / "sweep").exists()


def test_cluster_options_are_checked():
    with pytest.raises(ConfigError, match="key=value"):
        parse_sbatch(["account"])
    assert parse_sbatch(["--qos=long", "mail-type=END"]) == {"qos": "long", "mail_type": "END"}
    with pytest.raises(ConfigError, match="time-min must be at least 1"):
        ClusterOptions(time_min=0).validate()
    with pytest.raises(ConfigError, match="leaves no time"):
        ClusterOptions(time_min=1, signal_delay_s=120).validate()


def test_a_gpu_array_trains_on_the_gpu_or_fails(tmp_path, monkeypatch, capsys):
    from selectivity_lib.engines import cluster

    asked = []
    monkeypatch.setattr(cluster, "submit", lambda root, todo, options, log: asked.extend(todo) or [])
    assert main(sweep(tmp_path / "a", "--cluster", "local", "--gpus-per-task", "1")) == 0
    assert {r.config.device for r in asked} == {"cuda"}  # never auto: no silent CPU fallback on a GPU node
    assert main(sweep(tmp_path / "b", "--cluster", "local", "--gpus-per-task", "1", "--device", "cpu")) == 2
    assert "--device cpu would leave it idle" in capsys.readouterr().err


def test_a_wrong_data_dir_is_refused_before_anything_is_queued(tmp_path, fake_slurm, capsys):
    args = sweep(tmp_path / "sweep", "--cluster", "slurm")
    args[args.index("synthetic")] = "cifar10"
    assert main([*args, "--data-dir", str(tmp_path / "no-cifar")]) == 2
    err = capsys.readouterr().err
    assert "no CIFAR-10 in" in err and "filesystem the compute nodes share" in err and "Traceback" not in err
    assert not list(fake_slurm.iterdir()) and not (tmp_path / "sweep").exists()


def test_sbatch_refusing_the_array_is_one_line_and_leaves_no_folders(tmp_path, fake_slurm, capsys):
    sbatch = os.environ["PATH"].split(os.pathsep)[0] + "/sbatch"
    with open(sbatch, "w") as f:
        f.write("#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid account' >&2\nexit 1\n")
    root = tmp_path / "sweep"
    assert main(sweep(root, "--cluster", "slurm", "--sbatch", "account=nope")) == 2
    err = capsys.readouterr().err  # sbatch's own line, which it prints as it refuses, then ours
    assert err.strip().splitlines()[-1].startswith("error: sbatch refused") and "Traceback" not in err
    assert "sbatch refused the array (sbatch: error: Batch job submission failed: Invalid account)" in err
    assert not (root / "resnet20").exists()


@pytest.mark.parametrize("record", ["{}", '{"job_id": null}', '{"job_id": true}', "[]", '{"cluster": "slurm"}'])
def test_a_malformed_job_record_is_named_not_a_traceback(tmp_path, capsys, record):
    run = tmp_path / "resnet20" / "alpha=0" / "seed=0"
    run.mkdir(parents=True)
    (run / JOB).write_text(record)
    assert main(sweep(tmp_path, "--status", alphas=("0",))) == 0
    out = capsys.readouterr().out
    assert "job.json" in out and "Traceback" not in out
    assert "not started" in out  # never taken for a job that trains it


def test_a_job_id_as_a_number_is_read(tmp_path, capsys):
    run = tmp_path / "resnet20" / "alpha=0" / "seed=0"
    run.mkdir(parents=True)
    (run / JOB).write_text(json.dumps({"cluster": "local", "job_id": 999999999}))
    assert main(sweep(tmp_path, "--status", alphas=("0",))) == 0
    assert "failed" in capsys.readouterr().out  # its process is gone


def test_a_local_job_is_alive_only_on_its_host_and_as_its_own_process(tmp_path):
    import datetime
    import socket

    from selectivity_lib.jobs import local_job_alive

    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    me = {"cluster": "local", "job_id": str(os.getpid()), "submitted": now, "host": socket.gethostname()}
    assert local_job_alive(me)
    assert not local_job_alive(me | {"host": "another-machine"})  # a tree copied from elsewhere
    assert not local_job_alive(me | {"submitted": "2020-01-01T00:00:00+00:00"})  # the number was reused since
    assert not local_job_alive(me | {"job_id": "999999999"})


def test_forget_unknown_resubmits_runs_the_scheduler_does_not_report(tmp_path, fake_slurm, capsys):
    root = tmp_path / "sweep"
    args = sweep(root, "--cluster", "slurm", alphas=("0",))
    assert main(args) == 0
    (tmp_path / "sacct.txt").write_text("JobID|State|NodeList\n")  # the scheduler has forgotten the job
    capsys.readouterr()
    assert main(sweep(root, "--status", alphas=("0",))) == 0
    assert "unknown" in capsys.readouterr().out
    assert "-j 4242" in (tmp_path / "squeue.calls").read_text()  # asked when sacct did not report it
    assert main(args) == 0 and len(list(fake_slurm.iterdir())) == 1  # left alone by default
    assert main([*args, "--forget-unknown"]) == 0
    assert len(list(fake_slurm.iterdir())) == 2


def test_the_script_runs_the_setup_lines_and_the_python_asked_for(tmp_path, fake_slurm):
    root = tmp_path / "sweep"
    args = sweep(
        root,
        "--cluster",
        "slurm",
        "--setup",
        "module load cuda/12",
        "--setup",
        "source /shared/venv/bin/activate",
        "--python",
        "/shared/venv/bin/python",
        "--max-requeues",
        "9",
    )
    assert main(args) == 0
    (script,) = fake_slurm.iterdir()
    lines = script.read_text().splitlines()
    setup = lines.index("module load cuda/12")
    assert lines[setup + 1] == "source /shared/venv/bin/activate"
    run = next(i for i, line in enumerate(lines) if "submitit.core._submit" in line)
    assert setup < run and "/shared/venv/bin/python -u -m submitit.core._submit" in lines[run]
    # the requeue limit travels with the pickled task, where submitit reads it when the time limit comes
    import pickle

    pickled = sorted((root / ".submitit").rglob("*_submitted.pkl"))
    assert len(pickled) == 3 and {pickle.loads(p.read_bytes())._timeout_countdown for p in pickled} == {9}


def test_cluster_requeue_and_python_options_are_checked(tmp_path, capsys):
    assert main(sweep(tmp_path, "--cluster", "debug", "--max-requeues", "-1")) == 2
    assert "max-requeues must be 0 or more" in capsys.readouterr().err
    assert main(sweep(tmp_path, "--cluster", "debug", "--python", " ")) == 2
    assert "--python needs a command" in capsys.readouterr().err


def test_status_asks_the_scheduler_once_for_the_whole_grid(tmp_path, fake_slurm, capsys):
    root = tmp_path / "sweep"
    assert main(sweep(root, "--cluster", "slurm")) == 0
    (tmp_path / "sacct.txt").write_text("4242_[0-1]|PENDING\n4242_2|RUNNING\n4242_2.batch|RUNNING\n")
    capsys.readouterr()
    assert main(sweep(root, "--status")) == 0
    assert "3 runs: 2 queued, 1 running" in capsys.readouterr().out
    (call,) = (tmp_path / "sacct.calls").read_text().splitlines()
    assert "-j 4242_0,4242_1,4242_2" in call
    assert not (tmp_path / "squeue.calls").exists()  # sacct answered for every job


def test_scheduler_answers_are_read_per_job():
    from selectivity_lib.jobs import parse_states

    assert parse_states("JobID|State|NodeList\n7_[0-2,5%2]|PENDING|\n8|CANCELLED by 12|\n8|RUNNING|n1\n") == {
        "7_0": "PENDING",
        "7_1": "PENDING",
        "7_2": "PENDING",
        "7_5": "PENDING",
        "8": "RUNNING",
    }


def test_cancel_cancels_the_grids_jobs_in_one_call_and_status_then_shows_their_logs(tmp_path, fake_slurm, capsys):
    root = tmp_path / "sweep"
    assert main(sweep(root, "--cluster", "slurm")) == 0
    (tmp_path / "sacct.txt").write_text("4242_[0-2]|PENDING\n")
    capsys.readouterr()
    assert main(sweep(root, "--cancel")) == 0
    assert "cancelled 3 job(s): 4242_0, 4242_1, 4242_2" in capsys.readouterr().out
    assert (tmp_path / "scancel.calls").read_text().splitlines() == ["4242_0 4242_1 4242_2"]
    assert all("cancelled" in json.loads(p.read_text()) for p in root.rglob(JOB))
    (tmp_path / "sacct.txt").write_text("4242_0|CANCELLED by 1|\n4242_1|CANCELLED by 1|\n4242_2|CANCELLED by 1|\n")
    assert main(sweep(root, "--status")) == 0
    table = capsys.readouterr().out
    assert "3 runs: 3 failed" in table and "job ended (cancelled) before the run completed (log: " in table


def test_a_preempted_job_is_not_submitted_twice(tmp_path, fake_slurm, capsys):
    root = tmp_path / "sweep"
    args = sweep(root, "--cluster", "slurm", alphas=("0",))
    assert main(args) == 0
    (tmp_path / "sacct.txt").write_text("4242|PREEMPTED\n")
    capsys.readouterr()
    assert main(sweep(root, "--status", alphas=("0",))) == 0
    table = capsys.readouterr().out
    assert "1 runs: 1 unknown" in table and "preempted; a cluster that requeues preempted jobs runs it again" in table
    assert main(args) == 0 and len(list(fake_slurm.iterdir())) == 1  # the cluster may requeue it itself
    assert main([*args, "--forget-unknown"]) == 0 and len(list(fake_slurm.iterdir())) == 2


def test_runs_per_gpu_trains_a_tasks_runs_side_by_side(tmp_path):
    root = tmp_path / "sweep"
    assert main(sweep(root, "--cluster", "debug", "--runs-per-gpu", "2", alphas=("0", "-1"))) == 0
    runs = sorted(p.parent for p in root.rglob(METRICS))
    assert len(runs) == 2 and len({json.loads((r / JOB).read_text())["job_id"] for r in runs}) == 1  # one task
    pids = {int((r / LOCK).read_text()) for r in runs}
    assert len(pids) == 2 and os.getpid() not in pids  # two trainers, neither of them this process
    spans = [((r / "config.json").stat().st_mtime, (r / METRICS).stat().st_mtime) for r in runs]
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # at the same time


def test_a_job_record_that_is_a_folder_is_a_conflict_left_alone(tmp_path, capsys):
    run = tmp_path / "resnet20" / "alpha=0" / "seed=0"
    (run / JOB).mkdir(parents=True)
    assert main(sweep(tmp_path, "--cluster", "debug", alphas=("0",))) == 1
    out, err = capsys.readouterr()
    assert "job.json is not a file: move it out of the run folder" in err + out and "free space" not in err + out
    assert (run / JOB).is_dir() and not (run / METRICS).exists()
