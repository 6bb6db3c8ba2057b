"""The run folder's own rules: what a run may delete or replace there, and how its lock is read."""

import fcntl

from conftest import TINY_RUN

from selectivity_lib.cli import main
from selectivity_lib.runfolder import LOCK, atomic_write, is_locked, own_temporary, run_lock

S = [*TINY_RUN, "--epochs", "1"]


def test_only_the_temporaries_a_write_of_ours_leaves_are_ours(tmp_path):
    killed = []

    def die(f):
        f.write(b"half")
        killed.append(next(tmp_path.glob("*.tmp")).name)
        raise KeyboardInterrupt

    try:
        atomic_write(tmp_path / "history.csv", die)
    except KeyboardInterrupt:
        pass
    assert own_temporary(killed[0])  # the name atomic_write really uses
    for name in ("draft.tmp", "metrics.json.tmp", "notes.history.csv.abcdefgh.tmp", "history.csv.ab.tmp"):
        assert not own_temporary(name), name


def test_train_keeps_a_users_tmp_file_and_says_why_it_will_not_use_the_folder(tmp_path, capsys):
    folder = tmp_path / "X"
    folder.mkdir()
    (folder / "draft.tmp").write_text("draft")
    assert main(["train", *S, "--out", str(folder)]) != 0
    assert (folder / "draft.tmp").read_text() == "draft"
    err = capsys.readouterr().err
    assert "draft.tmp" in err and "holds no run record" in err and "Traceback" not in err


def test_a_users_tmp_file_beside_a_run_survives_its_lock(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "draft.tmp").write_text("draft")
    (folder / "best.pt.k2j3x9ab.tmp").write_text("half")
    with run_lock(folder):
        pass
    assert sorted(p.name for p in folder.iterdir()) == [LOCK, "config.json", "draft.tmp"]


def test_the_lock_is_read_with_a_shared_lock_on_a_read_only_descriptor(tmp_path, monkeypatch):
    # NFS grants an exclusive flock only on a descriptor open for writing; a read-only check must ask for a
    # shared one, which a training process's exclusive lock still blocks
    asked = []
    real = fcntl.flock

    def flock(f, op):
        asked.append((f.mode, op & (fcntl.LOCK_EX | fcntl.LOCK_SH)))
        return real(f, op)

    folder = tmp_path / "run"
    with run_lock(folder):
        (folder / "config.json").write_text("{}")
        monkeypatch.setattr(fcntl, "flock", flock)
        assert is_locked(folder)
        monkeypatch.undo()
    assert not is_locked(folder)
    assert asked[0] == ("r", fcntl.LOCK_SH)


def test_a_run_another_sweep_took_meanwhile_is_left_to_it_not_failed(tmp_path, capsys, monkeypatch):
    from conftest import tiny_sweep_args

    from selectivity_lib import grid

    folder = tmp_path / "resnet20" / "alpha=0" / "seed=0"
    with run_lock(folder):  # the other sweep starts training it right after this one planned its grid
        monkeypatch.setattr(grid, "is_locked", lambda folder: False)
        assert main(tiny_sweep_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert f"left {folder} to the process training it" in out
    assert "0 ran, 0 failed, 0 already complete, 1 left to the process or job training them" in out


def test_a_failed_write_inside_torch_save_is_one_line_and_leaves_no_temporary(tmp_path, capsys, monkeypatch):
    import torch

    def full(obj, f):  # what torch's zip writer raises when the disk fills mid-file
        f.write(b"PK")
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(torch, "save", full)
    run = tmp_path / "run"
    assert main(["train", *S, "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "writing failed" in err and "the disk may be full" in err and "Traceback" not in err
    assert not list(run.glob("*.tmp")) and not (run / "checkpoint.pt").exists()


def test_weights_of_another_network_are_named_not_a_traceback(tiny_sweep, tmp_path, capsys):
    import shutil

    import torch

    from selectivity_lib.models import build_model

    root = tmp_path / "T"
    shutil.copytree(tiny_sweep, root)
    torch.save(build_model("vgg16").state_dict(), root / "resnet20" / "alpha=0" / "seed=0" / "best.pt")
    (root / "resnet20" / "cca_distances.csv").unlink(missing_ok=True)
    assert main(["analyse", str(root), "--images", "100", "--datapoints", "2000"]) == 2
    err = capsys.readouterr().err
    assert "alpha=0/seed=0/best.pt holds weights that do not fit this run's network" in err
    assert "Traceback" not in err and err.count("\n") == 1
