"""The class selectivity index, the regularizer's selectivity term, precision and dead units.

Every function here is a pure function on tensors; where the responses come from (a minibatch during
training, the whole test set for analysis) is the caller's business.

Shapes: N images, U units, K classes. A unit's response to an image is the spatial mean of its feature map
after the nonlinearity.

The index (Morcos et al., 2018; eq. 1 of the paper) of a unit with class-conditional mean responses
mu_1..mu_K is

    SI = (mu_max - mu_-max) / (mu_max + mu_-max + eps),   eps = 1e-7,

mu_max the largest class mean and mu_-max the mean of the other K - 1 class means. It is 0 when all classes
get the same mean response and 1 when only one class evokes any response. A dead unit (all means 0) gets
0/eps = 0, not NaN.

Negative responses (leaky ReLU): the formula assumes non-negative responses; with negative class means the
denominator can vanish or change sign and the index leaves [0, 1]. We therefore translate a unit's class
means so that the smallest is zero whenever any of them is negative: SI(mu) = SI(mu - min(0, min_k mu_k)).
ReLU units are untouched, the index stays in [0, 1], it keeps its scale invariance, and it stays
differentiable. It then measures how far the preferred class stands above the others relative to the unit's
range above its least-driven class.
"""

from __future__ import annotations

import torch

EPS = 1e-7


def class_selectivity_index(
    class_means: torch.Tensor, present: torch.Tensor | None = None, eps: float = EPS
) -> torch.Tensor:
    """Selectivity index per unit.

    class_means: (..., K) class-conditional mean responses. present: optional bool (K,) or (..., K) marking
    the classes that were observed (a minibatch may miss some); absent classes are left out of both mu_max
    and mu_-max. Returns (...). Units with fewer than two observed classes get 0.
    """
    m = class_means
    if present is None:
        present = torch.ones(m.shape[-1], dtype=torch.bool, device=m.device)
    present = present.expand_as(m)
    lowest = torch.where(present, m, torch.inf).amin(-1, keepdim=True)
    m = m - lowest.clamp(max=0)  # only shifts units with a negative class mean
    n = present.sum(-1)
    mu_max = torch.where(present, m, -torch.inf).amax(-1)
    total = torch.where(present, m, 0).sum(-1)
    mu_rest = (total - mu_max) / (n - 1).clamp(min=1)
    si = (mu_max - mu_rest) / (mu_max + mu_rest + eps)
    return torch.where(n >= 2, si, torch.zeros_like(si))


def class_means(responses: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-conditional means with one scatter.

    responses: (N, U), labels: (N,) int. Returns means (K, U) (0 for classes with no image) and counts (K,).
    Differentiable with respect to `responses`.
    """
    sums = responses.new_zeros(num_classes, responses.shape[1]).index_add(0, labels, responses)
    counts = torch.bincount(labels, minlength=num_classes)
    return sums / counts.clamp(min=1).unsqueeze(1).to(sums.dtype), counts


class _SpatialMean(torch.autograd.Function):
    """Spatial mean in fp32 whose gradient is a broadcast view in the map's own dtype and layout.

    Autograd's own mean would hand back a full-size fp32 NCHW gradient per map; adding that to a bf16
    channels-last gradient costs several passes over every activation, which made the selectivity term
    cost about half a training step on the CPU. A stride-0 view is added in one pass.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.dtype = x.shape, x.dtype
        return x.mean(dim=(2, 3), dtype=torch.promote_types(x.dtype, torch.float32))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        n, c, h, w = ctx.shape
        return (grad / (h * w)).to(ctx.dtype)[:, :, None, None].expand(n, c, h, w)


def spatial_means(feature_maps: list[torch.Tensor]) -> torch.Tensor:
    """Unit responses of several layers side by side: list of (N, C_l, H, W) -> (N, sum C_l), at least fp32."""
    return torch.cat([_SpatialMean.apply(f) for f in feature_maps], dim=1)


def layer_weights(layer_sizes: list[int], device=None) -> torch.Tensor:
    """(U,) weights that turn per-unit values into the mean over layers of per-layer means (eq. 3)."""
    sizes = torch.tensor(layer_sizes, dtype=torch.float32, device=device)
    return torch.repeat_interleave(1.0 / (len(layer_sizes) * sizes), sizes.long())


def selectivity_term(
    responses: torch.Tensor, labels: torch.Tensor, num_classes: int, weights: torch.Tensor
) -> torch.Tensor:
    """mu_SI of a minibatch: mean over layers of the mean SI of each layer's units.

    responses: (B, U) fp32, every unit layer side by side; weights: (U,) from `layer_weights`. Classes
    missing from the minibatch are left out of each unit's index. Returns a scalar tensor.
    """
    means, counts = class_means(responses, labels, num_classes)
    si = class_selectivity_index(means.T, present=counts > 0)
    return (si * weights).sum()


def precision(responses: torch.Tensor, labels: torch.Tensor, num_classes: int, top_n: int = 1000) -> torch.Tensor:
    """Precision of each unit (appendix A.5): the share of its `top_n` most activating images that belong
    to the most common class among them. responses: (N, U), labels: (N,). Returns (U,) in [1/K, 1].

    Ties at the threshold are shared fairly: when the `top_n`-th largest response is tied (ReLU units often
    answer 0 to many images), the free places are split among the tied images in proportion to their
    classes, the expectation under random tie-breaking. Taking tied images by index instead would favour
    whichever class comes first in the data's order. A dead unit thus gets the largest class share, 1/K on
    a balanced test set.
    """
    top_n = min(top_n, responses.shape[0])
    threshold = responses.topk(top_n, dim=0).values[-1]  # (U,)
    onehot = torch.nn.functional.one_hot(labels, num_classes).to(responses.dtype)  # (N, K)
    above = (responses > threshold).T.to(responses.dtype) @ onehot  # (U, K)
    tied = (responses == threshold).T.to(responses.dtype) @ onehot  # (U, K)
    free = top_n - above.sum(1, keepdim=True)
    counts = above + tied * free / tied.sum(1, keepdim=True)
    return counts.amax(1) / top_n


def dead_units(responses: torch.Tensor) -> torch.Tensor:
    """(U,) bool: units whose response is exactly 0 on every image (appendix A.6). responses: (N, U)."""
    return (responses == 0).all(dim=0)


def unit_statistics(
    responses: torch.Tensor, labels: torch.Tensor, num_classes: int, top_n: int = 1000
) -> dict[str, torch.Tensor]:
    """All per-unit test-set results at once. responses: (N, U) fp32, labels: (N,).

    Returns class_means (U, K), si (U,), precision (U,), dead (U,) bool.
    """
    means, _ = class_means(responses, labels, num_classes)
    return {
        "class_means": means.T.contiguous(),
        "si": class_selectivity_index(means.T),
        "precision": precision(responses, labels, num_classes, top_n),
        "dead": dead_units(responses),
    }
