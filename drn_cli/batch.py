"""Running `drn upscale`'s planned jobs (plan.py): decode, upscale, encode, pipelined.

Batches never stop at a bad file: every input yields one `Result` (ok, skipped or error), and
outputs are written atomically.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .animation import upscale_animation
from .atomic import make_folder
from .errors import DrnError, OutputError
from .inference import TileProgress, Upscaler
from .io import (
    FORMATS,
    Picture,
    check_encodable,
    frame_count,
    image_pixels,
    image_size,
    read_image,
    write_image,
)
from .levels import loop_map_picture
from .picture import Upscaled, upscale_picture
from .plan import InputKind, Job, Plan, Result, level_path, loop_path
from .plan import add_input_kind as plan_input_kind
from .request import (
    PLAIN_OUTPUT,
    PLAIN_RUN,
    PLAIN_VIDEO,
    PLAIN_WRITE,
    OutputOptions,
    OutputSpec,
    RunOptions,
    VideoOptions,
)
from .tiling import tile_count, tile_pixels
from .video import probe, upscale_video, video_pixels

Chooser = Callable[[tuple[int, int], Picture | None], Upscaler]  # (size, picture or None for a video)
# (upscaler, picture, on_step) -> (its model adapted to the picture, what adapting did): Session.adapt
Adapter = Callable[[Upscaler, Picture, TileProgress | None], tuple[Upscaler, str | None]]


class StillRunner:
    """How a batch runs a still image (plan.STILL): decoded in an I/O thread ahead of the model
    (`read`), its model chosen from its pixels (`choose`), adapted to under --adapt, upscaled with
    the extra outputs, encoded in an I/O thread (`write`). A kind with its own file format
    subclasses it with its own `header`, `pixels`, `read` and `write`."""

    whole = False   # True: the job runs in one call, `run_whole` (frames decoded and encoded inside)
    extras = True   # --all-levels and --confidence files beside the output

    def header(self, path: Path) -> tuple[tuple[int, int], int | None]:
        """(width, height) and the frames to do (None: a still), from the header alone (--dry-run)."""
        return image_size(path), None

    def pixels(self, path: Path) -> int:
        """Input pixels, all frames, from the header (0 where it cannot be read): plan.shard's weight."""
        return image_pixels(path)

    def read(self, path: Path) -> Picture | None:
        """The decoded picture (None: nothing is decoded ahead; the job decodes inside run_whole)."""
        return read_image(path)

    def choose(self, path: Path, picture: Picture | None, choose: Chooser) -> Upscaler | None:
        """`choose`'s upscaler for the job (None: the batch's own)."""
        return choose(picture.size, picture)

    def write(self, path: Path, picture: Picture, out: OutputOptions) -> None:
        write_image(path, picture, _format(out), out.quality, overwrite=True)


class AnimationRunner(StillRunner):
    """An animation (plan.ANIMATION): its model chosen by its first frame, then every frame
    decoded, upscaled and encoded inside animation.upscale_animation."""

    whole, extras = True, False

    def header(self, path: Path) -> tuple[tuple[int, int], int | None]:
        return image_size(path), frame_count(path)

    def pixels(self, path: Path) -> int:
        return image_pixels(path) * frame_count(path)

    def run_whole(self, job: Job, upscaler: Upscaler, run: RunOptions, spec: OutputSpec, out: OutputOptions,
                  video: VideoOptions, on_frame: TileProgress | None) -> tuple[tuple[int, int], tuple[int, int], int]:
        """The whole job: (size in, size out, frames done)."""
        return upscale_animation(job.input, job.output, upscaler, run, spec, out.quality, on_frame)


class VideoRunner(AnimationRunner):
    """A video (plan.VIDEO): its model chosen by its frame size from the container, frames
    decoded, upscaled and encoded inside video.upscale_video."""

    def header(self, path: Path) -> tuple[tuple[int, int], int | None]:
        info = probe(path)
        return (info.width, info.height), info.frames

    def pixels(self, path: Path) -> int:
        return video_pixels(path)

    def read(self, path: Path) -> Picture | None:
        return None

    def choose(self, path: Path, picture: Picture | None, choose: Chooser) -> Upscaler | None:
        """(None when the container cannot be read: the run then says why.)"""
        try:
            info = probe(path)
        except DrnError:
            return None
        return choose((info.width, info.height), None)

    def run_whole(self, job: Job, upscaler: Upscaler, run: RunOptions, spec: OutputSpec, out: OutputOptions,
                  video: VideoOptions, on_frame: TileProgress | None) -> tuple[tuple[int, int], tuple[int, int], int]:
        return upscale_video(job.input, job.output, upscaler, run, spec, video, on_frame)


