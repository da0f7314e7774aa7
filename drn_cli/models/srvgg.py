"""SRVGGNetCompact: Real-ESRGAN's compact network (realesr-general-x4v3, realesr-animevideov3).

Written from the Real-ESRGAN paper's and model zoo's description: a plain VGG-style body of
3x3 convolutions at LR size, each followed by a per-channel PReLU, then one convolution to
3*s*s channels and a pixel shuffle; the input, upsampled by nearest neighbour, is added, so the
body learns a residual. Images are [0, 1] in and out. Key layout (BasicSR): `body.{i}.weight`,
`body.{i}.bias` for the convolutions and `body.{i}.weight` for the PReLUs, in order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .architecture import Architecture, Clamped, PrimalOnly, config_dict, single_output


@dataclass(frozen=True)
class SRVGGConfig:
    """scale: 1 to 4; num_feat: the body's width; num_conv: convolutions between the first and
    the last (16 in realesr-animevideov3, 32 in realesr-general-x4v3)."""

    scale: int = 4
    num_feat: int = 64
    num_conv: int = 32

    def __post_init__(self) -> None:
        if self.scale < 1 or self.num_feat < 1 or self.num_conv < 0:
            raise ValueError(f"bad SRVGGNetCompact config: {self}")

    def to_dict(self) -> dict:
        return config_dict(self)

    def describe(self) -> str:
        return f"x{self.scale}, {self.num_conv} body convolutions, {self.num_feat} features"


class SRVGGNetCompact(nn.Module):
    def __init__(self, config: SRVGGConfig) -> None:
        super().__init__()
        self.config = config
        f = config.num_feat
        layers: list[nn.Module] = [nn.Conv2d(3, f, 3, 1, 1), nn.PReLU(num_parameters=f)]
        for _ in range(config.num_conv):
            layers += [nn.Conv2d(f, f, 3, 1, 1), nn.PReLU(num_parameters=f)]
        layers.append(nn.Conv2d(f, 3 * config.scale ** 2, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [0, 1] -> (B, 3, h*s, w*s), unclamped."""
        out = F.pixel_shuffle(self.body(x), self.config.scale)
        return out + F.interpolate(x, scale_factor=self.config.scale, mode="nearest").to(out.dtype)


def detect_config(state: dict[str, torch.Tensor]) -> SRVGGConfig | None:
    """The config of an SRVGGNetCompact state dict from its keys and shapes; None otherwise.
    Only PReLU bodies carry their activations' weights, so only those are recognised (every
    released model uses PReLU)."""
    indices = sorted({int(m[1]) for k in state if (m := re.fullmatch(r"body\.(\d+)\.weight", k))})
    if not indices or indices != list(range(len(indices))) or len(indices) < 3 or len(indices) % 2 == 0:
        return None
    first, last = state["body.0.weight"], state[f"body.{indices[-1]}.weight"]
    prelu = state["body.1.weight"]
    if first.ndim != 4 or first.shape[1] != 3 or prelu.ndim != 1 or last.ndim != 4:
        return None
    scale = math.isqrt(last.shape[0] // 3)
    if scale * scale * 3 != last.shape[0]:
        return None
    try:
        return SRVGGConfig(scale=scale, num_feat=first.shape[0], num_conv=(len(indices) - 3) // 2)
    except ValueError:
        return None


ARCHITECTURE = Architecture(
    id="srvgg", label="SRVGGNetCompact",
    config=lambda d: SRVGGConfig(**d),
    detect=detect_config,
    build=lambda c: PrimalOnly(SRVGGNetCompact(c)),
    describe=SRVGGConfig.describe,
    variants={"srvgg-x4": SRVGGConfig(4, 64, 32), "srvgg-anime-x4": SRVGGConfig(4, 64, 16)},
    levels=single_output,
    level_scales=lambda c: (c.scale,),
    context=lambda c: c.num_conv + 2,  # one pixel per 3x3 convolution, all at LR size
    graph=lambda net, half: Clamped(net, half),
    # activations of 64 channels at LR size, two alive at a time, and the shuffled output
    bytes_per_lr_pixel=lambda c, device: 4 * (3 * c.num_feat + 6 * c.scale ** 2) * 4,
)
