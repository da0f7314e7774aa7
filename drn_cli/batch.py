"""Running `drn upscale`'s planned jobs (plan.py) one by one.

Batches never stop at a bad file: every input yields one `Result` (ok, skipped or error), and
outputs are written atomically.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import DrnError
from .inference import RunOptions, TileProgress, Upscaler, upscale_picture
from .io import FORMATS, Picture, read_image, write_image
from .levels import loop_map_picture, upscale_picture_extras
from .plan import Job, Plan, Result, level_path, loop_path


@dataclass(frozen=True)
class OutputOptions:
    """How outputs are written: format (None = as the input), JPEG/WebP quality, and what to do
    when an output exists (error, overwrite or skip)."""

    fmt: str | None = None
    quality: int = 95
    overwrite: bool = False
    skip_existing: bool = False


def run_job(job: Job, upscaler: Upscaler, run: RunOptions | None = None, out: OutputOptions | None = None,
            on_tile: TileProgress | None = None) -> Result:
    """Upscale one file; user-caused problems become an error Result, never an exception."""
    run, out = run or RunOptions(), out or OutputOptions()
    tic = time.perf_counter()
    result = Result(str(job.input), str(job.output), "ok")
    if job.output.exists() and not out.overwrite:
        if out.skip_existing:
            result.status = "skipped"
            return result
        result.status, result.error = "error", f"{job.input}: output {job.output} exists; use --overwrite or --skip-existing"
        return result
    try:
        picture = read_image(job.input)
        result.size_in = picture.size
        fmt = FORMATS[out.fmt] if out.fmt else None
        job.output.parent.mkdir(parents=True, exist_ok=True)
        if run.all_levels or run.confidence:
            upscaled = _write_extras(job, picture, upscaler, run, fmt, out, result)
        else:
            upscaled = upscale_picture(picture, upscaler, run, on_tile)
        result.size_out = upscaled.size
        write_image(job.output, upscaled, fmt, out.quality, overwrite=True)
    except (DrnError, OSError) as exc:
        result.status, result.error = "error", str(exc) if isinstance(exc, DrnError) else f"{job.input}: {exc}"
    result.seconds = round(time.perf_counter() - tic, 3)
    return result


def _write_extras(job: Job, picture: Picture, upscaler: Upscaler, run: RunOptions, fmt: str | None,
                  out: OutputOptions, result: Result) -> Picture:
    """Write the intermediate levels and the loop map of `job` (levels.py) in `fmt` (a Pillow
    format name, None = by suffix); return the final image for the caller to write."""
    extras = upscale_picture_extras(picture, upscaler, run.tile, run.overlap, run.confidence, run.outscale)
    if run.all_levels:
        for k, level in enumerate(extras.levels[:-1], start=1):
            path = level_path(job.output, upscaler.scale, 2 ** k)
            write_image(path, level, fmt, out.quality, overwrite=out.overwrite)
            result.extra_outputs.append(str(path))
    final = extras.levels[-1]
    if extras.loop is not None:
        path = loop_path(job.output)
        write_image(path, loop_map_picture(extras.loop, final.size), "PNG", overwrite=out.overwrite)
        result.extra_outputs.append(str(path))
        result.loop_error = round(float(extras.loop.mean()), 4)
    return final


def run_jobs(plan: Plan, upscaler: Upscaler, run: RunOptions | None = None, out: OutputOptions | None = None,
             on_tile: Callable[[Job, int, int], None] | None = None) -> Iterator[Result]:
    """Results for the planned failures first, then each job in order; `on_tile(job, done, total)`
    reports tiles within the image being upscaled."""
    yield from plan.failures
    for job in plan.jobs:
        progress = None if on_tile is None else functools.partial(on_tile, job)
        yield run_job(job, upscaler, run, out, progress)
