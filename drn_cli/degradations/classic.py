"""The paper's unseen degradations (paper Sec. 4, the adaptation experiments): nearest-neighbour and blur-downscale (BD).

Functions take float or integer arrays (H, W) or (H, W, C) on the 0..255 scale and return float64
arrays; the caller rounds (`quantize_uint8`).
"""

from __future__ import annotations

import numpy as np


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
