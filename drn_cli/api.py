"""The Python API: `upscale()` for one image, as `from drn_cli import upscale`."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from .degradations.estimate import image_jpeg_quality
from .io import Picture, read_image
from .request import DEFAULT_ADAPT_STEPS, UpscaleRequest
from .session import Session

ImageLike = Image.Image | np.ndarray | str | os.PathLike


def upscale(image: ImageLike, model: str | None = None, *, scale: int | None = None,
            outscale: float | None = None, width: int | None = None, height: int | None = None,
            tta: bool = False, device: str = "auto", precision: str = "auto",
            tile: int | None = None, denoise: float | str | None = None,
            backend: str | None = None, adapt: bool | int = False) -> np.ndarray | Image.Image:
    """Upscale one image and return it in the same kind it came in.

    `image` is a Pillow image, an integer array (H, W) / (H, W, 3) / (H, W, 4) of uint8 or
    uint16, or the path of an image file (EXIF orientation applied; returned as a Pillow image,
    or as a uint16 array for 16-bit colour, which Pillow cannot hold; an animated file gives its
    first frame: `drn upscale` makes every frame). `model` is a preset name or a weights file.
    Without it, the picture gets the model its damage asks for, as `drn upscale` without
    `--model` does (`denoise` "auto", read from the image: a JPEG file's quality, noise, blur;
    request.AUTO): the clean model (drn-s-x4) for a clean picture, the photo model
    (drn-s-x4-real) for a compressed, noisy or blurred one; of `scale` (2, 4), or resized to
    `outscale` (any factor) or to x8 where no such pair exists (models.presets.upscale_choice).
    `denoise` S in [0, 1] sets the blend yourself: 0 the clean model's output, 1 the photo
    model's, between them both run and are blended (`drn upscale --denoise S`). `width` and/or
    `height` ask for a final size instead (pixels, aspect ratio kept; both: the largest size that
    fits inside them), reached by resizing the model's output. `tta` averages the 8 flips and
    rotations (8x the time; with `adapt`, those that keep the blur read: Upscaler.ensemble).
    `backend`: "auto" (OpenVINO on CPUs with fast bf16 where it is installed), "torch" or
    "openvino"; None reads DRN_BACKEND. `adapt` (True, or a number of
    steps) first adapts the model to this picture, as `drn upscale --adapt` does (test_time.py:
    about a minute for 0.1 MP on 2 CPU cores); the shared model is not changed. Stateless and thread-safe: loaded
    models are cached read-only and shared. Options are checked as the CLI checks them
    (request.UpscaleRequest), with the same words: a UsageError names the CLI's option.
    """
    steps = DEFAULT_ADAPT_STEPS if adapt is True else int(adapt)
    request = UpscaleRequest(model, scale, outscale, width, height, tta=tta, tile=tile, device=device,
                             precision=precision, denoise=denoise, backend=backend, adapt_steps=steps)
    picture, kind = _to_picture(image)
    out = Session(request).upscale(picture)[0].final
    planes = out.pixels if out.alpha is None else np.concatenate([out.pixels, out.alpha[:, :, None]], 2)
    result = planes[:, :, 0] if planes.shape[2] == 1 else planes
    if kind == "array" or (result.dtype == np.uint16 and result.ndim == 3):
        return result
    return Image.fromarray(result)


def _to_picture(image: ImageLike) -> tuple[Picture, str]:
    """(picture, "pil" | "array" | "path") of what `upscale` was given."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image), "path"
    if isinstance(image, Image.Image):
        keep = image.mode in ("L", "I;16", "RGB", "RGBA")
        array, kind = np.asarray(image if keep else image.convert("RGBA" if "A" in image.getbands() else "RGB")), "pil"
    elif isinstance(image, np.ndarray):
        array, kind = image, "array"
    else:
        raise TypeError(f"upscale expects a PIL image, a numpy array or a file path, got {type(image).__name__}")
    if array.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"upscale expects uint8 or uint16 pixels, got {array.dtype} (scale floats to 0..255 "
                        "and convert with .astype(np.uint8))")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise TypeError(f"upscale expects (H, W), (H, W, 3) or (H, W, 4) pixels, got shape {array.shape}")
    alpha = array[:, :, 3] if array.shape[2] == 4 else None
    quality = image_jpeg_quality(image) if kind == "pil" else None  # an opened JPEG file keeps its tables
    return Picture(np.ascontiguousarray(array[:, :, :3]), alpha, "PNG", jpeg_quality=quality), kind
