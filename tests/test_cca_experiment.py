"""The CCA experiment over a sweep: which pairs it computes, what it keeps from an earlier table, where the
table goes, and what it refuses."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_sweep_args

from selectivity_lib import plots
from selectivity_lib.cca_experiment import CCA_FILE, CHECK, cca_experiment, load_cca
from selectivity_lib.cli import main
from selectivity_lib.errors import DataError, RunFolderError


def test_cca_experiment_writes_sweep_level_table(tiny_sweep):
    written = cca_experiment(tiny_sweep, n_images=100, max_datapoints=2000, progress=lambda *_: None)
    ((path, table),) = written.items()
    assert path == tiny_sweep / "resnet20" / CCA_FILE and path.is_file()
    # alpha 0: 1 within pair; alpha -1: 1 within pair and the 2 cross pairs of different seeds; 19 layers each
    assert len(table) == (1 + 1 + 2) * 19
    assert table.distance.between(0, 1).all()
    assert (table.seed_a != table.seed_b).all()  # same-seed networks are never paired
    loaded = load_cca(tiny_sweep)
    assert len(loaded) == len(table)
    ratios = plots.cca_ratio_table(loaded)
    assert list(ratios.alpha) == [-1.0] and ratios.layers.iloc[0] == 19


class CountingActivations:
    """Wraps cca_experiment's layer_activations, counting the networks whose activations it computes."""

    def __init__(self, monkeypatch):
        from selectivity_lib import cca_experiment as module

        self.folders, real = [], module.layer_activations
        monkeypatch.setattr(
            module, "layer_activations", lambda folder, *a: self.folders.append(folder) or real(folder, *a)
        )


def _cca(root, **kw):
    kw = {"n_images": 100, "max_datapoints": 2000, "progress": lambda *_: None} | kw
    return next(iter(cca_experiment(root, **kw).values()))


def test_cca_analysis_computes_only_new_pairs(tiny_sweep, tmp_path, monkeypatch):

    root = tmp_path / "copy"
    shutil.copytree(tiny_sweep, root)
    first = _cca(root)
    calls = CountingActivations(monkeypatch)
    for folder in root.rglob("best.pt"):  # a later analysis needs no weights for pairs it already has
        folder.unlink()
    before = (root / "resnet20" / CCA_FILE).stat().st_mtime_ns
    again = _cca(root)
    assert calls.folders == [] and again.equals(first)
    assert (root / "resnet20" / CCA_FILE).stat().st_mtime_ns == before  # nothing new: the file is not rewritten

    # a run retrained into its folder (new metrics.json) invalidates exactly the pairs it is in
    for weights in tiny_sweep.rglob("best.pt"):
        shutil.copy(weights, root / weights.relative_to(tiny_sweep))
    retrained = root / "resnet20" / "alpha=-1" / "seed=1"
    metrics = json.loads((retrained / "metrics.json").read_text())
    (retrained / "metrics.json").write_text(json.dumps(metrics | {"train_seconds": metrics["train_seconds"] + 1}))
    updated = _cca(root)
    computed = sorted(str(Path(f).relative_to(root / "resnet20")) for f in calls.folders)
    assert computed == ["alpha=-1/seed=0", "alpha=-1/seed=1", "alpha=0/seed=0"]  # for the 2 pairs it is in
    assert len(updated) == len(first)
    both = updated.merge(first, on=["alpha", "kind", "seed_a", "seed_b", "layer_index"], suffixes=("", "_old"))
    involved = (both.alpha == -1) & ((both.kind == "within") | (both.seed_a == 1))
    assert ((both.run_a != both.run_a_old) | (both.run_b != both.run_b_old)).eq(involved).all()
    assert np.allclose(both.distance[~involved], both.distance_old[~involved])

    # other sampling: nothing can be reused, so without weights the table stays as it was
    (root / "resnet20" / "alpha=0" / "seed=0" / "best.pt").unlink()
    with pytest.raises(RunFolderError, match=r"1 run\(s\) have no best.pt .*alpha=0/seed=0"):
        _cca(root, max_datapoints=1000)
    assert pd.read_csv(root / "resnet20" / CCA_FILE, dtype={"run_a": str, "run_b": str}).equals(updated)


