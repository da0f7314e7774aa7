"""`drn upscale`: files, folders and globs through one request, a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from . import app, ui
from .ui import (
    EXIT_FAILED,
    BackendOpt,
    DeviceOpt,
    JsonOpt,
    ModelOpt,
    PrecisionOpt,
    ThreadsOpt,
    TileOpt,
    handle_errors,
)


@app.command()
@handle_errors
def upscale(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="Image files, folders and globs.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Output folder (default: next to each input); with one input, an image file name (out.png).", rich_help_panel="Input and output")] = None,
    model: ModelOpt = None,
    scale: Annotated[int | None, typer.Option("--scale", "-s", metavar="N", help="2, 4 or 8 times larger. Without --model: the clean or the photo model of that scale (at x4 also the blur model), as each picture needs (--denoise auto); at x8 the x4 models, resized (they beat drn-s-x8).", rich_help_panel="Model and quality")] = None,
    outscale: Annotated[float | None, typer.Option(metavar="X", help="Final scale, any factor (1.5, 3, 6): the nearest shipped model at or above it, then an antialiased resize.", rich_help_panel="Model and quality")] = None,
    width: Annotated[int | None, typer.Option("--width", metavar="PX", min=1, help="Final width in pixels, aspect ratio kept: the model's output resized (--width 3840 for a 4K screen). Output {stem}_w3840.", rich_help_panel="Model and quality")] = None,
    height: Annotated[int | None, typer.Option("--height", metavar="PX", min=1, help="Final height in pixels, likewise; with --width, the largest size that fits inside both ({stem}_3840x2160).", rich_help_panel="Model and quality")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", metavar="FORMAT", help="png, jpg, webp, tiff or bmp (default: as the input; jpg for HEIC and AVIF photos, png for still GIFs; animated GIF, WebP and PNG stay animations, every frame upscaled).", rich_help_panel="Input and output")] = None,
    quality: Annotated[int, typer.Option(metavar="Q", help="JPEG/WebP quality.", min=1, max=100, rich_help_panel="Input and output")] = 95,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders, keeping the tree under -o.", rich_help_panel="Input and output")] = False,
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip inputs whose output exists.", rich_help_panel="Input and output")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.", rich_help_panel="Input and output")] = False,
    suffix: Annotated[str | None, typer.Option(metavar="NAME", help="Name outputs {stem}_x4_NAME.ext: another setting's results beside the first ones.", rich_help_panel="Input and output")] = None,
    denoise: Annotated[str | None, typer.Option(metavar="S", help="How much to clean: auto (per picture, from its damage; the default without --model), or 0 (the clean model: keeps texture and noise) to 1 (the photo model: removes noise and JPEG blocks); between them, a blend (2x the time).", rich_help_panel="Model and quality")] = None,
    adapt: Annotated[bool, typer.Option("--adapt", help="Adapt the model to each picture first: its blur read from it, a short training on its own patches, the output then held to that blur (about a minute for 0.1 MP on 2 CPU cores). For blurred, clean pictures: noisy and compressed ones, whose grain and blocks it would bring back, are upscaled as they are (docs/adaptation.md).", rich_help_panel="Model and quality")] = False,
    adapt_steps: Annotated[int | None, typer.Option(metavar="N", min=1, help="Steps of --adapt (default 60; implies --adapt).", rich_help_panel="Model and quality")] = None,
    tta: Annotated[bool, typer.Option("--tta", help="Average the 8 flips and rotations (8x the time; slightly sharper, cleaner results). Under --adapt, those that keep the blur read (2 for a slanted one).", rich_help_panel="Model and quality")] = False,
    all_levels: Annotated[bool, typer.Option("--all-levels", help="Also write every intermediate scale from the same pass ({stem}_x2 of a x4 model).", rich_help_panel="Input and output")] = False,
    confidence: Annotated[bool, typer.Option("--confidence", help="Also write {stem}_x4.loop.png, where the output fails to explain the input (|D(SR) - LR| from DRN's dual blocks); --json gains loop_error.", rich_help_panel="Input and output")] = False,
    tile: TileOpt = None,
    tile_overlap: Annotated[int, typer.Option(metavar="N", help="Tile overlap in LR pixels.", min=0, rich_help_panel="Speed and memory")] = 16,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    backend: BackendOpt = None,
    threads: ThreadsOpt = None,
    codec: Annotated[str, typer.Option(metavar="CODEC", help="Videos: h264, h265, vp9 or av1 (the \\[video] extra; audio and subtitles are copied).", rich_help_panel="Video")] = "h264",
    crf: Annotated[int | None, typer.Option(metavar="N", help="Videos: the encoder's constant quality (default 18 for h264, 20 h265, 31 vp9, 30 av1; 0 with h264: lossless).", rich_help_panel="Video")] = None,
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile the model first (~30 s, then ~2x faster on a GPU): for large folders.", rich_help_panel="Speed and memory")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show each output, its size and about how long it will take, then exit: nothing is written. Exit code 1 if an input would fail.", rich_help_panel="Input and output")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upscale images, animations and videos. Writes {stem}_x{scale}.{ext}; never overwrites inputs.

    Without --model each picture gets the model its damage asks for (--denoise auto): the photo
    model for compressed, noisy or blurred photos, the clean one for clean images.

    Examples:  drn upscale photo.jpg  |  drn upscale shots/ -r -o big/ --format png  |
    drn upscale photo.jpg --width 3840 --denoise 0.5
    """
    from ..plan import output_tag, plan_jobs
    from ..request import DEFAULT_ADAPT_STEPS, OutputOptions, UpscaleRequest, VideoOptions

    steps = adapt_steps or (DEFAULT_ADAPT_STEPS if adapt else 0)
    request = UpscaleRequest(model, scale, outscale, width, height, tta, all_levels, confidence, tile, tile_overlap,
                             device, precision, denoise, backend, steps)
    written, video = OutputOptions(fmt, quality, overwrite, skip_existing), VideoOptions(codec, crf)

    def planned(model_scale: int):
        tag = request.output.tag_for if width and height else output_tag(request.resize_to or model_scale, width, height)
        return plan_jobs(inputs, tag, output, fmt, recursive, video, suffix)

    plan = planned(request.known_scale) if request.known_scale else None  # before torch: a typo costs nothing
    if plan is not None and not plan.jobs and plan.failures:  # nothing can run: say so without loading torch
        raise typer.Exit(EXIT_FAILED if _run_plan(plan, None, request, written, video, as_json) else 0)

    from .. import distributed  # torch loads from here on
    from ..batch import job_pixels
    from ..device import set_threads
    from ..plan import shard
    from ..report import large_output_warnings, openvino_note, ranks_summary
    from ..session import Session

    # under torchrun (not for a dry run): this rank's GPU or share of the cores
    rank, dev = (distributed.from_env(), device) if dry_run else distributed.init(device)
    set_threads(threads)
    session = Session(request, str(dev), compile_model and not dry_run)
    for line in openvino_note(request, dev):
        ui.say(*line)
    upscaler = session.upscaler()
    plan = plan or planned(upscaler.scale)
    for line in large_output_warnings(plan, upscaler.scale, request.output) if rank.is_main else []:
        ui.say(*line)
    if dry_run:  # the model is timed on one tile; nothing is upscaled or written
        raise typer.Exit(EXIT_FAILED if _dry_run(plan, request, upscaler, written, as_json) else 0)
    total = len(plan.jobs) + len(plan.failures)
    mine = shard(plan, rank.rank, rank.world, job_pixels)

    # each picture's model (--width/--height) and strength (--denoise auto), checked
    failed = _run_plan(mine, upscaler, request, written, video, as_json, rank.is_main, total, session.upscaler,
                       lambda: distributed.add_to_counter("drn_upscale_done", 1),
                       session.adapt if request.adapt_steps else None)
    if rank.world > 1:
        counts = distributed.failures_everywhere(failed)
        if rank.is_main:
            ui.say(*ranks_summary(counts, total))
        failed = sum(counts)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _dry_run(plan, request, upscaler, written, as_json: bool) -> int:
    """Show batch.dry_run: a line (and JSON record) per input and a summary; returns the failures."""
    from ..batch import dry_run
    from ..report import plan_notes, preview_line, preview_summary

    results, side = dry_run(plan, upscaler, request.run, request.output, written)
    for line in plan_notes(plan):
        ui.say(*line)
    for result in results:
        ui.say(*preview_line(result))
        if as_json:
            ui.json_line(result.to_dict())
    for line in preview_summary(results, side, request.model_words, str(upscaler.device), upscaler.model.precision):
        ui.say(*line)
    return sum(result.status == "error" for result in results)


