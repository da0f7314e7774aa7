"""MATLAB-compatible bicubic resize, rounding and modcrop.

MATLAB `imresize(img, 1/s, 'bicubic')` is the LR convention of the SR literature (paper Sec. 4):
Keys cubic kernel with a = -0.5, kernel widened by s when downscaling (antialiasing), and
symmetric (mirror) padding at the borders. PyTorch and OpenCV bicubic differ from it
(a = -0.75, no antialiasing), which shifts benchmark PSNR, so we implement it here.

All functions take float arrays (H, W) or (H, W, C) on any scale and return float64 arrays;
the caller rounds and clips (`quantize_uint8`) where the protocol needs uint8.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB `cubic`)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


@lru_cache(maxsize=64)
def resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """(out_len, in_len) matrix of MATLAB bicubic weights along one axis, borders mirrored."""
    kernel_width = 4.0
    antialias = scale < 1
    if antialias:
        kernel_width /= scale
    out_coords = np.arange(1, out_len + 1, dtype=np.float64)
    centres = out_coords / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    left = np.floor(centres - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based
    distance = centres[:, None] - indices
    weights = scale * cubic(distance * scale) if antialias else cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index -> mirrored index in [0, in_len).
    zero_based = indices.astype(np.int64) - 1
    period = 2 * in_len
    mirrored = np.mod(zero_based, period)
    mirrored = np.where(mirrored >= in_len, period - 1 - mirrored, mirrored)
    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), mirrored.ravel()), weights.ravel())
    return matrix


def imresize(image: np.ndarray, scale: float, out_shape: tuple[int, int] | None = None) -> np.ndarray:
    """MATLAB-compatible bicubic resize of (H, W) or (H, W, C) by `scale` -> float64 array.

    `out_shape` (H', W') overrides the size computed as ceil(H * scale), as MATLAB does; each
    axis is then resized by its own factor H'/H, W'/W.
    """
    if image.ndim not in (2, 3):
        raise ValueError(f"imresize expects (H, W) or (H, W, C), got shape {image.shape}")
    h, w = image.shape[:2]
    out_h, out_w = out_shape or (math.ceil(h * scale), math.ceil(w * scale))
    # As MATLAB: a given output size sets each axis' own scale (equal for modcropped images).
    scale_h, scale_w = (out_h / h, out_w / w) if out_shape else (scale, scale)
    data = image.astype(np.float64)
    # MATLAB resizes the dimension with the smaller scale first; with equal scales, rows first.
    rows = resize_matrix(h, out_h, scale_h)
    cols = resize_matrix(w, out_w, scale_w)
    data = np.tensordot(rows, data, axes=(1, 0))  # (out_h, W[, C])
    data = np.tensordot(cols, data, axes=(1, 1))  # (out_w, out_h[, C])
    return np.swapaxes(data, 0, 1)


def quantize_uint8(image: np.ndarray) -> np.ndarray:
    """Round half away from zero and clip to 0..255, as MATLAB's double -> uint8 conversion."""
    return np.clip(np.floor(image + 0.5), 0, 255).astype(np.uint8)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop (H, W[, C]) so both sides are multiples of `scale` (bottom and right are cut)."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def downscale_bicubic(hr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB `imresize(hr, 1/scale, 'bicubic')` of a modcropped (H, W[, C]) array, unrounded."""
    h, w = hr.shape[:2]
    return imresize(hr, 1.0 / scale, out_shape=(h // scale, w // scale))
