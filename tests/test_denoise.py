"""--denoise S: the clean and the photo model's outputs blended (models.blend). Tiny real models
stand in for drn-s-x4 and drn-s-x4-real (conftest.shipped_tiny)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import photo
from images import scene, textured, write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli import upscale
from drn_cli.cli import app
from drn_cli.errors import UsageError

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def out_of(tmp_path, *options) -> np.ndarray:
    out = tmp_path / ("o" + "_".join(str(o) for o in options) + ".png")
    result = run("upscale", tmp_path / "a.png", "-o", out, "--device", "cpu", "--precision", "fp32", *options)
    assert result.exit_code == 0, result.output
    return np.asarray(Image.open(out)).astype(int)


def test_zero_and_one_are_the_two_models_and_between_is_their_blend(tmp_path, shipped_tiny):
    write_photo(tmp_path / "a.png", 20, 24)
    clean, photo_model = out_of(tmp_path, "--model", "drn-s-x4"), out_of(tmp_path, "--model", "drn-s-x4-real")
    assert np.array_equal(out_of(tmp_path, "--denoise", "0"), clean)
    assert np.array_equal(out_of(tmp_path, "--denoise", "1"), photo_model)
    half = out_of(tmp_path, "--denoise", "0.5")
    assert not np.array_equal(half, clean) and not np.array_equal(half, photo_model)
    assert np.abs(half - (clean + photo_model) / 2).max() <= 1  # the blend, up to rounding


def test_json_names_the_model_and_the_strength(tmp_path, shipped_tiny):
    write_photo(tmp_path / "a.png", 8, 8)
    result = run("upscale", tmp_path / "a.png", "--denoise", "0.25", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == "drn-s-x4+drn-s-x4-real" and record["denoise"] == 0.25


@pytest.mark.parametrize("value", ["1.5", "foo", "-0.1", "nan", "Auto"])
def test_a_bad_strength_is_one_line_and_exit_2_before_any_model_loads(tmp_path, value):
    write_photo(tmp_path / "a.png", 8, 8)
    code = ("import sys; from drn_cli.cli import app; sys.argv = ['drn'] + sys.argv[1:];\n"
            "try:\n    app()\nexcept SystemExit as e:\n    print('torch' in sys.modules, e.code)")
    out = subprocess.run([sys.executable, "-c", code, "upscale", str(tmp_path / "a.png"), "--denoise", value],
                         capture_output=True, text=True, check=False)
    assert out.stdout.split() == ["False", "2"], out.stdout + out.stderr
    assert "--denoise" in out.stderr and "Traceback" not in out.stderr


def test_the_api_and_eval_take_the_strength_and_refuse_a_model_without_a_partner(tmp_path, shipped_tiny):
    image = photo(12, 16)
    assert np.array_equal(upscale(image, denoise=0, precision="fp32"), upscale(image, model="drn-s-x4", precision="fp32"))
    with pytest.raises(UsageError, match="--denoise must be auto or between 0 and 1, got 2"):
        upscale(image, denoise=2)
    model = tmp_path / "other.safetensors"
    model.write_bytes((shipped_tiny / "drn-s-x4.safetensors").read_bytes())
    with pytest.raises(UsageError, match="has no partner"):
        upscale(image, model=str(model), denoise=0.5)
    folder = tmp_path / "Tiny" / "HR"
    folder.mkdir(parents=True)
    Image.fromarray(photo(48, 48)).save(folder / "a.png")
    result = run("eval", "--dataset", folder, "--denoise", "0.5", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "drn-s-x4+drn-s-x4-real denoise 0.5" in result.stdout


def _clean_and_damaged(tmp_path):
    """A clean bicubic LR (64x64) saved losslessly, and the same LR with noise, saved as a q30 JPEG."""
    from drn_cli.degradations import degrade

    lr = degrade(textured(256), 4, "bicubic")
    Image.fromarray(lr).save(tmp_path / "clean.png")
    noisy = np.clip(lr + np.random.default_rng(0).normal(0, 10, lr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "damaged.jpg", quality=30)
    return tmp_path / "clean.png", tmp_path / "damaged.jpg"


def test_auto_says_clean_for_a_lossless_image_and_damaged_for_a_noisy_q30_jpeg(tmp_path):
    from drn_cli.degradations.estimate import Reading, read_damage
    from drn_cli.io import read_image

    clean, damaged = (read_image(path) for path in _clean_and_damaged(tmp_path))
    assert clean.jpeg_quality is None and damaged.jpeg_quality == 30  # read from the file's own tables
    assert read_damage(clean.pixels, clean.jpeg_quality) == Reading(0, "clean", "clean")
    assert read_damage(damaged.pixels, damaged.jpeg_quality) == Reading(1, "JPEG quality 30", "compressed")
    noisy = np.clip(clean.pixels + np.random.default_rng(1).normal(0, 8, clean.pixels.shape), 0, 255).astype(np.uint8)
    assert read_damage(noisy, None).reason.startswith("noise ")  # noise alone, in a lossless file: S = 1
    assert read_damage(noisy, None).strength == 1
    lossless_q98 = tmp_path / "fine.jpg"
    Image.fromarray(clean.pixels).save(lossless_q98, quality=98)
    fine = read_image(lossless_q98)
    assert fine.jpeg_quality == 98 and read_damage(fine.pixels, fine.jpeg_quality) == Reading(0, "clean, JPEG quality 98", "clean")


def test_a_jpeg_saved_again_as_png_is_read_by_its_ghost(tmp_path):
    """The tables are gone, but compressing again at the old quality barely changes it."""
    from drn_cli.degradations.estimate import Reading, ghost_quality, grid_offset, read_damage
    from drn_cli.io import read_image

    clean, _ = _clean_and_damaged(tmp_path)
    pixels = read_image(clean).pixels
    Image.fromarray(pixels).save(tmp_path / "web.jpg", quality=50)
    Image.open(tmp_path / "web.jpg").save(tmp_path / "resaved.png")
    resaved = read_image(tmp_path / "resaved.png")
    assert resaved.jpeg_quality is None
    quality, rise = ghost_quality(resaved.pixels)
    assert abs(quality - 50) <= 1 and rise > 2
    assert ghost_quality(pixels)[1] < 1.3  # never compressed: no ghost
    assert read_damage(resaved.pixels, None) == Reading(1, f"JPEG quality {quality}, from its ghost", "compressed")
    assert read_damage(pixels, None) == Reading(0, "clean", "clean")
    cropped = resaved.pixels[3:, 5:]  # cut off JPEG's 8-pixel grid after compression
    assert grid_offset(cropped) == (5, 3) and ghost_quality(cropped)[1] < 1.3  # the ghost needs the blocks in place
    assert read_damage(cropped, None).reason.endswith("from its ghost")  # auto puts them back first
    assert grid_offset(resaved.pixels) == (0, 0)


def test_upscale_and_adaptation_read_a_once_jpeg_png_alike(tmp_path):
    """finetune-unpaired read "jpeg quality None" from the PNGs upscale called once-JPEGs: the
    two read the pictures with one function now."""
    from drn_cli.degradations.estimate import read_damage, self_pair_degradation

    photos = []
    for i in range(3):
        Image.fromarray(scene(128, seed=40 + i)).save(tmp_path / f"p{i}.jpg", quality=50)
        Image.open(tmp_path / f"p{i}.jpg").save(tmp_path / f"p{i}.png")
        photos.append(np.asarray(Image.open(tmp_path / f"p{i}.png").convert("RGB")))
    reasons = {read_damage(p, None).reason for p in photos}
    name, read = self_pair_degradation(photos, [None] * 3, 4)
    assert reasons == {f"JPEG quality {read['jpeg_quality']}, from its ghost"} and abs(read["jpeg_quality"] - 50) <= 1
    assert name.endswith(f"+jpeg{read['jpeg_quality']}") and read["jpegs"] == 3


def test_a_jpeg_from_an_encoder_with_its_own_tables_is_read_by_its_blocks(tmp_path):
    """RealSRSet's Lincoln: an old scan's JPEG with tables no libjpeg quality makes leaves no
    ghost, but its blocks' coefficients still sit on the quantiser's steps."""
    from drn_cli.degradations.estimate import block_quality, ghost_quality, read_damage

    table = [20] * 64
    table[0], table[1], table[8] = 8, 6, 6  # fine steps at (0, 1) and (1, 0), coarse elsewhere: no IJG table
    pixels = scene(128, seed=3)
    Image.fromarray(pixels).save(tmp_path / "scan.jpg", qtables=[table, [30] * 64])
    Image.open(tmp_path / "scan.jpg").save(tmp_path / "scan.png")
    saved = np.asarray(Image.open(tmp_path / "scan.png").convert("RGB"))
    assert ghost_quality(saved)[1] < 1.5  # the ghost cannot see it
    assert block_quality(saved)[0] >= 0.8 and block_quality(pixels)[0] < 0.3
    reading = read_damage(saved, None)
    assert reading.strength == 1 and reading.reason.endswith(", from its blocks"), reading
    assert read_damage(saved[3:, 5:], None).reason.endswith(", from its blocks")  # cropped off its grid too


def test_a_jpeg_resized_since_is_read_by_its_soft_colour():
    """JPEG keeps colour at half resolution (4:2:0); shrunk by less than 2x the blocks are gone
    but the colour stays softer than the detail. Never-compressed pictures keep them alike."""
    import cv2

    from drn_cli.degradations import degrade
    from drn_cli.degradations.estimate import Reading, chroma_softness, read_damage

    for seed in (0, 1):
        hr = textured(384, seed)
        clean = degrade(hr, 4, "bicubic")
        buffer = io.BytesIO()
        Image.fromarray(cv2.resize(hr, (144, 144), interpolation=cv2.INTER_AREA)).save(buffer, "JPEG", quality=90)
        resized = cv2.resize(np.asarray(Image.open(buffer).convert("RGB")), (96, 96), interpolation=cv2.INTER_AREA)
        assert read_damage(clean, None).reason == "clean" and chroma_softness(clean) > -0.3
        assert read_damage(resized, None) == Reading(1.0, "colour softer than detail (a resized JPEG)", "compressed")
        assert chroma_softness(resized[..., :1].repeat(3, axis=2)) is None  # grey: nothing to read


@pytest.mark.parametrize("size", [32, 70])
def test_a_drawing_gets_the_photo_model_only_for_hard_pixel_edges(size):
    """A chart sampled without antialiasing (the eyechart's notched letters) gets the photo model;
    the same chart downscaled smoothly keeps the clean model, which draws it 1-3 dB better (small
    text's one-pixel strokes included); a flat drawing is not read as blurred (a GIF once read
    "blurred (sigma 0.86)")."""
    from PIL import ImageDraw, ImageFont

    from drn_cli.degradations import degrade
    from drn_cli.degradations.estimate import Reading, read_damage

    chart = Image.new("L", (384, 384), 255)
    draw = ImageDraw.Draw(chart)
    draw.fontmode = "1"  # no antialiasing
    font = ImageFont.load_default(size=size)
    for row, letters in enumerate(("ZSHNEXA", "HSKROPT", "CHKRVZD", "TRUNKEL")):
        draw.text((21, 23 + 90 * row), letters, fill=0, font=font)
    hr = np.asarray(chart.convert("RGB"))
    hard = np.ascontiguousarray(hr[::4, ::4])  # every fourth pixel: nearest, hard steps
    assert read_damage(hard, None) == Reading(1.0, "a drawing with hard pixel edges", "drawing")
    assert read_damage(degrade(hr, 4, "bicubic"), None) == Reading(0.0, "clean, a drawing", "drawing")
    flat = Image.new("RGB", (96, 96), (70, 130, 180))
    ImageDraw.Draw(flat).ellipse((30, 30, 60, 60), fill=(250, 200, 40))
    assert "blurred" not in read_damage(np.asarray(flat), None).reason


def test_a_palette_picture_is_never_read_as_a_jpeg(tmp_path):
    """Quantising to a palette moves pixels by whole steps, as JPEG's quantiser does: a flat GIF
    read "JPEG quality 31, from its ghost". A palette picture is read by its pixels alone."""
    from drn_cli.degradations.estimate import ghost_quality, read_damage
    from drn_cli.io import read_image

    Image.new("RGB", (96, 96), (200, 120, 40)).save(tmp_path / "flat.gif")
    gif = read_image(tmp_path / "flat.gif").pixels
    assert ghost_quality(gif)[1] >= 1.5  # what the ghost alone would say
    assert "JPEG" not in read_damage(gif, None).reason


def test_a_lossy_webp_counts_as_compressed_and_a_lossless_one_does_not(tmp_path):
    """WebP carries no quality to read: its lossy kind (a VP8 chunk) is treated as a JPEG would be."""
    from drn_cli.degradations.estimate import Reading, read_damage
    from drn_cli.io import read_image

    clean, _ = _clean_and_damaged(tmp_path)
    pixels = read_image(clean).pixels
    Image.fromarray(pixels).save(tmp_path / "lossy.webp", quality=90)
    Image.fromarray(pixels).save(tmp_path / "lossless.webp", lossless=True)
    lossy, lossless = read_image(tmp_path / "lossy.webp"), read_image(tmp_path / "lossless.webp")
    assert (lossy.lossy, lossless.lossy, read_image(clean).lossy) == ("WEBP", None, None)
    assert read_damage(lossy.pixels, lossy.jpeg_quality, lossy.lossy) == Reading(1, "lossy WEBP", "compressed")
    assert read_damage(lossless.pixels, lossless.jpeg_quality, lossless.lossy).strength == 0


def test_without_options_each_picture_gets_the_model_its_damage_asks_for(tmp_path, shipped_tiny):
    clean, damaged = _clean_and_damaged(tmp_path)
    result = run("upscale", clean, damaged, "-o", tmp_path / "out", "--json", "--device", "cpu", "--precision", "fp32")
    assert result.exit_code == 0, result.output
    records = {Path(r["input"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    clean_record, damaged_record = records["clean.png"], records["damaged.jpg"]
    assert (clean_record["model"], clean_record["denoise"], clean_record["denoise_reason"]) == ("drn-s-x4", 0, "clean")
    assert (damaged_record["model"], damaged_record["denoise"], damaged_record["denoise_reason"]) == (
        "drn-s-x4-real", 1, "JPEG quality 30")
    assert "drn-s-x4 (denoise 0: clean)" in result.stderr  # the progress lines show S and why
    assert "drn-s-x4-real (denoise 1: JPEG quality 30)" in result.stderr
    alone = run("upscale", damaged, "-o", tmp_path / "alone.jpg", "--model", "drn-s-x4-real", "--device", "cpu",
                "--precision", "fp32")
    assert alone.exit_code == 0, alone.output
    assert (tmp_path / "out" / "damaged_x4.jpg").read_bytes() == (tmp_path / "alone.jpg").read_bytes()
    assert upscale(str(clean), precision="fp32").size == (256, 256)


def test_eval_auto_scores_each_lr_with_the_model_its_damage_asks_for(tmp_path, shipped_tiny):
    folder = tmp_path / "Tiny" / "HR"
    folder.mkdir(parents=True)
    for k in range(2):
        Image.fromarray(scene(128, seed=k)).save(folder / f"{k}.png")

    def mean_psnr(*options) -> float:
        result = run("eval", "--dataset", folder, "--device", "cpu", "--precision", "fp32", "--json", *options)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["psnr"]

    for degradation, model in (("bicubic+jpeg30", "drn-s-x4-real"), ("bicubic", "drn-s-x4")):
        auto = mean_psnr("--degradation", degradation, "--denoise", "auto")
        assert auto == mean_psnr("--degradation", degradation, "--model", model), degradation
    assert mean_psnr("--degradation", "bicubic", "--model", "drn-s-x4") != mean_psnr("--degradation", "bicubic", "--model", "drn-s-x4-real")


def test_the_dry_run_names_what_will_run(tmp_path, shipped_tiny):
    write_photo(tmp_path / "a.png", 8, 8)
    for options, words in (((), "drn-s-x4 or drn-s-x4-real, per picture (--denoise auto):"),
                           (("--denoise", "0.5"), "drn-s-x4 + drn-s-x4-real, --denoise 0.5:"),
                           (("--model", "drn-s-x4"), "drn-s-x4:")):
        result = run("upscale", tmp_path / "a.png", "--dry-run", "--device", "cpu", *options)
        assert result.exit_code == 0 and f"dry run with {words}" in result.stderr, result.output


def test_auto_reads_grey_16_bit_rgba_and_tiny_pictures(tmp_path, shipped_tiny):
    from images import write_grey16_png, write_rgba_png

    write_grey16_png(tmp_path / "grey16.png")
    write_rgba_png(tmp_path / "rgba.png")
    Image.fromarray(scene(64)).convert("L").save(tmp_path / "grey.jpg", quality=40)
    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "dot.png")
    result = run("upscale", tmp_path, "-o", tmp_path / "out", "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    reasons = {Path(r["input"]).name: r["denoise_reason"] for r in map(json.loads, result.stdout.splitlines())}
    assert reasons["grey.jpg"] == "JPEG quality 40" and set(reasons) == {"grey16.png", "rgba.png", "grey.jpg", "dot.png"}
    assert all(reasons.values())