# How each plan.InputKind runs, by its name.
RUNNERS: dict[str, StillRunner] = {"image": StillRunner(), "animation": AnimationRunner(), "video": VideoRunner()}


def add_input_kind(kind: InputKind, runner: StillRunner) -> None:
    """A new kind of input: `kind` asked first when inputs are planned, `runner` running its jobs
    (one module holds both; tests/test_input_kinds.py adds one)."""
    plan_input_kind(kind)
    RUNNERS[kind.name] = runner


def runner_of(job: Job) -> StillRunner:
    return RUNNERS[job.kind.name]


def _stops_at_existing(job: Job, out: OutputOptions, result: Result) -> bool:
    """True when `job`'s output exists and may not be replaced; `result` then says so (skipped,
    or an error naming the options)."""
    if not job.output.exists() or out.overwrite:
        return False
    if out.skip_existing:
        result.status = "skipped"
    else:
        result.status, result.exists = "error", True
        result.error = f"{job.input}: output {job.output} exists; use --overwrite or --skip-existing"
    return True


def _extra_paths(job: Job, level_scales: tuple[int, ...], spec: OutputSpec) -> list[Path]:
    """The files `spec` adds beside `job`'s output: the --all-levels levels x2 ... x(scale/2), then
    the --confidence loop map."""
    scale = level_scales[-1]
    levels = [level_path(job.output, scale, level) for level in level_scales[:-1]] if spec.all_levels else []
    return levels + ([loop_path(job.output)] if spec.confidence else [])


def _check_extras_free(paths: list[Path], out: OutputOptions) -> None:
    """Refuse a job before any work when one of its extra files exists and may not be replaced
    (as write_image would, after the model had run and earlier extras were written)."""
    taken = [path for path in paths if path.exists()]
    if taken and not out.overwrite:
        raise OutputError(f"{taken[0]}: already exists; use --overwrite or --skip-existing")


def _check_final_size(job: Job, spec: OutputSpec, size: tuple[int, int], scale: int) -> tuple[int, int]:
    """final_size of `job`'s (width, height) input; its DrnError names the input."""
    try:
        return spec.final_size(*size, scale)
    except DrnError as exc:
        raise DrnError(f"{job.input}: {exc}") from None


def _read(job: Job, out: OutputOptions, choose: Chooser | None) -> tuple[Result, Picture | None, Upscaler | None, float]:
    """The existence check, the decode and the choice of upscaler of one job (in an I/O thread,
    ahead of the model: reading a picture's damage under --denoise auto takes a moment): its
    Result so far, the picture (None when the job ends here: skipped, or an error, its Result
    finished), `choose`'s upscaler for it (None without `choose`) and the seconds they took."""
    tic = time.perf_counter()
    result = Result(str(job.input), str(job.output), "ok")
    if _stops_at_existing(job, out, result):
        return _finish(result, tic), None, None, result.seconds
    runner = runner_of(job)
    try:
        picture = runner.read(job.input)
        if picture is not None:
            result.size_in = picture.size
            result.animated = picture.frames if picture.frames > 1 and not runner.whole else None  # a still of it
        chosen = None if choose is None else runner.choose(job.input, picture, choose)
    except (DrnError, OSError) as exc:
        return _finish(_failed(result, job, exc), tic), None, None, result.seconds
    return result, picture, chosen, time.perf_counter() - tic


def _upscale(job: Job, picture: Picture, upscaler: Upscaler, run: RunOptions, spec: OutputSpec,
             out: OutputOptions, result: Result, on_tile: TileProgress | None, tic: float) -> Picture | None:
    """The model's part of one job: the upscaled picture (extras already written), or None after
    recording an error in `result`. `result.tiles` counts the tiles of the pass that finished
    (after an out-of-memory restart with smaller tiles, that pass's)."""

    def counted(done: int, total: int) -> None:
        result.tiles = total
        if on_tile:
            on_tile(done, total)

    _record_model(result, upscaler)
    try:
        final = _check_final_size(job, spec, picture.size, upscaler.scale)
        check_encodable(_format(out) or FORMATS.get(job.output.suffix.lower().lstrip("."), ""), *final, job.input)
        paths = _extra_paths(job, upscaler.model.level_scales, spec)
        _check_extras_free(paths, out)
        make_folder(job.output.parent)
        upscaled = upscale_picture(picture, upscaler, run, spec, counted)
        _write_extras(upscaled, paths, out, result)
        upscaled = upscaled.final
    except (DrnError, OSError) as exc:
        _finish(_failed(result, job, exc), tic)
        return None
    result.size_out = upscaled.size
    return upscaled


