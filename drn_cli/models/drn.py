"""The DRN primal network and dual blocks, matching the official code (paper Sec. 3.3; guoyongcs/DRN).

Official checkpoints load into these modules unchanged: module names and parameter shapes are
those of guoyongcs/DRN `model/drn.py` and `model/common.py`. Internally the network works on
the official 0..255 range; `DRN.forward` takes and returns that range. `DRN.super_resolve` is
the public contract, float images in [0, 1]: inference, evaluation, training validation and
export all go through it.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .architecture import Architecture

RGB_MEAN = (0.4488, 0.4371, 0.4040)
RGB_RANGE = 255.0
LEAKY_SLOPE = 0.2  # official `negval`
CA_REDUCTION = 16  # channel-attention reduction in RCAB


@dataclass(frozen=True)
class DRNConfig:
    """Architecture of one DRN: scale (2, 4 or 8), RCABs per level and base width."""

    scale: int = 4
    n_blocks: int = 30
    n_feats: int = 16

    def __post_init__(self) -> None:
        if self.scale not in (2, 4, 8):
            raise ValueError(f"DRN scale must be 2, 4 or 8, got {self.scale}")
        if self.n_blocks < 1 or self.n_feats < 1:
            raise ValueError(f"n_blocks and n_feats must be positive, got {self}")
        narrowest = self.n_feats * (2 if self.scale == 2 else 4)
        if narrowest < CA_REDUCTION:
            raise ValueError(f"n_feats {self.n_feats} is too narrow for x{self.scale}: channel "
                             f"attention needs at least {CA_REDUCTION} channels, got {narrowest}")

    @property
    def phases(self) -> int:
        return int(math.log2(self.scale))

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def describe(self) -> str:
        """"x4, 30 blocks per level, 16 base features"."""
        return f"x{self.scale}, {self.n_blocks} blocks per level, {self.n_feats} base features"


VARIANTS: dict[str, DRNConfig] = {
    "drn-s-x2": DRNConfig(scale=2, n_blocks=30, n_feats=32),
    "drn-s-x4": DRNConfig(scale=4, n_blocks=30, n_feats=16),
    "drn-s-x8": DRNConfig(scale=8, n_blocks=30, n_feats=8),
    "drn-l-x2": DRNConfig(scale=2, n_blocks=40, n_feats=40),
    "drn-l-x4": DRNConfig(scale=4, n_blocks=40, n_feats=20),
    "drn-l-x8": DRNConfig(scale=8, n_blocks=36, n_feats=10),
}


def conv3x3(in_ch: int, out_ch: int, *, bias: bool = True, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=bias)


class MeanShift(nn.Conv2d):
    """1x1 conv that subtracts (sign=-1) or adds (sign=+1) the RGB mean on the 0..255 scale."""

    def __init__(self, sign: int) -> None:
        super().__init__(3, 3, kernel_size=1)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.bias.copy_(sign * RGB_RANGE * torch.tensor(RGB_MEAN))
        self.requires_grad_(False)


class CALayer(nn.Module):
    """Channel attention: global average pool -> squeeze -> excite -> sigmoid gate."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        squeezed = channels // CA_REDUCTION
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, squeezed, 1), nn.ReLU(inplace=True),
            nn.Conv2d(squeezed, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(x.mean(dim=(2, 3), keepdim=True))


class RCAB(nn.Module):
    """Residual channel-attention block: x + CA(conv(relu(conv(x))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(channels, channels), nn.ReLU(inplace=True),
            conv3x3(channels, channels), CALayer(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DownBlock(nn.Module):
    """One 2x downscaling step: stride-2 conv -> LeakyReLU -> conv (official `DownBlock`, scale 2).

    Used both inside the primal network and as a dual block (3 -> n_feats -> 3 channels).
    """

    def __init__(self, in_ch: int, hidden: int, out_ch: int) -> None:
        super().__init__()
        self.dual_module = nn.Sequential(
            nn.Sequential(conv3x3(in_ch, hidden, bias=False, stride=2),
                          nn.LeakyReLU(LEAKY_SLOPE, inplace=True)),
            conv3x3(hidden, out_ch, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dual_module(x)


class Upsampler(nn.Sequential):
    """conv to 4x channels then PixelShuffle(2) (official `common.Upsampler`, scale 2)."""

    def __init__(self, channels: int) -> None:
        super().__init__(conv3x3(channels, 4 * channels), nn.PixelShuffle(2))


def _up_width(config: DRNConfig, level: int) -> int:
    """Channels entering up block `level` (0 = coarsest); also tail[level]'s input width."""
    n, phases = config.n_feats, config.phases
    return n * 2 ** phases if level == 0 else n * 2 ** (phases - level + 1)


class DRN(nn.Module):
    """DRN primal network P: LR (B, 3, h, w) in 0..255 -> list of phases+1 images, coarsest first.

    Output k has size (h * 2**k, w * 2**k); the last one is the super-resolved image.
    """

    def __init__(self, config: DRNConfig) -> None:
        super().__init__()
        self.config = config
        n, phases = config.n_feats, config.phases
        self.sub_mean = MeanShift(-1)
        self.head = conv3x3(3, n)
        self.down = nn.ModuleList(
            DownBlock(n * 2 ** p, n * 2 ** p, n * 2 ** (p + 1)) for p in range(phases)
        )
        self.up_blocks = nn.ModuleList()
        for level in range(phases):
            width = _up_width(config, level)
            self.up_blocks.append(nn.Sequential(
                *(RCAB(width) for _ in range(config.n_blocks)),
                Upsampler(width),
                nn.Conv2d(width, n * 2 ** (phases - level - 1), 1),
            ))
        self.tail = nn.ModuleList(conv3x3(_up_width(config, k), 3) for k in range(phases))
        self.tail.append(conv3x3(2 * n, 3))
        self.add_mean = MeanShift(+1)

    def forward(self, lr: torch.Tensor) -> list[torch.Tensor]:
        x = F.interpolate(lr, scale_factor=self.config.scale, mode="bicubic", align_corners=False)
        return self.forward_upsampled(x)

    def super_resolve(self, lr: torch.Tensor, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
        """The model's I/O contract: (B, 3, h, w) float in [0, 1] on the model's device -> every
        pyramid level, coarsest first, (B, 3, h*2**k, w*2**k) float32 clamped to [0, 1].

        Runs in inference mode and channels_last; `dtype` other than float32 autocasts the body
        (the head and tails stay fp32, see forward_upsampled). The 0..255 range stays inside.
        """
        x = (lr.float() * RGB_RANGE).contiguous(memory_format=torch.channels_last)
        cast = contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(x.device.type, dtype=dtype)
        with torch.inference_mode(), cast:
            levels = self(x)
        return [(level.float() / RGB_RANGE).clamp_(0.0, 1.0) for level in levels]

    def forward_upsampled(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Run the U-Net on an input already bicubic-upsampled to the output size.

        Under autocast the body runs in reduced precision, but the mean shifts, the head and
        the tails stay in fp32: they map to and from pixel values, where bf16's 8-bit mantissa
        is coarsest. With them in fp32, bf16 inference scores within 0.001 dB of fp32
        (docs/performance.md).
        """
        with torch.autocast(x.device.type, enabled=False):
            x = self.head(self.sub_mean(x.float()))
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        results = [self._image(0, x)]
        for level, up in enumerate(self.up_blocks):
            x = torch.cat((up(x).float(), skips[-1 - level].float()), dim=1)
            results.append(self._image(level + 1, x))
        return results

    def _image(self, level: int, x: torch.Tensor) -> torch.Tensor:
        """tail[level] and add_mean in fp32: features -> image in 0..255."""
        with torch.autocast(x.device.type, enabled=False):
            return self.add_mean(self.tail[level](x.float()))


def nested_prefixes(inner: DRNConfig, outer: DRNConfig) -> dict[str, str]:
    """Where a DRN of half the scale sits inside another: {inner prefix: outer prefix}.

    With the base width halved as the scale doubles (as the DRN-S presets do: 64 channels at LR),
    the outer network's levels below its finest have exactly the inner network's shapes and
    resolutions: its down blocks after the first, its up blocks before the last and its tails
    before the last. Copying them grows a trained x4 into a x8 whose 4x level starts as the x4's
    output. Raises ValueError when the two do not nest.
    """
    if (outer.scale != 2 * inner.scale or inner.n_feats != 2 * outer.n_feats
            or inner.n_blocks != outer.n_blocks):
        raise ValueError(f"a x{inner.scale} DRN ({inner.n_blocks} blocks, n_feats {inner.n_feats}) does "
                         f"not nest in a x{outer.scale} one ({outer.n_blocks} blocks, n_feats "
                         f"{outer.n_feats}): it needs half the scale, twice the width, the same blocks")
    pairs = {f"down.{p}.": f"down.{p + 1}." for p in range(inner.phases)}
    pairs |= {f"up_blocks.{level}.": f"up_blocks.{level}." for level in range(inner.phases)}
    pairs |= {f"tail.{level}.": f"tail.{level}." for level in range(inner.phases + 1)}
    return pairs


def build_duals(config: DRNConfig) -> nn.ModuleList:
    """Dual network D: one DownBlock(3 -> n_feats -> 3) per 2x step; dual[i] maps level i+1 -> i."""
    return nn.ModuleList(DownBlock(3, config.n_feats, 3) for _ in range(config.phases))


class DualRegression(nn.Module):
    """The paper's primal network P and dual network D as one module (one DDP wrapper for both)."""

    def __init__(self, config: DRNConfig) -> None:
        super().__init__()
        self.primal = DRN(config)
        self.dual = build_duals(config)

    def forward(self, lr: torch.Tensor, with_loop: bool = False
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor | None]:
        """lr (B, 3, h, w) 0..255 -> (sr, sr2lr, loop).

        sr: the primal outputs [x1, x2, ..., xS]; sr2lr[i] = dual[i](sr[i + 1]), at sr[i]'s size;
        loop (only `with_loop`, else None): every dual block chained from the final output down to
        (B, 3, h, w), the closed loop of unpaired adaptation (paper Sec. 3.2, Eq. 2).
        """
        sr = self.primal(lr)
        sr2lr = [block(sr[i + 1]) for i, block in enumerate(self.dual)]
        loop = None
        if with_loop:
            loop = sr2lr[-1]
            for block in reversed(self.dual[:-1]):
                loop = block(loop)
        return sr, sr2lr, loop


def detect_config(state: dict[str, torch.Tensor]) -> DRNConfig | None:
    """Scale, n_blocks and n_feats of a DRN primal state dict, read from its keys and shapes;
    None when the keys are not a DRN's."""
    if "head.weight" not in state or "up_blocks.0.0.body.0.weight" not in state:
        return None
    n_feats = state["head.weight"].shape[0]
    phases = len({k.split(".")[1] for k in state if k.startswith("down.")})
    n_blocks = sum(1 for k in state if re.fullmatch(r"up_blocks\.0\.\d+\.body\.0\.weight", k))
    try:
        return DRNConfig(scale=2 ** phases, n_blocks=n_blocks, n_feats=n_feats)
    except ValueError:
        return None


def init_bicubic_path(model: DRN) -> None:
    """Make the untrained primal output its own bicubic input (a warm start for short runs).

    The head copies the mean-shifted RGB into its first three channels, which reach the last
    tail through the full-resolution skip; that tail reads them back with a centre tap of 1.
    The other tail weights are scaled down so the random body starts as a small residual.
    Training is otherwise unchanged, and the architecture stays the official one.
    """
    n = model.config.n_feats
    with torch.no_grad():
        model.head.weight[:3].zero_()
        model.head.bias[:3].zero_()
        last = model.tail[-1]
        last.weight.mul_(0.1)
        last.weight[:, n: n + 3].zero_()
        last.bias.zero_()
        for c in range(3):
            model.head.weight[c, c, 1, 1] = 1.0
            last.weight[c, n + c, 1, 1] = 1.0


def _run_in_half(module: nn.Module) -> None:
    """Store `module` in fp16 and cast at its edges (fp32 in, fp32 out): the export's stand-in
    for autocast, which a traced graph cannot hold."""
    module.half()
    module.register_forward_pre_hook(lambda _, args: tuple(a.half() for a in args))
    module.register_forward_hook(lambda _, args, out: out.float())


class ImageGraph(nn.Module):
    """DRN in [0, 1] for export: (N, 3, H, W) -> (N, 3, H*s, W*s), the final pyramid level, clamped.

    With `half`, the body (down blocks and up blocks) runs in fp16; the mean shifts, head and
    tails stay fp32, as under autocast (DRN.forward_upsampled says why).
    """

    def __init__(self, model: DRN, half: bool = False) -> None:
        super().__init__()
        self.model = model.float()
        if half:
            for block in [*model.down, *model.up_blocks]:
                _run_in_half(block)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        sr = self.model(lr * RGB_RANGE)[-1]
        return (sr.float() / RGB_RANGE).clamp(0.0, 1.0)


def _levels(net: DRN, lr: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
    return net.super_resolve(lr, dtype)[1:]  # the input's own level is not an output


def _loop_error(duals: nn.ModuleList, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    """Every dual block chained from the output down to the input size (paper Sec. 3.2)."""
    x = sr.float() * RGB_RANGE
    with torch.inference_mode():
        for block in reversed(duals):
            x = block(x)
    return (x - lr.to(x.device).float() * RGB_RANGE).abs().mean(dim=1, keepdim=True)


# DRN-S x4 on the CPU: ~0.8 GB peak RSS for a 256x256 tile; on an H100 in bf16: 7,892 bytes per LR
# pixel measured at LR 512, with a 1.5x margin (docs/performance.md)
_BYTES_PER_LR_PIXEL = {"cpu": 8_000, "cuda": 12_000}

ARCHITECTURE = Architecture(
    id="drn", label="DRN",
    config=lambda d: DRNConfig(**d),
    detect=detect_config,
    build=DualRegression,
    describe=DRNConfig.describe,
    variants=VARIANTS,
    levels=_levels,
    level_scales=lambda c: tuple(2 ** k for k in range(1, c.phases + 1)),
    graph=lambda net, half: ImageGraph(net, half),
    bytes_per_lr_pixel=lambda c, device: _BYTES_PER_LR_PIXEL.get(device, _BYTES_PER_LR_PIXEL["cuda"]),
    loop_error=_loop_error,
    trainable=True,
    warm_start=init_bicubic_path,
)
