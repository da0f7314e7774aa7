"""Planning `drn upscale`: inputs (files, folders, globs) mapped to output files, before any model
is loaded, so that a typo costs no start-up time.

Output names are `{stem}_x{scale}.{ext}`; `Result` is what happened to one input (and its
`--json` record).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import name_problem
from .errors import DrnError, UsageError
from .io import (
    ANIMATION_FORMATS,
    FORMAT_NAMES,
    FORMATS,
    IMAGE_KINDS,
    IMAGE_SUFFIXES,
    PHOTO_ONLY_SUFFIXES,
    VIDEO_SUFFIXES,
    frame_count,
    image_pixels,
    image_size,
    looks_like_video,
)
from .request import PLAIN_VIDEO, OutputSpec, VideoOptions

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


@dataclass
class Result:
    """What happened to one input; `to_dict` is the --json record."""

    input: str
    output: str | None
    status: str  # ok, skipped, error; planned (--dry-run)
    error: str | None = None
    size_in: tuple[int, int] | None = None
    size_out: tuple[int, int] | None = None
    seconds: float = 0.0
    loop_error: float | None = None   # --confidence: mean closed-loop error, 0..255 scale
    extra_outputs: list[str] = field(default_factory=list)  # --all-levels and --confidence files
    tiles: int | None = None          # tiles the model ran, or with --dry-run will run (all 8 passes with --tta)
    exists: bool = False              # not written because the output exists (neither --overwrite nor --skip-existing)
    frames: int | None = None         # a video's or animation's frames: done, or with --dry-run to do
    model: str | None = None          # the model that ran (or, with --dry-run, will run)
    denoise: float | None = None      # --denoise: the strength S the blend used
    denoise_reason: str | None = None  # why that S, under --denoise auto ("JPEG quality 75", "clean")
    animated: int | None = None       # an animated image's frame count: only its first frame was upscaled
    adapted: str | None = None        # --adapt: what it did ("adapted to gauss2.3x0.9a28 (self-pair L1 ...)")

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def sizes(self, with_extras: bool = False) -> str:
        """"a.png -> a_x4.png  20x30 -> 80x120": what a done or planned input makes (and, with
        `with_extras`, its extra files after the output)."""
        (w, h), (w2, h2) = self.size_in, self.size_out
        extras = "".join(f", {extra}" for extra in self.extra_outputs) if with_extras else ""
        return f"{self.input} -> {self.output}{extras}  {w}x{h} -> {w2}x{h2}"


def level_path(output: Path, scale: int, level: int) -> Path:
    """Where --all-levels writes pyramid level x`level` of `output` (the x`scale` file; a
    --suffix stays last: a_x4_soft.png -> a_x2_soft.png)."""
    head, found, tail = output.stem.rpartition(f"_x{scale}")
    stem = f"{head}_x{level}{tail}" if found else f"{output.stem}_x{level}"
    return output.with_name(f"{stem}{output.suffix}")


def loop_path(output: Path) -> Path:
    """Where --confidence writes the closed-loop map of `output`: {output stem}.loop.png."""
    return output.with_name(f"{output.stem}.loop.png")


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    failures: list[Result] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # our own earlier outputs found among the inputs
    notes: list[str] = field(default_factory=list)     # what was left out and why, for the user


# {stem}_x4, {stem}_x1.5; with --width/--height {stem}_w1920, {stem}_h1080, {stem}_1920x1080
_OUTPUT_NAME = re.compile(r"^(?P<stem>.+)_(?:x\d+(?:\.\d+)?|[wh]\d+|\d+x\d+)(?:_[A-Za-z0-9.-]+)?$")  # and a --suffix
_SUFFIX = re.compile(r"^[A-Za-z0-9.-]{1,40}$")


def is_own_output(path: Path) -> bool:
    """True when `path` is named like an output of ours ({stem}_{tag}.ext, see output_tag) and an
    image called {stem} sits beside it: upscaling a folder twice must not upscale its own outputs."""
    match = _OUTPUT_NAME.match(path.stem)
    return bool(match) and any(path.with_name(match["stem"] + suffix).is_file() or
                               path.with_name(match["stem"] + suffix.upper()).is_file()
                               for suffix in input_suffixes())


def _not_a_file(path: Path) -> str:
    """What a path that exists (or is a link) but is neither a file nor a folder is, for a message."""
    if path.is_symlink() and not path.exists():
        return "a link to nothing"
    return "not a regular file (a pipe, socket or device)"


def _expand(arg: str, recursive: bool, notes: list[str]) -> tuple[list[tuple[Path, Path]], str | None]:
    """((file, base folder) pairs, or an error message) for one INPUT: a file, a folder or a glob.
    Folders give their images (without `recursive`, a note counts the subfolders left out, and
    another names entries with an image's suffix that are no files: pipes, devices, broken
    links); globs give the files they match, `**` matching any depth (folders they match are
    skipped)."""
    if problem := name_problem(arg):
        return [], f"{arg}: cannot be opened ({problem})"
    path = Path(arg)
    if path.is_file():
        return [(path, path.parent)], None
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        suffixes = input_suffixes()
        named = [p for p in sorted(path.glob(pattern)) if p.suffix.lower() in suffixes]
        found = [(p, path) for p in named if p.is_file()]
        odd = [p for p in named if not p.is_file() and not p.is_dir()]
        if odd:
            notes.append(f"left out {len(odd)} entr{'ies' if len(odd) > 1 else 'y'} of {arg} that "
                         f"{'are' if len(odd) > 1 else 'is'} no file: "
                         + ", ".join(f"{p.name} ({_not_a_file(p)})" for p in odd[:3]) + (", ..." if len(odd) > 3 else ""))
        subfolders = 0 if recursive else sum(1 for p in path.iterdir() if p.is_dir())
        if subfolders:
            notes.append(f"left out {subfolders} subfolder{'s' if subfolders > 1 else ''} of {arg}; -r includes them")
        return found, None if found else (f"{arg}: no images or videos in this folder ({IMAGE_KINDS}; "
                                          f"{', '.join(sorted(VIDEO_SUFFIXES))})")
    if path.exists() or path.is_symlink():
        return [], f"{arg}: {_not_a_file(path)}; name an image, a video or a folder"
    found = [(Path(p), Path(p).parent) for p in sorted(glob.glob(arg, recursive=True)) if Path(p).is_file()]
    return found, None if found else f"{arg}: no such file or folder, and no file matches it as a glob"


def output_extension(path: Path, fmt: str | None) -> str:
    """The output's extension: `fmt`'s, else the input's where we write that format; photos in
    formats we only read (HEIC, AVIF) become JPEG, anything else PNG."""
    if fmt:
        return EXTENSIONS[FORMATS[fmt]]
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    return "jpg" if f".{suffix}" in PHOTO_ONLY_SUFFIXES else "png"


def output_tag(scale: float, width: int | None = None, height: int | None = None) -> str:
    """What output names {stem}_{tag}.ext say of the size: "x4", "x1.5"; with --width and
    --height "w1920", "h1080" or "1920x1080"."""
    if width and height:
        return f"{width}x{height}"
    if width or height:
        return f"w{width}" if width else f"h{height}"
    return f"x{scale:g}"


def animation_suffix(path: Path, fmt: str | None) -> str | None:
    """The suffix an animation is written with: `fmt`'s where it holds one (png: APNG, webp),
    else the input's (.gif, .webp, .png); None when `fmt` is a still format (jpg, tiff, bmp)."""
    suffix = f".{EXTENSIONS[FORMATS[fmt]]}" if fmt else path.suffix.lower()
    return suffix if suffix in ANIMATION_FORMATS else None


