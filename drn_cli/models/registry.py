"""The architectures the package knows, one record each (architecture.py holds the contract).

Weight files name theirs in metadata (absent = "drn", so the files shipped before the key existed
load unchanged); foreign checkpoints (official DRN `.pt` files, Real-ESRGAN and ESRGAN `.pth`
files) are recognised by each record's `detect` from their tensors. A new architecture is one
module beside drn.py with its record, added to BUILT_IN; `register` adds one at run time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from . import drn, rrdb, srvgg
from .architecture import Architecture, StateDict
from .architecture import count_parameters as _count

BUILT_IN = (drn.ARCHITECTURE, srvgg.ARCHITECTURE, rrdb.ARCHITECTURE)
ARCHITECTURES: dict[str, Architecture] = {a.id: a for a in BUILT_IN}


def register(arch: Architecture) -> Architecture:
    """Add (or replace) an architecture: its files load, run, tile and export like the built-in ones."""
    ARCHITECTURES[arch.id] = arch
    return arch


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
        return _count(arch.build(config).primal)


def dual_blocks(arch: Architecture, config: Any) -> int:
    """How many dual blocks a model of `config` has (0 without), counted on the meta device."""
    with torch.device("meta"):
        dual = arch.build(config).dual
    return 0 if dual is None else len(dual)


def config_for(name: str, **overrides: Any) -> tuple[Architecture, Any]:
    """(architecture, config) of a variant or preset name, its fields replaced by the `overrides`
    that are not None (`drn train --scale 8 --n-blocks 20`); ValueError naming the known variants
    when `name` is none of them, or the field an override names when the config has none."""
    from .presets import PRESETS

    name = PRESETS[name].variant if name in PRESETS else name
    for arch in ARCHITECTURES.values():
        if name in arch.variants:
            given = {k: v for k, v in overrides.items() if v is not None}
            try:
                return arch, dataclasses.replace(arch.variants[name], **given)
            except TypeError as exc:
                raise ValueError(f"{name} ({arch.label}) has no such setting: {exc}") from None
    known = [v for arch in ARCHITECTURES.values() for v in arch.variants]
    raise ValueError(f"--model must be one of {', '.join(known)}, got {name!r}")
