import numpy as np
import pytest
import torch

from selectivity_lib.cca import (
    cca,
    conv_to_neurons,
    mean_cca_similarity,
    pwcca_distance,
    pwcca_similarity,
    svcca_similarity,
)

rng = np.random.default_rng(0)


def direct_canonical_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Björck & Golub: singular values of Q_x^T Q_y, Q from QR of the centred (datapoints, neurons) data."""
    qx, _ = np.linalg.qr((x - x.mean(1, keepdims=True)).T)
    qy, _ = np.linalg.qr((y - y.mean(1, keepdims=True)).T)
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def direct_pwcca(x: np.ndarray, y: np.ndarray) -> float:
    """PWCCA written out: weights from the side with fewer neurons (sides of equal size: x)."""
    if len(y) < len(x):
        x, y = y, x
    xc, yc = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
    qx, rx = np.linalg.qr(xc.T)
    qy, _ = np.linalg.qr(yc.T)
    u, s, _ = np.linalg.svd(qx.T @ qy)
    variates = (qx @ u[:, : len(s)]).T  # canonical variates of x, orthonormal
    weights = np.abs(variates @ xc.T).sum(1)
    return float((weights / weights.sum()) @ s)


@pytest.mark.parametrize("n1,n2", [(8, 8), (5, 12), (12, 5)])
def test_canonical_correlations_match_direct_computation(n1, n2):
    shared = rng.standard_normal((4, 500))
    x = rng.standard_normal((n1, 4)) @ shared + 0.5 * rng.standard_normal((n1, 500))
    y = rng.standard_normal((n2, 4)) @ shared + 0.5 * rng.standard_normal((n2, 500))
    np.testing.assert_allclose(cca(x, y, epsilon=0).rho, direct_canonical_correlations(x, y), atol=1e-8)
    np.testing.assert_allclose(cca(x, y).rho, direct_canonical_correlations(x, y), atol=1e-4)


@pytest.mark.parametrize("n1,n2", [(8, 8), (5, 12), (12, 5)])
def test_pwcca_matches_written_out_formula(n1, n2):
    shared = rng.standard_normal((3, 400))
    x = rng.standard_normal((n1, 3)) @ shared + rng.standard_normal((n1, 400))
    y = rng.standard_normal((n2, 3)) @ shared + rng.standard_normal((n2, 400))
    expected = direct_pwcca(x, y) if n1 != n2 else (direct_pwcca(x, y) + direct_pwcca(y, x)) / 2
    assert pwcca_similarity(x, y, epsilon=0) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("n", [3, 16, 40])
def test_zero_distance_under_invertible_affine_map(n):
    x = rng.standard_normal((n, 2000))
    a = rng.standard_normal((n, n)) + 3 * np.eye(n)
    b = rng.standard_normal((n, 1)) * 10
    assert pwcca_distance(x, a @ x + b) < 1e-3
    assert pwcca_distance(x, x) < 1e-6
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))  # a rotation
    assert pwcca_distance(x, q @ x) < 1e-3


@pytest.mark.parametrize("n1,n2", [(10, 10), (6, 15), (15, 6)])
def test_symmetric(n1, n2):
    shared = rng.standard_normal((4, 800))
    x = rng.standard_normal((n1, 4)) @ shared + rng.standard_normal((n1, 800))
    y = rng.standard_normal((n2, 4)) @ shared + rng.standard_normal((n2, 800))
    assert pwcca_distance(x, y) == pytest.approx(pwcca_distance(y, x), abs=1e-9)


def test_unrelated_layers_are_far_and_partly_shared_in_between():
    x = rng.standard_normal((10, 3000))
    unrelated = rng.standard_normal((10, 3000))
    half = np.vstack([x[:5], rng.standard_normal((5, 3000))])
    d_far, d_half = pwcca_distance(x, unrelated), pwcca_distance(x, half)
    assert d_far > 0.8 and 0.3 < d_half < 0.7


def test_constant_and_dead_neurons_are_dropped():
    x = rng.standard_normal((6, 500))
    with_dead = np.vstack([x, np.zeros((3, 500)), np.full((1, 500), 2.0)])
    assert pwcca_distance(x, with_dead) < 1e-6
    assert np.isfinite(pwcca_distance(with_dead, rng.standard_normal((7, 500))))
    with pytest.raises(ValueError, match="no neuron with variance"):
        pwcca_distance(np.zeros((4, 100)), x[:, :100])


def test_more_neurons_than_datapoints_stays_finite():
    x, y = rng.standard_normal((50, 30)), rng.standard_normal((40, 30))
    d = pwcca_distance(x, y)
    assert np.isfinite(d) and 0 <= d <= 1


def test_svcca_and_mean_cca():
    x = rng.standard_normal((12, 1000))
    assert svcca_similarity(x, 2 * x + 1) == pytest.approx(1.0, abs=1e-3)
    assert 0 <= mean_cca_similarity(x, rng.standard_normal((12, 1000))) < 0.3


def test_conv_to_neurons_shapes_and_shared_positions():
    maps = torch.randn(20, 8, 6, 6)
    full = conv_to_neurons(maps, "positions", max_datapoints=10_000)
    assert full.shape == (8, 20 * 36)
    np.testing.assert_array_equal(full[:, :36], maps[0].reshape(8, 36).numpy())
    sub1 = conv_to_neurons(maps, "positions", max_datapoints=100, seed=3)
    sub2 = conv_to_neurons(maps * 2, "positions", max_datapoints=100, seed=3)
    assert sub1.shape == (8, 100)
    np.testing.assert_allclose(2 * sub1, sub2)  # same datapoints for another network
    means = conv_to_neurons(maps, "mean")
    np.testing.assert_allclose(means, maps.mean(dim=(2, 3)).T.numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduce", ["positions", "mean"])
def test_conv_to_neurons_in_batches_is_the_whole_set(reduce):
    # the CCA analysis feeds a network's test images in batches; its datapoints must be the one-call ones
    maps = torch.randn(10, 4, 3, 3)
    whole = conv_to_neurons(maps, reduce, max_datapoints=25, seed=1)
    batches = [conv_to_neurons(maps[i : i + 4], reduce, 25, 1, total_images=10, offset=i) for i in (0, 4, 8)]
    np.testing.assert_array_equal(np.concatenate(batches, axis=1), whole)
