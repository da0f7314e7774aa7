"""Estimators that read how LR photos were made, for `finetune-unpaired --self-pairs auto`."""

from __future__ import annotations

import math

import numpy as np

from .classic import downscale_nearest
from .resize import downscale_bicubic, modcrop, quantize_uint8

_RESAMPLE = {"bicubic": downscale_bicubic, "nearest": downscale_nearest}


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
            diff = radial_log_spectrum(quantize_uint8(_RESAMPLE[kind](photo, factor))) - own
            values.append(float(np.mean(diff[3:] ** 2)))
    return {kind: float(np.mean(v)) if v else math.nan for kind, v in scores.items()}


def guess_degradation(photos: list[np.ndarray], margin: float = 0.7) -> str:
    """"nearest" if the photos look nearest-neighbour downscaled (degradation_mismatch under
    nearest below `margin` times bicubic's), else "bicubic": the degradation the model was
    trained on is the answer when in doubt. Smooth degradations (bicubic, BD) all read as bicubic.
    """
    scores = degradation_mismatch(photos)
    return "nearest" if scores["nearest"] < margin * scores["bicubic"] else "bicubic"
