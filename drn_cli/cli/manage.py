"""The model and data housekeeping commands: models, datasets, convert, average, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..models.presets import PAPER_MODEL
from . import app, ui
from .ui import JsonOpt, handle_errors

OutFile = Annotated[Path, typer.Option("--output", "-o", metavar="PATH", help="Output .safetensors file.")]
Half = Annotated[bool, typer.Option(help="Store fp16 tensors.")]


def _rows_as_json(rows: list[dict], as_json: bool) -> bool:
    """With --json, the rows as JSON lines on stdout (True: nothing else to print)."""
    if as_json:
        print("\n".join(json.dumps(row) for row in rows))
    return as_json


@app.command()
@handle_errors
def models(as_json: JsonOpt = False) -> None:
    """List the models: scale, size, what each is for, whether installed, recorded scores."""
    from ..models.weights import catalogue

    if _rows_as_json(rows := catalogue(), as_json):
        return
    # A block per model, not a table: seven columns of prose are unreadable in 80 columns.
    ui.out.print(f"models (drn upscale without --model: per picture the clean or the photo model of a --denoise "
                 f"pair, or the blur model of a blurred picture; drn eval: {PAPER_MODEL})")
    for r in rows:
        if r["url"]:
            size = f"{r['bytes'] / 1e6:.0f} MB, " if r["bytes"] else ""
            installed = (f"{r['architecture']}, {'downloaded' if r['installed'] else 'downloads on first use'} "
                         f"({size}{r['licence']})")
        else:
            installed = "installed" if r["installed"] else (
                f"not installed: download {r['official']}, then drn convert {r['official'].rsplit('/', 1)[-1]} "
                f"-o {r['name']}.safetensors and pass --model {r['name']}.safetensors"
                if r["official"] else f"not shipped: drn train --model {r['name']} --data HR_FOLDER makes it")
        scores = ", ".join(f"{k} {v[0]:.2f}" for k, v in (r["scores"] or {}).items())
        pair = f"\n  --denoise: {' (0) + '.join(r['denoise_pair'])} (1)" if r["denoise_pair"] else ""
        ui.out.print(f"\n[bold]{r['name']}[/bold]  x{r['scale']}, {r['params'] / 1e6:.2f} M params, trained on "
                     f"{r['trained_on']} LR, {installed}\n  {r['use']}" + (f"\n  Y-PSNR: {scores}" if scores else "") + pair)


@app.command()
@handle_errors
def datasets(as_json: JsonOpt = False) -> None:
    """List the benchmark sets: images, size, whether they are cached and where, terms of use."""
    from rich.table import Table

    from ..datasets import catalogue

    if _rows_as_json(rows := catalogue(), as_json):
        return
    table = Table(title="benchmark datasets (drn eval --dataset NAME downloads on first use)")
    for column in ("name", "images", "size", "cached", "folder", "terms of use"):
        table.add_column(column, overflow="fold")
    for r in rows:
        cached = "yes" if r["cached"] == r["images"] else f"{r['cached']}/{r['images']}"
        table.add_row(r["name"], str(r["images"]), f"{r['bytes'] / 1e6:.1f} MB", cached, r["folder"], r["terms"])
    ui.out.print(table)


@app.command()
@handle_errors
def convert(
    checkpoint: Annotated[Path, typer.Argument(help="Official DRN primal .pt checkpoint.")],
    output: OutFile,
    dual: Annotated[Path | None, typer.Option(metavar="FILE", help="Official *_dual_model.pt to include.")] = None,
    half: Half = False,
) -> None:
    """Convert an official DRN .pt checkpoint into a self-describing .safetensors file."""
    from ..models.weights import load_official

    _write_new(output, lambda: load_official(checkpoint, dual), half)


@app.command()
@handle_errors
def average(
    models: Annotated[list[str], typer.Argument(metavar="MODELS", help="Two or more presets or weights files.")],
    output: OutFile,
    half: Half = False,
    force: Annotated[bool, typer.Option("--force", help="Average models that do not share an ancestor.")] = False,
) -> None:
    """Average models fine-tuned from one ancestor into one (a model soup; docs/training.md)."""
    from ..models.weights import average_models

    _write_new(output, lambda: average_models(models, force), half, f": the average of {len(models)} models")


def _write_new(output: Path, make, half: bool, what: str = "") -> None:
    """Save the weights `make()` returns as `output`, a new file (refused before any work if it exists)."""
    from ..atomic import check_new
    from ..models.weights import save_weights

    check_new(output)
    weights = make()
    save_weights(output, weights, half=half)
    ui.err.print(f"wrote {escape(str(output))}{escape(what)} (DRN {weights.config.describe()})")


@app.command()
@handle_errors
def export(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Preset name or weights file.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="The .onnx file to write.")],
    half: Annotated[bool, typer.Option("--half", help="fp16 weights and body (head and tails stay fp32).")] = False,
    opset: Annotated[int, typer.Option(metavar="N", help="ONNX opset version.")] = 17,
) -> None:
    """Export a model to ONNX (images in [0, 1], dynamic size), checked with onnxruntime if installed."""
    from .. import models as registry
    from ..export import check_export, check_onnx, export_onnx

    check_export(output)  # the suffix, an existing file, the onnx package: before any work
    loaded = registry.load(model, device="cpu", precision="fp32")
    export_onnx(loaded, output, half, opset)
    worst = check_onnx(output, loaded, half)
    check = ("onnxruntime not installed, parity not checked (pip install 'drn-cli[onnx]')" if worst is None
             else f"onnxruntime matches PyTorch fp32 within {worst:.1e} at two sizes")
    ui.err.print(f"wrote {escape(str(output))} (x{loaded.scale}, {'fp16' if half else 'fp32'}); {escape(check)}")