def _adapted(job: Job, picture: Picture, upscaler: Upscaler, adapt: Adapter, result: Result,
             on_step: TileProgress | None, tic: float) -> Upscaler:
    """`upscaler` adapted to a still picture (result.adapted says how), or, when that fails,
    `upscaler` with the error recorded in `result`."""
    try:
        adapted, result.adapted = adapt(upscaler, picture, on_step)
    except DrnError as exc:
        _finish(_failed(result, job, exc), tic)
        return upscaler
    return adapted


def _run_whole(job: Job, upscaler: Upscaler, run: RunOptions, spec: OutputSpec, out: OutputOptions,
               video: VideoOptions, result: Result, on_frame: TileProgress | None, tic: float) -> Result:
    """The whole of one video or animation job (its runner's run_whole: frames decoded, upscaled
    and encoded inside; the extra outputs are for stills); its finished Result. `on_frame(done,
    total)` counts frames (total 0 where a video's container does not say)."""
    _record_model(result, upscaler)
    try:
        make_folder(job.output.parent)
        result.size_in, result.size_out, result.frames = runner_of(job).run_whole(
            job, upscaler, run, spec.final_only(), out, video, on_frame)
    except (DrnError, OSError) as exc:
        _failed(result, job, exc)
    return _finish(result, tic)


def job_pixels(job: Job) -> int:
    """The input pixels of a job, all frames of a video or animation, from headers (0 where they
    cannot be read: the run says why): how torchrun ranks share a batch (plan.shard)."""
    try:
        return runner_of(job).pixels(job.input)
    except DrnError:
        return 0


def _record_model(result: Result, upscaler: Upscaler) -> None:
    """The model that runs a job, and its --denoise strength (None: not a blend) and why, in its Result."""
    result.model, result.denoise, result.denoise_reason = upscaler.model.name, upscaler.model.strength, upscaler.model.reason


def _write(job: Job, upscaled: Picture, out: OutputOptions, result: Result, seconds_so_far: float) -> Result:
    """Encode and write one job's output atomically; the finished Result, its seconds the job's
    decode and model time (`seconds_so_far`) plus this write's."""
    tic = time.perf_counter() - seconds_so_far
    try:
        runner_of(job).write(job.output, upscaled, out)
    except (DrnError, OSError) as exc:
        _failed(result, job, exc)
    return _finish(result, tic)


def _format(out: OutputOptions) -> str | None:
    return FORMATS[out.fmt] if out.fmt else None


def _failed(result: Result, job: Job, exc: DrnError | OSError) -> Result:
    result.status, result.error = "error", str(exc) if isinstance(exc, DrnError) else f"{job.input}: {exc}"
    return result


def _finish(result: Result, tic: float) -> Result:
    result.seconds = round(time.perf_counter() - tic, 3)
    return result


def _write_extras(upscaled: Upscaled, paths: list[Path], out: OutputOptions, result: Result) -> None:
    """Write the intermediate levels and the loop map (`paths`: _extra_paths) of one picture."""
    for path, level in zip(paths, upscaled.levels):
        write_image(path, level, _format(out), out.quality, overwrite=out.overwrite)
        result.extra_outputs.append(str(path))
    if upscaled.loop is not None:
        path = paths[-1]
        write_image(path, loop_map_picture(upscaled.loop, upscaled.final.size), "PNG", overwrite=out.overwrite)
        result.extra_outputs.append(str(path))
        result.loop_error = round(float(upscaled.loop.mean()), 4)


