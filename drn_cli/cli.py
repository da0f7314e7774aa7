"""The `drn` command line: thin Typer commands over the library, Rich output on stderr.

Heavy imports (torch, numpy) happen inside the commands so that `drn --help` stays instant.
Errors users can cause (DrnError) print one red line and exit 1 (2 for usage errors); set
DRN_DEBUG=1 to see the traceback.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .errors import DrnError, UsageError
from .presets import PAPER_MODEL, UPSCALE_MODEL

# Typer (0.2x) prints a type label such as <bool> or <list[str]> beside every flag and argument,
# and ignores an argument's metavar there. Flags take no value and our arguments' names say what
# they take, so neither gets a label; options with values show their metavar (DIR, N, MODEL).
if hasattr(typer.core.TyperArgument, "display_type_rich"):
    _option_label = typer.core.TyperOption.display_type_rich
    typer.core.TyperArgument.display_type_rich = lambda self, ctx: None
    typer.core.TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else _option_label(self, ctx)

app = typer.Typer(help="DRN super-resolution: upscale images, train, adapt and evaluate models.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)  # results: tables, paths

EXIT_FAILED, EXIT_USAGE = 1, 2


def _version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"drn {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """DRN super-resolution: upscale images, train, adapt and evaluate models."""

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Preset name (`drn models` lists them), a .safetensors file, or an official DRN .pt checkpoint.")]
ScaleOpt = Annotated[int | None, typer.Option("--scale", "-s", metavar="N", help="2, 4 or 8: the shipped model for that scale.")]
DeviceOpt = Annotated[str, typer.Option(metavar="DEVICE", help="auto (CUDA when present), cpu, cuda or cuda:N.")]
PrecisionOpt = Annotated[str, typer.Option(metavar="PRECISION", help="auto, fp32, bf16 or fp16. auto = bf16 where the hardware is fast at it.")]
TileOpt = Annotated[int | None, typer.Option(metavar="N", help="Tile size in LR pixels; 0 = whole image; default from available memory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def handle_errors(fn):
    """Turn DrnError into one red line on stderr and exit 1, unless DRN_DEBUG is set."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DrnError as exc:
            if os.environ.get("DRN_DEBUG"):
                raise
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None

    return wrapper


def _check_scale_option(scale: int | None) -> None:
    if scale is not None and scale not in (2, 4, 8):
        raise UsageError(f"--scale must be 2, 4 or 8, got {scale}")


def _model_spec(model: str | None, scale: int | None, default: str) -> str:
    """--model, else the preset for --scale, else `default`."""
    from .presets import preset_for_scale

    _check_scale_option(scale)
    return model if model is not None else preset_for_scale(scale, default)


def _check_scale(spec: str, model_scale: int, scale: int | None) -> None:
    if scale is not None and scale != model_scale:
        raise UsageError(f"--model {spec} is a x{model_scale} model, but --scale {scale} was given")


