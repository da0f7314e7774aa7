"""What one forward pass gives beside the final image: every pyramid level, and the closed loop.

DRN's primal network supervises an image at every scale (x2 and x4 of a x4 model, paper Sec. 3.1), so
`--all-levels` writes them all from one pass. Its dual blocks map the output back to the input
size; |D(SR) - LR| per LR pixel (the closed loop of paper Sec. 3.2) says where the output does not
explain the input: `--confidence` writes it as a colour map. Tiles are blended exactly like the
final image's (tiling.upscale_tiled), the extra outputs from the same tile passes.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .inference import TileProgress, Upscaler
from .io import Picture
from .tiling import tile_count, upscale_tiled

LOOP_MAP_MAX = 24.0  # loop error (0..255 pixel units) shown at the top of the colour map
LOOP_COLORMAP = cv2.COLORMAP_INFERNO


def _tile_outputs(upscaler: Upscaler, tile: torch.Tensor, loop: bool) -> list[torch.Tensor]:
    """One tile -> [x2, ..., xS] in [0, 1] (LoadedModel.levels) and, with `loop`, its loop map."""
    model = upscaler.model
    lr = tile.to(model.device)
    levels = model.levels(lr)
    levels[-1] = upscaler.held_to_input(levels[-1], lr)  # the final image as upscale_tile makes it
    return levels + ([model.loop_error(lr, levels[-1])] if loop else [])


def upscale_extras(upscaler: Upscaler, image: np.ndarray, tile: int | None, overlap: int,
                   loop: bool, on_tile: TileProgress | None = None) -> list[np.ndarray]:
    """(H, W, 3) float in [0, 1] -> [x2, ..., xS] as (H*2^k, W*2^k, 3) float32 in [0, 1], then with
    `loop` the (H, W) loop map. One forward pass per tile: the first blending pass computes and
    keeps every output of each tile, the later passes blend the kept ones (same tiles, same order).
    `on_tile(done, total)` after each forward pass."""
    h, w = image.shape[:2]
    lr = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]
    side = upscaler.tile_side(tile, h, w)
    scales = [*upscaler.model.level_scales, *([1] if loop else [])]
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


def loop_map_picture(loop: np.ndarray, size: tuple[int, int]) -> Picture:
    """The loop map as an RGB colour map (inferno: black = 0, yellow >= LOOP_MAP_MAX) at `size`
    (width, height), each LR pixel a block (nearest-neighbour)."""
    scaled = np.clip(loop / LOOP_MAP_MAX * 255.0 + 0.5, 0, 255).astype(np.uint8)
    coloured = cv2.applyColorMap(scaled, LOOP_COLORMAP)[:, :, ::-1]  # BGR -> RGB
    text = {"drn:loop_error": f"|D(SR) - LR| per LR pixel, mean over RGB, 0..255 scale; colormap inferno, "
                              f"black = 0, yellow = {LOOP_MAP_MAX:g} or more; mean {float(loop.mean()):.3f}"}
    pixels = np.ascontiguousarray(cv2.resize(coloured, size, interpolation=cv2.INTER_NEAREST))
    return Picture(pixels, None, "PNG", text=text)
