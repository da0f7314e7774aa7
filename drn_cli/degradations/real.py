"""The realistic degradation family (`--degradation real`): blur, resize, noise, JPEG.

Real photos are not clean bicubic downscales. They are blurred (optics, motion, earlier
resizes), resampled with whatever kernel a camera or a website used, noisy (sensor noise, grey
and colour, stronger where the image is bright) and JPEG-compressed with chroma subsampling.
`RealDegradation` holds every range and probability of one random draw of that chain, after
the first-order models of BSRGAN and Real-ESRGAN, kept to one order so that a 5 M-parameter
model can learn it:

    HR --blur--> --resize (one or two stages)--> LR_det --noise--> --JPEG--> LR

`LR_det` is the deterministic part of the chain: the same image before noise and JPEG. Training
uses it as the target of the innermost dual block, so the closed loop learns that part. Noise
and JPEG artefacts cannot be predicted from the HR image; an L1 loss against them would only
teach the dual block their median, which is `LR_det` anyway (docs/training.md).

A draw is a pure function of a numpy Generator: `degrade_real(hr, scale, seed)` is repeatable.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .classic import gaussian_kernel2d
from .resize import imresize, quantize_uint8

RESIZE_KERNELS = ("bicubic", "bilinear", "area")


@dataclass(frozen=True)
class RealDegradation:
    """Ranges (lo, hi) are drawn uniformly; probabilities are per image. Blur sizes and sigmas
    are in HR pixels for x4 and scale with the factor (x2: half, x8: double)."""

    blur_prob: float = 0.7
    blur_size: tuple[int, int] = (7, 21)           # odd kernel side
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    anisotropic_prob: float = 0.5                  # of blurred images: two sigmas and an angle
    resize_kernels: tuple[str, ...] = RESIZE_KERNELS  # bicubic = MATLAB (antialiased)
    two_stage_prob: float = 0.3                    # downscale via a random intermediate size
    noise_prob: float = 0.6
    poisson_prob: float = 0.4                      # of noisy images: signal-dependent instead of Gaussian
    gaussian_sigma: tuple[float, float] = (1.0, 15.0)   # 0..255 scale
    poisson_gain: tuple[float, float] = (0.05, 1.0)     # variance = gain x intensity (0..255)
    grey_noise_prob: float = 0.4                   # same noise in every channel (luminance noise)
    jpeg_prob: float = 0.8
    jpeg_quality: tuple[int, int] = (30, 95)
    chroma_subsampling_prob: float = 0.8           # 4:2:0 as cameras and the web do; else 4:4:4
    clean_prob: float = 0.0                        # the whole draw is the paper's clean MATLAB-bicubic LR


# Evaluation (`drn eval --degradation real`): every image goes through the chain.
DEFAULT = RealDegradation()
# Training (`drn train --degradation real`): a fifth of the patches stay clean bicubic LR, so
# that the model keeps clean detail instead of treating it as damage (docs/training.md).
TRAINING = RealDegradation(clean_prob=0.2)



def _odd(value: float) -> int:
    return max(3, round(value) // 2 * 2 + 1)


def random_blur(image: np.ndarray, rng: np.random.Generator, scale: int, spec: RealDegradation) -> np.ndarray:
    """(H, W, C) float -> blurred float (reflected borders), or the image itself when no blur is drawn."""
    if rng.random() >= spec.blur_prob:
        return image
    factor = scale / 4
    size = _odd(rng.integers(spec.blur_size[0], spec.blur_size[1] + 1) * factor)
    sigma_x = rng.uniform(*spec.blur_sigma) * factor
    sigma_y, angle = sigma_x, 0.0
    if rng.random() < spec.anisotropic_prob:
        sigma_y, angle = rng.uniform(*spec.blur_sigma) * factor, rng.uniform(0, math.pi)
    kernel = gaussian_kernel2d(size, sigma_x, sigma_y, angle).astype(np.float32)
    return cv2.filter2D(image.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def resample(image: np.ndarray, out_hw: tuple[int, int], kernel: str) -> np.ndarray:
    """(H, W, C) float -> (out_h, out_w, C) float with the named kernel."""
    h = image.shape[0]
    if kernel == "bicubic":
        return imresize(image, out_hw[0] / h, out_shape=out_hw).astype(np.float32)
    flag = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}[kernel]
    return cv2.resize(image.astype(np.float32), (out_hw[1], out_hw[0]), interpolation=flag)


def random_resize(image: np.ndarray, rng: np.random.Generator, scale: int, spec: RealDegradation) -> np.ndarray:
    """Downscale (H, W, C) float by exactly `scale` with random kernels, in one or two stages."""
    h, w = image.shape[:2]
    if rng.random() < spec.two_stage_prob:
        first = scale ** rng.uniform(0.3, 0.7)  # part of the way, then the rest
        mid = (max(1, round(h / first)), max(1, round(w / first)))
        image = resample(image, mid, spec.resize_kernels[rng.integers(len(spec.resize_kernels))])
    return resample(image, (h // scale, w // scale), spec.resize_kernels[rng.integers(len(spec.resize_kernels))])


def random_noise(image: np.ndarray, rng: np.random.Generator, spec: RealDegradation) -> np.ndarray:
    """Add Gaussian or signal-dependent (Poisson-like) noise, grey or colour, to (H, W, C) 0..255."""
    if rng.random() >= spec.noise_prob:
        return image
    channels = 1 if rng.random() < spec.grey_noise_prob else image.shape[2]
    unit = rng.standard_normal((*image.shape[:2], channels)).astype(np.float32)
    if rng.random() < spec.poisson_prob:
        gain = rng.uniform(*spec.poisson_gain)
        intensity = image.mean(axis=2, keepdims=True) if channels == 1 else image
        return image + np.sqrt(gain * np.clip(intensity, 0, 255)) * unit
    return image + rng.uniform(*spec.gaussian_sigma) * unit


def jpeg(image: np.ndarray, quality: int, subsampling: bool) -> np.ndarray:
    """(H, W, 3) uint8 through a JPEG encode/decode at `quality`, 4:2:0 if `subsampling` else 4:4:4."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality), subsampling=2 if subsampling else 0)
    buffer.seek(0)
    with Image.open(buffer) as img:
        return np.asarray(img.convert("RGB"))