def _progress(label: str = "{task.description}", stats: bool = False, console: Console | None = None):
    """The one progress bar style: label, bar, done/total, time left (and a stats field)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    extra = [TextColumn("{task.fields[stats]}")] if stats else []
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), *extra,
                    console=console or err, transient=False)


@app.command()
@handle_errors
def upscale(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="Image files, folders and globs.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help="Output folder (default: next to each input); with one input, an image file name (out.png).")] = None,
    model: ModelOpt = None,
    scale: Annotated[int | None, typer.Option("--scale", "-s", metavar="N", help="2, 4 or 8 times larger. Without --model: the photo model, resized where it is not of that scale (better on photos than the clean x2/x8; --model drn-s-x2 for clean inputs).")] = None,
    outscale: Annotated[float | None, typer.Option(metavar="X", help="Final scale, any factor (1.5, 3, 6): the nearest shipped model at or above it, then an antialiased resize.")] = None,
    width: Annotated[int | None, typer.Option("--width", metavar="PX", min=1, help="Final width in pixels, aspect ratio kept: the model's output resized (--width 3840 for a 4K screen). Output {stem}_w3840.")] = None,
    height: Annotated[int | None, typer.Option("--height", metavar="PX", min=1, help="Final height in pixels, likewise; with --width, the largest size that fits inside both ({stem}_3840x2160).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", metavar="FORMAT", help="png, jpg, webp, tiff or bmp (default: as the input; jpg for HEIC and AVIF photos).")] = None,
    quality: Annotated[int, typer.Option(metavar="Q", help="JPEG/WebP quality.", min=1, max=100)] = 95,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into folders, keeping the tree under -o.")] = False,
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Skip inputs whose output exists.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")] = False,
    tta: Annotated[bool, typer.Option("--tta", help="Average the 8 flips and rotations (8x the time; slightly sharper, cleaner results).")] = False,
    all_levels: Annotated[bool, typer.Option("--all-levels", help="Also write every intermediate scale from the same pass ({stem}_x2 of a x4 model).")] = False,
    confidence: Annotated[bool, typer.Option("--confidence", help="Also write {stem}_x4.loop.png, where the output fails to explain the input (|D(SR) - LR| from DRN's dual blocks); --json gains loop_error.")] = False,
    tile: TileOpt = None,
    tile_overlap: Annotated[int, typer.Option(metavar="N", help="Tile overlap in LR pixels.", min=0)] = 16,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    compile_model: Annotated[bool, typer.Option("--compile", help="Compile the model first (torch.compile): about 30 s, and again for new image sizes, then each image about 2x faster on a GPU; for large folders (docs/performance.md).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be written (each output, its size and tiles; existing outputs; unreadable headers) and about how long the model will take (timed on one tile), then exit: nothing is upscaled or written. Exit code 1 if an input would fail.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Upscale images with DRN. Writes {stem}_x{scale}.{ext}; never overwrites inputs.

    The default model, drn-s-x4-real, is for real photos (blur, noise, JPEG), at every --scale;
    use --model drn-s-x4 (or drn-s-x2, drn-s-x8) for clean images (renders, screenshots,
    bicubic-made LR).
    """
    from .device import check_options
    from .plan import output_tag, plan_jobs
    from .presets import PRESETS, upscale_choice

    if skip_existing and overwrite:
        raise UsageError("--skip-existing and --overwrite exclude each other")
    if tile is not None and tile < 0:
        raise UsageError("--tile must be 0 (whole image) or a positive size")
    if outscale is not None and not 0 < outscale <= 16:
        raise UsageError(f"--outscale must be above 0 and at most 16, got {outscale:g}")
    if outscale is not None and scale is not None:
        raise UsageError("--outscale and --scale exclude each other; --outscale picks the model's scale itself")
    if tta and (all_levels or confidence):
        raise UsageError("--tta cannot be combined with --all-levels or --confidence")
    if (width is not None or height is not None) and (outscale is not None or scale is not None or all_levels):
        raise UsageError("--width/--height set the final size themselves; they exclude --scale, --outscale and --all-levels")
    _check_scale_option(scale)
    spec, resize_to = upscale_choice(model, scale, outscale)
    if all_levels and resize_to is not None:
        raise UsageError("--all-levels writes the model's own scales; it cannot be combined with --outscale"
                         + (f", nor with --scale {scale} without --model (no photo model is x{scale}: "
                            f"name one, e.g. --model drn-s-x{scale})" if outscale is None else ""))
    check_options(device, precision)

    def planned(model_scale: int):
        return plan_jobs(inputs, output_tag(resize_to or model_scale, width, height), output, fmt, recursive)

    # Plan first (no torch yet) when the preset names the scale, so that a typo costs nothing.
    known = PRESETS[spec].scale if spec in PRESETS else None
    plan = planned(known) if known else None

    from . import distributed  # torch loads from here on
    from .batch import OutputOptions
    from .inference import RunOptions, load_upscaler
    from .io import image_pixels
    from .plan import shard

    run = RunOptions(tile, tile_overlap, tta, resize_to, all_levels, confidence, width, height)
    written = OutputOptions(fmt, quality, overwrite, skip_existing)
    if dry_run:  # the model is loaded and timed on one tile; nothing is upscaled or written
        upscaler = load_upscaler(spec, device, precision)
        _check_scale(spec, upscaler.scale, scale if model is not None else None)
        plan = plan or planned(upscaler.scale)
        raise typer.Exit(EXIT_FAILED if _dry_run(plan, spec, upscaler, run, written, as_json) else 0)
    rank, dev = distributed.init(device)  # under torchrun: this rank's GPU or share of the cores
    upscaler = load_upscaler(spec, str(dev), precision, compile_model)
    _check_scale(spec, upscaler.scale, scale if model is not None else None)
    plan = plan or planned(upscaler.scale)
    total = len(plan.jobs) + len(plan.failures)
    mine = shard(plan, rank.rank, rank.world, image_pixels)
    failed = _run_plan(mine, upscaler, as_json, run, written, rank.is_main, total)
    if rank.world > 1:
        failed = _summarise_ranks(failed, total)
        distributed.finish()
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _say_ignored(plan) -> None:
    """One dim line when folders or globs held our own earlier outputs (plan.is_own_output)."""
    if plan.ignored:
        err.print(f"[dim]left out {len(plan.ignored)} earlier output(s) of these inputs, "
                  f"e.g. {escape(str(plan.ignored[0]))}[/dim]")


