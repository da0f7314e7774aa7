"""`drn eval`: paper-comparable PSNR/SSIM of a model (or bicubic) on a benchmark set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..degradations import describe
from . import app, ui
from .ui import BackendOpt, DeviceOpt, JsonOpt, ModelOpt, PrecisionOpt, ScaleOpt, TileOpt, handle_errors


@app.command("eval")
@handle_errors
def evaluate_cmd(
    dataset: Annotated[str, typer.Option(metavar="NAME", help="Set5, Set14, B100, Urban100, Manga109, or a folder of HR images.")] = "Set5",
    model: ModelOpt = None,
    scale: ScaleOpt = None,
    data_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Local copy laid out as DIR/<Name>/HR/*.png.")] = None,
    degradation: Annotated[str, typer.Option(metavar="NAME", help=f"How the LR is made from HR: {describe()}; random draws are seeded by each image's name.")] = "bicubic",
    outscale: Annotated[int | None, typer.Option(metavar="N", help="2, 4 or 8: score the model's output resized to this scale, as `drn upscale --outscale N` makes it (the LR is made at this scale).")] = None,
    self_ensemble: Annotated[bool, typer.Option(help="Average over the 8 flips/rotations.")] = False,
    denoise: Annotated[str | None, typer.Option(metavar="S", help="Score the blend of the clean (0) and the photo (1) model of the scale, or auto (each LR's choice, read from the JPEG quality of the file it would be saved as, its noise and blur), as drn upscale --denoise.")] = None,
    save_lr: Annotated[Path | None, typer.Option(metavar="DIR", help="Write the LR images made to this folder.")] = None,
    save_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Write the SR images to this folder.")] = None,
    per_image: Annotated[bool, typer.Option(help="Show a row per image.")] = False,
    tile: TileOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """PSNR/SSIM on a benchmark with the paper's protocol (Y channel, shave = scale)."""
    from ..evaluate import EvalReport, EvalRequest, convention, image_saver, iter_scores, sr_function

    request = EvalRequest(model, scale, degradation, outscale, self_ensemble, tile, device, precision, denoise, backend)
    sr_fn, scale, name = sr_function(request)
    label, paths = dataset_paths(dataset, data_dir)
    report = EvalReport(label, scale, name, degradation)
    with ui.progress() as bar:
        task = bar.add_task(f"{report.dataset} x{scale}", total=len(paths))
        for score in iter_scores(sr_fn, paths, scale, degradation, image_saver(save_lr, save_dir, scale)):
            report.images.append(score)
            bar.update(task, advance=1)
    if as_json:  # stdout holds the JSON alone; the table goes to stderr
        print(json.dumps(report.to_dict()))
    _print_report(report, convention(degradation), per_image, ui.err if as_json else ui.out)


def dataset_paths(name: str, data_dir: Path | None) -> tuple[str, list[Path]]:
    """(its name, HR paths) of a dataset or folder; a registry set not yet cached is downloaded
    with its terms of use stated first and one progress bar (bytes) for the set."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from ..datasets import find_dataset, hr_folder, missing_files, registry, resolve_dataset

    info = find_dataset(name, registry())
    label = info.name if info else Path(name).name
    missing = [] if info is None or data_dir is not None else missing_files(info)
    if not missing:
        return label, resolve_dataset(name, data_dir)
    size = sum(f.size for f in missing)
    ui.err.print(f"downloading {info.name}: {len(missing)} of {len(info.files)} images ({size / 1e6:.1f} MB) into "
                 f"{escape(str(hr_folder(info.name)))}\nterms of use: {escape(info.terms)}")
    with Progress(TextColumn(info.name), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=ui.err) as bar:
        task = bar.add_task("download", total=size)
        return label, resolve_dataset(name, progress=lambda n: bar.update(task, advance=n))


def _print_report(report, convention: str, per_image: bool, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"{report.dataset} x{report.scale} · {report.model} · LR: {report.degradation}")
    for column, justify in (("image", "left"), ("PSNR (dB)", "right"), ("SSIM", "right")):
        table.add_column(column, justify=justify)
    for s in report.images if per_image else []:
        table.add_row(s.name, f"{s.psnr:.2f}", f"{s.ssim:.4f}")
    table.add_row("[bold]mean[/bold]", f"[bold]{report.psnr:.2f}[/bold]", f"[bold]{report.ssim:.4f}[/bold]")
    console.print(table)
    console.print(f"[dim]{convention}[/dim]")
