import numpy as np
import pytest
import torch

from selectivity_lib.models import resnet20
from selectivity_lib.selectivity import (
    EPS,
    class_means,
    class_selectivity_index,
    dead_units,
    layer_weights,
    precision,
    selectivity_term,
    spatial_means,
    unit_statistics,
)


def reference_index(means: np.ndarray) -> np.ndarray:
    """Eq. 1 of the paper written out unit by unit, for non-negative class means (K,) per row."""
    out = []
    for row in means:
        k = int(np.argmax(row))
        mu_max = row[k]
        mu_rest = np.delete(row, k).mean()
        out.append((mu_max - mu_rest) / (mu_max + mu_rest + EPS))
    return np.array(out)


def test_equal_class_means_give_zero():
    means = torch.full((5, 10), 3.7)
    assert torch.allclose(class_selectivity_index(means), torch.zeros(5), atol=1e-6)


def test_unit_answering_one_class_gives_one():
    means = torch.zeros(10, 10)
    means[torch.arange(10), torch.arange(10)] = torch.rand(10) + 0.5
    assert torch.allclose(class_selectivity_index(means), torch.ones(10), atol=1e-6)


def test_matches_independent_computation():
    means = torch.rand(200, 10, dtype=torch.float64) ** 3
    expected = reference_index(means.numpy())
    np.testing.assert_allclose(class_selectivity_index(means).numpy(), expected, rtol=1e-10)


def test_invariant_to_scaling_responses():
    means = torch.rand(50, 10, dtype=torch.float64) + 0.01
    for scale in (1e-3, 0.5, 7.0, 1e4):
        # Exact up to eps: the change is at most eps * |1 - 1/scale| / (mu_max + mu_-max).
        bound = EPS * abs(1 - 1 / scale) / (2 * means.min().item())
        diff = (class_selectivity_index(scale * means) - class_selectivity_index(means)).abs().max().item()
        assert diff <= bound


def test_dead_units_give_zero_and_finite_gradient():
    means = torch.zeros(4, 10, requires_grad=True)
    si = class_selectivity_index(means)
    si.sum().backward()
    assert torch.equal(si, torch.zeros(4))
    assert torch.isfinite(means.grad).all()


def test_range_is_zero_to_one_also_with_negative_means():
    means = torch.randn(1000, 10)  # leaky-ReLU-like: negative class means occur
    si = class_selectivity_index(means)
    assert torch.isfinite(si).all() and (si >= 0).all() and (si <= 1 + 1e-6).all()
    # A unit whose preferred class is merely the least negative still counts as selective.
    shifted = torch.tensor([[-1.0] * 9 + [-0.5]])
    assert class_selectivity_index(shifted).item() == pytest.approx(1.0, abs=1e-6)
    # Non-negative units are not shifted.
    pos = torch.rand(20, 10)
    np.testing.assert_allclose(class_selectivity_index(pos).numpy(), reference_index(pos.numpy()), rtol=1e-5)


def test_absent_classes_are_left_out():
    means = torch.tensor([[4.0, 1.0, 0.0, 1.0]])
    present = torch.tensor([True, True, False, True])
    # Over the three present classes: mu_max = 4, mu_-max = 1.
    assert class_selectivity_index(means, present).item() == pytest.approx(3 / 5, abs=1e-6)
    only_one = torch.tensor([True, False, False, False])
    assert class_selectivity_index(means, only_one).item() == 0.0


def test_class_means_with_missing_class():
    responses = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    labels = torch.tensor([0, 0, 2])
    means, counts = class_means(responses, labels, 4)
    torch.testing.assert_close(means, torch.tensor([[2.0, 3.0], [0, 0], [5.0, 6.0], [0, 0]]))
    assert counts.tolist() == [2, 0, 1, 0]


def test_selectivity_term_is_mean_over_layers_of_layer_means():
    torch.manual_seed(0)
    sizes = [3, 5, 8]
    responses = torch.rand(64, sum(sizes))
    labels = torch.randint(0, 10, (64,))
    term = selectivity_term(responses, labels, 10, layer_weights(sizes))
    means, counts = class_means(responses, labels, 10)
    si = class_selectivity_index(means.T, counts > 0)
    expected = torch.stack([chunk.mean() for chunk in si.split(sizes)]).mean()
    assert term.item() == pytest.approx(expected.item(), rel=1e-6)


