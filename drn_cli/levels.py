"""What one forward pass gives beside the final image: every pyramid level, and the closed loop.

DRN's primal network supervises an image at every scale (x2 and x4 of a x4 model, DRN.md §3), so
`--all-levels` writes them all from one pass. Its dual blocks map the output back to the input
size; |D(SR) - LR| per LR pixel (the closed loop of DRN.md §4) says where the output does not
explain the input: `--confidence` writes it as a colour map. Tiles are blended exactly like the
final image's (tiling.upscale_tiled), the extra outputs from the same tile passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .errors import DrnError
from .inference import (
    RunOptions,
    TileProgress,
    Upscaler,
    final_size,
    resize_picture,
    to_pixels,
    upscale_alpha,
)
from .io import Picture
from .tiling import tile_count, tile_extent, upscale_tiled

LOOP_MAP_MAX = 24.0  # loop error (0..255 pixel units) shown at the top of the colour map
LOOP_COLORMAP = cv2.COLORMAP_INFERNO


@dataclass
class Extras:
    """levels: [x2, ..., xS] pictures (the last one is the final image); loop: (h, w) float32
    closed-loop error per LR pixel on the 0..255 scale, or None."""

    levels: list[Picture]
    loop: np.ndarray | None


def loop_error_map(upscaler: Upscaler, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    """(1, 3, h, w) LR and (1, 3, h*s, w*s) SR in [0, 1] -> (1, 1, h, w) |D(SR) - LR|, mean over
    RGB, on the 0..255 scale: every dual block chained from the output down to the input size."""
    if upscaler.duals is None:
        raise DrnError("--confidence needs a model with dual blocks (our .safetensors files have "
                       "them; official primal-only checkpoints do not)")
    x = sr.float() * 255.0
    with torch.inference_mode():
        for block in reversed(upscaler.duals):
            x = block(x)
    return (x - lr.to(x.device).float() * 255.0).abs().mean(dim=1, keepdim=True)


def _tile_outputs(upscaler: Upscaler, tile: torch.Tensor, loop: bool) -> list[torch.Tensor]:
    """One tile -> [x2, ..., xS] in [0, 1] (Upscaler.tile_levels) and, with `loop`, its loop map."""
    lr = tile.to(upscaler.device)
    levels = upscaler.tile_levels(lr)
    return levels + ([loop_error_map(upscaler, lr, levels[-1])] if loop else [])


def upscale_extras(upscaler: Upscaler, image: np.ndarray, tile: int | None, overlap: int,
                   loop: bool, on_tile: TileProgress | None = None) -> list[np.ndarray]:
    """(H, W, 3) float in [0, 1] -> [x2, ..., xS] as (H*2^k, W*2^k, 3) float32 in [0, 1], then with
    `loop` the (H, W) loop map. One forward pass per tile: the first blending pass computes and
    keeps every output of each tile, the later passes blend the kept ones (same tiles, same order).
    `on_tile(done, total)` after each forward pass."""
    h, w = image.shape[:2]
    lr = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]
    side = tile_extent(upscaler.default_tile() if tile is None else tile, h, w)
    scales = [2 ** k for k in range(1, upscaler.model.config.phases + 1)] + ([1] if loop else [])
    kept: list[list[torch.Tensor]] = []
    total = tile_count(h, w, side, overlap)

    def first(t: torch.Tensor) -> torch.Tensor:
        outputs = _tile_outputs(upscaler, t, loop)
        kept.append(outputs)
        if on_tile:
            on_tile(len(kept), total)
        return outputs[0]

    results = []
    for index, scale in enumerate(scales):
        channels = 1 if loop and index == len(scales) - 1 else 3
        out = np.empty((h * scale, w * scale, channels), dtype=np.float32)

        def emit(y: int, rows: torch.Tensor, out: np.ndarray = out) -> None:
            out[y: y + rows.shape[1]] = rows.permute(1, 2, 0).cpu().numpy()

        passes = iter(kept)
        fn = first if index == 0 else (lambda t, i=index, passes=passes: next(passes)[i])
        upscale_tiled(lr[:, :channels] if channels == 1 else lr, fn, scale, side, overlap, emit, upscaler.device)
        results.append(out[:, :, 0] if channels == 1 else out)
    return results


def upscale_picture_extras(picture: Picture, upscaler: Upscaler, run: RunOptions,
                           on_tile: TileProgress | None = None) -> Extras:
    """Every level of `picture` (grey, 16-bit and alpha kept as in upscale_picture) and, with
    `run.confidence`, its loop map; the final level resized to `final_size` (--outscale,
    --width/--height); `on_tile` as in upscale_extras."""
    bits, (h, w, channels) = picture.bits, picture.pixels.shape
    size = final_size(run, w, h, upscaler.scale)
    rgb = picture.pixels if channels == 3 else np.repeat(picture.pixels, 3, axis=2)
    image = rgb.astype(np.float32) / np.float32(65535.0 if bits == 16 else 255.0)
    outputs = upscale_extras(upscaler, image, run.tile, run.overlap, run.confidence, on_tile)
    loop_map = outputs.pop() if run.confidence else None
    levels = []
    for k, level in enumerate(outputs, start=1):
        alpha = None if picture.alpha is None else upscale_alpha(picture.alpha, 2 ** k)
        levels.append(Picture(to_pixels(level, channels, bits), alpha, picture.format, picture.icc, picture.exif))
    levels[-1] = resize_picture(levels[-1], size)
    return Extras(levels, loop_map)


def loop_map_picture(loop: np.ndarray, size: tuple[int, int]) -> Picture:
    """The loop map as an RGB colour map (inferno: black = 0, yellow >= LOOP_MAP_MAX) at `size`
    (width, height), each LR pixel a block (nearest-neighbour)."""
    scaled = np.clip(loop / LOOP_MAP_MAX * 255.0 + 0.5, 0, 255).astype(np.uint8)
    coloured = cv2.applyColorMap(scaled, LOOP_COLORMAP)[:, :, ::-1]  # BGR -> RGB
    text = {"drn:loop_error": f"|D(SR) - LR| per LR pixel, mean over RGB, 0..255 scale; colormap inferno, "
                              f"black = 0, yellow = {LOOP_MAP_MAX:g} or more; mean {float(loop.mean()):.3f}"}
    pixels = np.ascontiguousarray(cv2.resize(coloured, size, interpolation=cv2.INTER_NEAREST))
    return Picture(pixels, None, "PNG", text=text)
