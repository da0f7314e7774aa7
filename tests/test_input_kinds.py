"""Input kinds are classes, chosen once per file: the built-in three, and a new kind added in one
place (here, in the test itself: NumPy .npy arrays), run through `drn upscale` as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli import batch, plan
from drn_cli.atomic import writing
from drn_cli.batch import StillRunner
from drn_cli.cli import app
from drn_cli.errors import InputImageError
from drn_cli.io import Picture, read_image
from drn_cli.plan import ANIMATION, STILL, VIDEO, InputKind, kind_of

runner = CliRunner()


# -- a new kind, whole: what a module of its own would hold ------------------------------------


class NpyKind(InputKind):
    """A (H, W, 3) uint8 NumPy array saved with np.save: upscaled to an array of the same kind."""

    name = "npy"
    suffixes = frozenset({".npy"})

    def claims(self, path: Path, fmt: str | None) -> bool:
        return path.suffix.lower() == ".npy"

    def output_suffix(self, path: Path, fmt: str | None, video) -> str:
        return ".npy"


def _load(path: Path, **how) -> np.ndarray:
    """The array in `path`; what users can get wrong is an InputImageError naming the file (the
    runner's contract: a DrnError, never a traceback)."""
    try:
        array = np.load(path, allow_pickle=False, **how)
    except (ValueError, OSError) as exc:
        raise InputImageError(f"{path}: not a NumPy array file ({exc})") from None
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise InputImageError(f"{path}: not an (H, W, 3) uint8 array")
    return array


class NpyRunner(StillRunner):
    """How a batch runs one: header, read and write of its own; the still picture path between."""

    extras = False

    def header(self, path: Path):
        h, w = _load(path, mmap_mode="r").shape[:2]
        return (w, h), None

    def pixels(self, path: Path) -> int:
        (w, h), _ = self.header(path)
        return w * h

    def read(self, path: Path) -> Picture:
        return Picture(_load(path), None, "PNG")

    def write(self, path: Path, picture: Picture, out) -> None:
        with writing(path) as tmp, open(tmp, "wb") as f:
            np.save(f, picture.pixels)


@pytest.fixture
def npy_kind(monkeypatch):
    """NpyKind added as a plug-in module would (batch.add_input_kind), and taken away afterwards."""
    monkeypatch.setattr(plan, "INPUT_KINDS", list(plan.INPUT_KINDS))
    monkeypatch.setattr(batch, "RUNNERS", dict(batch.RUNNERS))
    batch.add_input_kind(NpyKind(), NpyRunner())


def test_each_file_gets_its_kind_once(tmp_path):
    still, moving = tmp_path / "a.png", tmp_path / "b.gif"
    Image.fromarray(photo()).save(still)
    frames = [Image.fromarray(photo(seed=k)) for k in range(2)]
    frames[0].save(moving, save_all=True, append_images=frames[1:])
    assert kind_of(still) is STILL and kind_of(moving) is ANIMATION
    assert kind_of(moving, "jpg") is STILL  # an animation written as a still format: its first frame
    assert kind_of(tmp_path / "c.mp4") is VIDEO
    jobs = plan.plan_jobs([str(tmp_path)], 4).jobs
    assert [(job.input.name, job.kind.name, job.output.name) for job in jobs] == [
        ("a.png", "image", "a_x4.png"), ("b.gif", "animation", "b_x4.gif")]


def test_a_new_kind_is_planned_run_and_written_by_drn_upscale(tmp_path, tiny_model_file, npy_kind):
    pixels = photo(12, 16)
    np.save(tmp_path / "arr.npy", pixels)
    Image.fromarray(pixels).save(tmp_path / "same.png")
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    np.save(tmp_path / "wrong.npy", np.zeros((4, 4), np.float32))

    dry = runner.invoke(app, ["upscale", str(tmp_path), "--model", str(tiny_model_file), "--dry-run"])
    assert "arr.npy -> " in dry.output and "16x12 -> 64x48" in dry.output, dry.output
    assert not (tmp_path / "arr_x4.npy").exists()

    done = runner.invoke(app, ["upscale", str(tmp_path), "--model", str(tiny_model_file)])
    assert done.exit_code == 1, done.output  # the two bad arrays fail; the batch goes on past them
    out = np.load(tmp_path / "arr_x4.npy")
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    # the same pixels as a PNG go through the same picture path: the same output
    np.testing.assert_array_equal(out, read_image(tmp_path / "same_x4.png").pixels)
    assert "wrong.npy: not an (H, W, 3) uint8 array" in done.output
    assert "bad.npy" in done.output and "Traceback" not in done.output
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "no part file left"


def test_without_the_kind_a_npy_file_is_no_input(tmp_path, tiny_model_file):
    np.save(tmp_path / "arr.npy", photo(12, 16))
    result = runner.invoke(app, ["upscale", str(tmp_path), "--model", str(tiny_model_file)])
    assert result.exit_code == 1 and "no images or videos in this folder" in result.output
