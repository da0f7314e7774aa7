"""Animated GIF, WebP and PNG inputs: every frame upscaled, timing, loop and transparency kept;
a still format gets the first frame with a warning. Tiny real models, real files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app

DURATIONS = [80, 120, 500]


def frames_with_a_hole(n: int = 3, h: int = 12, w: int = 16) -> list[Image.Image]:
    """`n` different RGBA frames, each with a fully transparent 4x4 hole that moves."""
    out = []
    for k in range(n):
        rgba = np.dstack([photo(h, w, seed=k), np.full((h, w), 255, np.uint8)])
        rgba[4:8, 2 + 3 * k: 6 + 3 * k, 3] = 0
        out.append(Image.fromarray(rgba, "RGBA"))
    return out


def save_animation(path, frames, **options) -> None:
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=DURATIONS, **options)


def upscale(*args, model):
    result = CliRunner().invoke(app, ["upscale", *map(str, args), "--model", str(model), "--json"])
    return result, [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def read_frames(path) -> tuple[list[np.ndarray], list[int], int | None]:
    """(RGBA frames, durations in ms, loop) of an animation file."""
    frames, durations = [], []
    with Image.open(path) as img:
        for k in range(img.n_frames):
            img.seek(k)
            img.load()
            frames.append(np.asarray(img.convert("RGBA")))
            durations.append(int(img.info["duration"]))
        return frames, durations, img.info.get("loop")


def test_each_kind_of_animation_keeps_every_frame_its_timing_loop_holes_and_profile(tmp_path, tiny_model_file):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    frames = frames_with_a_hole()
    save_animation(tmp_path / "a.gif", frames, loop=0, disposal=2)
    save_animation(tmp_path / "w.webp", frames, loop=2, lossless=True, icc_profile=icc)
    save_animation(tmp_path / "p.png", frames, icc_profile=icc)  # APNG
    result, records = upscale(tmp_path, "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 0, result.output
    assert "frames only" not in result.stderr
    assert sorted((r["output"].rsplit("/", 1)[1], r["frames"]) for r in records) == [
        ("a_x4.gif", 3), ("p_x4.png", 3), ("w_x4.webp", 3)]
    for name, loop in (("a_x4.gif", 0), ("w_x4.webp", 2), ("p_x4.png", 0)):
        out, durations, kept_loop = read_frames(tmp_path / "out" / name)
        assert len(out) == 3 and out[0].shape == (48, 64, 4), name
        assert durations == DURATIONS and kept_loop == loop, name
        assert name.endswith(".gif") or Image.open(tmp_path / "out" / name).info.get("icc_profile") == icc, name
        for k, frame in enumerate(out):  # each frame's hole, moved as in the input, 4x larger
            hole = frame[18:30, 8 + 12 * k + 2: 8 + 12 * k + 14, 3]
            assert (hole == 0).all() and frame[:, :, 3].mean() > 200, (name, k)
    assert not list((tmp_path / "out").glob(".*")), "no hidden part file is left"


def test_every_frame_is_the_model_output_of_that_frame(tmp_path, tiny_model_file):
    frames = [Image.fromarray(photo(12, 16, seed=k)) for k in range(3)]
    save_animation(tmp_path / "p.png", frames)
    for k, frame in enumerate(frames):
        frame.save(tmp_path / f"still{k}.png")
    result, _ = upscale(tmp_path, "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 0, result.output
    animated, _, _ = read_frames(tmp_path / "out" / "p_x4.png")
    for k in range(3):
        still = np.asarray(Image.open(tmp_path / "out" / f"still{k}_x4.png").convert("RGBA"))
        assert np.array_equal(animated[k], still), k


@pytest.mark.parametrize("where", [["--format", "jpg"], ["-o", "first.jpg"]])
def test_a_still_format_gets_the_first_frame_and_says_how_to_keep_them_all(tmp_path, tiny_model_file, where):
    frames = frames_with_a_hole()
    save_animation(tmp_path / "a.gif", frames, loop=0, disposal=2)
    where = [str(tmp_path / w) if w.endswith(".jpg") else w for w in where]
    result, [record] = upscale(tmp_path / "a.gif", *where, model=tiny_model_file)
    assert result.exit_code == 0, result.output
    assert record["animated"] == 3 and record["frames"] is None
    assert "the first of its 3 frames only (-f png or -f webp keeps them all)" in result.stderr
    assert Image.open(record["output"]).format == "JPEG"


def test_the_dry_run_counts_the_frames(tmp_path, tiny_model_file):
    save_animation(tmp_path / "a.gif", frames_with_a_hole(), loop=0)
    result = CliRunner().invoke(app, ["upscale", str(tmp_path / "a.gif"), "--model", str(tiny_model_file), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 frames, 3 tiles" in result.stderr and not (tmp_path / "a_x4.gif").exists()


def test_a_truncated_animation_is_one_line_and_leaves_nothing(tmp_path, tiny_model_file):
    save_animation(tmp_path / "a.gif", [Image.fromarray(photo(40, 48, seed=k)) for k in range(3)], loop=0)
    data = (tmp_path / "a.gif").read_bytes()
    (tmp_path / "cut.gif").write_bytes(data[: len(data) * 2 // 3])
    result, [record] = upscale(tmp_path / "cut.gif", model=tiny_model_file)
    assert result.exit_code == 1 and record["status"] == "error"
    assert "cut.gif" in record["error"] and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "cut.gif", "tiny-x4.safetensors"]
