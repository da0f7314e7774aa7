"""`drn upscale`: files, folders and globs through one request, a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import app
from .ui import (
    EXIT_FAILED,
    DeviceOpt,
    JsonOpt,
    ModelOpt,
    PrecisionOpt,
    ThreadsOpt,
    TileOpt,
    duration,
    err,
    handle_errors,
    json_line,
    progress,
)


@app.command()
@handle_errors
def upscale(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="Image files, folders and globs.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Output folder (default: next to each input); with one input, an image file name (out.png).")] = None,
    model: ModelOpt = None,
    scale: Annotated[int | None, typer.Option("--scale", "-s", metavar="N", help="2, 4 or 8 times larger. Without --model: the clean or the photo model of that scale, as each picture needs (--denoise auto); at x8 the x4 pair, resized (it beats drn-s-x8).")] = None,
    outscale: Annotated[float | None, typer.Option(metavar="X", help="Final scale, any factor (1.5, 3, 6): the nearest shipped model at or above it, then an antialiased resize.")] = None,
    width: Annotated[int | None, typer.Option("--width", metavar="PX", min=1, help="Final width in pixels, aspect ratio kept: the model's output resized (--width 3840 for a 4K screen). Output {stem}_w3840.")] = None,
    height: Annotated[int | None, typer.Option("--height", metavar="PX", min=1, help="Final height in pixels, likewise; with --width, the largest size that fits inside both ({stem}_3840x2160).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", metavar="FORMAT", help="png, jpg, webp, tiff or bmp (default: as the input; jpg for HEIC and AVIF photos).")] = None,
    quality: Annotated[int, typer.Option(metavar="Q", help="JPEG/WebP quality.", min=1, max=100)] = 95,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders, keeping the tree under -o.")] = False,
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip inputs whose output exists.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")] = False,
    denoise: Annotated[str | None, typer.Option(metavar="S", help="How much to clean: auto (the default without --model: per image, the photo model, drn-s-x4-real, for JPEGs of quality 94 or lower (also once-JPEGs saved as PNG), lossy WebP/AVIF/HEIC, and noisy or blurred pictures, else the clean model, drn-s-x4), or 0 (clean model: keeps texture, sharpens noise and JPEG blocks) to 1 (photo model: removes them, smooths texture); between them both run and blend (2x the time).")] = None,
    tta: Annotated[bool, typer.Option("--tta", help="Average the 8 flips and rotations (8x the time; slightly sharper, cleaner results).")] = False,
    all_levels: Annotated[bool, typer.Option("--all-levels", help="Also write every intermediate scale from the same pass ({stem}_x2 of a x4 model).")] = False,
    confidence: Annotated[bool, typer.Option("--confidence", help="Also write {stem}_x4.loop.png, where the output fails to explain the input (|D(SR) - LR| from DRN's dual blocks); --json gains loop_error.")] = False,
    tile: TileOpt = None,
    tile_overlap: Annotated[int, typer.Option(metavar="N", help="Tile overlap in LR pixels.", min=0)] = 16,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    threads: ThreadsOpt = None,
    codec: Annotated[str, typer.Option(metavar="CODEC", help="Videos: h264, h265, vp9 or av1 (the [video] extra; audio and subtitles are copied).")] = "h264",
    crf: Annotated[int | None, typer.Option(metavar="N", help="Videos: the encoder's constant quality (default 18 for h264, 20 h265, 31 vp9, 30 av1; 0 with h264: lossless).")] = None,
    compile_model: Annotated[bool, typer.Option("--compile", help="Compile the model first (torch.compile): about 30 s, and again for new image sizes, then each image about 2x faster on a GPU; for large folders (docs/performance.md).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be written (each output, its size and tiles; existing outputs; unreadable headers) and about how long the model will take (timed on one tile), then exit: nothing is upscaled or written. Exit code 1 if an input would fail.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upscale images with DRN. Writes {stem}_x{scale}.{ext}; never overwrites inputs.

    Without --model each picture gets the model its damage asks for (--denoise auto): the photo
    model for compressed, noisy or blurred photos, the clean one for clean images.
    """
    from ..plan import output_tag, plan_jobs
    from ..request import OutputOptions, UpscaleRequest, VideoOptions

    request = UpscaleRequest(model, scale, outscale, width, height, tta, all_levels, confidence, tile, tile_overlap,
                             device, precision, denoise)
    written, video = OutputOptions(fmt, quality, overwrite, skip_existing), VideoOptions(codec, crf)

    def planned(model_scale: int):
        tag = request.output.tag_for if width and height else output_tag(request.resize_to or model_scale, width, height)
        return plan_jobs(inputs, tag, output, fmt, recursive, video)

    plan = planned(request.known_scale) if request.known_scale else None  # before torch: a typo costs nothing
    if plan is not None and not plan.jobs and plan.failures:  # nothing can run: say so without loading torch
        for result in plan.failures:
            err.print(f"[red]error:[/red] {escape(result.error)}")
        if len(plan.failures) > 1:
            err.print(f"0 done, {len(plan.failures)} failed")
        raise typer.Exit(EXIT_FAILED)

    from .. import distributed  # torch loads from here on
    from ..device import set_threads
    from ..inference import upscaler_for_picture
    from ..io import image_pixels
    from ..plan import shard
    from ..video import video_pixels

    # under torchrun (not for a dry run): this rank's GPU or share of the cores
    rank, dev = (distributed.from_env(), device) if dry_run else distributed.init(device)
    set_threads(threads)
    upscaler = upscaler_for_picture(request, device=str(dev), compile=compile_model and not dry_run)
    request.check_model(upscaler.scale, upscaler.model.has_dual)
    plan = plan or planned(upscaler.scale)
    if rank.is_main:
        _warn_large(plan, upscaler.scale, request)
    if dry_run:  # the model is timed on one tile; nothing is upscaled or written
        raise typer.Exit(EXIT_FAILED if _dry_run(plan, request, upscaler, written, as_json) else 0)
    total = len(plan.jobs) + len(plan.failures)
    videos = {job.input for job in plan.jobs if job.kind == "video"}
    mine = shard(plan, rank.rank, rank.world, lambda path: video_pixels(path) if path in videos else image_pixels(path))

    def choose(size, picture):  # each picture's model (--width/--height) and strength (--denoise auto)
        return upscaler_for_picture(request, size, picture, str(dev), compile_model)

    failed = _run_plan(mine, upscaler, request, written, video, as_json, rank.is_main, total, choose)
    if rank.world > 1:
        counts = distributed.failures_everywhere(failed)
        if rank.is_main:
            per_rank = ", ".join(f"rank {r}: {n}" for r, n in enumerate(counts))
            err.print(f"all {len(counts)} ranks: {total - sum(counts)} done, {sum(counts)} failed ({per_rank})")
        failed = sum(counts)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _say_ignored(plan) -> None:
    """Dim lines for what the plan left out: our own earlier outputs (plan.is_own_output),
    subfolders without -r, inputs listed twice."""
    if plan.ignored:
        err.print(f"[dim]left out {len(plan.ignored)} earlier output(s) of these inputs, e.g. {escape(str(plan.ignored[0]))}[/dim]")
    for note in plan.notes:
        err.print(f"[dim]{escape(note)}[/dim]")