def test_cca_analysis_grows_with_the_grid_after_weights_are_gone(tiny_sweep, tmp_path):

    root = tmp_path / "copy"
    shutil.copytree(tiny_sweep, root)
    late = tmp_path / "late"
    shutil.move(root / "resnet20" / "alpha=-1" / "seed=1", late)
    first = _cca(root)  # alpha 0 within (0-1), alpha -1 cross (0-1)
    assert len(first) == 2 * 19
    for name in ("alpha=0/seed=0", "alpha=0/seed=1"):
        (root / "resnet20" / name / "best.pt").unlink()
    shutil.move(late, root / "resnet20" / "alpha=-1" / "seed=1")  # seed 1 of alpha -1 lands
    notes = []
    _cca(root, progress=notes.append)  # its cross pair with alpha 0 seed 0 needs that run's weights: left out
    assert any(n.startswith("note: 1 run(s) have no best.pt") and "alpha=0/seed=0" in n for n in notes)
    grown = pd.read_csv(root / "resnet20" / CCA_FILE, dtype={"run_a": str, "run_b": str})
    assert sorted(set(zip(grown.alpha, grown.kind, grown.pair, strict=True))) == [
        (-1.0, "cross", "0-1"),
        (-1.0, "within", "0-1"),
        (0.0, "within", "0-1"),
    ]
    assert grown[grown.alpha == 0].reset_index(drop=True).equals(first[first.alpha == 0].reset_index(drop=True))


def test_cca_analysis_recomputes_a_table_without_fingerprints(tiny_sweep, tmp_path, monkeypatch):

    root = tmp_path / "copy"
    shutil.copytree(tiny_sweep, root)
    table = _cca(root)
    table.drop(columns=["run_a", "run_b"]).to_csv(root / "resnet20" / CCA_FILE, index=False)
    calls = CountingActivations(monkeypatch)
    notes = []
    assert _cca(root, progress=notes.append).equals(table)
    assert len(calls.folders) == 4 and any("without run fingerprints" in n for n in notes)
    (root / "resnet20" / CCA_FILE).write_text('alpha,kind\n"unterminated')
    assert _cca(root, progress=notes.append).equals(table) and any("unreadable" in n for n in notes)


def test_cca_analysis_refuses_more_images_than_the_test_set(tiny_sweep, tmp_path):
    with pytest.raises(DataError, match="--images 100000: the synthetic test set has 500 images"):
        cca_experiment(tiny_sweep, n_images=100_000, progress=lambda *_: None)


def _copy(tiny_sweep, root):
    shutil.copytree(tiny_sweep, root, ignore=shutil.ignore_patterns(CCA_FILE))
    return root


def test_each_table_lives_inside_the_folder_analysed(tiny_sweep, tmp_path):
    # runs straight inside the folders analysed, not in a sweep's layout
    for name in ("a", "b"):
        for run in (tiny_sweep / "resnet20").glob("alpha=*/seed=*"):
            shutil.copytree(run, tmp_path / "Q" / name / f"{run.parent.name}-{run.name}")
    ((path_a, table_a),) = cca_experiment(
        tmp_path / "Q" / "a", n_images=100, max_datapoints=2000, progress=lambda *_: None
    ).items()
    ((path_b, _),) = cca_experiment(
        tmp_path / "Q" / "b", n_images=100, max_datapoints=2000, progress=lambda *_: None
    ).items()
    q = tmp_path / "Q"
    assert (path_a, path_b) == (q / "a" / "resnet20" / CCA_FILE, q / "b" / "resnet20" / CCA_FILE)
    assert not (tmp_path / "Q" / CCA_FILE).exists()
    assert load_cca(tmp_path / "Q" / "a").equals(table_a.drop(columns=[CHECK]))
    # a sweep's own network folder analysed on its own keeps its table where a sweep-level analysis puts it
    root = _copy(tiny_sweep, tmp_path / "T")
    ((path, _),) = cca_experiment(
        root / "resnet20", n_images=100, max_datapoints=2000, progress=lambda *_: None
    ).items()
    assert path == root / "resnet20" / CCA_FILE


