"""RRDBNet: the ESRGAN generator (Wang et al., ECCV 2018 workshops), which Real-ESRGAN's
RealESRGAN_x4plus, x2plus and anime_6B and thousands of community ESRGAN files use.

Written from the ESRGAN paper: a first convolution, a trunk of Residual-in-Residual Dense Blocks
(three dense blocks of five 3x3 convolutions each, every convolution seeing all earlier outputs,
LeakyReLU 0.2, each block's output scaled by 0.2 and added to its input; the three blocks' sum
scaled by 0.2 again), a trunk convolution added back to the first features, then nearest
upsampling by 2 followed by a convolution (and LeakyReLU) per step, a high-resolution
convolution and the last one. Real-ESRGAN's x2 and x1 models first fold the input into channels
(pixel unshuffle by 2 or 4) and always upsample twice. Images are [0, 1] in and out.

Two key layouts are read: BasicSR's (`conv_first`, `body.N.rdb1.conv1`, `conv_body`, `conv_up1`,
`conv_hr`, `conv_last`; Real-ESRGAN's files, under `params` or `params_ema`) and the original
ESRGAN repository's (`model.0`, `model.1.sub.N.RDB1.conv1.0`, `model.1.sub.{N}`, `model.3`, ...),
renamed to BasicSR's on load.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .architecture import Architecture, Clamped, PrimalOnly, config_dict, single_output

SLOPE = 0.2      # LeakyReLU's negative slope
RESIDUAL = 0.2   # the scale of each dense block's (and each RRDB's) residual


@dataclass(frozen=True)
class RRDBConfig:
    """scale: the model's factor; num_feat: trunk width (64); num_block: RRDBs (23 in x4plus, 6 in
    anime_6B); num_grow_ch: channels each dense convolution adds (32); upsamples: 2x nearest +
    convolution steps (log2(scale) in ESRGAN's files; 2 in Real-ESRGAN's, whose x2 and x1 models
    unshuffle their input by 2 or 4 first)."""

    scale: int = 4
    num_feat: int = 64
    num_block: int = 23
    num_grow_ch: int = 32
    upsamples: int = 2

    def __post_init__(self) -> None:
        if min(self.scale, self.num_feat, self.num_block, self.num_grow_ch) < 1 or self.upsamples < 0:
            raise ValueError(f"bad RRDBNet config: {self}")
        if (2 ** self.upsamples) % self.scale and self.scale % (2 ** self.upsamples):
            raise ValueError(f"x{self.scale} cannot be made with {self.upsamples} 2x steps")
        if self.unshuffle not in (1, 2, 4):
            raise ValueError(f"x{self.scale} with {self.upsamples} 2x steps is not an ESRGAN layout")

    @property
    def unshuffle(self) -> int:
        """The pixel-unshuffle factor of the input: 2**upsamples / scale (1: none)."""
        return max(1, 2 ** self.upsamples // self.scale)

    def to_dict(self) -> dict:
        return config_dict(self)

    def describe(self) -> str:
        return f"x{self.scale}, {self.num_block} RRDBs, {self.num_feat} features"


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1)


class DenseBlock(nn.Module):
    """Five convolutions, each on the concatenation of the input and every earlier output."""

    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        for i in range(1, 6):
            setattr(self, f"conv{i}", _conv(nf + (i - 1) * gc, gc if i < 5 else nf))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for i in range(1, 5):
            features.append(F.leaky_relu(getattr(self, f"conv{i}")(torch.cat(features, 1)), SLOPE))
        return self.conv5(torch.cat(features, 1)) * RESIDUAL + x


class RRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = DenseBlock(nf, gc), DenseBlock(nf, gc), DenseBlock(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * RESIDUAL + x


class RRDBNet(nn.Module):
    def __init__(self, config: RRDBConfig) -> None:
        super().__init__()
        self.config = config
        nf = config.num_feat
        self.conv_first = _conv(3 * config.unshuffle ** 2, nf)
        self.body = nn.Sequential(*(RRDB(nf, config.num_grow_ch) for _ in range(config.num_block)))
        self.conv_body = _conv(nf, nf)
        for i in range(1, config.upsamples + 1):
            setattr(self, f"conv_up{i}", _conv(nf, nf))
        self.conv_hr = _conv(nf, nf)
        self.conv_last = _conv(nf, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [0, 1] -> (B, 3, h*s, w*s), unclamped; h and w divisible by the
        unshuffle factor (_levels pads them)."""
        if self.config.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.config.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for i in range(1, self.config.upsamples + 1):
            feat = F.leaky_relu(getattr(self, f"conv_up{i}")(F.interpolate(feat, scale_factor=2, mode="nearest")), SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), SLOPE))


