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
from .errors import UsageError
from .io import Picture, read_rgb
from .metrics import psnr_y, ssim_y


def convention(degradation: str = "bicubic") -> str:
    """The scoring convention in one line, naming how the LR was made."""
    lr = ("MATLAB-bicubic imresize rounded to uint8" if degradation == "bicubic"
          else f"the {degradation} degradation (degradations/), rounded to uint8"
          + (", drawn per image from a seed made from its name" if degradation == "real" else ""))
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
    --outscale` makes it."""

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

    def __post_init__(self) -> None:
        from .degradations import parse_degradation
        from .device import backend_option, check_options
        from .request import check_denoise, check_scale, parse_denoise

        object.__setattr__(self, "backend", backend_option(self.backend))
        object.__setattr__(self, "denoise", parse_denoise(self.denoise))
        check_denoise(self.denoise, None if self.model == "bicubic" else self.model or "drn-s-x4")
        try:
            parse_degradation(self.degradation)
        except ValueError as exc:
            raise UsageError(f"--degradation: {exc}") from None
        check_options(self.device, self.precision, self.backend)
        check_scale(self.scale)
        if self.outscale is not None and (self.outscale not in (2, 4, 8) or self.scale is not None
                                          or self.model == "bicubic"):
            raise UsageError("--outscale takes 2, 4 or 8, with a model and without --scale")
        if self.model == "bicubic" and self.scale is None:
            raise UsageError("--model bicubic needs --scale")
        if self.model not in (None, "bicubic"):
            from .models.presets import model_file

            model_file(self.model)


def sr_function(request: EvalRequest) -> tuple[SrFunction, int, str]:
    """(sr_fn, scale, name) of what `request` scores: bicubic, a model (or the --denoise blend of
    its pair; under auto, the strength each LR's damage says, as drn upscale reads it), or its
    output resized to `outscale` as `drn upscale` makes it; averaged over the 8 flips and
    rotations when asked."""
    if request.model == "bicubic":
        return bicubic_sr(request.scale), request.scale, "bicubic"
    from .degradations.estimate import read_damage
    from .inference import self_ensemble, upscaler_for
    from .models.presets import PAPER_MODEL, denoise_pair, preset_for_scale
    from .picture import upscale_picture
    from .request import AUTO, OutputSpec, RunOptions

    name = request.model if request.model is not None else preset_for_scale(request.scale, PAPER_MODEL)
    denoise, auto = request.denoise, request.denoise == AUTO

    def upscaler_of(lr: np.ndarray, quality: int | None):  # loads are cached: a choice per image is cheap
        return upscaler_for(name, read_damage(lr, quality).strength if auto else denoise, request.device, request.precision,
                            backend=request.backend)

    upscaler = upscaler_for(name, 1.0 if auto else denoise, request.device, request.precision,
                            backend=request.backend)  # its scale, label
    if request.scale is not None and request.scale != upscaler.scale:
        raise UsageError(f"--model {name} is a x{upscaler.scale} model, but --scale {request.scale} was given")
    label = name if denoise is None else f"{'+'.join(denoise_pair(name))} denoise {denoise if auto else f'{denoise:g}'}"
    scale, run, spec = upscaler.scale, RunOptions(tile=request.tile), OutputSpec(outscale=request.outscale)
    if request.outscale is not None and request.outscale != upscaler.scale:
        scale, label = request.outscale, f"{label} resized to x{request.outscale}"

    def fn(lr: np.ndarray, quality: int | None) -> np.ndarray:
        chosen = upscaler_of(lr, quality)

        def once(image: np.ndarray) -> np.ndarray:
            if scale == chosen.scale:
                return chosen.upscale_uint8(image, tile=request.tile)
            return upscale_picture(Picture(image, None, "PNG"), chosen, run, spec).final.pixels

        return self_ensemble(once, lr) if request.self_ensemble else once(lr)

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