def _dry_run(plan, spec: str, upscaler, run, written, as_json: bool) -> int:
    """`drn upscale --dry-run`: a line (or JSON record) per input from its name and header, and a
    summary with the model time, estimated from one tile as large as the run's largest, timed;
    returns the number of inputs that would fail. Nothing is upscaled or written."""
    from .batch import model_seconds, preview_jobs
    from .device import precision_name

    tile = run.tile if run.tile is not None else upscaler.default_tile()
    results = list(preview_jobs(plan, upscaler.scale, tile, run, written))
    planned = [result for result in results if result.status == "planned"]
    side = 0
    if planned:
        side = upscaler.probe_side(tile, max(max(result.size_in) for result in planned))
        per_pixel = upscaler.seconds_per_pixel(side)
        for result in planned:
            result.seconds = round(model_seconds(result.size_in, tile, run, per_pixel), 3)
    _say_ignored(plan)
    counts, pixels_out = {"planned": 0, "skipped": 0, "error": 0}, 0
    for result in results:
        counts[result.status] += 1
        if result.status == "error":
            err.print(f"[red]error:[/red] {escape(result.error)}")
        elif result.status == "skipped":
            err.print(f"[dim]would skip {escape(result.input)}: {escape(result.output)} exists[/dim]")
        else:
            (w, h), (w2, h2) = result.size_in, result.size_out
            pixels_out += w2 * h2
            also = "".join(f", {extra}" for extra in result.extra_outputs)
            err.print(f"{escape(result.input)} -> {escape(result.output + also)}  {w}x{h} -> {w2}x{h2}  "
                      f"{result.tiles} tile{'s' if result.tiles > 1 else ''}, {_duration(result.seconds)}")
        if as_json:
            sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    err.print(f"dry run with {spec}: {counts['planned']} to upscale ({pixels_out / 1e6:.1f} MP out), "
              f"{counts['skipped']} to skip, {counts['error']} failed; nothing written")
    if planned:
        seconds = sum(result.seconds for result in planned)
        err.print(f"model time {_duration(seconds)} on {upscaler.device} ({precision_name(upscaler.dtype)}), "
                  f"from one timed {side}px tile; decoding and encoding add to it")
    return counts["error"]


