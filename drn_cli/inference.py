"""Inference: a loaded model run tile by tile over an image of any size.

Contract: images are float32 arrays (H, W, 3) in [0, 1] (models.LoadedModel holds the model's
side of it, including the fp32 redo of non-finite reduced-precision tiles). A tile that runs out
of memory makes the whole image restart with half the tile size. Tile size and overlap are
choices of each call, not of the loaded model, so one cached model serves them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import back_projection
from .back_projection import LOOP_ERROR_LIMIT, loop_error
from .degradations import TURNS_AND_FLIPS, parse_degradation, turned
from .degradations.estimate import read_damage, self_pair_degradation
from .device import return_freed_cpu_memory
from .errors import DrnError
from .io import Picture, rgb_uint8
from .models.blend import BlendedModel
from .models.loaded import LoadedModel, build, load
from .models.presets import UPSCALE_MODEL, blur_model, denoise_pair
from .models.weights import Weights
from .request import AUTO, DEFAULT_OVERLAP, UpscaleRequest
from .tiling import effective_overlap, tile_count, tile_extent, upscale_tiled

MAX_CPU_TILE = 256          # LR pixels: larger CPU tiles cost more per pixel (docs/performance.md, benchmarks/tiles.py)
MIN_TILE = 16
BLUR_CHECK_SIDE = 128       # LR pixels: the centre crop blur_explains runs the photo model on (a sixth of a 0.1 MP picture)


def default_tile(device: torch.device, bytes_per_lr_pixel: int) -> int:
    """Tile side in LR pixels from free memory, the GPU's or the CPU's (at most MAX_CPU_TILE), for
    a model that needs `bytes_per_lr_pixel` (its architecture's record says); tiling.plan_axis
    then covers an image with the fewest even tiles of at most that side. On the CPU the time per
    pixel is flat up to 256 px tiles and rises above (a 700 px image in one tile took 2.7x as long
    per pixel as in nine: its activations outgrow the heap kept by device.keep_freed_cpu_memory),
    so larger tiles are not used there."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(MIN_TILE, int((0.6 * free / bytes_per_lr_pixel) ** 0.5) // 8 * 8)
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 1 << 34
    return max(MIN_TILE, min(MAX_CPU_TILE, int((0.5 * free / bytes_per_lr_pixel) ** 0.5) // 8 * 8))


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


def is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate" in text


@dataclass
class Upscaler:
    """A loaded model run tile by tile; safe to share between threads (it holds no call state).

    `tile` arguments are in LR pixels: None = chosen from free memory, 0 = the whole image.
    """

    model: LoadedModel  # or models.blend.BlendedModel, which has its interface
    # a degradation ("gaussAxBaC" or "bicubic") each tile's output is back-projected onto
    # (back_projection.py: --adapt on a blurred picture), or None
    back_projection: str | None = None
    # the flips and turns --tta averages (self_ensemble): all eight, or those that keep the blur a
    # model was adapted to (--adapt; degradations.kernel_symmetries)
    ensemble: tuple[tuple[int, bool], ...] = TURNS_AND_FLIPS

    def __post_init__(self) -> None:
        if self.back_projection is not None:
            back_projection.check(self.back_projection)

    @property
    def scale(self) -> int:
        return self.model.scale

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    def default_tile(self) -> int:
        return default_tile(self.device, self.model.bytes_per_lr_pixel(self.device.type))

    def tile_side(self, tile: int | None, h: int = 0, w: int = 0) -> int:
        """The one place a run's tile is decided: `tile` LR pixels (None: from free memory,
        default_tile; 0: the whole image), and for an (h, w) image the side actually used
        (tiling.tile_extent: the whole image where the tile is as large)."""
        side = self.default_tile() if tile is None else tile
        return tile_extent(side, h, w) if h and w else side

    def upscale_tile(self, lr: torch.Tensor) -> torch.Tensor:
        """One (1, 3, h, w) tile in [0, 1] -> its final image (the model's call, back-projected
        onto `back_projection` where there is one)."""
        return self.held_to_input(self.model(lr), lr)

    def held_to_input(self, sr: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        """A tile's final output (B, 3, h*s, w*s) back-projected onto `back_projection` against its
        input (B, 3, h, w), both in [0, 1]; `sr` itself without one."""
        if self.back_projection is None:
            return sr
        return back_projection.back_project(sr, lr.to(sr.device), self.back_projection)

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
        side = self.tile_side(tile, h, w)
        context = self.model.context
        while True:
            overlap = effective_overlap(overlap, context, side)
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
                              lambda y, rows: emit(y, to_host(rows)), self.device, context)
                return
            except RuntimeError as exc:
                if not is_out_of_memory(exc):
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


def make_upscaler(weights: Weights, device: str = "auto", precision: str = "auto", compile: bool = False,
                  name: str = "weights") -> Upscaler:
    """An Upscaler of weights already in memory (models.loaded.build; not cached)."""
    return Upscaler(build(weights, name, device, precision, compile))


def load_upscaler(model: str = UPSCALE_MODEL, device: str = "auto", precision: str = "auto",
                  compile: bool = False, backend: str = "torch") -> Upscaler:
    """An Upscaler of `models.load(model, ...)` (cached and shared; read-only)."""
    return Upscaler(load(model, device, precision, compile, backend))


def upscaler_for(name: str, denoise: float | None = None, device: str = "auto", precision: str = "auto",
                 compile: bool = False, reason: str | None = None, backend: str = "torch",
                 photo: str | None = None) -> Upscaler:
    """The Upscaler of model `name`, or with `denoise` S the blend of its clean and photo pair
    (models.blend; S = 0 and 1 run one model alone); `reason` says why S, under --denoise auto;
    `photo` names the photo end instead of the pair's (the blur model of a blurred picture)."""
    if denoise is None:
        return load_upscaler(name, device, precision, compile, backend)
    pair = denoise_pair(name)
    if pair is None:
        raise DrnError(f"--denoise: {name} has no installed clean and photo pair to blend")
    clean, photo = (load(spec, device, precision, compile, backend) for spec in (pair[0], photo or pair[1]))
    return Upscaler(BlendedModel(clean, photo, denoise, reason))


def upscaler_for_picture(request: UpscaleRequest, size: tuple[int, int] | None = None,
                         picture: Picture | None = None, device: str | None = None,
                         compile: bool = False) -> Upscaler:
    """The Upscaler for a picture of (width, height) `size` under `request`: its model
    (request.model_for: the photo model of its factor for --width/--height; model_name without a
    size) with its --denoise strength, on the request's backend. Under --denoise auto, S is read
    from `picture` (estimate.read_damage: its JPEG quality, lossy format, noise and blur), and a
    picture read as blurred gets the blur model where its scale has one (presets.blur_model: it
    scores above the photo model on blurred pictures, docs/models.md) and the blur read explains
    the picture (blur_explains; its reason says when not); without a picture (a video, or before
    any picture is read) S = 1, the photo model."""
    name = request.model_name if size is None else request.model_for(*size)
    strength, reason, photo = request.strength_for(name), None, None
    if strength == AUTO and picture is None:
        strength, reason = 1.0, "a video" if size is not None else None
    elif strength == AUTO:
        reading = read_damage(picture.pixels, picture.jpeg_quality, picture.lossy)
        strength, reason = reading.strength, reading.reason
        if reading.damage == "blur" and (blur := blur_model(name)) is not None:
            photo_model = load_upscaler(denoise_pair(name)[1], device or request.device, request.precision,
                                        compile, request.model_backend)
            if blur_explains(picture, photo_model):
                photo = blur
            else:
                reason += ", with grain the blur does not explain"
    return upscaler_for(name, strength, device or request.device, request.precision, compile, reason,
                        request.model_backend, photo)


def blur_explains(picture: Picture, photo: Upscaler) -> bool:
    """Whether the Gaussian blur read from a picture explains it, so that the blur model may run
    on it: no noise or JPEG is read with the blur, and the photo model's output of the picture's
    centre (BLUR_CHECK_SIDE pixels), taken back down with the blur read, misses it by at most
    back_projection.LOOP_ERROR_LIMIT grey levels (median; paper Eq. 2's closed loop with the
    degradation read as D). The photo model removes grain and the blur model keeps it: real photos
    read as blurred whose film grain or colour noise the blur model sharpened miss by 2-5 levels,
    clean blurred pictures by 0.2-1.5 (docs/real-photos.md)."""
    image = rgb_uint8(picture.pixels)
    kind = parse_degradation(self_pair_degradation([image], [picture.jpeg_quality], photo.scale)[0])
    if kind.damages:
        return False
    h, w = image.shape[:2]
    y, x = max(0, (h - BLUR_CHECK_SIDE) // 2), max(0, (w - BLUR_CHECK_SIDE) // 2)
    centre = np.ascontiguousarray(image[y: y + BLUR_CHECK_SIDE, x: x + BLUR_CHECK_SIDE])
    return loop_error(centre, photo.upscale_uint8(centre), kind.kernel) <= LOOP_ERROR_LIMIT


def self_ensemble(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
                  transforms: tuple[tuple[int, bool], ...] = TURNS_AND_FLIPS) -> np.ndarray:
    """Average `fn` over the flips and turns `transforms` (degradations.TURNS_AND_FLIPS: all 8,
    the x8 self-ensemble) of (H, W, C) `image`."""
    total = None
    for turns, flip in transforms:
        y = fn(np.ascontiguousarray(turned(image, turns, flip)))
        y = np.rot90(y[:, ::-1] if flip else y, -turns).astype(np.float64)
        total = y if total is None else total + y
    return total / len(transforms)
