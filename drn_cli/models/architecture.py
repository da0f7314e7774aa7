"""The model contract: everything the package asks of a network, in one record per architecture.

Loading, inference, tiling, the pyramid levels, the closed loop, export, `drn models` and the
trainer ask an `Architecture`, never a network's layers or its config's fields: a new
architecture is one module that defines its network, its config and its record, listed in
registry.py (or, for a plug-in or a test, `registry.register(record)`). Anchors: spandrel's
`Architecture` + `ModelDescriptor` (detection from a state dict), timm's `register_model`.

A config is a frozen dataclass with a `scale` field (the model's factor); `to_dict()` and
`type(config)(**d)` round-trip it through a weights file's metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

StateDict = dict[str, torch.Tensor]
Levels = Callable[[nn.Module, torch.Tensor, torch.dtype], list[torch.Tensor]]


def _same(state: StateDict) -> StateDict:
    return state


@dataclass(frozen=True)
class Architecture:
    """One architecture's whole contract.

    id: the name in weight files ("drn"); label: for people ("DRN").
    config: dict -> config (ValueError on a bad one); detect: a primal state dict, in any key
    layout the architecture knows -> its config, or None when it is not this architecture's;
    rename: such a state dict -> the keys `build` makes (a foreign layout renamed);
    build: config -> a module with `.primal` and `.dual` (None without dual blocks);
    describe: config -> a short text ("x4, 30 blocks per level, 16 base features");
    variants: named sizes {name: config}.
    levels: (primal network, (B, 3, h, w) in [0, 1] on its device, dtype) -> the outputs of one
    pass, coarsest first, each (B, 3, h*s_k, w*s_k) float32 in [0, 1]; the last is the model's
    own scale. level_scales: config -> the s_k of those outputs ((2, 4) for a x4 DRN, (4,) for
    a network with one output).
    loop_error: (dual blocks, (B, 3, h, w) LR and (B, 3, H, W) SR in [0, 1]) -> (B, 1, h, w)
    |D(SR) - LR|, mean over RGB, on the 0..255 scale: the closed loop (paper Sec. 3.2); None
    where the architecture has no dual blocks.
    graph: (primal network in fp32, half) -> a traceable module for export, (N, 3, H, W) in
    [0, 1] -> (N, 3, H*s, W*s) in [0, 1].
    bytes_per_lr_pixel: (config, "cpu" | "cuda") -> peak memory per LR pixel of a tile, which
    sizes the default tile from free memory. context: config -> the receptive radius in LR
    pixels (0: unbounded or not known): tiles overlapping by more than twice that blend to the
    untiled output exactly (tiling.py).
    trainable: `drn train` and `finetune-unpaired` can train it (its losses need dual blocks).
    warm_start: makes an untrained primal network start as a plain upscaler.
    precisions: what it runs well in (fp32 always).
    """

    id: str
    label: str
    config: Callable[[dict], Any]
    detect: Callable[[StateDict], Any | None]
    build: Callable[[Any], nn.Module]
    describe: Callable[[Any], str]
    variants: dict[str, Any]
    levels: Levels
    level_scales: Callable[[Any], tuple[int, ...]]
    graph: Callable[[nn.Module, bool], nn.Module]
    bytes_per_lr_pixel: Callable[[Any, str], int]
    loop_error: Callable[[nn.ModuleList, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    context: Callable[[Any], int] = lambda config: 0
    rename: Callable[[StateDict], StateDict] = _same
    trainable: bool = False
    warm_start: Callable[[nn.Module], None] | None = None
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")


def config_dict(config: Any) -> dict:
    """A config as the plain dict a weights file stores."""
    return asdict(config)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (fixed buffers, such as DRN's mean shifts, are not counted)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def single_output(net: nn.Module, lr: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
    """`levels` for a network with one output that maps [0, 1] to [0, 1] (the Real-ESRGAN family):
    inference mode, channels_last, the body autocast to `dtype` where it is not fp32."""
    x = lr.float().contiguous(memory_format=torch.channels_last)
    cast = contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(x.device.type, dtype=dtype)
    with torch.inference_mode(), cast:
        out = net(x)
    with torch.inference_mode():
        return [out.float().clamp_(0.0, 1.0)]


class PrimalOnly(nn.Module):
    """What `build` gives for a network without dual blocks: `.primal`, and `.dual` None."""

    def __init__(self, primal: nn.Module) -> None:
        super().__init__()
        self.primal, self.dual = primal, None


class Clamped(nn.Module):
    """A [0, 1] -> [0, 1] network for export, its output clamped as inference clamps it; `half`
    runs it in fp16 with fp32 at its edges."""

    def __init__(self, net: nn.Module, half: bool = False) -> None:
        super().__init__()
        self.net = net.float()
        self.half = half
        if half:
            self.net.half()

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        out = self.net(lr.half()) if self.half else self.net(lr)
        return out.float().clamp(0.0, 1.0)
