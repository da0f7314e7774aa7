"""One picture through the model: prepare, run, finish.

- prepare: grey replicated to RGB, integers (8 or 16 bits) to float in [0, 1];
- run: the final image streamed row by row as integers (or the 8-pass TTA), or, when the
  request asks for the intermediate levels or the confidence map, every output of one pass
  (levels.py);
- finish: the alpha upscaled with bicubic, the final size computed once (`final_size`) and
  reached with an antialiased resize, grey and bit depth restored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from .inference import TileProgress, Upscaler, integer_rows, is_out_of_memory, self_ensemble
from .io import Picture, to_integers
from .levels import upscale_extras
from .request import PLAIN_OUTPUT, PLAIN_RUN, OutputSpec, RunOptions


@dataclass
class Upscaled:
    """final: the picture at its final size; levels: the intermediate pyramid levels x2 ...
    x(S/2) when asked (OutputSpec.all_levels); loop: (h, w) float32 closed-loop error per LR pixel
    on the 0..255 scale when asked (OutputSpec.confidence), else None."""

    final: Picture
    levels: list[Picture] = field(default_factory=list)
    loop: np.ndarray | None = None


def prepare(picture: Picture) -> np.ndarray:
    """(H, W, 1 or 3) integers -> (H, W, 3) float32 in [0, 1]; grey replicated to RGB."""
    pixels = picture.pixels
    rgb = pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)
    return rgb.astype(np.float32) / np.float32(65535.0 if picture.bits == 16 else 255.0)


def to_pixels(rgb: np.ndarray, channels: int, bits: int) -> np.ndarray:
    """(h, w, 3) float in [0, 1] -> (h, w, channels) integers of `bits`; grey is the mean of RGB."""
    return to_integers(rgb.mean(axis=2, keepdims=True) if channels == 1 else rgb, bits)


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """(H, W) integer alpha -> (H*s, W*s), bicubic and clamped; constant alpha stays exact."""
    if alpha.min() == alpha.max():
        return np.full((alpha.shape[0] * scale, alpha.shape[1] * scale), alpha.flat[0], alpha.dtype)
    maxval = 65535.0 if alpha.dtype == np.uint16 else 255.0
    x = torch.from_numpy(alpha.astype(np.float32) / maxval)[None, None]
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0, 0]
    return to_integers(up.clamp_(0, 1).numpy(), 16 if alpha.dtype == np.uint16 else 8)


def resize_picture(picture: Picture, size: tuple[int, int]) -> Picture:
    """Pixels and alpha resized to `size` (width, height): area averaging when shrinking
    (antialiased), Lanczos when enlarging; `picture` itself when it has that size."""
    h, w = picture.pixels.shape[:2]
    if (w, h) == size:
        return picture
    flag = cv2.INTER_AREA if size[0] < w else cv2.INTER_LANCZOS4

    def resize(plane: np.ndarray) -> np.ndarray:
        out = cv2.resize(plane, size, interpolation=flag)
        return out.reshape(size[1], size[0], *plane.shape[2:]) if plane.ndim == 3 else out

    alpha = None if picture.alpha is None else resize(picture.alpha)
    return Picture(resize(picture.pixels), alpha, picture.format, picture.icc, picture.exif)


def _finish(picture: Picture, pixels: np.ndarray, factor: int) -> Picture:
    """Upscaled `pixels` (integers) with `picture`'s alpha upscaled by `factor` and its metadata."""
    alpha = None if picture.alpha is None else upscale_alpha(picture.alpha, factor)
    return Picture(pixels, alpha, picture.format, picture.icc, picture.exif)


def _run_final(picture: Picture, image: np.ndarray, upscaler: Upscaler, run: RunOptions,
               on_tile: TileProgress | None) -> np.ndarray:
    """The final level as integers: streamed rows rounded where they are made, or the TTA
    passes (Upscaler.ensemble) averaged in float and rounded once."""
    (h, w, channels), s = picture.pixels.shape, upscaler.scale
    if run.tta:
        count = len(upscaler.ensemble)
        passes = iter(range(count))

        def one_pass(x: np.ndarray) -> np.ndarray:
            k = next(passes)
            progress = None if on_tile is None else lambda done, total: on_tile(k * total + done, count * total)
            return upscaler.upscale_array(x, run.tile, run.overlap, progress)

        averaged = self_ensemble(one_pass, image, upscaler.ensemble)
        return to_pixels(averaged.astype(np.float32), channels, picture.bits)
    out = np.empty((h * s, w * s, channels), dtype=picture.pixels.dtype)

    def emit(y: int, rows: np.ndarray) -> None:
        out[y: y + rows.shape[0]] = rows

    upscaler.upscale_rows(image, emit, run.tile, run.overlap, on_tile, integer_rows(channels, picture.bits))
    return out


def upscale_picture(picture: Picture, upscaler: Upscaler, run: RunOptions = PLAIN_RUN,
                    output: OutputSpec = PLAIN_OUTPUT, on_tile: TileProgress | None = None) -> Upscaled:
    """Upscale a picture as `run` and `output` say; `on_tile(done, total)` after each model pass
    over a tile. The final size is checked before any work."""
    h, w, channels = picture.pixels.shape
    size = output.final_size(w, h, upscaler.scale)
    image = prepare(picture)
    if not (output.all_levels or output.confidence):
        final = _finish(picture, _run_final(picture, image, upscaler, run, on_tile), upscaler.scale)
        return Upscaled(resize_picture(final, size))
    outputs = upscale_extras(upscaler, image, run.tile, run.overlap, output.confidence, on_tile)
    loop = outputs.pop() if output.confidence else None
    levels = [_finish(picture, to_pixels(level, channels, picture.bits), scale)
              for scale, level in zip(upscaler.model.level_scales, outputs)]
    final = resize_picture(levels.pop(), size)
    return Upscaled(final, levels if output.all_levels else [], loop)


def upscale_batch(pictures: list[Picture], upscaler: Upscaler, run: RunOptions = PLAIN_RUN,
                  output: OutputSpec = PLAIN_OUTPUT) -> list[Picture]:
    """Final pictures of same-size pictures without alpha (a video's frames) in one model pass
    when each fits in one tile (what a GPU does best); one by one otherwise (tiles, TTA, extra
    outputs), or when the batch runs out of memory. The output is upscale_picture's, up to the
    rounding of a batched forward."""
    h, w, channels = pictures[0].pixels.shape
    side = upscaler.tile_side(run.tile, h, w)
    if len(pictures) == 1 or run.tta or output.all_levels or output.confidence or side < max(h, w):
        return [upscale_picture(p, upscaler, run, output).final for p in pictures]
    x = torch.from_numpy(np.stack([prepare(p) for p in pictures]).transpose(0, 3, 1, 2).copy())
    try:
        sr = upscaler.model(x)
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        return [upscale_picture(p, upscaler, run, output).final for p in pictures]
    to_host, size = integer_rows(channels, pictures[0].bits), output.final_size(w, h, upscaler.scale)
    return [resize_picture(_finish(p, to_host(rows), upscaler.scale), size) for p, rows in zip(pictures, sr)]