def random_jpeg(image: np.ndarray, rng: np.random.Generator, spec: RealDegradation) -> tuple[np.ndarray, int | None]:
    """The image through JPEG with probability spec.jpeg_prob, and the quality it was saved at
    (None: left uncompressed, as a lossless file would keep it)."""
    if rng.random() >= spec.jpeg_prob:
        return image, None
    quality = int(rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
    return jpeg(image, quality, rng.random() < spec.chroma_subsampling_prob), quality


def degrade_real_saved(hr: np.ndarray, scale: int, rng: np.random.Generator,
                       spec: RealDegradation = DEFAULT) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(H, W, 3) uint8 HR, H and W multiples of `scale` -> (LR, LR_det, quality): the degraded
    LR, its deterministic part (blur + resize, before noise and JPEG), both (H/s, W/s, 3) uint8,
    and the JPEG quality of the LR's file (None: lossless)."""
    if hr.shape[0] % scale or hr.shape[1] % scale:
        raise ValueError(f"HR shape {hr.shape} is not a multiple of the scale {scale}; modcrop it")
    if spec.clean_prob and rng.random() < spec.clean_prob:  # no draw at 0: evaluation LR stays as it was
        clean = quantize_uint8(imresize(hr, 1 / scale, out_shape=(hr.shape[0] // scale, hr.shape[1] // scale)))
        return clean, clean, None
    det = random_resize(random_blur(hr.astype(np.float32), rng, scale, spec), rng, scale, spec)
    lr, quality = random_jpeg(quantize_uint8(random_noise(det, rng, spec)), rng, spec)
    return lr, quantize_uint8(det), quality


def degrade_real_pair(hr: np.ndarray, scale: int, rng: np.random.Generator,
                      spec: RealDegradation = DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """(LR, LR_det) of degrade_real_saved: a training pair."""
    lr, det, _ = degrade_real_saved(hr, scale, rng, spec)
    return lr, det


def seed_for_name(name: str) -> int:
    """A stable 64-bit seed from an image name: the evaluation draw of each benchmark image."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def degrade_real(hr: np.ndarray, scale: int, seed: int) -> tuple[np.ndarray, int | None]:
    """The degraded LR of `hr` for one seeded draw of the default family (see module doc), and
    the JPEG quality its file carries (None: lossless)."""
    lr, _, quality = degrade_real_saved(hr, scale, np.random.default_rng(seed))
    return lr, quality
