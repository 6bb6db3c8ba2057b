"""CIFAR-10-C-style corruptions, generated here, deterministically (CIFAR-10-C itself cannot be downloaded).

The families and their five CIFAR-sized severities are those of Hendrycks & Dietterich (2019, "Benchmarking
neural network robustness to common corruptions and perturbations"), the benchmark the authors' follow-up
(Leavitt & Morcos, arXiv 2010.07693) evaluates ResNet20 on. The image operations come from maintained
libraries rather than being re-implemented: torchvision for Gaussian blur and JPEG encoding, Pillow's box
filter for pixelation, matplotlib's RGB<->HSV conversion for brightness and saturation, torch's `conv2d` and
`grid_sample` for the defocus disk and the elastic warp; the noises are one line of torch each. Where a
library's operation differs in a detail from the benchmark's (border handling of a blur, the interpolation
of the elastic warp) the difference is at the border pixels of a 32x32 image; the parameters are the
benchmark's, so severity 1 to 5 mean what they mean there.

Not every family is further from the clean image at every higher severity, in the benchmark as here:
`saturate` desaturates at severities 1-2 and over-saturates at 3-5, and `elastic` trades a shrinking random
affine warp for a growing elastic one. `MONOTONE` names the families whose distance from the clean image grows
with severity (tested).

Randomness (noise, the elastic field) comes from a torch.Generator seeded by (seed, family, severity), so
every network is evaluated on the same corrupted images, and a second run of the analysis makes them again.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from .errors import ConfigError

SEVERITIES = (1, 2, 3, 4, 5)

# Hendrycks & Dietterich's CIFAR parameters, per severity 1..5 (make_cifar_c).
PARAMETERS = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),  # noise SD, image in [0, 1]
    "shot_noise": (500, 250, 100, 75, 50),  # photons per unit intensity (fewer: noisier)
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),  # fraction of values set to 0 or 1
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),  # disk radius, its blur SD
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),  # SD in pixels
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),  # factor towards each channel's mean
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),  # added to HSV value
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),  # HSV saturation * a + b
    "jpeg_compression": (80, 65, 58, 50, 40),  # JPEG quality
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),  # side of the downsampled image, as a fraction
    "elastic_transform": tuple(  # elastic amplitude, its smoothing SD, random affine shift (pixels, of 32)
        (32 * a, 32 * s, 32 * f)
        for a, s, f in ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))
    ),
}
FAMILIES = tuple(PARAMETERS)
MONOTONE = tuple(f for f in FAMILIES if f not in ("saturate", "elastic_transform"))


def _gaussian_noise(x, c, g):
    return x + torch.randn(x.shape, generator=g) * c


def _shot_noise(x, c, g):
    return torch.poisson(x * c, generator=g) / c


def _impulse_noise(x, c, g):
    hit = torch.rand(x.shape, generator=g) < c
    salt = torch.rand(x.shape, generator=g) < 0.5
    return torch.where(hit, salt.to(x.dtype), x)


def _blur_size(sigma: float, truncate: float) -> int:
    return 2 * int(truncate * sigma + 0.5) + 1


def _defocus_blur(x, c, g):
    radius, alias_sigma = c
    span = torch.arange(-8, 9, dtype=torch.float32)
    disk = ((span[:, None] ** 2 + span[None, :] ** 2) <= radius**2).float()
    disk = TF.gaussian_blur(disk[None, None] / disk.sum(), [3, 3], [alias_sigma, alias_sigma])[0, 0]
    kernel = disk[5:12, 5:12]  # the disk (radius <= 1.5) and its blur lie inside the central 7 x 7
    kernel = (kernel / kernel.sum()).expand(3, 1, 7, 7)
    return F.conv2d(F.pad(x, (3, 3, 3, 3), mode="reflect"), kernel, groups=3)


def _gaussian_blur(x, c, g):
    size = _blur_size(c, 4.0)
    return TF.gaussian_blur(x, [size, size], [c, c])


def _contrast(x, c, g):
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) * c + mean


def _in_hsv(x, change):
    hsv = rgb_to_hsv(x.permute(0, 2, 3, 1).clamp(0, 1).numpy())
    change(hsv)
    return torch.from_numpy(hsv_to_rgb(np.clip(hsv, 0, 1))).permute(0, 3, 1, 2).float()


def _brightness(x, c, g):
    def add(hsv):
        hsv[..., 2] += c

    return _in_hsv(x, add)


def _saturate(x, c, g):
    def scale(hsv):
        hsv[..., 1] = hsv[..., 1] * c[0] + c[1]

    return _in_hsv(x, scale)


def _jpeg_compression(x, c, g):
    return TF.jpeg(_to_uint8(x), quality=c).float() / 255


def _pixelate(x, c, g):
    n, _, h, w = x.shape
    small = (int(w * c), int(h * c))
    out = []
    for image in _to_uint8(x).permute(0, 2, 3, 1).numpy():
        pil = Image.fromarray(image).resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BOX)
        out.append(torch.from_numpy(np.asarray(pil).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).float() / 255


def _elastic_transform(x, c, g):
    amplitude, sigma, shift = c
    n, _, h, w = x.shape
    # a random affine warp: three points each moved by up to `shift` pixels, as the benchmark does
    centre, third = min(h, w) // 2, min(h, w) // 3
    src = torch.tensor(
        [[centre + third, centre + third], [centre + third, centre - third], [centre - third, centre - third]],
        dtype=torch.float64,
    )
    dst = src + (torch.rand((n, 3, 2), generator=g, dtype=torch.float64) * 2 - 1) * shift
    # the map from output to input pixel (x, y): the inverse of the affine map that takes src to dst
    ones = torch.ones(n, 3, 1, dtype=torch.float64)
    inverse = torch.linalg.solve(torch.cat([dst, ones], dim=2), src.expand(n, 3, 2))  # (n, 3, 2)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    field = torch.rand((n, 2, h, w), generator=g) * 2 - 1
    if sigma > 0:
        size = min(_blur_size(sigma, 3.0), 2 * min(h, w) - 1)
        field = TF.gaussian_blur(field, [size, size], [sigma, sigma])
    field = field.double() * amplitude
    px, py = xs + field[:, 0], ys + field[:, 1]  # the elastic displacement, then the affine warp
    points = torch.stack([px, py, torch.ones_like(px)], dim=-1)  # (n, h, w, 3)
    source = points @ inverse[:, None]  # (n, h, w, 2), input pixel coordinates (x, y)
    grid = torch.stack([source[..., 0] * 2 / (w - 1) - 1, source[..., 1] * 2 / (h - 1) - 1], dim=-1)
    return F.grid_sample(x, grid.float(), mode="bilinear", padding_mode="reflection", align_corners=True)


_APPLY = {name: globals()[f"_{name}"] for name in FAMILIES}


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def corrupt(images: torch.Tensor, family: str, severity: int, seed: int = 0) -> torch.Tensor:
    """`images` (uint8, N x 3 x H x W) under one corruption at one severity (1-5), as uint8 (the images are
    stored and evaluated as CIFAR-10-C's are). Deterministic in (images, family, severity, seed)."""
    if family not in PARAMETERS:
        raise ConfigError(f"unknown corruption {family!r}: choose from {', '.join(FAMILIES)}")
    if severity not in SEVERITIES:
        raise ConfigError(f"severity {severity!r}: the benchmark's severities are 1 to 5")
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ConfigError(f"corrupt needs uint8 images of shape (N, 3, H, W), not {images.dtype} {tuple(images.shape)}")
    g = torch.Generator().manual_seed(hash_seed(seed, FAMILIES.index(family), severity))
    x = images.float() / 255
    return _to_uint8(_APPLY[family](x, PARAMETERS[family][severity - 1], g))


def hash_seed(*parts: int) -> int:
    """One generator seed from several small integers (stable across processes, unlike hash())."""
    out = 0
    for p in parts:
        out = (out * 1_000_003 + int(p)) % (2**63 - 1)
    return out