class InputKind:
    """What planning knows of one kind of input file, before any model loads: which files are its
    (`claims`), what its output is called (`output_suffix`) and which suffixes a folder offers it
    (`suffixes`). `name` picks how batch.py runs it (batch.RUNNERS). The kinds are asked in the
    order of INPUT_KINDS; the first that claims a file gets it. This base is a still image: it
    claims every file (the last resort; a file no decoder reads fails on opening, with one line)."""

    name = "image"
    suffixes: frozenset[str] = IMAGE_SUFFIXES

    def claims(self, path: Path, fmt: str | None) -> bool:
        return True

    def output_suffix(self, path: Path, fmt: str | None, video: VideoOptions) -> str:
        """The still's format: `fmt`'s, else the input's where we write it (output_extension)."""
        return f".{output_extension(path, fmt)}"


class AnimationKind(InputKind):
    """An animated GIF, WebP or PNG written in a format that holds one (animation_suffix): every
    frame upscaled (animation.py). One written as a still is a still image of its first frame."""

    name = "animation"

    def claims(self, path: Path, fmt: str | None) -> bool:
        readable = path.suffix.lower() in IMAGE_SUFFIXES or image_pixels(path)
        return bool(readable) and animation_suffix(path, fmt) is not None and frame_count(path) > 1

    def output_suffix(self, path: Path, fmt: str | None, video: VideoOptions) -> str:
        return animation_suffix(path, fmt)


