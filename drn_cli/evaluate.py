"""Paper-comparable evaluation (DRN.md §5): MATLAB-bicubic LR, uint8 rounding, Y PSNR/SSIM.

Convention: HR modcropped to the scale; LR = MATLAB imresize(HR, 1/s, 'bicubic') rounded to
uint8 (or another degradation; "real" draws each image's degradation from a seed made from its
file name, degradations/real.py `seed_for_name`); SR clamped and rounded to uint8; PSNR and SSIM on BT.601 Y
with a border of `scale` pixels shaved; per image, then the mean over the set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .degradations import degrade, imresize, modcrop, quantize_uint8
from .degradations.real import seed_for_name
from .io import read_rgb
from .metrics import psnr_y, ssim_y

CONVENTION = ("Y-channel (BT.601) PSNR/SSIM, border shave = scale, HR modcropped, "
              "LR = MATLAB-bicubic imresize rounded to uint8, SR rounded to uint8")

SrFunction = Callable[[np.ndarray], np.ndarray]  # (h, w, 3) uint8 LR -> (H, W, 3) 0..255 SR


@dataclass
class ImageScore:
    name: str
    psnr: float
    ssim: float


@dataclass
class EvalReport:
    dataset: str
    scale: int
    model: str
    degradation: str
    images: list[ImageScore] = field(default_factory=list)

    @property
    def psnr(self) -> float:
        return float(np.mean([s.psnr for s in self.images]))

    @property
    def ssim(self) -> float:
        return float(np.mean([s.ssim for s in self.images]))

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "scale": self.scale, "model": self.model,
                "degradation": self.degradation, "psnr": self.psnr, "ssim": self.ssim,
                "images": [asdict(s) for s in self.images]}


def bicubic_sr(scale: int) -> SrFunction:
    """The MATLAB-bicubic upscaler: the paper's 'Bicubic' baseline row."""
    return lambda lr: imresize(lr.astype(np.float64), scale)


def make_lr(hr: np.ndarray, scale: int, degradation: str = "bicubic", name: str = "") -> np.ndarray:
    """(h, w, 3) uint8 LR of a modcropped HR image with the named degradation. Under "real" the
    draw is seeded from the image's `name`, so every run and machine makes the same LR."""
    return degrade(hr, scale, degradation, seed_for_name(name))


def score_image(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of an SR output (any float range, clamped and rounded) against HR."""
    sr_u8 = quantize_uint8(np.asarray(sr, dtype=np.float64))
    if sr_u8.shape != hr.shape:
        raise ValueError(f"SR shape {sr_u8.shape} does not match HR shape {hr.shape}")
    return psnr_y(sr_u8, hr, scale), ssim_y(sr_u8, hr, scale)


def iter_scores(sr_fn: SrFunction, hr_paths: Sequence[Path], scale: int,
                degradation: str = "bicubic",
                on_images: Callable[[Path, np.ndarray, np.ndarray], None] | None = None,
                ) -> Iterator[ImageScore]:
    """Score `sr_fn` on each HR image; `on_images(path, lr, sr)` sees the uint8 LR and SR."""
    for path in hr_paths:
        hr = modcrop(read_rgb(path), scale)
        lr = make_lr(hr, scale, degradation, path.stem)
        sr = sr_fn(lr)
        if on_images is not None:
            on_images(path, lr, quantize_uint8(np.asarray(sr, dtype=np.float64)))
        psnr, ssim = score_image(sr, hr, scale)
        yield ImageScore(path.stem, psnr, ssim)
