"""A new front door is one function over session.Session (docs/architecture.md, "where a new X
goes"): here a test-only one, as a desktop wrapper would have, gives what `drn upscale` gives."""

from __future__ import annotations

import io as bytes_io
from pathlib import Path

import numpy as np
import pytest
from images import textured
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.errors import InputImageError, UsageError
from drn_cli.io import encode_image, read_image
from drn_cli.request import UpscaleRequest
from drn_cli.session import Session

# -- the whole door: a file in, PNG bytes for a window out, and the words for its status bar ----

def upscale_for_window(path: Path, denoise: str | None = None) -> tuple[bytes, str]:
    """`path` upscaled as `drn upscale` would (its model chosen from its damage), as PNG bytes,
    and "model (why)" for the window's status bar."""
    session = Session(UpscaleRequest(denoise=denoise))
    upscaled, upscaler, _ = session.upscale(read_image(path))
    words = f"{upscaler.model.name} ({upscaler.model.reason or 'as asked'})"
    return encode_image(upscaled.final, "PNG"), words


def test_a_new_door_gives_what_drn_upscale_gives(tmp_path, shipped_tiny):
    clean, jpeg = tmp_path / "clean.png", tmp_path / "old.jpg"
    Image.fromarray(textured(48)).save(clean)
    Image.fromarray(textured(48, seed=1)).save(jpeg, quality=30)
    for path in (clean, jpeg):
        data, words = upscale_for_window(path)
        result = CliRunner().invoke(app, ["upscale", str(path), "-o", str(tmp_path / f"cli_{path.stem}.png")])
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(np.asarray(Image.open(bytes_io.BytesIO(data))),
                                      read_image(tmp_path / f"cli_{path.stem}.png").pixels)
        assert words.split(" (")[0] in result.output  # the same model, said the same way
    assert "JPEG quality 30" in upscale_for_window(jpeg)[1]


def test_the_door_refuses_as_the_cli_does(tmp_path, shipped_tiny):
    with pytest.raises(UsageError, match="--denoise"):
        upscale_for_window(tmp_path / "any.png", denoise="2")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(InputImageError, match="broken.png"):
        upscale_for_window(tmp_path / "broken.png")
