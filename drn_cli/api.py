"""The Python API: `upscale()` for one image, as `from drn_cli import upscale`."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .errors import DrnError
from .inference import load_upscaler, upscale_picture
from .io import Picture
from .presets import UPSCALE_MODEL


def upscale(image: np.ndarray | Image.Image, model: str = UPSCALE_MODEL, *, device: str = "auto",
            precision: str = "auto", tile: int | None = None) -> np.ndarray | Image.Image:
    """Upscale one image and return it in the same kind it came in.

    `image` is a Pillow image or an integer array (H, W) / (H, W, 3) / (H, W, 4) of uint8 or
    uint16. Stateless and thread-safe: loaded models are cached read-only and shared.
    """
    upscaler = load_upscaler(model, device, precision)
    as_pil = isinstance(image, Image.Image)
    array = np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB")
                       if as_pil and image.mode not in ("L", "I;16", "RGB", "RGBA") else image)
    if array.dtype not in (np.uint8, np.uint16):
        raise DrnError(f"upscale expects uint8 or uint16 pixels, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise DrnError(f"upscale expects (H, W), (H, W, 3) or (H, W, 4) pixels, got {array.shape}")
    alpha = array[:, :, 3] if array.shape[2] == 4 else None
    picture = Picture(np.ascontiguousarray(array[:, :, :3]), alpha, "PNG")
    out = upscale_picture(picture, upscaler, tile)
    planes = out.pixels if out.alpha is None else np.concatenate([out.pixels, out.alpha[:, :, None]], 2)
    result = planes[:, :, 0] if planes.shape[2] == 1 else planes
    return Image.fromarray(result) if as_pil else result
