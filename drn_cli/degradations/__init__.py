"""Degradations: how LR images are made from HR ones, and how to read that from LR photos.

- `resize`: MATLAB-compatible bicubic (the paper's LR), rounding, modcrop.
- `classic`: the paper's unseen degradations, nearest-neighbour and blur-downscale (BD).
- `real`: the realistic family (blur, resize, noise, JPEG) for training and `eval --degradation real`.
- `estimate`: estimators that read the degradation from LR photos (finetune-unpaired).

`degrade(hr, scale, kind)` is the one entry point for named degradations.
"""

from __future__ import annotations

import numpy as np

from .classic import downscale_bd, downscale_nearest
from .real import degrade_real
from .resize import downscale_bicubic, imresize, modcrop, quantize_uint8

__all__ = ["CLASSIC", "DEGRADATIONS", "degrade", "imresize", "modcrop", "quantize_uint8"]

# Deterministic degradations: float64 LR from a modcropped HR, rounded by `degrade`.
_DETERMINISTIC = {"bicubic": downscale_bicubic, "nearest": downscale_nearest, "bd": downscale_bd}
CLASSIC = tuple(_DETERMINISTIC)  # the paper's bicubic and its two unseen degradations
DEGRADATIONS = (*CLASSIC, "real")


def degrade(hr: np.ndarray, scale: int, kind: str = "bicubic", seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 LR of a modcropped HR array with the named degradation, rounded as MATLAB
    does; `seed` picks the draw of the random "real" family and is ignored by the others."""
    if kind == "real":
        return degrade_real(hr, scale, seed)
    try:
        fn = _DETERMINISTIC[kind]
    except KeyError:
        raise ValueError(f"unknown degradation {kind!r}; choose from {', '.join(DEGRADATIONS)}") from None
    return quantize_uint8(fn(hr, scale))
