"""Degradations: MATLAB-compatible bicubic resize, nearest-neighbour and blur-downscale (BD).

MATLAB `imresize(img, 1/s, 'bicubic')` is the LR convention of the SR literature (DRN.md §5):
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
def _resize_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
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

    `out_shape` (H', W') overrides the size computed as ceil(H * scale), as MATLAB does.
    """
    if image.ndim not in (2, 3):
        raise ValueError(f"imresize expects (H, W) or (H, W, C), got shape {image.shape}")
    h, w = image.shape[:2]
    out_h, out_w = out_shape or (math.ceil(h * scale), math.ceil(w * scale))
    data = image.astype(np.float64)
    # MATLAB resizes the dimension with the smaller scale first; with equal scales, rows first.
    rows = _resize_matrix(h, out_h, scale)
    cols = _resize_matrix(w, out_w, scale)
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


def downscale_nearest(hr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB `imresize(hr, 1/scale, 'nearest')`: LR pixel i (0-based) takes HR pixel
    s*i + floor(s/2), the one nearest its centre s*i + (s-1)/2 with ties rounded up."""
    offset = scale // 2
    h, w = hr.shape[:2]
    return hr[offset: h - h % scale: scale, offset: w - w % scale: scale].astype(np.float64)


def gaussian_kernel(size: int = 7, sigma: float = 1.6) -> np.ndarray:
    """Normalised 2-D Gaussian (size, size), as MATLAB `fspecial('gaussian', size, sigma)`."""
    radius = (size - 1) / 2
    ax = np.arange(size, dtype=np.float64) - radius
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def gaussian_blur(image: np.ndarray, size: int = 7, sigma: float = 1.6) -> np.ndarray:
    """Blur (H, W[, C]) with a Gaussian, replicate borders (MATLAB `imfilter(..., 'replicate')`)."""
    kernel = gaussian_kernel(size, sigma)
    pad = size // 2
    widths = ((pad, pad), (pad, pad)) + ((0, 0),) * (image.ndim - 2)
    padded = np.pad(image.astype(np.float64), widths, mode="edge")
    h, w = image.shape[:2]
    out = np.zeros(image.shape, dtype=np.float64)
    for dy in range(size):
        for dx in range(size):
            out += kernel[dy, dx] * padded[dy: dy + h, dx: dx + w]
    return out


def downscale_bd(hr: np.ndarray, scale: int) -> np.ndarray:
    """BD degradation: 7x7 Gaussian blur (sigma 1.6, replicated borders), then decimation.

    Decimation keeps the same pixels as `downscale_nearest` (the one nearest each LR pixel's
    centre), so the two unseen degradations share one sampling grid.
    """
    return downscale_nearest(gaussian_blur(hr), scale)


DEGRADATIONS = {"bicubic": downscale_bicubic, "nearest": downscale_nearest, "bd": downscale_bd}


def degrade(hr: np.ndarray, scale: int, kind: str = "bicubic") -> np.ndarray:
    """LR from a modcropped HR array with the named degradation, rounded to uint8 as in MATLAB."""
    try:
        fn = DEGRADATIONS[kind]
    except KeyError:
        raise ValueError(f"unknown degradation {kind!r}; choose from {sorted(DEGRADATIONS)}") from None
    return quantize_uint8(fn(hr, scale))


def radial_log_spectrum(image: np.ndarray, bands: int = 6) -> np.ndarray:
    """Mean log power of the (Hann-windowed) luminance in `bands` equal radial frequency bands
    from 0 to 0.5 cycles/pixel, less its mean: the spectrum's shape, free of contrast."""
    grey = image.astype(np.float64).mean(-1) if image.ndim == 3 else image.astype(np.float64)
    h, w = grey.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    band = np.minimum((radius / 0.5 * bands).astype(int), bands)  # corners beyond 0.5: dropped
    totals = np.bincount(band.ravel(), power.ravel(), bands + 1)[:bands]
    counts = np.bincount(band.ravel(), minlength=bands + 1)[:bands]
    shape = np.log(totals / np.maximum(counts, 1) + 1e-12)
    return shape - shape.mean()


def degradation_mismatch(photos: list[np.ndarray], factor: int = 2, crop: int = 512) -> dict[str, float]:
    """How badly bicubic and nearest-neighbour downscaling explain how `photos` (uint8 LR) were
    made, lower is better.

    Natural images look alike at every scale, so if the photos are HR downscaled by k, downscaling
    them again by k should leave their spectrum's shape unchanged (the ZSSR assumption). The score
    of k is the mean squared difference of radial_log_spectrum between each photo and its
    k-downscaled self, over the upper bands (above 0.25 cycles/pixel, where aliasing shows). The
    re-downscale is by `factor` (2 leaves enough pixels for a spectrum whatever the model's scale;
    bicubic and nearest compose across scales, so the factor need not be the photos' own). BD is
    left out: its blur is fixed in HR pixels, so it does not compose that way. Photos smaller than
    16 * factor pixels are skipped; larger ones are cut to their centre `crop` x `crop`.
    """
    scores = {kind: [] for kind in ("bicubic", "nearest")}
    for photo in photos:
        h, w = photo.shape[:2]
        y, x = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        photo = modcrop(photo[y: y + crop, x: x + crop], factor)
        if min(photo.shape[:2]) < 16 * factor:
            continue
        own = radial_log_spectrum(photo)
        for kind, values in scores.items():
            diff = radial_log_spectrum(degrade(photo, factor, kind)) - own
            values.append(float(np.mean(diff[3:] ** 2)))
    return {kind: float(np.mean(v)) if v else math.nan for kind, v in scores.items()}


def guess_degradation(photos: list[np.ndarray], margin: float = 0.7) -> str:
    """"nearest" if the photos look nearest-neighbour downscaled (degradation_mismatch under
    nearest below `margin` times bicubic's), else "bicubic": the degradation the model was
    trained on is the answer when in doubt. Smooth degradations (bicubic, BD) all read as bicubic.
    """
    scores = degradation_mismatch(photos)
    return "nearest" if scores["nearest"] < margin * scores["bicubic"] else "bicubic"