def _duration(seconds: float) -> str:
    """"about 12 s", "about 4 min", "about 2.5 h", "under 1 s": the resolution an estimate deserves."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def _summarise_ranks(failed: int, total: int) -> int:
    """All ranks' failures, gathered; rank 0 prints the summary. Every rank returns the total so
    that each exits non-zero when any input failed anywhere."""
    from . import distributed

    counts = distributed.all_gather(failed)
    everyone = sum(counts)
    if distributed.from_env().is_main:
        per_rank = ", ".join(f"rank {r}: {n}" for r, n in enumerate(counts))
        err.print(f"all {len(counts)} ranks: {total - everyone} done, {everyone} failed ({per_rank})")
    return everyone


def _run_plan(plan, upscaler, as_json: bool, run, output, show: bool = True, total: int | None = None) -> int:
    """Run a plan under one progress bar (images, and tiles within the current image), a line per
    image above it, JSON lines on stdout; returns the number of failed inputs. Under torchrun only
    rank 0 `show`s: its bar counts the images of all ranks (`total`), its lines are its own, and
    every rank writes its JSON lines whole (one write each)."""
    from . import distributed
    from .batch import run_jobs

    if show:
        _say_ignored(plan)
    failed, done, mine = 0, 0, len(plan.jobs) + len(plan.failures)
    total = mine if total is None else total
    live = show and (bool(plan.jobs) or total > mine)  # no bar when nothing can run (an empty folder, a typo)
    with _progress(console=err if live else Console(quiet=True)) as progress:
        task = progress.add_task("images", total=total)
        tiles = progress.add_task("tiles", total=None, visible=False)

        def on_tile(job, done: int, count: int) -> None:
            progress.update(tiles, completed=done, total=count, visible=count > 1,
                            description=f"  {escape(job.input.name[:30])}")

        for result in run_jobs(plan, upscaler, run, output, on_tile):
            progress.update(tiles, visible=False)
            done += 1
            everyone = distributed.add_to_counter("drn_upscale_done", 1)
            progress.update(task, completed=everyone if everyone is not None else done)
            if result.status == "error":
                failed += 1
                (progress.console if live else err).print(f"[red]error:[/red] {escape(result.error)}")
            elif result.status == "skipped":
                progress.console.print(f"[dim]skipped {escape(result.input)}: {escape(result.output)} exists[/dim]")
            else:
                (w, h), (w2, h2) = result.size_in, result.size_out
                extra = f"  loop error {result.loop_error:.2f}" if result.loop_error is not None else ""
                progress.console.print(f"{escape(result.input)} -> {escape(result.output)}  {w}x{h} -> {w2}x{h2}  "
                                       f"{result.seconds:.1f} s{extra}")
            if as_json:
                sys.stdout.write(json.dumps(result.to_dict()) + "\n")
                sys.stdout.flush()
    if total == mine and (plan.jobs or total > 1):
        err.print(f"{total - failed} done, {failed} failed")
    return failed


@app.command("eval")
@handle_errors
def evaluate_cmd(
    dataset: Annotated[str, typer.Option(metavar="NAME", help="Set5, Set14, B100, Urban100, Manga109, or a folder of HR images.")] = "Set5",
    model: ModelOpt = None,
    scale: ScaleOpt = None,
    data_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Local copy laid out as DIR/<Name>/HR/*.png.")] = None,
    degradation: Annotated[str, typer.Option(metavar="NAME", help="bicubic, nearest, bd (7x7 Gaussian blur, sigma 1.6, then decimation), real (blur, resize, noise and JPEG, drawn per image from a seed made from its name), or a kernel with fixed stages such as bicubic+noise8+jpeg40.")] = "bicubic",
    outscale: Annotated[int | None, typer.Option(metavar="N", help="2, 4 or 8: score the model's output resized to this scale, as `drn upscale --outscale N` makes it (the LR is made at this scale).")] = None,
    self_ensemble: Annotated[bool, typer.Option(help="Average over the 8 flips/rotations.")] = False,
    save_lr: Annotated[Path | None, typer.Option(metavar="DIR", help="Write the LR images made to this folder.")] = None,
    save_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Write the SR images to this folder.")] = None,
    per_image: Annotated[bool, typer.Option(help="Show a row per image.")] = False,
    tile: TileOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """PSNR/SSIM on a benchmark with the paper's protocol (Y channel, shave = scale)."""
    from .degradations import parse_degradation
    from .device import check_options
    from .evaluate import CONVENTION, EvalReport, bicubic_sr, iter_scores

    try:
        parse_degradation(degradation)
    except ValueError as exc:
        raise UsageError(f"--degradation: {exc}") from None
    check_options(device, precision)
    if outscale is not None and (outscale not in (2, 4, 8) or scale is not None or model == "bicubic"):
        raise UsageError("--outscale takes 2, 4 or 8, with a model and without --scale")
    if model == "bicubic":
        if scale is None:
            raise UsageError("--model bicubic needs --scale")
        sr_fn, name = bicubic_sr(scale), "bicubic"
    else:
        sr_fn, scale, name = _model_sr_fn(_model_spec(model, scale, PAPER_MODEL), scale, device, precision, tile,
                                          outscale)
    if self_ensemble:
        from .inference import self_ensemble as ensemble

        base_fn = sr_fn
        sr_fn = lambda lr: ensemble(base_fn, lr)
    label, paths = _dataset_paths(dataset, data_dir)
    report = EvalReport(label, scale, name, degradation)
    with _progress() as progress:
        task = progress.add_task(f"{report.dataset} x{scale}", total=len(paths))
        for score in iter_scores(sr_fn, paths, scale, degradation, _image_saver(save_lr, save_dir, scale)):
            report.images.append(score)
            progress.update(task, advance=1)
    if as_json:  # stdout holds the JSON alone; the table goes to stderr
        print(json.dumps(report.to_dict()))
    _print_report(report, CONVENTION, per_image, err if as_json else out)


