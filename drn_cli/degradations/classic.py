"""The paper's unseen degradations (paper Sec. 4, the adaptation experiments): nearest-neighbour and
blur-downscale (BD); and the anisotropic Gaussian blur + bicubic family that blind SR is measured on
(KernelGAN's DIV2KRK kernels are of this kind), which `--self-pairs auto` reads from photos.

Functions take float or integer arrays (H, W) or (H, W, C) on the 0..255 scale and return float64
arrays; the caller rounds (`quantize_uint8`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .resize import downscale_bicubic


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


def gaussian_kernel2d(size: int, sigma_x: float, sigma_y: float, angle: float) -> np.ndarray:
    """(size, size) normalised Gaussian with axis sigmas (pixels) rotated by `angle` (radians)."""
    radius = (size - 1) / 2
    y, x = np.mgrid[-radius: radius + 1, -radius: radius + 1]
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = cos * x + sin * y, -sin * x + cos * y
    kernel = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return kernel / kernel.sum()


def kernel_side(sigma: float) -> int:
    """The odd side of a Gaussian kernel that holds +-3 sigma."""
    return 2 * math.ceil(3 * sigma) + 1


def anisotropic_blur(image: np.ndarray, sigma_major: float, sigma_minor: float, angle_deg: float) -> np.ndarray:
    """(H, W[, C]) blurred by a Gaussian with axis sigmas in pixels, the major axis at `angle_deg`
    degrees from the x axis (counter-clockwise on screen: y points down), reflected borders ->
    float64 array."""
    kernel = anisotropic_kernel(sigma_major, sigma_minor, angle_deg)
    return cv2.filter2D(image.astype(np.float64), -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def anisotropic_kernel(sigma_major: float, sigma_minor: float, angle_deg: float) -> np.ndarray:
    """The (n, n) normalised Gaussian anisotropic_blur applies (n holds +-3 sigma of the major axis;
    the angle counter-clockwise on screen), for cv2.filter2D's correlation."""
    return gaussian_kernel2d(kernel_side(max(sigma_major, sigma_minor)), sigma_major, sigma_minor,
                             -math.radians(angle_deg))


def downscale_gauss(hr: np.ndarray, scale: int, sigma_major: float, sigma_minor: float, angle_deg: float) -> np.ndarray:
    """Anisotropic Gaussian blur (sigmas in HR pixels) then MATLAB bicubic downscale, unrounded."""
    return downscale_bicubic(anisotropic_blur(hr, sigma_major, sigma_minor, angle_deg), scale)