def run_jobs(plan: Plan, upscaler: Upscaler, run: RunOptions = PLAIN_RUN, spec: OutputSpec = PLAIN_OUTPUT,
             out: OutputOptions = PLAIN_WRITE, on_tile: Callable[[Job, int, int], None] | None = None,
             io_threads: int = 2, video: VideoOptions = PLAIN_VIDEO,
             choose: Chooser | None = None, adapt: Adapter | None = None) -> Iterator[Result]:
    """Results for the planned failures first, then each job's, in job order; `on_tile(job, done,
    total)` reports tiles within the image being upscaled. `choose(size, picture)`, when given,
    picks the upscaler of each picture, or video (picture None), by its size and damage
    (inference.upscaler_for_picture: its model and --denoise strength); else `upscaler` runs.
    `adapt(upscaler, picture, on_step)`, when given (session.Session.adapt, --adapt), adapts a
    still picture's model to it before it runs, its steps reported as `on_tile`'s.

    The model works on one image while `io_threads` threads decode the next input and encode
    finished outputs (Pillow and OpenCV release the GIL), so a fast device is not left waiting
    on files. At most `io_threads` outputs wait to be written."""
    yield from plan.failures
    jobs = plan.jobs
    if not jobs:
        return
    with ThreadPoolExecutor(io_threads, thread_name_prefix="drn-io") as pool:
        next_read = pool.submit(_read, jobs[0], out, choose)
        writes: deque[Future[Result]] = deque()
        for k, job in enumerate(jobs):
            result, picture, chosen, read_seconds = next_read.result()
            # A job's seconds are its own decode, model and write: the decode ran ahead while the
            # model worked on the job before, and the write runs beside the job after.
            tic = time.perf_counter() - read_seconds
            if k + 1 < len(jobs):
                next_read = pool.submit(_read, jobs[k + 1], out, choose)
            progress = None if on_tile is None else functools.partial(on_tile, job)
            if runner_of(job).whole and result.status == "ok":  # a video's or animation's frames run inside
                if adapt is not None:  # one picture's own model: frames that move have no one picture
                    result.adapted = "not adapted: --adapt adapts still images"
                writes.append(_done(_run_whole(job, chosen or upscaler, run, spec, out, video, result, progress, tic)))
            else:
                if adapt is not None and picture is not None:
                    chosen = _adapted(job, picture, chosen or upscaler, adapt, result, progress, tic)
                upscaled = None if picture is None or result.status == "error" else _upscale(
                    job, picture, chosen or upscaler, run, spec, out, result, progress, tic)
                writes.append(_done(result) if upscaled is None else
                              pool.submit(_write, job, upscaled, out, result, time.perf_counter() - tic))
            upscaler.return_freed_memory()
            while writes and (writes[0].done() or len(writes) > io_threads):
                yield writes.popleft().result()
        while writes:
            yield writes.popleft().result()


def preview_jobs(plan: Plan, level_scales: tuple[int, ...], tile: int, run: RunOptions = PLAIN_RUN,
                 spec: OutputSpec = PLAIN_OUTPUT, out: OutputOptions = PLAIN_WRITE) -> Iterator[Result]:
    """What `run_jobs` would do with a model of `level_scales` (LoadedModel.level_scales, its own
    scale last), from names and image headers alone
    (`drn upscale --dry-run`): a Result per planned failure and per job, with status "planned",
    "skipped" or "error", the sizes, the extra outputs and the tiles of the model's passes at tile
    side `tile` (LR pixels, 0: whole image). Nothing is decoded, upscaled or written."""
    yield from plan.failures
    for job in plan.jobs:
        result = Result(str(job.input), str(job.output), "planned")
        if _stops_at_existing(job, out, result):
            yield result
            continue
        runner = runner_of(job)
        extras = _extra_paths(job, level_scales, spec) if runner.extras else []
        result.extra_outputs = [str(path) for path in extras]
        try:
            _check_extras_free(extras, out)
            (w, h), result.frames = runner.header(job.input)
            result.size_in = (w, h)
            result.size_out = _check_final_size(job, spec, (w, h), level_scales[-1])
        except DrnError as exc:
            yield _failed(result, job, exc)
            continue
        result.tiles = tile_count(h, w, tile, run.overlap) * (8 if run.tta else 1) * (result.frames or 1)
        yield result


def dry_run(plan: Plan, upscaler: Upscaler, run: RunOptions = PLAIN_RUN, spec: OutputSpec = PLAIN_OUTPUT,
            out: OutputOptions = PLAIN_WRITE) -> tuple[list[Result], int]:
    """`drn upscale --dry-run`: preview_jobs' Results, each planned one with its estimated model
    seconds, and the tile side that was timed (0 when nothing is planned). The estimate times one
    tile as large as the run's largest (Upscaler.probe_side); nothing is upscaled or written."""
    tile = upscaler.tile_side(run.tile)
    results = list(preview_jobs(plan, upscaler.model.level_scales, tile, run, spec, out))
    planned = [result for result in results if result.status == "planned"]
    if not planned:
        return results, 0
    side = upscaler.probe_side(tile, max(max(result.size_in) for result in planned))
    per_pixel = upscaler.seconds_per_pixel(side)
    for result in planned:
        result.seconds = round(model_seconds(result.size_in, tile, run, per_pixel, result.frames or 1), 3)
        result.model = upscaler.model.name
    return results, side


def model_seconds(size: tuple[int, int], tile: int, run: RunOptions, seconds_per_pixel: float,
                  frames: int = 1) -> float:
    """The model time of a (width, height) input: the pixels of its tiles (all 8 passes with
    --tta) times `seconds_per_pixel` (Upscaler.seconds_per_pixel, timed at the run's tile size)."""
    w, h = size
    return tile_pixels(h, w, tile, run.overlap) * (8 if run.tta else 1) * seconds_per_pixel * frames


def _done(result: Result) -> Future[Result]:
    future: Future[Result] = Future()
    future.set_result(result)
    return future
