"""`drn serve`: the local web page (web.py) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import DrnError
from . import app, ui
from .ui import BackendOpt, DeviceOpt, PrecisionOpt, ThreadsOpt, handle_errors


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on; anything but 127.0.0.1/localhost is reachable from other machines.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    backend: BackendOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """A local web page: drop images, compare before and after, see where the model is unsure (docs/serve.md)."""
    from ..device import check_options, set_threads

    check_options(device, precision, backend or "auto")
    set_threads(threads)
    try:
        import multipart  # noqa: F401 - Starlette reads uploads with it
        import uvicorn  # noqa: F401

        from ..web import create_app, is_local, run_server
    except ImportError:
        raise DrnError('drn serve needs the web extra: pip install "drn-cli[web]"') from None
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if not is_local(host):
        ui.err.print(f"[yellow]warning:[/yellow] listening on {host}: other machines can reach this page and use this machine's model")
    ui.err.print(f"drn serve: {url}  (Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    run_server(create_app(device, precision, backend=backend), host, port)