def _warn_large(plan, scale: int, request) -> None:
    """A warning per output over batch.LARGE_OUTPUT pixels, before any work."""
    from ..batch import large_outputs

    for path, (w, h) in large_outputs(plan, scale, request.output):
        err.print(f"[yellow]warning:[/yellow] {escape(str(path))} -> {w}x{h}, {w * h / 1e6:.0f} megapixels: "
                  "slow on a CPU; --width or --outscale make a smaller output")


def _dry_run(plan, request, upscaler, written, as_json: bool) -> int:
    """Render batch.dry_run: a line (or JSON record) per input and a summary; returns the failures."""
    from ..batch import dry_run

    results, side = dry_run(plan, upscaler, request.run, request.output, written)
    _say_ignored(plan)
    counts, pixels_out = {"planned": 0, "skipped": 0, "error": 0}, 0
    for result in results:
        counts[result.status] += 1
        if result.status == "error":
            err.print(f"[red]error:[/red] {escape(result.error)}")
        elif result.status == "skipped":
            err.print(f"[dim]would skip {escape(result.input)}: {escape(result.output)} exists[/dim]")
        else:
            pixels_out += result.size_out[0] * result.size_out[1]
            frames = f"{result.frames} frames, " if result.frames else ""
            err.print(f"{escape(result.sizes(with_extras=True))}  {frames}{result.tiles} tile{'s' if result.tiles > 1 else ''}, {duration(result.seconds)}")
        if as_json:
            json_line(result.to_dict())
    err.print(f"dry run with {request.model_words}: {counts['planned']} to upscale ({pixels_out / 1e6:.1f} MP out), "
              f"{counts['skipped']} to skip, {counts['error']} failed; nothing written")
    if side:
        seconds = sum(result.seconds for result in results if result.status == "planned")
        err.print(f"model time {duration(seconds)} on {upscaler.device} ({upscaler.model.precision}), "
                  f"from one timed {side}px tile; decoding and encoding add to it")
    return counts["error"]


