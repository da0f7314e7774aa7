"""Batches of files for `drn upscale`: inputs (files, folders, globs) planned into jobs, run one
by one.

Batches never stop at a bad file: every input yields one `Result` (ok, skipped or error), and
outputs are written atomically. Output names are `{stem}_x{scale}.{ext}`.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DrnError, UsageError
from .inference import DEFAULT_OVERLAP, Upscaler, upscale_picture
from .io import FORMATS, IMAGE_SUFFIXES, read_image, write_image

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


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
            overwrite: bool = False, skip_existing: bool = False, tile: int | None = None,
            overlap: int = DEFAULT_OVERLAP) -> Result:
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
        upscaled = upscale_picture(picture, upscaler, tile, overlap)
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