def test_minibatch_without_some_classes_does_not_crash():
    responses = torch.rand(8, 6, requires_grad=True)
    labels = torch.tensor([1, 1, 3, 3, 3, 7, 7, 1])
    term = selectivity_term(responses, labels, 10, layer_weights([6]))
    term.backward()
    assert torch.isfinite(term) and torch.isfinite(responses.grad).all()


@pytest.mark.parametrize("alpha", [-1.0, 1.0])
def test_gradient_step_moves_selectivity_with_sign_of_alpha(alpha):
    torch.manual_seed(0)
    model = resnet20()
    x = torch.randn(128, 3, 32, 32)
    y = torch.arange(10).repeat(13)[:128]
    weights = None
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def term():
        nonlocal weights
        _, maps = model(x, return_units=True)
        weights = weights if weights is not None else layer_weights([m.shape[1] for m in maps])
        return selectivity_term(spatial_means(maps), y, 10, weights)

    before = term()
    (-alpha * before).backward()
    opt.step()
    with torch.no_grad():
        after = term()
    assert (after - before).item() * alpha > 0, (before.item(), after.item())


def test_precision_counts_top_images():
    labels = torch.arange(10).repeat_interleave(10)  # 100 images, 10 per class
    responses = torch.zeros(100, 2)
    responses[labels == 3, 0] = 1.0  # unit 0: top 10 images all class 3
    responses[:, 1] = torch.arange(100.0)  # unit 1: top 20 are classes 8 and 9, ten each
    prec = precision(responses, labels, 10, top_n=10)
    assert prec[0].item() == 1.0 and prec[1].item() == 1.0
    prec20 = precision(responses, labels, 10, top_n=20)
    assert prec20[1].item() == pytest.approx(0.5)


def test_precision_of_sparse_unit_example_from_paper():
    # Appendix A.5: a unit answering only ten cat images has SI 1 but precision ~0.1 at N = 1000.
    labels = torch.arange(10).repeat_interleave(1000)
    responses = torch.zeros(10_000, 1)
    responses[torch.nonzero(labels == 3)[:10, 0], 0] = 1.0
    stats = unit_statistics(responses, labels, 10, top_n=1000)
    assert stats["si"].item() == pytest.approx(1.0, abs=1e-4)  # mu_max = 0.01, so eps shows at 1e-5
    # 10 cat images plus a fair share (990/9990) of the 990 tied places left: (10 + 98.1) / 1000.
    assert stats["precision"].item() == pytest.approx((10 + 990 * 990 / 9990) / 1000, rel=1e-5)


def test_precision_ties_do_not_follow_data_order():
    labels = torch.arange(10).repeat_interleave(100)  # sorted by class, as an image folder is
    responses = torch.zeros(1000, 1)
    responses[torch.arange(0, 1000, 10), 0] = 1.0  # 100 images, ten of each class, answer 1
    assert precision(responses, labels, 10, top_n=500).item() == pytest.approx(0.1, rel=1e-6)


def test_dead_units_flagged_with_no_selectivity():
    responses = torch.rand(50, 3)
    responses[:, 1] = 0
    labels = torch.arange(50) % 10
    assert dead_units(responses).tolist() == [False, True, False]
    stats = unit_statistics(responses, labels, 10, top_n=20)
    assert stats["si"][1].item() == 0.0 and stats["precision"][1].item() == pytest.approx(0.1)
    assert not torch.isnan(stats["si"]).any() and not torch.isnan(stats["precision"]).any()


def test_spatial_means_gradient_matches_autograd_mean():
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: spatial_means([t]), (x,))
    x32 = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last).requires_grad_()
    weights = torch.randn(2, 3)
    (spatial_means([x32]) * weights).sum().backward()
    torch.testing.assert_close(x32.grad, (weights / 16)[:, :, None, None].expand(2, 3, 4, 4))


@pytest.mark.parametrize("channels_last", [False, True])
def test_spatial_means_of_bf16_maps_are_exact_fp32_means_in_either_layout(channels_last):
    x = torch.rand(4, 6, 8, 8).to(torch.bfloat16)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    means = spatial_means([x, x[:, :3]])
    assert means.dtype == torch.float32 and means.shape == (4, 9)
    exact = x.double().mean(dim=(2, 3))
    torch.testing.assert_close(means.double(), torch.cat([exact, exact[:, :3]], 1), rtol=1e-6, atol=1e-7)
    x64 = torch.randn(2, 3, 5, 5, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert spatial_means([x64]).dtype == torch.float64
