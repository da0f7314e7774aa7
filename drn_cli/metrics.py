"""PSNR and SSIM on the Y channel, the SR papers' convention (paper Sec. 4).

Inputs are uint8-valued arrays (H, W, 3) RGB or (H, W) grey in 0..255; SR is rounded before
scoring by the caller. PSNR uses unrounded Y; the border of `shave` pixels is ignored.
"""

from __future__ import annotations

import numpy as np

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """BT.601 luma of (H, W, 3) RGB in 0..255 -> (H, W) float64 in 16..235 (grey passes through)."""
    if image.ndim == 2:
        return image.astype(np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"rgb_to_y expects (H, W, 3) or (H, W), got shape {image.shape}")
    return 16.0 + image.astype(np.float64) @ _Y_WEIGHTS


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")


def _shave(image: np.ndarray, shave: int) -> np.ndarray:
    return image[shave:-shave, shave:-shave] if shave > 0 else image


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """PSNR in dB on Y between two 0..255 images, `shave` pixels cut from each side."""
    _check_pair(sr, hr)
    diff = _shave(rgb_to_y(sr), shave) - _shave(rgb_to_y(hr), shave)
    mse = float(np.mean(diff ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """'valid' 2-D correlation of (H, W) with a separable (k, k) window given as its 1-D factor."""
    k = window.shape[0]
    rows = np.lib.stride_tricks.sliding_window_view(image, k, axis=0) @ window
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=1) @ window


def ssim_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    """SSIM on Y (Wang et al. `ssim_index`: 11x11 Gaussian, sigma 1.5, valid region), mean.

    NaN when the shaved image is smaller than the 11x11 window (SSIM is undefined there).
    """
    _check_pair(sr, hr)
    x = _shave(rgb_to_y(sr), shave)
    y = _shave(rgb_to_y(hr), shave)
    if min(x.shape) < 11:
        return float("nan")
    ax = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-(ax ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mu_x ** 2
    syy = _filter_valid(y * y, g) - mu_y ** 2
    sxy = _filter_valid(x * y, g) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(ssim_map.mean())