def _levels(net: RRDBNet, lr: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
    """single_output, the input first padded (edge pixels repeated) to a multiple of the unshuffle
    factor and the output cropped back: a x2plus model takes any size."""
    u, s = net.config.unshuffle, net.config.scale
    h, w = lr.shape[-2:]
    if h % u or w % u:
        lr = F.pad(lr, (0, -w % u, 0, -h % u), mode="replicate")
    return [out[..., : h * s, : w * s] for out in single_output(net, lr, dtype)]


def rename(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The original ESRGAN layout's keys as BasicSR's (a BasicSR state dict is returned as it is).
    ESRGAN's Sequential: model.0 the first convolution, model.1.sub.{i} the RRDBs and, last, the
    trunk convolution, then per upsampling step (upsample, conv, LeakyReLU), then the HR
    convolution, a LeakyReLU and the last convolution."""
    if "model.0.weight" not in state:
        return state
    convs = sorted({int(m[1]) for k in state if (m := re.fullmatch(r"model\.(\d+)\.weight", k))})
    names = {0: "conv_first", convs[-1]: "conv_last", convs[-2]: "conv_hr"}
    names |= {index: f"conv_up{i}" for i, index in enumerate(convs[1:-2], 1)}
    out = {}
    for key, value in state.items():
        if m := re.fullmatch(r"model\.(\d+)\.(weight|bias)", key):
            out[f"{names[int(m[1])]}.{m[2]}"] = value
        elif m := re.fullmatch(r"model\.1\.sub\.\d+\.(weight|bias)", key):  # the trunk convolution
            out[f"conv_body.{m[1]}"] = value
        elif m := re.fullmatch(r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)", key):
            out[f"body.{m[1]}.rdb{m[2]}.conv{m[3]}.{m[4]}"] = value
        else:
            out[key] = value  # unknown: left for the strict load to name
    return out


def detect_config(state: dict[str, torch.Tensor]) -> RRDBConfig | None:
    """The config of an RRDBNet state dict in either layout, from its keys and shapes; None
    otherwise. Real-ESRGAN's layout always upsamples twice (its scale comes from the unshuffled
    input's channels); ESRGAN's has one convolution per 2x step."""
    basic = rename(state)
    if not {"conv_first.weight", "conv_body.weight", "conv_hr.weight", "conv_last.weight"} <= basic.keys():
        return None
    blocks = {int(m[1]) for k in basic if (m := re.fullmatch(r"body\.(\d+)\.rdb1\.conv1\.weight", k))}
    upsamples = sum(1 for k in basic if re.fullmatch(r"conv_up\d+\.weight", k))
    first = basic["conv_first.weight"]
    if not blocks or first.ndim != 4 or first.shape[1] not in (3, 12, 48):
        return None
    unshuffle = math.isqrt(first.shape[1] // 3)
    try:
        return RRDBConfig(scale=2 ** upsamples // unshuffle, num_feat=first.shape[0], num_block=len(blocks),
                          num_grow_ch=basic["body.0.rdb1.conv1.weight"].shape[0], upsamples=upsamples)
    except (ValueError, ZeroDivisionError):
        return None


ARCHITECTURE = Architecture(
    id="rrdb", label="RRDBNet (ESRGAN)",
    config=lambda d: RRDBConfig(**d),
    detect=detect_config,
    rename=rename,
    build=lambda c: PrimalOnly(RRDBNet(c)),
    describe=RRDBConfig.describe,
    variants={"rrdb-x4": RRDBConfig(4, 64, 23, 32, 2), "rrdb-anime-x4": RRDBConfig(4, 64, 6, 32, 2),
              "rrdb-x2": RRDBConfig(2, 64, 23, 32, 2)},
    levels=_levels,
    level_scales=lambda c: (c.scale,),
    # one pixel per 3x3 convolution (15 per RRDB) at the unshuffled size, and a few after upsampling
    context=lambda c: (2 + 15 * c.num_block) * c.unshuffle + 2,
    graph=lambda net, half: Clamped(net, half),
    # the dense blocks' concatenations at LR size, then 64-channel features at 2x and 4x per LR pixel
    bytes_per_lr_pixel=lambda c, device: 4 * c.num_feat * (6 + 3 * sum(4 ** k for k in range(1, c.upsamples + 1))),
)