class VideoKind(InputKind):
    """A video, by suffix, or a file of another suffix that Pillow cannot read and FFmpeg reads as
    a video (recognised by content): its frames upscaled, other streams copied (video.py)."""

    name = "video"
    suffixes = VIDEO_SUFFIXES

    def claims(self, path: Path, fmt: str | None) -> bool:
        suffix = path.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            return True
        return suffix not in IMAGE_SUFFIXES and not image_pixels(path) and looks_like_video(path)

    def output_suffix(self, path: Path, fmt: str | None, video: VideoOptions) -> str:
        return video.suffix(path)


STILL, ANIMATION, VIDEO = InputKind(), AnimationKind(), VideoKind()
INPUT_KINDS: list[InputKind] = [VIDEO, ANIMATION, STILL]  # asked in this order; STILL claims the rest


def add_input_kind(kind: InputKind) -> None:
    """Ask `kind` first from now on (a new kind's module calls this through batch.add_input_kind,
    which also gives it a runner)."""
    INPUT_KINDS.insert(0, kind)


def input_suffixes() -> frozenset[str]:
    """Every suffix a folder offers some kind (images, videos, and added kinds')."""
    return frozenset().union(*(kind.suffixes for kind in INPUT_KINDS))


def kind_of(path: Path, fmt: str | None = None) -> InputKind:
    """The kind of input `path` is (INPUT_KINDS, the first that claims it), `fmt` the output
    format asked for (an animation written as a still format is a still)."""
    return next(kind for kind in INPUT_KINDS if kind.claims(path, fmt))


@dataclass
class Job:
    input: Path
    output: Path
    kind: InputKind = STILL  # chosen once, from the file (kind_of)


