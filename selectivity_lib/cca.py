"""CCA, SVCCA and PWCCA between two layers' activations (Raghu et al., 2017; Morcos et al., 2018a).

Activations are arrays shaped (neurons, datapoints), the same datapoints (images, or image positions) in
the same order on both sides. Each neuron is centred; neurons whose standard deviation is below
`drop_tol` times the largest one (dead or constant units) are dropped, since they carry no variance to
correlate. Covariances are regularised by `epsilon` times their mean eigenvalue before the inverse square
root, which keeps CCA finite when a layer has nearly as many neurons as datapoints or collinear neurons.

PWCCA weights each canonical correlation by how much of the layer's centred activity its canonical variate
accounts for: alpha_i = sum_j |<q_i, x_j>| over the neurons x_j, with q_i the orthonormalised canonical
variates, taken on the side with fewer neurons. When both sides have the same number of neurons (the same
layer of two replicate networks) the two weightings are averaged, so `pwcca_distance(a, b)` equals
`pwcca_distance(b, a)` by construction. (The public reference implementation, `pwcca.py` of google/svcca,
computes the second side's variates from acts1 instead of acts2; that slip is not inherited here.)

How a convolutional layer becomes (neurons, datapoints): see `conv_to_neurons`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class CCAResult:
    rho: np.ndarray  # (k,) canonical correlations, descending, k = min(kept neurons of each side, m - 1)
    h1: np.ndarray  # (k, m) canonical variates of side 1
    h2: np.ndarray  # (k, m) canonical variates of side 2
    x1: np.ndarray  # (n1, m) centred kept neurons of side 1
    x2: np.ndarray  # (n2, m) centred kept neurons of side 2


def _center_and_filter(acts: np.ndarray, drop_tol: float) -> np.ndarray:
    x = np.asarray(acts, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"activations must be shaped (neurons, datapoints), got shape {x.shape}")
    x = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1)
    keep = std > drop_tol * max(std.max(initial=0.0), np.finfo(np.float64).tiny)
    return x[keep]


def _inv_sqrt(cov: np.ndarray, epsilon: float) -> np.ndarray:
    cov = cov + epsilon * np.trace(cov) / len(cov) * np.eye(len(cov))
    w, v = np.linalg.eigh(cov)
    w = np.maximum(w, np.finfo(np.float64).eps * w.max())
    return (v / np.sqrt(w)) @ v.T


def cca(acts1: np.ndarray, acts2: np.ndarray, epsilon: float = 1e-8, drop_tol: float = 1e-6) -> CCAResult:
    """Canonical correlation analysis. acts1: (n1, m), acts2: (n2, m). See the module docstring."""
    x1, x2 = _center_and_filter(acts1, drop_tol), _center_and_filter(acts2, drop_tol)
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"both sides need the same datapoints, got {x1.shape[1]} and {x2.shape[1]}")
    if len(x1) == 0 or len(x2) == 0:
        raise ValueError("a side has no neuron with variance (all dead or constant): CCA is undefined")
    m = x1.shape[1]
    i11 = _inv_sqrt(x1 @ x1.T / (m - 1), epsilon)
    i22 = _inv_sqrt(x2 @ x2.T / (m - 1), epsilon)
    u, s, vt = np.linalg.svd(i11 @ (x1 @ x2.T / (m - 1)) @ i22, full_matrices=False)
    k = min(len(s), m - 1)  # centred data has rank <= m - 1: further pairs are numerical noise
    return CCAResult(np.clip(s[:k], 0.0, 1.0), u[:, :k].T @ i11 @ x1, vt[:k] @ i22 @ x2, x1, x2)


def mean_cca_similarity(acts1: np.ndarray, acts2: np.ndarray, **kw) -> float:
    """Unweighted mean canonical correlation. acts: (neurons, datapoints)."""
    return float(cca(acts1, acts2, **kw).rho.mean())


def _projection_weights(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """h: (k, m) canonical variates, x: (n, m) centred neurons of the same side -> (k,) weights summing to 1."""
    q, _ = np.linalg.qr(h.T)  # (m, k), orthonormal columns spanning the variates
    w = np.abs(q.T @ x.T).sum(axis=1)
    return w / w.sum()


def pwcca_similarity(acts1: np.ndarray, acts2: np.ndarray, **kw) -> float:
    """Projection-weighted mean canonical correlation in [0, 1]. acts: (neurons, datapoints)."""
    r = cca(acts1, acts2, **kw)
    n1, n2 = len(r.x1), len(r.x2)
    sims = []
    if n1 <= n2:
        sims.append(float(_projection_weights(r.h1, r.x1) @ r.rho))
    if n2 <= n1:
        sims.append(float(_projection_weights(r.h2, r.x2) @ r.rho))
    return float(np.mean(sims))


def pwcca_distance(acts1: np.ndarray, acts2: np.ndarray, **kw) -> float:
    """PWCCA distance rho = 1 - projection-weighted mean canonical correlation. acts: (neurons, datapoints).

    0 for identical layers and for layers related by an invertible affine map; larger is more dissimilar.
    """
    return 1.0 - pwcca_similarity(acts1, acts2, **kw)


def svcca_similarity(acts1: np.ndarray, acts2: np.ndarray, variance: float = 0.99, **kw) -> float:
    """SVCCA: keep the top singular directions of each side explaining `variance` of it, then mean CCA.

    acts: (neurons, datapoints).
    """

    def reduce(acts):
        x = np.asarray(acts, dtype=np.float64)
        x = x - x.mean(axis=1, keepdims=True)
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        keep = int(np.searchsorted(np.cumsum(s**2) / np.sum(s**2), variance) + 1)
        return s[:keep, None] * vt[:keep]

    return mean_cca_similarity(reduce(acts1), reduce(acts2), **kw)


def conv_to_neurons(
    maps: torch.Tensor,
    reduce: str = "positions",
    max_datapoints: int = 10_000,
    seed: int = 0,
    total_images: int | None = None,
    offset: int = 0,
) -> np.ndarray:
    """A convolutional layer's maps (N images, C channels, H, W) -> (C neurons, datapoints) float32.

    reduce="positions": every (image, y, x) position is a datapoint, as in Morcos et al. (2018a); if there
    are more than `max_datapoints`, a seeded random subset is kept. The subset depends only on (N, H, W)
    and the seed, so two networks' same layer always get the same datapoints. Memory: C x max_datapoints.
    reduce="mean": one datapoint per image, the spatial mean (the unit response used for selectivity).

    `maps` may be one batch of a larger set: images `offset` to `offset + N` of `total_images`. The subset is
    then drawn over the whole set's positions and the batch's share of it returned, so the batches' results,
    concatenated in order, are exactly what one call on the whole set returns.
    """
    n, c, h, w = maps.shape
    if reduce == "mean":
        return maps.float().mean(dim=(2, 3)).T.numpy()
    if reduce != "positions":
        raise ValueError(f"reduce must be 'positions' or 'mean', got {reduce!r}")
    total = (n if total_images is None else total_images) * h * w
    picks = position_sample(total, max_datapoints, seed)
    lo, hi = offset * h * w, (offset + n) * h * w
    local = picks[(picks >= lo) & (picks < hi)] - lo
    return maps.float().permute(1, 0, 2, 3).reshape(c, n * h * w)[:, local].numpy()


@functools.lru_cache(maxsize=64)  # one per layer shape: every batch and every network of an analysis share it
def position_sample(total: int, max_datapoints: int, seed: int = 0) -> torch.Tensor:
    """Sorted indices of the datapoints kept out of `total`: all, or a seeded subset of `max_datapoints`."""
    if total <= max_datapoints:
        return torch.arange(total)
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:max_datapoints].sort().values
