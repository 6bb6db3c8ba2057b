"""ResNet20 and the VGG16-like network of the paper, with their "unit" layers named explicitly.

A unit is one channel (feature map) of a convolutional layer, read after the layer's nonlinearity. Calling a
model with `return_units=True` returns the logits and the post-activation maps of every unit layer, in the
order of `unit_layer_names(model)`; no hooks and no state on the module.

ResNet20 (He et al., 2016, CIFAR variant; the paper used Idelbayev's implementation): 3x3 stem conv with 16
channels, then three stages of three basic blocks with 16/32/64 channels, stride 2 at the start of stages 2
and 3, parameter-free "option A" shortcuts (subsample by 2, zero-pad the new channels), global average pool,
linear classifier. Convolutions carry no bias; Kaiming-normal initialisation.

    unit layers (19)            channels   name
    stem conv                   16         conv1
    stage 1, blocks 0-2         16         layer1.{b}.conv1, layer1.{b}.conv2
    stage 2, blocks 0-2         32         layer2.{b}.conv1, layer2.{b}.conv2
    stage 3, blocks 0-2         64         layer3.{b}.conv1, layer3.{b}.conv2
    parameters: 269,722 (10 classes); units: 688

    `layer*.conv2` is read at the block output: after the residual addition and the nonlinearity.

VGG16 with batch norm (Simonyan & Zisserman, 2015, configuration D), as in the paper's appendix A.1: the two
4096-unit fully connected layers are replaced by one 512-unit layer (no dropout), so the classifier is
512 -> 512 -> 10 on the 1x1x512 map that five max-pools leave of a 32x32 image.

    unit layers (13)            channels   name
    block 1                     64         conv1_1, conv1_2
    block 2                     128        conv2_1, conv2_2
    block 3                     256        conv3_1, conv3_2, conv3_3
    blocks 4, 5                 512        conv4_1 .. conv4_3, conv5_1 .. conv5_3
    parameters: 14,990,922 (10 classes); units: 4,224

Run `python -m selectivity_lib.models` to print these counts from the code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError

VGG16_PLAN = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class _LeakyReLUFunction(torch.autograd.Function):
    """Leaky ReLU whose backward reads the output, not the input.

    For a slope b >= 0 the output is positive exactly where the input is, so the gradient, 1 where x > 0 and
    b elsewhere, can be read from the output's sign. `nn.LeakyReLU`'s backward reads the input instead: under
    torch.compile on the CPU the pre-activation (batch norm, plus residual) is then kept in fp32 for the
    backward pass besides the activation itself, and leaky-ReLU ResNet20 trains about 1.6 times slower than
    ReLU (`bench --activations`). Saving the output, which the selectivity term reads anyway, makes it as
    fast as ReLU. Same values and same gradients as `nn.LeakyReLU`.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        y = F.leaky_relu(x, slope)
        ctx.save_for_backward(y)
        ctx.slope = slope
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (y,) = ctx.saved_tensors
        # torch's own kernel for this case (it serves in-place leaky ReLU): one fused op when eager
        return torch.ops.aten.leaky_relu_backward(grad, y, ctx.slope, True), None


