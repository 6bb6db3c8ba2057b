"""Corruptions, attacks, dimensionality and the robustness analysis (selectivity_lib.corruptions, .robustness)."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from selectivity_lib import robustness
from selectivity_lib.corruptions import FAMILIES, MONOTONE, SEVERITIES, corrupt
from selectivity_lib.data import synthetic_dataset
from selectivity_lib.errors import ConfigError, RunFolderError
from selectivity_lib.robustness import (
    DIMENSIONALITY_FILE,
    EXAMPLES_FILE,
    ROBUSTNESS_FILE,
    load_robustness,
    pca_dimensionality,
    robustness_analysis,
)
from selectivity_lib.runfolder import BEST, read_metrics

SMALL = {"n_images": 40, "attack_images": 20}


@pytest.fixture(scope="module")
def images():
    return synthetic_dataset().test_x[:8]


def _distance(a, b):
    return (a.float() - b.float()).abs().mean().item()


def test_corruptions_are_deterministic_and_keep_shape(images):
    for family in FAMILIES:
        a, b = corrupt(images, family, 3), corrupt(images, family, 3)
        assert a.dtype == torch.uint8 and a.shape == images.shape
        assert torch.equal(a, b), family
        assert not torch.equal(a, images), f"{family} at severity 3 left the images unchanged"
    noisy = corrupt(images, "gaussian_noise", 3, seed=1)
    assert not torch.equal(noisy, corrupt(images, "gaussian_noise", 3, seed=0))  # the seed is the noise's


def test_more_severe_corruptions_move_further_from_the_clean_image(images):
    for family in MONOTONE:
        distances = [_distance(corrupt(images, family, s), images) for s in SEVERITIES]
        assert all(np.diff(distances) > 0), (family, distances)


def test_saturate_follows_the_benchmark_order(images):
    """Saturate is not monotone by design: 1-2 desaturate (2 more), 3-5 over-saturate (each more)."""
    d = [_distance(corrupt(images, "saturate", s), images) for s in SEVERITIES]
    assert d[1] > d[0] and d[2] < d[3] < d[4], d


def test_corruption_refuses_bad_input(images):
    with pytest.raises(ConfigError, match="unknown corruption 'fog'"):
        corrupt(images, "fog", 1)
    with pytest.raises(ConfigError, match="severities are 1 to 5"):
        corrupt(images, "contrast", 6)
    with pytest.raises(ConfigError, match="uint8 images"):
        corrupt(images.float(), "contrast", 1)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_dimensionality_is_k_for_data_spanning_k_directions(k):
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(k), dtype=torch.float64))
    directions = q[:, :k].T.numpy()  # k orthonormal directions in 16 dimensions
    x = np.concatenate([directions, -directions]) * 3.0 + 5.0  # equal variance along each, offset mean
    pc, pr = pca_dimensionality(x)
    assert pc == k and pr == pytest.approx(k)
    assert pca_dimensionality(np.ones((10, 4))) == (0, 0.0)
    with pytest.raises(ConfigError, match=">= 2 rows"):
        pca_dimensionality(np.ones(4))


@pytest.fixture(scope="module")
def trained_net():
    """A small CNN trained for a few seconds on the synthetic data (pixel inputs in [0, 1]), well above chance."""
    data = synthetic_dataset()
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = data.train_x.float() / 255, data.train_y
    for _ in range(150):
        batch = torch.randint(0, len(y), (128,))
        opt.zero_grad()
        F.cross_entropy(net(x[batch]), y[batch]).backward()
        opt.step()
    return net.eval()


def _own_pgd(net, x, y, eps, steps, step):
    """PGD written out (no random start): the independent check of the library's attack."""
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(net(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = (adv.detach() + step * grad.sign()).clamp(x - eps, x + eps).clamp(0, 1)
    return adv


def test_attacks_lower_accuracy_within_their_epsilon_ball(trained_net):
    import foolbox as fb

    net = trained_net
    data = synthetic_dataset()
    x, y = data.test_x[::5].float() / 255, torch.as_tensor(data.test_y[::5])  # 10 of each class
    with torch.no_grad():
        clean = (net(x).argmax(1) == y).float().mean().item()
    assert clean > 0.5  # a network that has learned something, so an attack has something to lower
    for kind in ("fgsm", "pgd"):
        eps = 32 / 255  # the synthetic classes differ by large colour patterns: a smaller ball leaves them intact
        adv = robustness._attack(net, x, y, kind, eps, seed=0)
        assert (adv - x).abs().max() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        with torch.no_grad():
            attacked = (net(adv).argmax(1) == y).float().mean().item()
        assert attacked < clean - 0.1, (kind, clean, attacked)
    # the library's PGD without its random start is the textbook iteration, step for step
    eps = 16 / 255
    steps, step = 10, 0.25 * eps
    attack = fb.attacks.LinfPGD(steps=steps, abs_stepsize=step, random_start=False)
    _, theirs, _ = attack(fb.PyTorchModel(net, bounds=(0, 1)), x, y, epsilons=eps)
    ours = _own_pgd(net, x, y, eps, steps, step)
    with torch.no_grad():
        assert (net(theirs).argmax(1) == net(ours).argmax(1)).float().mean() >= 0.98
    assert (theirs - ours).abs().max() < 1e-4 or (theirs != ours).float().mean() < 0.01


def _analyse(root, **kw):
    return robustness_analysis(root, **SMALL, progress=kw.pop("progress", lambda *_: None), **kw)


def test_robustness_analysis_writes_tables_and_resumes(tiny_sweep, tmp_path, monkeypatch):
    root = tmp_path / "sweep"
    shutil.copytree(tiny_sweep, root)
    written = _analyse(root)
    (path,) = written
    table = written[path]
    assert path == root / "resnet20" / ROBUSTNESS_FILE and (root / "resnet20" / DIMENSIONALITY_FILE).is_file()
    assert table.run.nunique() == 4
    one = table[(table.alpha == 0) & (table.seed == 0)]
    assert len(one[one.perturbation == "corruption"]) == len(FAMILIES) * len(SEVERITIES)
    assert set(one[one.perturbation == "pgd"].epsilon) == set(robustness.EPSILONS)
    assert (one.n == np.where(one.perturbation.isin(["fgsm", "pgd"]) | (one.kind == "attack subset"), 20, 40)).all()
    with np.load(root / EXAMPLES_FILE) as z:
        assert z["images"].shape == (1 + len(FAMILIES) * len(SEVERITIES), 3, 32, 32)
    robust, dims = load_robustness(root)
    assert len(robust) == len(table) and set(dims.layer) >= {"conv1"} and dims.pc95.max() <= 64

    calls = []
    original = robustness.analyse_run
    monkeypatch.setattr(robustness, "analyse_run", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    again = _analyse(root)
    assert calls == [] and again[path].drop(columns="check").equals(table.drop(columns="check"))

    # an edited row is refused by the book's reader and recomputed (only its run) by the analysis
    edited = pd.read_csv(path, dtype=str)
    edited.loc[0, "correct"] = "0"
    edited.to_csv(path, index=False)
    with pytest.raises(RunFolderError, match="do not match their checksums"):
        load_robustness(root)
    notes, written_at = [], (root / EXAMPLES_FILE).stat().st_mtime_ns
    _analyse(root, progress=notes.append)
    assert len(calls) == 1 and any("do not match" in n for n in notes)
    assert (root / EXAMPLES_FILE).stat().st_mtime_ns == written_at  # the same example images: not rewritten
    load_robustness(root)


def test_clean_accuracy_on_the_whole_test_set_matches_the_recorded_one(tiny_sweep):
    data = synthetic_dataset()
    for folder in sorted((tiny_sweep / "resnet20").glob("alpha=*/seed=*")):
        robust, _ = robustness.analyse_run(folder, data.test_x, data.test_y, {}, attack_images=2, seed=0)
        clean = next(r for r in robust if r["kind"] == "clean")
        assert clean["n"] == len(data.test_y)
        # the run may have been evaluated in bf16 autocast, the analysis is fp32: a few of 500 may flip
        assert clean["accuracy"] == pytest.approx(read_metrics(folder)["test_acc"], abs=0.03)


def test_robustness_analysis_needs_weights(tiny_sweep, tmp_path):
    root = tmp_path / "sweep"
    shutil.copytree(tiny_sweep, root)
    for best in root.rglob(BEST):
        if "alpha=-1" in str(best):
            best.unlink()
    notes = []
    written = _analyse(root, progress=notes.append)
    assert next(iter(written.values())).run.nunique() == 2
    assert any("2 run(s) have no best.pt and were left out" in n for n in notes)
    for best in root.rglob(BEST):
        best.unlink()
    (root / "resnet20" / ROBUSTNESS_FILE).unlink()
    with pytest.raises(RunFolderError, match="no run under .* could be analysed"):
        _analyse(root)
    with pytest.raises(ConfigError, match="--attack-images 50"):
        robustness_analysis(root, n_images=40, attack_images=50)
