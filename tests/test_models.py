import pytest
import torch
from torch import nn

from selectivity_lib.errors import ConfigError
from selectivity_lib.models import (
    LeakyReLU,
    build_model,
    count_parameters,
    resnet20,
    unit_layer_names,
    use_torch_leaky_relu,
    vgg16,
)


def independent_count(model: nn.Module) -> int:
    """Parameter count from layer shapes: conv k*k*in*out (+out bias), BN 2*C, linear in*out + out."""
    total = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            total += m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            total += m.out_channels if m.bias is not None else 0
        elif isinstance(m, nn.BatchNorm2d):
            total += 2 * m.num_features
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features + m.out_features
    return total


def test_resnet20_has_paper_parameter_count():
    model = resnet20()
    assert count_parameters(model) == 269_722 == independent_count(model)


def test_resnet20_shortcuts_are_parameter_free():
    # 19 convs without bias: 3*16*9 + 6 blocks' worth of 3x3 kernels; nothing else but BN and the classifier.
    convs = [m for m in resnet20().modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 19 and all(m.kernel_size == (3, 3) and m.bias is None for m in convs)


def test_vgg16_parameter_count_and_single_512_fc():
    model = vgg16()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 512), (512, 10)]
    assert count_parameters(model) == independent_count(model) == 14_990_922


@pytest.mark.parametrize("name,layers,units", [("resnet20", 19, 688), ("vgg16", 13, 4224)])
def test_unit_layers_and_output_shapes(name, layers, units):
    model = build_model(name).eval()
    x = torch.randn(4, 3, 32, 32)
    logits, maps = model(x, return_units=True)
    assert logits.shape == (4, 10)
    assert len(maps) == layers == len(unit_layer_names(name))
    assert sum(m.shape[1] for m in maps) == units
    assert all(m.shape[0] == 4 and m.ndim == 4 for m in maps)
    torch.testing.assert_close(model(x), logits)


def test_resnet_block_output_is_read_after_addition_and_relu():
    model = resnet20().eval()
    x = torch.randn(2, 3, 32, 32)
    _, maps = model(x, return_units=True)
    block = model.layer1[0]
    h, out = block(maps[0])
    torch.testing.assert_close(maps[1], h)
    torch.testing.assert_close(maps[2], out)
    expected = torch.relu(block.bn2(block.conv2(h)) + maps[0])
    torch.testing.assert_close(out, expected)


def test_leaky_relu_gives_negative_responses():
    model = resnet20(activation="leaky_relu", slope=0.5).eval()
    _, maps = model(torch.randn(2, 3, 32, 32), return_units=True)
    assert all((m < 0).any() for m in maps)
    relu_maps = resnet20().eval()(torch.randn(2, 3, 32, 32), return_units=True)[1]
    assert all((m >= 0).all() for m in relu_maps)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_leaky_relu_matches_torch_in_values_and_gradients(dtype):
    # the project's leaky ReLU reads its gradient from the output's sign; it must agree with torch's
    # everywhere, including at 0 and at values the dtype rounds (bf16 is what the trainer runs in on CPUs)
    x = torch.cat([torch.randn(1000, dtype=torch.float64) * 3, torch.tensor([0.0, -0.0, 1e-30, -1e-30])])
    x = x.to(dtype)
    grad = torch.randn_like(x)
    for slope in (0.5, 0.01):
        ours, ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        y_ours, y_ref = LeakyReLU(slope)(ours), nn.LeakyReLU(slope)(ref)
        y_ours.backward(grad)
        y_ref.backward(grad)
        assert torch.equal(y_ours, y_ref)
        assert torch.equal(ours.grad, ref.grad)


def test_leaky_relu_keeps_only_its_output_for_the_backward_pass():
    # the reason it exists: torch's keeps the input, which a compiled step then stores as an extra fp32 tensor
    saved = []
    x = torch.randn(8, 4, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = LeakyReLU(0.5)(x * 1.0)
    assert len(saved) == 1 and saved[0].data_ptr() == y.data_ptr()


def test_leaky_relu_model_keeps_torch_gradients():
    torch.manual_seed(0)
    model = resnet20(activation="leaky_relu", slope=0.5)
    reference = resnet20(activation="leaky_relu", slope=0.5)
    reference.load_state_dict(model.state_dict())
    use_torch_leaky_relu(reference)
    assert sum(isinstance(m, nn.LeakyReLU) for m in reference.modules()) == 19
    assert not any(isinstance(m, LeakyReLU) for m in reference.modules())
    x = torch.randn(4, 3, 32, 32)
    for net in (model, reference):
        net(x).square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0, msg=name)


def test_leaky_relu_rejects_a_slope_outside_0_1():
    with pytest.raises(ConfigError, match="slope must lie in"):
        LeakyReLU(-0.5)


def test_unknown_model_and_activation_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("resnet56")
    with pytest.raises(ConfigError, match="unknown activation"):
        build_model("resnet20", activation="gelu")
