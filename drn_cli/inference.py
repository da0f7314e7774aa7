"""Inference: the model on a device, in a precision, tile by tile, on whole pictures.

Contract: images are float32 arrays (H, W, 3) in [0, 1] (`DRN.super_resolve` holds the model's
side of it). Reduced-precision tiles whose output is not finite are redone in fp32, and a tile
that runs out of memory makes the whole image restart with half the tile size. Tile size and
overlap are choices of each call, not of the loaded model, so one cached model serves them all.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from .device import keep_freed_cpu_memory, resolve_device, resolve_precision, return_freed_cpu_memory
from .errors import DrnError
from .io import Picture, to_integers
from .model import DRN
from .presets import UPSCALE_MODEL
from .tiling import tile_count, tile_extent, upscale_tiled
from .weights import Weights, model_path, resolve_model

DEFAULT_CPU_TILE = 256      # LR pixels; see docs/performance.md for the sweep
DEFAULT_OVERLAP = 16        # LR pixels; see docs/tiling.md for the tiled-vs-whole PSNR
MIN_TILE = 16
CPU_BYTES_PER_LR_PIXEL = 8_000   # DRN-S x4: ~0.8 GB peak RSS for a 256x256 tile (docs/performance.md)
CUDA_BYTES_PER_LR_PIXEL = 12_000  # DRN-S x4, bf16: 7,892 measured at LR 512 on an H100 (docs/performance.md), 1.5x margin


def default_tile(device: torch.device) -> int:
    """Tile side in LR pixels from free memory: the GPU's, or on the CPU at most DEFAULT_CPU_TILE
    (larger tiles are no faster there) and less when available RAM is short."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(MIN_TILE, int((0.6 * free / CUDA_BYTES_PER_LR_PIXEL) ** 0.5) // 8 * 8)
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 1 << 34
    return max(MIN_TILE, min(DEFAULT_CPU_TILE, int((0.5 * free / CPU_BYTES_PER_LR_PIXEL) ** 0.5) // 8 * 8))


TileProgress = Callable[[int, int], None]  # (tiles done, tiles in all)
ToHost = Callable[[torch.Tensor], np.ndarray]  # (3, rows, W) float in [0, 1] on the device -> host rows


def float_rows(rows: torch.Tensor) -> np.ndarray:
    """(3, rows, W) float -> (rows, W, 3) float32 on the host."""
    return rows.permute(1, 2, 0).float().cpu().numpy()


def integer_rows(channels: int, bits: int) -> ToHost:
    """A ToHost that rounds to `bits` integers (and averages RGB to grey for 1 channel) where the
    rows are, so that a GPU sends back a quarter of the float bytes and the host does no per-pixel
    work; the same arithmetic as io.to_integers."""
    maxval = 65535.0 if bits == 16 else 255.0

    def convert(rows: torch.Tensor) -> np.ndarray:
        x = rows.float().mean(0, keepdim=True) if channels == 1 else rows.float()
        x = (x * maxval + 0.5).clamp_(0, maxval).to(torch.uint8 if bits == 8 else torch.int32)
        host = x.permute(1, 2, 0).cpu().numpy()
        return host if bits == 8 else host.astype(np.uint16)

    return convert


@dataclass(frozen=True)
class RunOptions:
    """How to run the model on one picture (choices of the call, not of the loaded model).

    tile: LR pixels, None = from free memory, 0 = whole image. tta: average the 8 flips and
    rotations (8x the compute). outscale: the final scale, reached by resizing the model's output
    with an antialiased filter; None = the model's own scale. width and height: the final size
    instead, in pixels, aspect ratio kept (both: the largest size that fits inside them); see
    final_size. all_levels and confidence ask for what levels.py computes beside the final image
    from the same forward pass.
    """

    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    tta: bool = False
    outscale: float | None = None
    all_levels: bool = False   # also every intermediate pyramid level (levels.py)
    confidence: bool = False   # also the closed-loop error map (levels.py)
    width: int | None = None
    height: int | None = None


def _is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate" in text


@dataclass
class Upscaler:
    """A loaded model ready to upscale; safe to share between threads (it holds no call state).

    `tile` arguments are in LR pixels: None = chosen from free memory, 0 = the whole image.
    """

    model: DRN
    device: torch.device
    dtype: torch.dtype
    duals: torch.nn.ModuleList | None = None  # the dual blocks, when the weights have them (levels.py)

    @property
    def scale(self) -> int:
        return self.model.config.scale

    def default_tile(self) -> int:
        return default_tile(self.device)

    def _forward(self, lr: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
        """(1, 3, h, w) in [0, 1] -> the levels x2 ... xS, (1, 3, h*2^k, w*2^k) float32 in [0, 1],
        on the model's device."""
        return self.model.super_resolve(lr.to(self.device), dtype)[1:]

    def tile_levels(self, lr: torch.Tensor) -> list[torch.Tensor]:
        """One tile's levels x2 ... xS; a non-finite result in reduced precision is redone in fp32."""
        levels = self._forward(lr, self.dtype)
        if self.dtype != torch.float32 and not all(torch.isfinite(x).all() for x in levels):
            levels = self._forward(lr, torch.float32)
        return levels

    def upscale_tile(self, lr: torch.Tensor) -> torch.Tensor:
        """One tile's final image (tile_levels' last)."""
        return self.tile_levels(lr)[-1]

    def return_freed_memory(self) -> None:
        """After an image: on the CPU, hand the heap its passes left free back to the OS, so
        that a long batch or many API calls do not add up (device.return_freed_cpu_memory)."""
        if self.device.type == "cpu":
            return_freed_cpu_memory()

    def probe_side(self, tile: int, largest: int) -> int:
        """The tile side seconds_per_pixel should time for a run with tiles of `tile` (0: whole
        images) over images whose longest side is at most `largest`: the largest tile the run
        will meet, as the time per pixel can depend on the tile's size (docs/performance.md)."""
        return min(tile, largest) if tile > 0 else largest

    def seconds_per_pixel(self, side: int) -> float:
        """Model seconds per input pixel, timed on one (side, side) tile after a warm-up pass
        (first-call allocations, kernel choice). `drn upscale --dry-run` multiplies the planned
        tiles' pixels by it."""
        tile = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
        self.upscale_tile(tile)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        tic = time.perf_counter()
        self.upscale_tile(tile)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return (time.perf_counter() - tic) / (side * side)

    def upscale_rows(self, image: np.ndarray, emit: Callable[[int, np.ndarray], None],
                     tile: int | None = None, overlap: int = DEFAULT_OVERLAP,
                     on_tile: TileProgress | None = None, to_host: ToHost = float_rows) -> None:
        """Upscale (H, W, 3) float in [0, 1], handing finished rows to `emit(first_row, rows)` top
        to bottom, as `to_host` brings them back (default: (rows, W*s, 3) float32);
        `on_tile(done, total)` after each tile. Halves the tile and restarts on out-of-memory."""
        lr = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]
        h, w = image.shape[:2]
        side = tile_extent(self.default_tile() if tile is None else tile, h, w)
        while True:
            total, done = tile_count(h, w, side, overlap), 0

            def upscale_counted(t: torch.Tensor, total: int = total) -> torch.Tensor:
                nonlocal done
                out = self.upscale_tile(t)
                done += 1
                if on_tile:
                    on_tile(done, total)
                return out

            try:
                upscale_tiled(lr, upscale_counted, self.scale, side, overlap,
                              lambda y, rows: emit(y, to_host(rows)), self.device)
                return
            except RuntimeError as exc:
                if not _is_out_of_memory(exc):
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if side // 2 < MIN_TILE:
                    raise DrnError(f"out of memory even with {side}px tiles; "
                                   "try --device cpu or a smaller --tile") from None
                side //= 2

    def upscale_array(self, image: np.ndarray, tile: int | None = None,
                      overlap: int = DEFAULT_OVERLAP, on_tile: TileProgress | None = None) -> np.ndarray:
        """(H, W, 3) float in [0, 1] -> (H*s, W*s, 3) float32 in [0, 1]."""
        h, w = image.shape[:2]
        out = np.empty((h * self.scale, w * self.scale, 3), dtype=np.float32)

        def emit(y: int, rows: np.ndarray) -> None:
            out[y: y + rows.shape[0]] = rows

        self.upscale_rows(image, emit, tile, overlap, on_tile)
        return out

    def upscale_uint8(self, lr: np.ndarray, tile: int | None = None) -> np.ndarray:
        """(h, w, 3) uint8 -> (h*s, w*s, 3) float on the 0..255 scale (the evaluation's SrFunction)."""
        return self.upscale_array(lr.astype(np.float32) / 255.0, tile) * 255.0


def make_upscaler(weights: Weights, device: str = "auto", precision: str = "auto",
                  compile: bool = False) -> Upscaler:
    """Build an Upscaler for loaded weights on the chosen device and precision. `compile` runs
    the model through torch.compile (inductor), which compiles on the first image and again for
    new tile shapes: on an H100 the forward ran 2x faster after 27 s (docs/performance.md)."""
    dev = resolve_device(device)
    if dev.type == "cpu":
        keep_freed_cpu_memory()  # 2.25x faster 256 px tiles here (device.py)
    model, duals = weights.build(with_dual=True)
    model = model.to(dev, memory_format=torch.channels_last)
    if compile:
        model.compile()  # in place: super_resolve's self(x) calls the compiled forward
    return Upscaler(model, dev, resolve_precision(precision, dev), None if duals is None else duals.to(dev))


_CACHE: dict[tuple, Upscaler] = {}
_CACHE_LOCK = threading.Lock()


def load_upscaler(model: str = UPSCALE_MODEL, device: str = "auto", precision: str = "auto",
                  compile: bool = False) -> Upscaler:
    """Cached `make_upscaler(resolve_model(model), ...)`; returned objects are read-only.

    The cache key is the weights file itself (path and modification time), not the name."""
    path = model_path(model)
    key = (str(path.resolve()), path.stat().st_mtime_ns, device, precision, compile)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = make_upscaler(resolve_model(path), device, precision, compile)
        return _CACHE[key]


def self_ensemble(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray) -> np.ndarray:
    """Average `fn` over the 8 flips/rotations of (H, W, C) `image` (the x8 self-ensemble)."""
    total = None
    for k in range(4):
        for flip in (False, True):
            x = np.rot90(image, k)
            x = x[:, ::-1] if flip else x
            y = fn(np.ascontiguousarray(x))
            y = y[:, ::-1] if flip else y
            y = np.rot90(y, -k).astype(np.float64)
            total = y if total is None else total + y
    return total / 8


# ---------------------------------------------------------------------------- pictures

def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """(H, W) integer alpha -> (H*s, W*s), bicubic and clamped; constant alpha stays exact."""
    if alpha.min() == alpha.max():
        return np.full((alpha.shape[0] * scale, alpha.shape[1] * scale), alpha.flat[0], alpha.dtype)
    maxval = 65535.0 if alpha.dtype == np.uint16 else 255.0
    x = torch.from_numpy(alpha.astype(np.float32) / maxval)[None, None]
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0, 0]
    return to_integers(up.clamp_(0, 1).numpy(), 16 if alpha.dtype == np.uint16 else 8)


def upscale_picture(picture: Picture, upscaler: Upscaler, options: RunOptions = RunOptions(),
                    on_tile: TileProgress | None = None) -> Picture:
    """Upscale pixels with the model (grey replicated to RGB and back), alpha with bicubic; then
    resize to `final_size` where it differs from the model's. The size is checked first."""
    s, bits = upscaler.scale, picture.bits
    h, w, channels = picture.pixels.shape
    size = final_size(options, w, h, s)
    rgb = picture.pixels if channels == 3 else np.repeat(picture.pixels, 3, axis=2)
    image = rgb.astype(np.float32) / np.float32(65535.0 if bits == 16 else 255.0)
    out = np.empty((h * s, w * s, channels), dtype=picture.pixels.dtype)

    def emit(y: int, rows: np.ndarray) -> None:
        out[y: y + rows.shape[0]] = rows

    if options.tta:
        passes = iter(range(8))

        def one_pass(x: np.ndarray) -> np.ndarray:
            k = next(passes)
            progress = None if on_tile is None else lambda done, total: on_tile(k * total + done, 8 * total)
            return upscaler.upscale_array(x, options.tile, options.overlap, progress)

        emit(0, to_pixels(self_ensemble(one_pass, image).astype(np.float32), channels, bits))
    else:
        upscaler.upscale_rows(image, emit, options.tile, options.overlap, on_tile, integer_rows(channels, bits))
    alpha = None if picture.alpha is None else upscale_alpha(picture.alpha, s)
    return resize_picture(Picture(out, alpha, picture.format, picture.icc, picture.exif), size)


def to_pixels(rgb: np.ndarray, channels: int, bits: int) -> np.ndarray:
    """(h, w, 3) float in [0, 1] -> (h, w, channels) integers of `bits`; grey is the mean of RGB."""
    return to_integers(rgb.mean(axis=2, keepdims=True) if channels == 1 else rgb, bits)


MAX_FINAL_FACTOR = 16  # --outscale's limit, and the most --width/--height may enlarge an input


def final_size(options: RunOptions, width: int, height: int, scale: int) -> tuple[int, int]:
    """(width, height) of the output for a `width` x `height` input and a x`scale` model: the
    model's size, times outscale / scale, or options.width / options.height with the aspect
    ratio kept (with both, the side that binds is exact and the other rounded). A DrnError
    when that enlarges the input more than MAX_FINAL_FACTOR times."""
    if options.width is None and options.height is None:
        factor = scale if options.outscale is None else options.outscale
        return max(1, round(width * factor)), max(1, round(height * factor))
    fx = options.width / width if options.width else float("inf")
    fy = options.height / height if options.height else float("inf")
    if min(fx, fy) > MAX_FINAL_FACTOR:
        asked = f"--width {options.width}" if fx <= fy else f"--height {options.height}"
        raise DrnError(f"{asked} would enlarge this {width}x{height} image {min(fx, fy):.0f} times; "
                       f"at most {MAX_FINAL_FACTOR} (upscale it in two runs, or ask for less)")
    if fx <= fy:
        return options.width, max(1, round(height * fx))
    return max(1, round(width * fy)), options.height


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
