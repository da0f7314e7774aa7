"""Paper-comparable evaluation (paper Sec. 4): MATLAB-bicubic LR, uint8 rounding, Y PSNR/SSIM.

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

from .degradations import imresize, modcrop, parse_degradation, quantize_uint8
from .degradations.real import seed_for_name
from .device import backend_option, check_options
from .errors import UsageError
from .io import Picture, read_rgb
from .metrics import psnr_y, ssim_y
from .models.presets import PAPER_MODEL, auto_models, denoise_pair, preset_for_scale
from .request import AUTO, UpscaleRequest, check_scale, parse_denoise
from .session import Session


def convention(degradation: str = "bicubic") -> str:
    """The scoring convention in one line, naming how the LR was made."""
    lr = ("MATLAB-bicubic imresize rounded to uint8" if degradation == "bicubic"
          else f"the {degradation} degradation (degradations/), rounded to uint8"
          + (", drawn per image from a seed made from its name" if parse_degradation(degradation).family else ""))
    return f"Y-channel (BT.601) PSNR/SSIM, border shave = scale, HR modcropped, LR = {lr}, SR rounded to uint8"


# (h, w, 3) uint8 LR and the JPEG quality of its file (None: lossless) -> (H, W, 3) 0..255 SR
SrFunction = Callable[[np.ndarray, int | None], np.ndarray]


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
    return lambda lr, _quality=None: imresize(lr.astype(np.float64), scale)


def make_lr(hr: np.ndarray, scale: int, degradation: str = "bicubic", name: str = "") -> np.ndarray:
    """(h, w, 3) uint8 LR of a modcropped HR image with the named degradation. Under "real" the
    draw is seeded from the image's `name`, so every run and machine makes the same LR."""
    return saved_lr(hr, scale, degradation, name)[0]


def saved_lr(hr: np.ndarray, scale: int, degradation: str = "bicubic", name: str = "") -> tuple[np.ndarray, int | None]:
    """make_lr's LR and the JPEG quality of the file it would be saved as (Degradation.saved):
    the quality of its last JPEG stage, None for a lossless file."""
    return parse_degradation(degradation).saved(hr, scale, seed_for_name(name))


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
        lr, quality = saved_lr(hr, scale, degradation, path.stem)
        sr = sr_fn(lr, quality)
        if on_images is not None:
            on_images(path, lr, quantize_uint8(np.asarray(sr, dtype=np.float64)))
        psnr, ssim = score_image(sr, hr, scale)
        yield ImageScore(path.stem, psnr, ssim)


@dataclass(frozen=True)
class EvalRequest:
    """What `drn eval` scores; invalid combinations raise UsageError when it is made. model: a
    preset, a weights file, "bicubic" (the paper's baseline row) or None (the paper's model, or
    the DRN-S of `scale`); outscale: score the output resized to this scale, as `drn upscale
    --outscale` makes it. A model's SR is what `drn upscale` makes: `upscale` is the request it
    would be given (its rules, with its words, checked there)."""

    model: str | None = None
    scale: int | None = None
    degradation: str = "bicubic"
    outscale: int | None = None
    self_ensemble: bool = False
    tile: int | None = None
    device: str = "auto"
    precision: str = "auto"
    denoise: float | str | None = None  # S: blend the clean and the photo model of the scale; "auto": per image
    backend: str | None = None  # auto, torch or openvino; None: DRN_BACKEND, else auto
    upscale: UpscaleRequest | None = field(init=False, default=None, repr=False, compare=False)  # None for bicubic

    def __post_init__(self) -> None:
        try:
            parse_degradation(self.degradation)
        except ValueError as exc:
            raise UsageError(f"--degradation: {exc}") from None
        check_scale(self.scale)
        if self.outscale is not None and (self.outscale not in (2, 4, 8) or self.scale is not None
                                          or self.model == "bicubic"):
            raise UsageError("--outscale takes 2, 4 or 8, with a model and without --scale")
        if self.model == "bicubic":
            if self.scale is None:
                raise UsageError("--model bicubic needs --scale")
            parse_denoise(self.denoise)
            check_options(self.device, self.precision, backend_option(self.backend))  # as a model's request would
            return
        name = self.model if self.model is not None else preset_for_scale(self.scale, PAPER_MODEL)
        object.__setattr__(self, "upscale", UpscaleRequest(
            name, self.scale, self.outscale, tta=self.self_ensemble, tile=self.tile, device=self.device,
            precision=self.precision, denoise=self.denoise, backend=self.backend))


def sr_function(request: EvalRequest) -> tuple[SrFunction, int, str]:
    """(sr_fn, scale, name) of what `request` scores: bicubic, or what `drn upscale` makes of each
    LR (session.Session: the model or the --denoise blend of its pair; under auto, the strength
    the LR's damage says, its file's JPEG quality included; resized to `outscale`; the 8 flips
    and rotations averaged with --self-ensemble)."""
    if request.model == "bicubic":
        return bicubic_sr(request.scale), request.scale, "bicubic"
    session = Session(request.upscale)
    upscaler = session.upscaler()  # its scale and name, checked against --scale
    name, denoise = request.upscale.model_name, request.upscale.denoise
    label = name
    if denoise is not None:
        ends = auto_models(name) if denoise == AUTO else denoise_pair(name)
        label = f"{'+'.join(ends)} denoise {denoise if denoise == AUTO else f'{denoise:g}'}"
    scale = upscaler.scale
    if request.outscale is not None and request.outscale != upscaler.scale:
        scale, label = request.outscale, f"{label} resized to x{request.outscale}"

    def fn(lr: np.ndarray, quality: int | None) -> np.ndarray:
        return session.upscale(Picture(lr, None, "PNG", jpeg_quality=quality))[0].final.pixels

    return fn, scale, label


def image_saver(save_lr: Path | None, save_dir: Path | None, scale: int):
    """An `on_images` for iter_scores that writes the LR and/or SR images as PNG, or None."""
    if save_lr is None and save_dir is None:
        return None
    from .atomic import make_folder
    from .io import write_image

    def save(path: Path, lr: np.ndarray, sr: np.ndarray) -> None:
        for folder, image in ((save_lr, lr), (save_dir, sr)):
            if folder is not None:
                make_folder(folder)
                write_image(folder / f"{path.stem}_x{scale}.png", Picture(image, None, "PNG"), "PNG", overwrite=True)

    return save