def test_a_run_copied_to_another_place_is_counted_once_and_named(tiny_sweep, tmp_path):
    from selectivity_lib.results import load_results

    root = _copy(tiny_sweep, tmp_path / "T")
    shutil.copytree(root / "resnet20" / "alpha=-1" / "seed=0", root / "resnet20" / "alpha=-1" / "seed=5")
    other = root / "resnet20" / "alpha=0" / "seed=7"  # another network's run put in ResNet20's folder
    shutil.copytree(root / "resnet20" / "alpha=0" / "seed=0", other)
    record = json.loads((other / "config.json").read_text())
    record["config"] |= {"activation": "leaky_relu", "slope": 0.5, "seed": 7}
    (other / "config.json").write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="skipped 2 run folder") as caught:
        runs = load_results(root).runs
    assert len(runs) == 4 and "seed=5" not in " ".join(runs.path)
    message = str(caught[0].message)
    assert "alpha=-1 seed=0, not the run its place names (resnet20/alpha=-1/seed=5)" in message
    assert "resnet20-leaky0.5 alpha=0 seed=7, not the run its place names (resnet20/alpha=0/seed=7)" in message
    with pytest.warns(UserWarning):
        table = _cca(root)
    assert len(table) == (1 + 1 + 2) * 19  # as without the copies


def test_symlinked_runs_are_read_as_the_sweep_reads_them(tiny_sweep, tmp_path):
    from selectivity_lib.results import load_results

    root = tmp_path / "T"
    for run in (tiny_sweep / "resnet20").glob("alpha=*/seed=*"):
        place = root / "resnet20" / run.parent.name / run.name
        place.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(run, place)
    os.symlink(root, root / "resnet20" / "loop")  # a link back up: read once, no endless walk
    assert len(load_results(root).runs) == 4
    # the sweep's own view of the same folders
    assert (
        main(
            [
                *tiny_sweep_args(root, ("0", "-1"), ("0", "1"), "--batch-size", "100", "--train-subset", "300"),
                "--status",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--images", "1"], "layer layer3.0.conv1 has 64 units but the sampling gives it 64 datapoints"),
        (["--images", "100", "--datapoints", "50"], "layer3.0.conv1 has 64 units but the sampling gives it 50"),
        (["--datapoints", "-5"], "argument --datapoints: must be at least 2, got -5"),
        (["--images", "0"], "argument --images: must be at least 1, got 0"),
    ],
)
def test_cca_refuses_too_few_datapoints_in_one_line(tiny_sweep, tmp_path, capsys, args, message):
    root = _copy(tiny_sweep, tmp_path / "T")
    try:
        code = main(["analyse", str(root), *args])
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    assert code == 2 and not (root / "resnet20" / CCA_FILE).exists()
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_edited_distance_is_never_reused_or_shown(tiny_sweep, tmp_path):
    root = _copy(tiny_sweep, tmp_path / "T")
    table = _cca(root)
    path = root / "resnet20" / CCA_FILE
    edited = pd.read_csv(path, dtype={"run_a": str, "run_b": str, CHECK: str})
    edited.loc[5, "distance"] = 0.9
    edited.to_csv(path, index=False)
    with pytest.raises(RunFolderError, match=r"1 row\(s\) of .* do not match their checksums"):
        load_cca(root)
    notes = []
    again = _cca(root, progress=notes.append)  # the weights are here: that pair is computed again
    assert any("do not match their checksums" in n for n in notes)
    assert np.allclose(again.distance, table.distance) and load_cca(root).distance.equals(again.distance)


def test_a_table_written_before_checksums_gets_them_without_recomputing(tiny_sweep, tmp_path, monkeypatch):
    root = _copy(tiny_sweep, tmp_path / "T")
    table = _cca(root)
    table.drop(columns=[CHECK]).to_csv(root / "resnet20" / CCA_FILE, index=False)
    for weights in root.rglob("best.pt"):
        weights.unlink()
    assert _cca(root).equals(table)  # no weights needed: every pair is reused, and the checksums added
    assert CHECK in pd.read_csv(root / "resnet20" / CCA_FILE).columns


def test_an_interrupted_analysis_gives_its_own_advice(tiny_sweep, tmp_path, capsys, monkeypatch):
    from selectivity_lib import cca_experiment as module

    def interrupt(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "cca_experiment", interrupt)
    assert main(["analyse", str(tiny_sweep)]) == 130
    err = capsys.readouterr().err
    assert "tables already written are kept" in err and "epoch" not in err
