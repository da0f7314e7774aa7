"""Named models: which architecture each preset is, what LR it was trained on and when to use it.

Torch-free, so that the CLI can name the defaults in its help without loading anything. A preset
is shipped when `weights/<name>.safetensors` exists (weights.model_path).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    variant: str       # architecture: a key of model.VARIANTS
    scale: int
    degradation: str   # the LR it was trained on: bicubic (the paper's) or real (degradations/real.py)
    use: str           # when to pick it, in a few words


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("drn-s-x4-real", "drn-s-x4", 4, "real", "real photos: phone and web JPEGs (blur, noise, compression)"),
    Preset("drn-s-x4", "drn-s-x4", 4, "bicubic", "clean inputs (renders, screenshots, bicubic-made LR); the paper's benchmarks"),
    Preset("drn-s-x2", "drn-s-x2", 2, "bicubic", "clean inputs at x2"),
    Preset("drn-s-x8", "drn-s-x8", 8, "bicubic", "clean inputs at x8"),
    Preset("drn-l-x2", "drn-l-x2", 2, "bicubic", "the paper's larger model at x2"),
    Preset("drn-l-x4", "drn-l-x4", 4, "bicubic", "the paper's larger model at x4"),
    Preset("drn-l-x8", "drn-l-x8", 8, "bicubic", "the paper's larger model at x8"),
)}

PAPER_MODEL = "drn-s-x4"      # `drn eval` and `finetune-unpaired` start here (paper protocol)
UPSCALE_MODEL = "drn-s-x4"    # what `drn upscale` uses when no --model or --scale is given


def preset_for_scale(scale: int | None, default: str = UPSCALE_MODEL) -> str:
    """The model to use when only a scale (or nothing) is given: `default` at its own scale,
    else the DRN-S of that scale."""
    return default if scale is None or PRESETS[default].scale == scale else f"drn-s-x{scale}"
