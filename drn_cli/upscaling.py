"""The upscale workflow: whole pictures, batches of files, and the public `upscale` function.

Batches never stop at a bad file: every input yields one `Result` (ok, skipped or error), and
outputs are written atomically. Output names are `{stem}_x{scale}.{ext}`.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from .data import IMAGE_SUFFIXES
from .errors import DrnError, UsageError
from .inference import Upscaler, load_upscaler
from .io import FORMATS, Picture, read_image, to_integers, write_image

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


def upscale_alpha(alpha: np.ndarray, scale: int) -> np.ndarray:
    """(H, W) integer alpha -> (H*s, W*s), bicubic and clamped; constant alpha stays exact."""
    if alpha.min() == alpha.max():
        return np.full((alpha.shape[0] * scale, alpha.shape[1] * scale), alpha.flat[0], alpha.dtype)
    maxval = 65535.0 if alpha.dtype == np.uint16 else 255.0
    x = torch.from_numpy(alpha.astype(np.float32) / maxval)[None, None]
    up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0, 0]
    return to_integers(up.clamp_(0, 1).numpy(), 16 if alpha.dtype == np.uint16 else 8)


def upscale_picture(picture: Picture, upscaler: Upscaler) -> Picture:
    """Upscale pixels with the model (grey replicated to RGB and back), alpha with bicubic."""
    s, bits = upscaler.scale, picture.bits
    h, w, channels = picture.pixels.shape
    rgb = picture.pixels if channels == 3 else np.repeat(picture.pixels, 3, axis=2)
    image = rgb.astype(np.float32) / np.float32(65535.0 if bits == 16 else 255.0)
    out = np.empty((h * s, w * s, channels), dtype=picture.pixels.dtype)

    def emit(y: int, rows: np.ndarray) -> None:
        if channels == 1:
            rows = rows.mean(axis=2, keepdims=True)
        out[y: y + rows.shape[0]] = to_integers(rows, bits)

    upscaler.upscale_rows(image, emit)
    alpha = None if picture.alpha is None else upscale_alpha(picture.alpha, s)
    return Picture(out, alpha, picture.format, picture.icc, picture.exif)


# ---------------------------------------------------------------------------- batches

@dataclass
class Job:
    input: Path
    output: Path


@dataclass
class Result:
    """What happened to one input; `to_dict` is the --json record."""

    input: str
    output: str | None
    status: str  # ok, skipped, error
    error: str | None = None
    size_in: tuple[int, int] | None = None
    size_out: tuple[int, int] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    failures: list[Result] = field(default_factory=list)


def _expand(arg: str, recursive: bool) -> list[tuple[Path, Path]]:
    """(file, base folder) pairs for one INPUT argument: a file, a folder or a glob."""
    path = Path(arg)
    if path.is_file():
        return [(path, path.parent)]
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        return [(p, path) for p in sorted(path.glob(pattern))
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return [(Path(p), Path(p).parent) for p in sorted(glob.glob(arg, recursive=recursive))
            if Path(p).is_file() or Path(p).is_dir()]


def output_extension(path: Path, fmt: str | None) -> str:
    if fmt:
        return EXTENSIONS[FORMATS[fmt]]
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "png"


def plan_jobs(inputs: list[str], scale: int, output_dir: str | Path | None = None,
              fmt: str | None = None, recursive: bool = False) -> Plan:
    """Map inputs to outputs; inputs that match nothing or collide become failures."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose from png, jpg, webp, tiff")
    out_dir = Path(output_dir) if output_dir is not None else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {out_dir}: is an existing file; -o must name a folder")
    plan, claimed = Plan(), {}
    for arg in inputs:
        found = _expand(arg, recursive)
        if not found:
            plan.failures.append(Result(arg, None, "error", f"{arg}: no such file, folder or matching glob"))
        for src, base in found:
            name = f"{src.stem}_x{scale}.{output_extension(src, fmt)}"
            if out_dir is None:
                dst = src.parent / name
            else:
                rel = src.parent.relative_to(base) if recursive else Path()
                dst = out_dir / rel / name
            key = dst.resolve()
            if key == src.resolve() or key in claimed:
                other = src if key == src.resolve() else claimed[key]
                plan.failures.append(Result(str(src), str(dst), "error",
                                            f"{src}: output {dst} would overwrite {other}'s; use another -o"))
                continue
            claimed[key] = src
            plan.jobs.append(Job(src, dst))
    return plan


def run_job(job: Job, upscaler: Upscaler, fmt: str | None = None, quality: int = 95,
            overwrite: bool = False, skip_existing: bool = False) -> Result:
    """Upscale one file; user-caused problems become an error Result, never an exception."""
    tic = time.perf_counter()
    result = Result(str(job.input), str(job.output), "ok")
    if job.output.exists() and not overwrite:
        if skip_existing:
            result.status = "skipped"
            return result
        result.status, result.error = "error", f"{job.input}: output {job.output} exists; use --overwrite or --skip-existing"
        return result
    try:
        picture = read_image(job.input)
        result.size_in = picture.size
        upscaled = upscale_picture(picture, upscaler)
        result.size_out = upscaled.size
        job.output.parent.mkdir(parents=True, exist_ok=True)
        write_image(job.output, upscaled, FORMATS[fmt] if fmt else None, quality, overwrite=True)
    except (DrnError, OSError) as exc:
        result.status, result.error = "error", str(exc) if isinstance(exc, DrnError) else f"{job.input}: {exc}"
    result.seconds = round(time.perf_counter() - tic, 3)
    return result


def run_jobs(plan: Plan, upscaler: Upscaler, **options) -> Iterator[Result]:
    """Results for the planned failures first, then each job in order."""
    yield from plan.failures
    for job in plan.jobs:
        yield run_job(job, upscaler, **options)


# ---------------------------------------------------------------------------- public API

def upscale(image: np.ndarray | Image.Image, model: str = "drn-s-x4", *, device: str = "auto",
            precision: str = "auto", tile: int | None = None) -> np.ndarray | Image.Image:
    """Upscale one image and return it in the same kind it came in.

    `image` is a Pillow image or an integer array (H, W) / (H, W, 3) / (H, W, 4) of uint8 or
    uint16. Stateless and thread-safe: loaded models are cached read-only and shared.
    """
    upscaler = load_upscaler(model, device, precision, tile)
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
    out = upscale_picture(picture, upscaler)
    planes = out.pixels if out.alpha is None else np.concatenate([out.pixels, out.alpha[:, :, None]], 2)
    result = planes[:, :, 0] if planes.shape[2] == 1 else planes
    return Image.fromarray(result) if as_pil else result
