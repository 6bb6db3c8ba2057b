import dataclasses
import json

import jupytext
import pytest
from conftest import tiny_sweep_args

from selectivity_lib.cli import main
from selectivity_lib.config import RunConfig, make_config
from selectivity_lib.errors import RunFolderError
from selectivity_lib.notebook import NOTEBOOK, parameters, written_by_us
from selectivity_lib.runfolder import run_lock
from selectivity_lib.train import train_run


def test_parameters_cell_maps_one_to_one_to_the_run_config():
    nb = jupytext.read(NOTEBOOK)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    names = {line.split("=")[0].strip() for line in cells[0].source.splitlines() if "=" in line}
    assert names == {f.name for f in dataclasses.fields(RunConfig)} | {"out"}
    assert set(parameters(make_config("smoke"), "x")) == names


def test_papermill_sweep_keeps_executed_notebooks_and_skips_complete_runs(tmp_path, capsys):
    args = tiny_sweep_args(tmp_path, ["-2.5"], ["3"], engine="papermill")
    assert main(args) == 0
    run = tmp_path / "resnet20" / "alpha=-2.5" / "seed=3"
    assert (run / "metrics.json").is_file() and (run / "train.ipynb").is_file()
    executed = json.loads((run / "train.ipynb").read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "alpha = -2.5" in "".join(injected[0]["source"])
    assert json.loads((run / "config.json").read_text())["config"]["alpha"] == -2.5
    assert written_by_us(run / "train.ipynb")  # so executing it again may replace it
    assert main(args) == 0
    assert "0 ran, 0 failed, 1 already complete" in capsys.readouterr().out


def test_a_folder_being_trained_elsewhere_is_refused(tmp_path, synthetic):
    cfg = make_config("smoke", dataset="synthetic", val_size=500, train_subset=100, epochs=1)
    with run_lock(tmp_path / "run"), pytest.raises(RunFolderError, match="being trained by another process"):
        train_run(cfg, tmp_path / "run", data=synthetic, progress=False)
    assert train_run(cfg, tmp_path / "run", data=synthetic, progress=False)["epochs_trained"] == 1


def test_papermill_never_replaces_a_notebook_it_did_not_write(tmp_path, capsys):
    run = tmp_path / "resnet20" / "alpha=0" / "seed=0"
    run.mkdir(parents=True)
    (run / "train.ipynb").write_text('{"my": "nb"}')
    assert main(tiny_sweep_args(tmp_path, engine="papermill")) == 1
    assert (run / "train.ipynb").read_text() == '{"my": "nb"}' and not (run / "config.json").exists()
    out = capsys.readouterr().out
    assert "is not an executed copy of notebooks/train_run.md" in out and "Traceback" not in out


def test_a_field_the_parameters_cell_does_not_list_takes_the_profiles_value():
    from selectivity_lib.notebook import config_from_parameters

    config = config_from_parameters({"profile": "smoke", "alpha": -1.0, "dataset": "synthetic"})
    assert config == make_config("smoke", alpha=-1.0, dataset="synthetic")
