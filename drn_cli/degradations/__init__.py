"""Degradations: how LR images are made from HR ones, and how to read that from LR photos.

- `resize`: MATLAB-compatible bicubic (the paper's LR), rounding, modcrop.
- `classic`: the paper's unseen degradations, nearest-neighbour and blur-downscale (BD).
- `real`: the realistic family (blur, resize, noise, JPEG) for training and `eval --degradation real`.
- `estimate`: estimators that read the degradation from LR photos (finetune-unpaired).

`degrade(hr, scale, kind)` is the one entry point for named degradations.
"""

from __future__ import annotations

import re

import numpy as np

from .classic import downscale_bd, downscale_nearest
from .real import degrade_real, jpeg
from .resize import downscale_bicubic, imresize, modcrop, quantize_uint8

__all__ = ["CLASSIC", "DEGRADATIONS", "degrade", "imresize", "modcrop", "parse_degradation", "quantize_uint8"]

# Deterministic degradations: float64 LR from a modcropped HR, rounded by `degrade`.
_DETERMINISTIC = {"bicubic": downscale_bicubic, "nearest": downscale_nearest, "bd": downscale_bd}
CLASSIC = tuple(_DETERMINISTIC)  # the paper's bicubic and its two unseen degradations
DEGRADATIONS = (*CLASSIC, "real")


_STAGE = re.compile(r"(noise)(\d+(?:\.\d+)?)|(jpeg)(\d+)")


def parse_degradation(kind: str) -> tuple[str, float, int | None]:
    """(kernel, noise sigma, JPEG quality) of a named degradation: one of DEGRADATIONS, or a
    CLASSIC kernel followed by fixed stages, e.g. "bicubic+noise8+jpeg40" (Gaussian colour noise
    of sigma 8 on the 0..255 scale, then JPEG quality 40 with 4:2:0 chroma). ValueError if unknown."""
    kernel, *stages = kind.split("+")
    sigma, quality = 0.0, None
    ok = kernel in DEGRADATIONS and (kernel in CLASSIC or not stages)
    for stage in stages:
        match = _STAGE.fullmatch(stage)
        ok = ok and match is not None
        if match and match[1]:
            sigma = float(match[2])
        elif match:
            quality = int(match[4])
            ok = ok and 1 <= quality <= 100
    if not ok:
        raise ValueError(f"unknown degradation {kind!r}; choose from {', '.join(DEGRADATIONS)}, or a kernel "
                         "with fixed noise and JPEG stages such as bicubic+noise8+jpeg40")
    return kernel, sigma, quality


def degrade(hr: np.ndarray, scale: int, kind: str = "bicubic", seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 LR of a modcropped HR array with the named degradation, rounded as MATLAB
    does; `seed` picks the draw of the random "real" family and of fixed-stage noise."""
    kernel, sigma, quality = parse_degradation(kind)
    if kernel == "real":
        return degrade_real(hr, scale, seed)
    lr = _DETERMINISTIC[kernel](hr, scale)
    if sigma:
        lr = lr + sigma * np.random.default_rng(seed).standard_normal(lr.shape)
    lr = quantize_uint8(lr)
    return lr if quality is None else jpeg(lr, quality, subsampling=True)
