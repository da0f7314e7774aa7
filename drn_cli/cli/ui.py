"""What every command shares: the consoles, the one-line error edge, common options, progress."""

from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import DrnError, UsageError

err = Console(stderr=True, highlight=False, soft_wrap=True)  # status, progress, errors
out = Console(highlight=False, soft_wrap=True)  # results: tables, paths
EXIT_FAILED, EXIT_USAGE = 1, 2

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Preset name (`drn models` lists them), a .safetensors file, an official DRN .pt checkpoint, or a Real-ESRGAN / ESRGAN .pth file.", rich_help_panel="Model and quality")]
ScaleOpt = Annotated[int | None, typer.Option("--scale", "-s", metavar="N", help="2, 4 or 8: the shipped model for that scale.")]
DeviceOpt = Annotated[str, typer.Option(metavar="DEVICE", help="auto (CUDA when present), cpu, cuda or cuda:N.", rich_help_panel="Speed and memory")]
PrecisionOpt = Annotated[str, typer.Option(metavar="PRECISION", help="auto, fp32, bf16 or fp16. auto = bf16 where the hardware is fast at it.", rich_help_panel="Speed and memory")]
TileOpt = Annotated[int | None, typer.Option(metavar="N", help="Tile size in LR pixels; 0 = whole image; default from available memory.", rich_help_panel="Speed and memory")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", metavar="N", min=1, help="CPU threads for the model (default: OMP_NUM_THREADS if set, else one per core).", rich_help_panel="Speed and memory")]
BackendOpt = Annotated[str | None, typer.Option(metavar="BACKEND", help="auto (OpenVINO on CPUs with fast bf16 where the \\[openvino] extra is installed, else torch), torch or openvino; default DRN_BACKEND, else auto.", rich_help_panel="Speed and memory")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.", rich_help_panel="Input and output")]


STYLES = {"info": "{}", "note": "[dim]{}[/dim]", "alert": "[yellow]{}[/yellow]",
          "warning": "[yellow]warning:[/yellow] {}", "error": "[red]error:[/red] {}"}


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def printable(text: str) -> str:
    """`text` with its control characters written as \\xNN: a file name can hold escape sequences
    that would drive the terminal, or a newline that would split its line."""
    return text.translate(_CONTROL)


def say(level: str, text: str) -> None:
    """One line of the library's words (report.py, training/events.py) on stderr in its level's
    style, control characters shown, not sent (printable)."""
    err.print(STYLES[level].format(escape(printable(text))))


def keep_terminal_for_our_words() -> None:
    """Decoders talk on their own: Pillow as Python warnings ("Corrupt EXIF data"), libtiff, libpng
    and OpenCV straight to file descriptor 2; one fuzz run put 184 such lines between ours. The
    `drn` command (not the library, not a test's CliRunner) points descriptor 2 at /dev/null and
    writes its own lines (sys.stderr, so Rich, tracebacks and logging too) to a copy of the
    terminal's descriptor. DRN_DEBUG=1 keeps everything."""
    if os.environ.get("DRN_DEBUG"):
        return
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        terminal = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no descriptor 2 at all: nothing to keep clean
        return
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                           errors="backslashreplace")


def handle_errors(fn):
    """Turn DrnError into one red line on stderr and exit 1 (2 for usage errors), unless DRN_DEBUG is set."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DrnError as exc:
            if os.environ.get("DRN_DEBUG"):
                raise
            say("error", str(exc))
            raise typer.Exit(EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED) from None
        except KeyboardInterrupt:
            say("alert", "interrupted")
            raise typer.Exit(130) from None

    return wrapper


def progress(label: str = "{task.description}", stats: bool = False, console: Console | None = None):
    """The one progress bar style: label, bar, done/total, time left (and a stats field)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    extra = [TextColumn("{task.fields[stats]}")] if stats else []
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), *extra,
                    console=console or err, transient=False)


def json_line(record: dict) -> None:
    """One JSON record on stdout, written whole (ranks under torchrun write beside each other)."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
