"""The `drn` command line: thin Typer commands over the library, Rich output on stderr.

Each command parses its options, builds the library's request or config (which checks them),
calls one core function and renders what comes back. Heavy imports (torch, numpy) happen inside
the commands so that `drn --help` stays instant. Errors users can cause (DrnError) print one red
line and exit 1 (2 for usage errors); DRN_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

# OpenMP threads that finish early wait for the others. GOMP's default spins for a long time
# before sleeping: fastest on an idle machine, but beside one busy program two threads ran 2.7x
# to 17x slower than alone (they spin on the core the other program needs). Spinning 10,000
# rounds, then sleeping, kept the idle speed (1.02x) and made that 2.8x; passive waiting would
# make it 2.0x but cost 34% on an idle machine (docs/performance.md, benchmarks/threads.py).
# Set before torch loads; a user's own OpenMP settings win.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

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


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"drn {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False) -> None:
    """DRN super-resolution: upscale images, train, adapt and evaluate models."""


def run() -> None:
    """The `drn` command (and `python -m drn_cli`): the app, with the terminal kept for its own words."""
    from .ui import keep_terminal_for_our_words

    keep_terminal_for_our_words()
    app(prog_name="drn")


from . import evaluate, manage, serve, train, upscale  # noqa: F401 - each registers its commands on `app`