def plan_jobs(inputs: list[str], tag: str | float | Callable[[Path], str], output: str | Path | None = None,
              fmt: str | None = None, recursive: bool = False, video: VideoOptions = PLAIN_VIDEO,
              suffix: str | None = None) -> Plan:
    """Map inputs to outputs named {stem}_{tag}.ext, or {stem}_{tag}_{suffix}.ext with `suffix`
    (--suffix: another setting's outputs beside the first ones, as Real-ESRGAN's --suffix); a
    number tag is its output_tag (x4), a callable the tag of each input. Inputs that match nothing
    or collide become failures, an input listed
    twice is planned once (with a note).

    `output` is a folder, or, with exactly one input image, the output file itself when it has an
    image suffix. Files named like our own outputs of an image beside them are left out when
    they come from a folder or a glob (see is_own_output); named one by one, they are upscaled.
    """
    if suffix is not None and not _SUFFIX.match(suffix):
        raise UsageError(f"--suffix {suffix!r}: letters, digits, '.' and '-' only, at most 40 (e.g. --suffix soft)")
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}; choose from {', '.join(FORMAT_NAMES)}")
    if output is not None and (problem := name_problem(output)):
        raise UsageError(f"-o {output}: cannot be used ({problem})")
    out = Path(output) if output is not None else None
    plan, claimed, found = Plan(), {}, []
    for arg in inputs:
        pairs, error = _expand(arg, recursive, plan.notes)
        if error:
            plan.failures.append(Result(arg, None, "error", error))
        for src, base in pairs:
            if not Path(arg).is_file() and is_own_output(src):
                plan.ignored.append(src)
            else:
                found.append((src, base))
    out_file = out is not None and out.suffix.lower().lstrip(".") in FORMATS and not out.is_dir()
    if out_file and len(found) + len(plan.failures) > 1:
        raise UsageError(f"-o {out}: names an image file, but {len(found) + len(plan.failures)} inputs "
                         "were given; with several inputs -o must name a folder")
    if out is not None and out.exists() and not out.is_dir() and not out_file:
        raise UsageError(f"-o {out}: is an existing file; -o must name a folder (or, for one input, an image file)")
    for src, base in found:
        size = tag(src) if callable(tag) else tag if isinstance(tag, str) else output_tag(tag)
        kind = kind_of(src, out.suffix.lower().lstrip(".") if out_file else fmt)
        ext = kind.output_suffix(src, fmt, video)
        name = f"{src.stem}_{size}{f'_{suffix}' if suffix else ''}{ext}"
        if out_file:
            dst = out
        elif out is None:
            dst = src.parent / name
        else:
            dst = out / (src.parent.relative_to(base) if recursive else Path()) / name
        if problem := name_problem(dst):
            plan.failures.append(Result(str(src), None, "error", f"{src}: its output name {dst.name[:40]}... is too "
                                        f"long ({problem}); rename the input or name the output with -o FILE"))
            continue
        key = dst.resolve()
        if key in claimed and claimed[key].resolve() == src.resolve():
            plan.notes.append(f"{src} is listed twice; upscaled once")
            continue
        if key == src.resolve() or key in claimed:
            other = src if key == src.resolve() else claimed[key]
            plan.failures.append(Result(str(src), str(dst), "error",
                                        f"{src}: output {dst} would overwrite {other}'s; use another -o"))
            continue
        claimed[key] = src
        plan.jobs.append(Job(src, dst, kind))
    return plan


LARGE_OUTPUT = 100_000_000  # pixels: a 12 MP photo at x4 is 171 MP, about 44 minutes on two CPU cores


def large_outputs(plan: Plan, scale: int, spec: OutputSpec, limit: int = LARGE_OUTPUT) -> list[tuple[Path, tuple[int, int]]]:
    """(input, final (width, height)) of the jobs whose output would exceed `limit` pixels, read
    from the image headers before any work; unreadable headers are left to the run."""
    found = []
    for job in plan.jobs:
        try:
            w, h = spec.final_size(*image_size(job.input), scale)
        except DrnError:
            continue
        if w * h > limit:
            found.append((job.input, (w, h)))
    return found


def shard(plan: Plan, rank: int, world: int, pixels: Callable[[Job], int]) -> Plan:
    """This rank's share of `plan` for `world` processes. Jobs are dealt by pixel count, largest
    first, each to the rank with the fewest pixels so far (ties to the lower rank): balanced by
    work, not by file count, and the same on every rank for the same inputs. The planned failures
    and the left-out files stay with rank 0, so that they are reported once."""
    if world == 1:
        return plan
    weights = {job.input: max(1, pixels(job)) for job in plan.jobs}  # batch.job_pixels: frames x pixels
    loads, mine = [0] * world, []
    for job in sorted(plan.jobs, key=lambda j: (-weights[j.input], str(j.input))):
        target = loads.index(min(loads))
        loads[target] += weights[job.input]
        if target == rank:
            mine.append(job)
    mine.sort(key=lambda j: str(j.input))
    return Plan(mine, plan.failures if rank == 0 else [], plan.ignored if rank == 0 else [])
