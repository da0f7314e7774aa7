"""Tiled upscaling with overlapping, blended tiles, streamed row band by row band.

Knows nothing of DRN: it takes `upscale(tile) -> tile` for (1, C, h, w) float tensors. Tiles are
balanced (the count comes from the maximum size, then all tiles get equal sizes) and overlap by
at least `overlap` input pixels; overlaps are blended with linear ramps whose weights sum to one,
so there are no seams. Finished output rows are handed to `emit(y, rows)` as soon as no later
tile can touch them: only one band of tile rows is ever held in float, never the whole output.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

TileFn = Callable[[torch.Tensor], torch.Tensor]
EmitFn = Callable[[int, torch.Tensor], None]  # (first output row, (C, rows, W) float rows)


def tile_extent(tile: int, h: int, w: int) -> int:
    """The tile side actually used for an (h, w) image: `tile`, or max(h, w) (one tile, the whole
    image) when `tile` is 0 or at least that large. The one place "0 = whole image" is decided."""
    return tile if 0 < tile < max(h, w) else max(h, w)


def plan_axis(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Balanced [start, end) spans covering `length`, each at most `tile` long (0: one span),
    neighbours overlapping by at least `overlap` (when there is more than one span)."""
    if tile <= 0 or tile >= length:
        return [(0, length)]
    overlap = min(overlap, tile // 2)
    count = math.ceil((length - overlap) / (tile - overlap))
    size = math.ceil((length + (count - 1) * overlap) / count)
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)] if count > 1 else [0]
    return [(s, s + size) for s in starts]


def tile_count(h: int, w: int, tile: int, overlap: int) -> int:
    """Tiles of one model pass over an (h, w) image with tiles of side `tile` (0: whole image)."""
    side = tile_extent(tile, h, w)
    return len(plan_axis(h, side, overlap)) * len(plan_axis(w, side, overlap))


def tile_pixels(h: int, w: int, tile: int, overlap: int) -> int:
    """Input pixels the model sees in one pass over an (h, w) image (overlaps counted twice)."""
    side = tile_extent(tile, h, w)
    rows, cols = plan_axis(h, side, overlap), plan_axis(w, side, overlap)
    return sum(b - a for a, b in rows) * sum(b - a for a, b in cols)


def effective_overlap(overlap: int, context: int, tile: int) -> int:
    """The overlap a model with `context` LR pixels of receptive radius (0: unbounded, as DRN's
    U-Net) is tiled with: `overlap`, raised to 2 * context + 1 where that costs at most a
    quarter of the tile, so that every output pixel can come from a tile that saw all it depends
    on (see _blend_weights)."""
    wanted = 2 * context + 1
    return max(overlap, wanted) if context and wanted <= tile // 4 else overlap


def _ramp(n: int, margin: int, device: torch.device) -> torch.Tensor:
    """Weights rising from ~0 to ~1 over n samples (the incoming tile's share of an overlap),
    0 over the first `margin` samples and 1 over the last: a tile's pixels within `margin` of its
    edge, which its model saw without all their context, never count."""
    w = torch.zeros(n, device=device)
    w[n - margin:] = 1.0
    w[margin: n - margin] = (torch.arange(n - 2 * margin, device=device, dtype=torch.float32) + 0.5) / (n - 2 * margin)
    return w


def _blend_weights(spans: list[tuple[int, int]], index: int, scale: int, context: int = 0) -> torch.Tensor:
    """Per-output-pixel weight of tile `index` along one axis, (size * scale,). Where an overlap
    is wider than 2 * `context` LR pixels, the ramp keeps `context` away from both tiles' edges:
    the blend is then of exact values, and tiling changes nothing (SRVGGNetCompact's 18 pixels);
    elsewhere (context 0: DRN) the ramp spans the whole overlap."""
    start, end = spans[index]
    w = torch.ones((end - start) * scale)

    def margin(n: int) -> int:
        return context * scale if n > 2 * context * scale else 0

    if index > 0:
        n = (spans[index - 1][1] - start) * scale
        w[:n] = _ramp(n, margin(n), w.device)
    if index + 1 < len(spans):
        n = (end - spans[index + 1][0]) * scale
        w[len(w) - n:] = 1 - _ramp(n, margin(n), w.device)
    return w


def upscale_tiled(image: torch.Tensor, upscale: TileFn, scale: int, tile: int, overlap: int,
                  emit: EmitFn, device: torch.device | str = "cpu", context: int = 0) -> None:
    """Upscale (1, C, h, w) `image` tile by tile, emitting blended (C, rows, w*scale) rows;
    `context`: the model's receptive radius in LR pixels, 0 when unbounded (_blend_weights).

    Rows are emitted top to bottom, each exactly once; the union covers all h*scale rows.
    Blending happens on `device`, where the tiles come back, and so do the emitted rows.
    """
    _, channels, h, w = image.shape
    rows, cols = plan_axis(h, tile, overlap), plan_axis(w, tile, overlap)
    col_weights = [_blend_weights(cols, j, scale, context).to(device) for j in range(len(cols))]
    carry = None  # blended float rows of the previous band that the next band still overlaps
    for i, (y0, y1) in enumerate(rows):
        band = torch.zeros(channels, (y1 - y0) * scale, w * scale, device=device)
        for j, (x0, x1) in enumerate(cols):
            out = upscale(image[:, :, y0:y1, x0:x1])[0].float().to(device)
            band[:, :, x0 * scale: x1 * scale] += out * col_weights[j]
        row_w = _blend_weights(rows, i, scale, context).to(device)[:, None]
        band *= row_w
        if carry is not None:
            band[:, : carry.shape[1]] += carry
        keep = (y1 - rows[i + 1][0]) * scale if i + 1 < len(rows) else 0
        done = band.shape[1] - keep
        emit(y0 * scale, band[:, :done])
        carry = band[:, done:]