def _run_plan(plan, upscaler, request, written, video, as_json: bool, show: bool = True, total: int | None = None,
              choose=None, count_all=None, adapt=None) -> int:
    """Run a plan under one progress bar (images, and tiles within the current image), a line per
    image above it, JSON lines on stdout; returns the number of failed inputs. Under torchrun only
    rank 0 `show`s: its bar counts the images of all ranks (`total`, `count_all()` adding one),
    its lines are its own; other ranks show their errors alone."""
    from ..report import Tally, plan_notes, result_line

    for line in plan_notes(plan) if show else []:
        ui.say(*line)
    tally, mine = Tally(), len(plan.jobs) + len(plan.failures)
    total = mine if total is None else total
    live = show and (bool(plan.jobs) or total > mine)  # no bar when nothing can run (an empty folder, a typo)
    with ui.progress(console=ui.err if live else Console(quiet=True)) as bar:
        task = bar.add_task("images", total=total)
        tiles = bar.add_task("tiles", total=None, visible=False)

        def on_tile(job, done: int, count: int) -> None:  # tiles of an image, frames of a video
            bar.update(tiles, completed=done, total=count or None, visible=count != 1, description=f"  {escape(ui.printable(job.input.name[:30]))}")

        if upscaler is None:  # nothing can run (only failures): torch is not loaded
            results = plan.failures
        else:
            from ..batch import run_jobs

            results = run_jobs(plan, upscaler, request.run, request.output, written, on_tile, video=video, choose=choose,
                               adapt=adapt)
        for result in results:
            tally.add(result)
            bar.update(tiles, visible=False)
            bar.update(task, completed=(count_all and count_all()) or tally.count)
            line = result_line(result)
            if line is not None and (live or line[0] == "error"):
                ui.say(*line)
            if as_json:
                ui.json_line(result.to_dict())
    for line in tally.summary(counts=total == mine and (bool(plan.jobs) or total > 1)):
        ui.say(*line)
    return tally.failed
