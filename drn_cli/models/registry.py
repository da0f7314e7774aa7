"""Architectures: how to recognise, configure and build each network the package can run.

One record per architecture, like spandrel's `Architecture(id, detect)`: weight files name
theirs in metadata (absent = "drn", so the files shipped before the key existed load unchanged),
and foreign checkpoints (official `.pt` files) are recognised by `detect` from their tensors.
`build(config)` returns one module holding the primal network (`.primal`) and, when the
architecture has them, its dual blocks (`.dual`): training wraps that module once for DDP,
inference and export take its parts. A new architecture is one record here and one module
beside drn.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import drn

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Architecture:
    """id: the name in weight files and model names ("drn"); label: for people ("DRN").
    config: dict -> config object (raises ValueError on a bad one); detect: a primal state dict
    -> its config, or None when it is not this architecture's; build: config -> module with
    `.primal` and `.dual` (None where there are no dual blocks); describe: config -> a short text
    ("x4, 30 blocks, 16 features"); variants: named sizes, {name: config}; warm_start: makes
    an untrained primal network start as a plain upscaler (training's default without --init)."""

    id: str
    label: str
    config: Callable[[dict], Any]
    detect: Callable[[StateDict], Any | None]
    build: Callable[[Any], nn.Module]
    describe: Callable[[Any], str]
    variants: dict[str, Any]
    warm_start: Callable[[nn.Module], None] | None = None
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")


DRN = Architecture(
    id="drn", label="DRN",
    config=lambda d: drn.DRNConfig(**d),
    detect=drn.detect_config,
    build=drn.DualRegression,
    describe=drn.DRNConfig.describe,
    variants=drn.VARIANTS,
    warm_start=drn.init_bicubic_path,
)

ARCHITECTURES: dict[str, Architecture] = {a.id: a for a in (DRN,)}


def architecture(name: str) -> Architecture:
    """The record of `name`; ValueError naming the known ones otherwise."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; this version knows {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def detect(state: StateDict) -> tuple[Architecture, Any] | None:
    """(architecture, config) of a primal state dict, or None when no architecture claims it."""
    for arch in ARCHITECTURES.values():
        config = arch.detect(state)
        if config is not None:
            return arch, config
    return None


def count_parameters(arch: Architecture, config: Any) -> int:
    """Trainable primal parameters of `config`, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return drn.count_parameters(arch.build(config).primal)


def config_for(name: str, scale: int | None = None, n_blocks: int | None = None,
               n_feats: int | None = None) -> tuple[Architecture, Any]:
    """(architecture, config) of a variant or preset name with optional DRN overrides; ValueError
    naming the known variants when `name` is none of them."""
    from .presets import PRESETS

    name = PRESETS[name].variant if name in PRESETS else name
    for arch in ARCHITECTURES.values():
        if name in arch.variants:
            base = arch.variants[name]
            return arch, type(base)(scale=scale or base.scale, n_blocks=n_blocks or base.n_blocks,
                                    n_feats=n_feats or base.n_feats)
    known = [v for arch in ARCHITECTURES.values() for v in arch.variants]
    raise ValueError(f"--model must be one of {', '.join(known)}, got {name!r}")