def _run_plan(plan, upscaler, request, written, video, as_json: bool, show: bool = True, total: int | None = None,
              choose=None) -> int:
    """Run a plan under one progress bar (images, and tiles within the current image), a line per
    image above it, JSON lines on stdout; returns the number of failed inputs. Under torchrun only
    rank 0 `show`s: its bar counts the images of all ranks (`total`), its lines are its own."""
    from .. import distributed
    from ..batch import run_jobs

    if show:
        _say_ignored(plan)
    failed, done, mine, skipped, exist = 0, 0, len(plan.jobs) + len(plan.failures), 0, []
    total = mine if total is None else total
    live = show and (bool(plan.jobs) or total > mine)  # no bar when nothing can run (an empty folder, a typo)
    with progress(console=err if live else Console(quiet=True)) as bar:
        task = bar.add_task("images", total=total)
        tiles = bar.add_task("tiles", total=None, visible=False)

        def on_tile(job, done: int, count: int) -> None:  # tiles of an image, frames of a video
            bar.update(tiles, completed=done, total=count or None, visible=count != 1, description=f"  {escape(job.input.name[:30])}")

        for result in run_jobs(plan, upscaler, request.run, request.output, written, on_tile, video=video, choose=choose):
            bar.update(tiles, visible=False)
            done += 1
            everyone = distributed.add_to_counter("drn_upscale_done", 1)
            bar.update(task, completed=everyone if everyone is not None else done)
            failed += result.status == "error"
            skipped += result.status == "skipped"
            if result.exists:  # one summary for all of them, below
                exist.append(result.output)
            elif result.status == "error":
                (bar.console if live else err).print(f"[red]error:[/red] {escape(result.error)}")
            elif result.status == "skipped":
                bar.console.print(f"[dim]skipped {escape(result.input)}: {escape(result.output)} exists[/dim]")
            else:
                extra = f"  loop error {result.loop_error:.2f}" if result.loop_error is not None else ""
                why = f": {result.denoise_reason}" if result.denoise_reason else ""
                extra += f"  {result.model} (denoise {result.denoise:g}{why})" if result.denoise is not None else ""
                extra += f"  {result.frames} frames, {result.frames / max(result.seconds, 1e-3):.2f} frames/s" if result.frames else ""
                bar.console.print(f"{escape(result.sizes(with_extras=True))}  {result.seconds:.1f} s{extra}")
            if as_json:
                json_line(result.to_dict())
    if total == mine and (plan.jobs or total > 1):
        counts = f"{total - failed - skipped} done" + (f", {skipped} skipped (outputs exist)" if skipped else "")
        why = (f": {len(exist)} outputs exist already (e.g. {escape(exist[0])}); --overwrite replaces them, "
               "--skip-existing skips them" if exist else "")
        err.print(f"{counts}, {failed} failed{why}")
    elif exist:
        err.print(f"[red]error:[/red] {escape(exist[0])} exists; --overwrite replaces it, --skip-existing skips it")
    return failed