class LeakyReLU(nn.Module):
    """max(x, 0) + b min(x, 0) for a slope 0 <= b < 1; see `_LeakyReLUFunction` for why not `nn.LeakyReLU`."""

    def __init__(self, negative_slope: float):
        super().__init__()
        if not 0 <= negative_slope < 1:
            raise ConfigError(f"leaky ReLU slope must lie in [0, 1), got {negative_slope}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LeakyReLUFunction.apply(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def use_torch_leaky_relu(model: nn.Module) -> nn.Module:
    """Replace the model's `LeakyReLU`s by torch's `nn.LeakyReLU`, in place: the reference that the
    benchmark (`bench --activations`) and the tests compare against."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, LeakyReLU):
                setattr(module, name, nn.LeakyReLU(child.negative_slope))
    return model


def make_activation(activation: str, slope: float = 0.0) -> nn.Module:
    if activation == "relu":
        return nn.ReLU()
    if activation == "leaky_relu":
        return LeakyReLU(slope)
    raise ConfigError(f"unknown activation {activation!r}: choose relu or leaky_relu")


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, act: callable):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act1, self.act2 = act(), act()
        # Option A: stride-2 subsampling and zero channels, no parameters.
        self.pad = (planes - in_planes) // 2 if (stride != 1 or in_planes != planes) else None

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is None:
            return x
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(h)) + self.shortcut(x))
        return h, out


class ResNet20(nn.Module):
    def __init__(self, num_classes: int = 10, activation: str = "relu", slope: float = 0.0):
        super().__init__()

        def act():
            return make_activation(activation, slope)

        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.act = act()
        blocks, in_planes = [], 16
        for stage, planes in enumerate((16, 32, 64)):
            stage_blocks = []
            for b in range(3):
                stride = 2 if (stage > 0 and b == 0) else 1
                stage_blocks.append(BasicBlock(in_planes, planes, stride, act))
                in_planes = planes
            blocks.append(nn.Sequential(*stage_blocks))
        self.layer1, self.layer2, self.layer3 = blocks
        self.linear = nn.Linear(64, num_classes)
        self.unit_layers = ["conv1"] + [f"layer{s}.{b}.conv{c}" for s in (1, 2, 3) for b in range(3) for c in (1, 2)]
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor, return_units: bool = False):
        out = self.act(self.bn1(self.conv1(x)))
        units = [out]
        for stage in (self.layer1, self.layer2, self.layer3):
            for block in stage:
                h, out = block(out)
                units += [h, out]
        logits = self.linear(out.mean(dim=(2, 3)))
        return (logits, units) if return_units else logits


class VGG16(nn.Module):
    def __init__(self, num_classes: int = 10, activation: str = "relu", slope: float = 0.0):
        super().__init__()
        self.convs, self.bns, self.acts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.unit_layers, self.pool_after = [], set()
        in_ch = 3
        for block, widths in enumerate(VGG16_PLAN, start=1):
            for i, width in enumerate(widths, start=1):
                self.convs.append(nn.Conv2d(in_ch, width, 3, padding=1))
                self.bns.append(nn.BatchNorm2d(width))
                self.acts.append(make_activation(activation, slope))
                self.unit_layers.append(f"conv{block}_{i}")
                in_ch = width
            self.pool_after.add(len(self.convs) - 1)
        self.fc = nn.Linear(512, 512)
        self.fc_act = make_activation(activation, slope)
        self.classifier = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, return_units: bool = False):
        units = []
        for i, (conv, bn, act) in enumerate(zip(self.convs, self.bns, self.acts, strict=True)):
            x = act(bn(conv(x)))
            units.append(x)
            if i in self.pool_after:
                x = F.max_pool2d(x, 2)
        logits = self.classifier(self.fc_act(self.fc(x.flatten(1))))
        return (logits, units) if return_units else logits


BUILDERS = {"resnet20": ResNet20, "vgg16": VGG16}


def build_model(name: str, activation: str = "relu", slope: float = 0.0, num_classes: int = 10) -> nn.Module:
    if name not in BUILDERS:
        raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(BUILDERS)}")
    return BUILDERS[name](num_classes=num_classes, activation=activation, slope=slope)


def resnet20(activation: str = "relu", slope: float = 0.0, num_classes: int = 10) -> ResNet20:
    """CIFAR ResNet20 with option-A shortcuts (269,722 parameters for 10 classes)."""
    return ResNet20(num_classes, activation, slope)


def vgg16(activation: str = "relu", slope: float = 0.0, num_classes: int = 10) -> VGG16:
    """VGG16 with batch norm and one 512-unit fully connected layer, as in the paper."""
    return VGG16(num_classes, activation, slope)


def unit_layer_names(model: str | nn.Module) -> list[str]:
    """The ordered names of a model's unit layers (19 for ResNet20, 13 for VGG16)."""
    if isinstance(model, str):
        if model not in BUILDERS:
            raise ConfigError(f"unknown model {model!r}: choose one of {', '.join(BUILDERS)}")
        return list(_UNIT_LAYERS[model])
    return list(model.unit_layers)


_UNIT_LAYERS = {name: builder().unit_layers for name, builder in BUILDERS.items()}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    for name in BUILDERS:
        m = build_model(name)
        _, units = m(torch.zeros(1, 3, 32, 32), return_units=True)
        widths = [u.shape[1] for u in units]
        print(f"{name}: {count_parameters(m):,} parameters, {len(widths)} unit layers, {sum(widths):,} units")
        for layer, u in zip(m.unit_layers, units, strict=True):
            print(f"    {layer:<16} {tuple(u.shape[1:])}")