def _dataset_paths(name: str, data_dir: Path | None) -> tuple[str, list[Path]]:
    """(its name, HR paths) of a dataset or folder; a registry set not yet cached is downloaded
    with its terms of use stated first and one progress bar (bytes) for the set."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from .datasets import find_dataset, hr_folder, missing_files, registry, resolve_dataset

    info = find_dataset(name, registry())
    label = info.name if info else Path(name).name
    missing = [] if info is None or data_dir is not None else missing_files(info)
    if not missing:
        return label, resolve_dataset(name, data_dir)
    size = sum(f.size for f in missing)
    err.print(f"downloading {info.name}: {len(missing)} of {len(info.files)} images ({size / 1e6:.1f} MB) into "
              f"{escape(str(hr_folder(info.name)))}\nterms of use: {escape(info.terms)}")
    with Progress(TextColumn(info.name), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task("download", total=size)
        return label, resolve_dataset(name, progress=lambda n: bar.update(task, advance=n))


def _model_sr_fn(spec: str, scale: int | None, device: str, precision: str, tile: int | None,
                 outscale: int | None = None):
    """(sr_fn, scale, name) of a model, or of its output resized to `outscale` as upscale does."""
    from .inference import RunOptions, load_upscaler, upscale_picture
    from .io import Picture

    upscaler = load_upscaler(spec, device, precision)
    _check_scale(spec, upscaler.scale, scale)
    if outscale is None or outscale == upscaler.scale:
        return functools.partial(upscaler.upscale_uint8, tile=tile), upscaler.scale, spec
    options = RunOptions(tile=tile, outscale=outscale)
    return (lambda lr: upscale_picture(Picture(lr, None, "PNG"), upscaler, options).pixels,
            outscale, f"{spec} resized to x{outscale}")


def _image_saver(save_lr: Path | None, save_dir: Path | None, scale: int):
    if save_lr is None and save_dir is None:
        return None
    from .atomic import make_folder
    from .io import Picture, write_image

    def save(path: Path, lr, sr) -> None:
        for folder, image in ((save_lr, lr), (save_dir, sr)):
            if folder is not None:
                make_folder(folder)
                write_image(folder / f"{path.stem}_x{scale}.png", Picture(image, None, "PNG"), "PNG", overwrite=True)

    return save


def _print_report(report, convention: str, per_image: bool, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"{report.dataset} x{report.scale} · {report.model} · LR: {report.degradation}")
    table.add_column("image")
    table.add_column("PSNR (dB)", justify="right")
    table.add_column("SSIM", justify="right")
    if per_image:
        for s in report.images:
            table.add_row(s.name, f"{s.psnr:.2f}", f"{s.ssim:.4f}")
    table.add_row("[bold]mean[/bold]", f"[bold]{report.psnr:.2f}[/bold]", f"[bold]{report.ssim:.4f}[/bold]")
    console.print(table)
    console.print(f"[dim]{convention}[/dim]")


@app.command()
@handle_errors
def models(as_json: JsonOpt = False) -> None:
    """List the models: scale, size, what each is for, whether installed, recorded scores."""
    from .weights import catalogue

    rows = catalogue()
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    # A block per model, not a table: seven columns of prose are unreadable in 80 columns.
    out.print(f"models (drn upscale uses {UPSCALE_MODEL}; drn eval uses {PAPER_MODEL})")
    for r in rows:
        installed = "installed" if r["installed"] else (
            "not installed: convert the official checkpoint with drn convert" if r["official"] else "not installed")
        scores = ", ".join(f"{k} {v[0]:.2f}" for k, v in (r["scores"] or {}).items())
        out.print(f"\n[bold]{r['name']}[/bold]  x{r['scale']}, {r['params'] / 1e6:.2f} M params, "
                  f"trained on {r['trained_on']} LR, {installed}\n  {r['use']}"
                  + (f"\n  Y-PSNR: {scores}" if scores else ""))


@app.command()
@handle_errors
def datasets(as_json: JsonOpt = False) -> None:
    """List the benchmark sets: images, size, whether they are cached and where, terms of use."""
    from rich.table import Table

    from .datasets import hr_folder, missing_files, registry

    rows = []
    for info in registry().values():
        cached = len(info.files) - len(missing_files(info))
        rows.append({"name": info.name, "images": len(info.files), "bytes": info.bytes, "cached": cached,
                     "folder": str(hr_folder(info.name)), "terms": info.terms})
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(title="benchmark datasets (drn eval --dataset NAME downloads on first use)")
    for column in ("name", "images", "size", "cached", "folder", "terms of use"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["name"], str(r["images"]), f"{r['bytes'] / 1e6:.1f} MB",
                      "yes" if r["cached"] == r["images"] else f"{r['cached']}/{r['images']}", r["folder"], r["terms"])
    out.print(table)


@app.command()
@handle_errors
def convert(
    checkpoint: Annotated[Path, typer.Argument(help="Official DRN primal .pt checkpoint.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PATH", help="Output .safetensors file.")],
    dual: Annotated[Path | None, typer.Option(metavar="FILE", help="Official *_dual_model.pt to include.")] = None,
    half: Annotated[bool, typer.Option(help="Store fp16 tensors.")] = False,
) -> None:
    """Convert an official DRN .pt checkpoint into a self-describing .safetensors file."""
    from .weights import load_official, save_weights

    if output.exists():
        raise UsageError(f"{output}: exists; choose another -o")
    weights = load_official(checkpoint, dual)
    save_weights(output, weights, half=half)
    err.print(f"wrote {escape(str(output))} ({weights.config})")


@app.command()
@handle_errors
def average(
    models: Annotated[list[str], typer.Argument(metavar="MODELS", help="Two or more presets or weights files.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PATH", help="Output .safetensors file.")],
    half: Annotated[bool, typer.Option(help="Store fp16 tensors.")] = False,
) -> None:
    """Average models fine-tuned from one ancestor into one (a model soup; docs/training.md)."""
    from .weights import average_weights, resolve_model, save_weights

    if len(models) < 2:
        raise UsageError("average needs two or more models")
    if output.exists():
        raise UsageError(f"{output}: exists; choose another -o")
    weights = average_weights([resolve_model(m) for m in models])
    save_weights(output, weights, half=half)
    err.print(f"wrote {escape(str(output))}: the average of {len(models)} models ({weights.config})")


@app.command()
@handle_errors
def export(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Preset name or weights file.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The .onnx file to write.")],
    half: Annotated[bool, typer.Option("--half", help="fp16 weights and body (head and tails stay fp32).")] = False,
    opset: Annotated[int, typer.Option(metavar="N", help="ONNX opset version.")] = 17,
) -> None:
    """Export a model to ONNX (images in [0, 1], dynamic size), checked with onnxruntime if installed."""
    from .export import check_onnx, export_onnx
    from .weights import resolve_model

    if output.exists():
        raise UsageError(f"{output}: exists; choose another -o")
    weights = resolve_model(model)
    export_onnx(weights, output, half, opset)
    worst = check_onnx(output, weights, half)
    check = ("onnxruntime not installed, parity not checked (pip install 'drn-cli[onnx]')" if worst is None
             else f"onnxruntime matches PyTorch fp32 within {worst:.1e} at two sizes")
    err.print(f"wrote {escape(str(output))} (x{weights.config.scale}, {'fp16' if half else 'fp32'}); {escape(check)}")


@app.command()
@handle_errors
def train(
    data: Annotated[list[Path] | None, typer.Option("--data", metavar="DIR", help="Folder of HR training images (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Run folder to create.")] = None,
    resume: Annotated[Path | None, typer.Option(metavar="DIR", help="Continue this run folder up to --steps.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Variant name, e.g. drn-s-x4.")] = None,
    scale: ScaleOpt = None,
    n_blocks: Annotated[int | None, typer.Option(metavar="N", help="RCABs per level (overrides the variant).")] = None,
    n_feats: Annotated[int | None, typer.Option(metavar="N", help="Base width (overrides the variant).")] = None,
    steps: Annotated[int | None, typer.Option(metavar="N", help="Total steps of the run.")] = None,
    minutes: Annotated[float | None, typer.Option(metavar="M", help="End after M minutes of training, or at --steps if sooner; the learning-rate schedule ends with it (for machines lent for a fixed time).")] = None,
    batch_size: Annotated[int, typer.Option(metavar="N", help="Patches per step (per process).")] = 16,
    patch_size: Annotated[int, typer.Option(metavar="N", help="HR patch size in pixels (a multiple of the scale).")] = 128,
    lr: Annotated[float, typer.Option("--lr", metavar="RATE", help="Peak learning rate.")] = 2e-4,
    warmup: Annotated[int, typer.Option(metavar="N", help="Linear warm-up steps.")] = 0,
    dual_weight: Annotated[float, typer.Option(metavar="W", help="Weight of the dual loss (lambda).")] = 0.1,
    loss: Annotated[str, typer.Option(metavar="NAME", help="Distance of the primal and dual losses: l1 (the paper's) or l2 (mean squared error, what PSNR measures; for a last short stage).")] = "l1",
    val: Annotated[str | None, typer.Option(metavar="SET", help="Validation set: a dataset name or an HR folder.")] = None,
    data_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Local benchmark copy for --val.")] = None,
    val_every: Annotated[int, typer.Option(metavar="N", help="Validate every N steps.")] = 500,
    save_every: Annotated[int, typer.Option(metavar="N", help="Checkpoint every N steps.")] = 200,
    log_every: Annotated[int, typer.Option(metavar="N", help="Log metrics every N steps.")] = 10,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed.")] = 0,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    workers: Annotated[int, typer.Option(metavar="N", help="DataLoader worker processes.")] = 0,
    ema: Annotated[float, typer.Option(metavar="DECAY", help="Validate and save a moving average of the weights with this decay (0.999 is usual); 0: the weights themselves.")] = 0.0,
    init: Annotated[str | None, typer.Option(metavar="MODEL", help="Start from these weights (preset or file).")] = None,
    grow_from: Annotated[str | None, typer.Option(metavar="MODEL", help="Start the inner levels from this half-scale model (drn-s-x4 inside drn-s-x8); the finest level from --init or fresh.")] = None,
    degradation: Annotated[str, typer.Option(metavar="NAME", help="How LR patches are made: bicubic (the paper's), real (random blur, resize, noise and JPEG; docs/training.md), or a fixed one: nearest, bd, or a kernel with noise and JPEG stages such as bicubic+noise8+jpeg40.")] = "bicubic",
) -> None:
    """Paired dual-regression training on folders of HR images (resumable; torchrun for DDP)."""
    from .training.trainer import TrainConfig, architecture, resume_run, start_run

    display = _TrainDisplay()
    if resume is not None:
        trainer = resume_run(resume, steps, display, minutes=minutes)
    else:
        if not data or out is None:
            raise UsageError("drn train needs --data DIR and --out RUN_DIR (or --resume RUN_DIR)")
        config = TrainConfig(
            data=[str(d) for d in data], out=str(out),
            model=architecture(model, scale, n_blocks, n_feats).to_dict(), steps=steps or 10_000,
            minutes=minutes,
            batch_size=batch_size, patch_size=patch_size, lr=lr, warmup=warmup,
            dual_weight=dual_weight, loss=loss, val=[str(p) for p in _dataset_paths(val, data_dir)[1]] if val else [],
            val_every=val_every,
            save_every=save_every, log_every=log_every, seed=seed, device=device,
            precision=precision, workers=workers, ema=ema, init=init, grow_from=grow_from,
            degradation=degradation)
        trainer = start_run(config, display)
    _run_training(trainer, display, f"training {trainer.config.drn} ({trainer.config.degradation} LR)")
    if trainer.dist.is_main:
        err.print(f"done: {escape(str(Path(trainer.config.out) / 'model.safetensors'))} (step {trainer.step})")


def _run_training(trainer, display: _TrainDisplay, what: str) -> None:
    """The one runner of `train` and `finetune-unpaired`: a header line, then the run under the display."""
    from .device import precision_name

    if trainer.dist.is_main:
        budget = trainer.config.minutes
        err.print(f"{escape(what)} on {trainer.device} ({precision_name(trainer.dtype)}) "
                  f"from step {trainer.step} to {trainer.config.steps}"
                  + (f" or {budget:g} minutes of training" if budget is not None else ""))
    with display:
        trainer.run()


class _TrainDisplay:
    """Training progress on stderr: a Rich live bar with step, losses, patches/s, ETA and the
    last validation PSNR on a terminal; one plain line per logged step otherwise (log files)."""

    def __init__(self) -> None:
        import time

        self.clock = time.monotonic
        self.quiet = os.environ.get("RANK", "0") != "0"
        self.progress = None
        if err.is_terminal and not self.quiet:
            self.progress = _progress("step", stats=True)
        self.task = None
        self.val: float | None = None
        self.last: tuple[float, int] | None = None

    def __enter__(self) -> _TrainDisplay:  # noqa: PYI034 (Self needs Python 3.11)
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        kind = event["type"]
        if kind == "warning":
            err.print(f"[yellow]warning:[/yellow] {escape(event['message'])}")
        elif kind == "info":
            err.print(event["message"], markup=False)
        elif kind == "skip":
            err.print(f"[yellow]step {event['step']}: loss exploded, batch skipped[/yellow]")
        elif kind == "step" and "val_psnr" in event:
            self.val = event["val_psnr"]
            err.print(f"step {event['step']}: validation PSNR {event['val_psnr']:.3f} dB "
                      f"(best {event['best_psnr']:.3f})")
        elif kind == "step":
            self._step(event)

    def _step(self, event: dict) -> None:
        stats = (f"loss {event['loss']:.3f} (primal {event['loss_primal']:.3f}, dual {event['loss_dual']:.3f})  "
                 f"lr {event['lr']:.2e}  {event['patches_per_s']:.1f} patches/s  skipped {event['skipped']}"
                 + (f"  val {self.val:.2f} dB" if self.val is not None else ""))
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task("train", total=event["steps"], completed=event["step"], stats=stats)
            self.progress.update(self.task, completed=event["step"], stats=stats)
            return
        now, eta = self.clock(), ""
        if self.last is not None and event["step"] > self.last[1]:
            per_step = (now - self.last[0]) / (event["step"] - self.last[1])
            minutes = min((event["steps"] - event["step"]) * per_step / 60, event.get("minutes_left", math.inf))
            eta = f"  ETA {minutes:.0f} min"
        self.last = (now, event["step"])
        err.print(f"step {event['step']}/{event['steps']}  {stats}{eta}")


@app.command("finetune-unpaired")
@handle_errors
def finetune_unpaired(
    lr_dir: Annotated[Path, typer.Argument(help="Folder of real LR photos (no HR needed).")],
    model: Annotated[str, typer.Option("--model", "-m", metavar="MODEL", help="Starting weights with dual blocks (preset or file).")] = PAPER_MODEL,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Run folder to create.")] = None,
    resume: Annotated[Path | None, typer.Option(metavar="DIR", help="Continue this run folder up to --steps.")] = None,
    steps: Annotated[int | None, typer.Option(metavar="N", help="Total adaptation steps (default: 400).")] = None,
    unpaired_ratio: Annotated[float, typer.Option(metavar="R", help="Share of unpaired photos in each batch (rho).")] = 0.3,
    paired_data: Annotated[list[Path] | None, typer.Option(metavar="DIR", help="HR folders for the paired share, degraded as --self-pairs says (default: self-pairs from the photos).")] = None,
    self_pairs: Annotated[str, typer.Option(metavar="KIND", help="How the pairs (self-pairs, or --paired-data) get their LR: auto (kernel, noise level and JPEG quality read from the photos), bicubic, nearest or bd with optional +noiseS and +jpegQ stages (if you know how the photos were made, e.g. bicubic+noise8+jpeg40), or dual (the degradation the loop learns).")] = "auto",
    keep_bicubic: Annotated[float, typer.Option(metavar="W", help="Weight of the term that keeps bicubic-LR outputs as the starting model's (0: off).")] = 3.0,
    dual_weight: Annotated[float, typer.Option(metavar="W", help="Weight of the dual loss (lambda).")] = 0.1,
    freeze_dual: Annotated[bool, typer.Option("--freeze-dual/--train-dual", help="Keep the dual blocks fixed.")] = False,
    loop: Annotated[str, typer.Option(metavar="KIND", help="How the loop closes at x4/x8: chain (all dual blocks) or inner.")] = "chain",
    batch_size: Annotated[int, typer.Option(metavar="N", help="Patches per step.")] = 8,
    patch_size: Annotated[int, typer.Option(metavar="N", help="HR patch size in pixels (0: up to 128, fitted to the photos).")] = 0,
    lr: Annotated[float, typer.Option("--lr", metavar="RATE", help="Peak learning rate.")] = 1e-4,
    save_every: Annotated[int, typer.Option(metavar="N", help="Checkpoint every N steps.")] = 50,
    log_every: Annotated[int, typer.Option(metavar="N", help="Log metrics every N steps.")] = 10,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed.")] = 0,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
) -> None:
    """Adapt a model to real LR photos with the closed-loop (dual) loss (DRN paper, Eq. 2)."""
    from .training.adapt import AdaptConfig, Adapter
    from .training.trainer import resume_run, start_run

    display = _TrainDisplay()
    if resume is not None:
        trainer = resume_run(resume, steps, display, AdaptConfig, Adapter)
    else:
        if out is None:
            raise UsageError("finetune-unpaired needs --out RUN_DIR (or --resume RUN_DIR)")
        if not lr_dir.is_dir():
            raise UsageError(f"{lr_dir}: not a folder of LR photos")
        from .weights import resolve_model

        arch = resolve_model(model).config
        config = AdaptConfig(
            data=[str(d) for d in paired_data or []], out=str(out), model=arch.to_dict(),
            steps=steps or 400, batch_size=batch_size, patch_size=patch_size, lr=lr,
            dual_weight=dual_weight, save_every=save_every, log_every=log_every, seed=seed,
            device=device, precision=precision, init=model, lr_dir=str(lr_dir),
            unpaired_ratio=unpaired_ratio, freeze_dual=freeze_dual, loop=loop, self_pairs=self_pairs,
            keep_bicubic=keep_bicubic)
        trainer = start_run(config, display, Adapter)
    before = trainer.closed_loop_report()
    c = trainer.config
    pairs = f"{'HR folders ' + ', '.join(c.data) if c.data else 'self-pairs'} with {c.self_pairs} LR"
    if c.inferred:
        read = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in c.inferred.items())
        err.print(f"read from the photos: {read} -> pairs {c.self_pairs}", markup=False)
    _run_training(trainer, display, f"adapting {c.drn} to {c.lr_dir} ({pairs}, {c.patch_size}px patches; "
                                    f"closed-loop L1 on the photos before: {before:.3f})")
    after = trainer.closed_loop_report()
    err.print(f"closed-loop L1 on the photos: {before:.3f} -> {after:.3f} (0..255 scale); "
              f"weights: {escape(str(Path(trainer.config.out) / 'model.safetensors'))}")
