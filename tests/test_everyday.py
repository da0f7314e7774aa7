"""The papercuts a new user hits (issue 16): batches, -o, validation order, help, models, outscale,
TTA and the Python API. Real files and tiny real models; nothing is mocked."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import photo
from images import textured, write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli import __version__, upscale
from drn_cli.batch import OutputOptions, run_jobs
from drn_cli.cli import app
from drn_cli.inference import make_upscaler, self_ensemble
from drn_cli.io import read_image, write_image
from drn_cli.models.weights import resolve_model
from drn_cli.picture import resize_picture, upscale_picture
from drn_cli.plan import plan_jobs
from drn_cli.request import OutputSpec, RunOptions

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------------------- batches and files

def test_a_folder_upscaled_twice_never_upscales_its_own_outputs(tmp_path, tiny_model_file):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_photo(folder / "a.png")
    write_photo(folder / "b.jpg")
    assert run("upscale", folder, "--model", tiny_model_file).exit_code == 0
    again = run("upscale", folder, "--model", tiny_model_file, "--skip-existing")
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_x4.png", "b.jpg", "b_x4.jpg"]
    assert "left out 2 earlier output" in again.stderr
    # A file named like an output but with no source beside it is an input like any other.
    (folder / "a.png").unlink()
    third = run("upscale", folder, "--model", tiny_model_file, "--skip-existing")
    assert third.exit_code == 0 and (folder / "a_x4_x4.png").is_file()


def test_o_with_an_image_suffix_is_the_output_file_for_one_input(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 20, 26)
    result = run("upscale", tmp_path / "a.png", "-o", tmp_path / "big.png", "--model", tiny_model_file)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "big.png").is_file() and Image.open(tmp_path / "big.png").size == (104, 80)
    write_photo(tmp_path / "b.png")
    two = run("upscale", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "c.png", "--model", tiny_model_file)
    assert two.exit_code == 2 and "with several inputs -o must name a folder" in two.stderr
    assert not (tmp_path / "c.png").exists()


def test_an_empty_folder_says_so_and_globs_skip_folders(tmp_path, tiny_model_file):
    (tmp_path / "empty").mkdir()
    result = run("upscale", tmp_path / "empty", "--model", tiny_model_file)
    assert result.exit_code == 1 and "no images or videos in this folder" in result.stderr and ".mp4" in result.stderr
    assert "images" not in result.stderr.replace("no images", "") and "0 done" not in result.stderr  # no bar
    (tmp_path / "in" / "sub.png").mkdir(parents=True)  # a folder that the glob matches
    write_photo(tmp_path / "in" / "a.png")
    globbed = run("upscale", str(tmp_path / "in" / "*.png"), "--model", tiny_model_file, "--json")
    assert globbed.exit_code == 0, globbed.output
    assert [json.loads(line)["input"] for line in globbed.stdout.splitlines()] == [str(tmp_path / "in" / "a.png")]


@pytest.mark.parametrize("option,value,message", [("--format", "gif", "unknown --format"),
                                                  ("--device", "tpu", "unknown --device"),
                                                  ("--precision", "fp8", "unknown --precision"),
                                                  ("--outscale", "0", "--outscale must be above 0")])
def test_options_are_checked_before_any_model_loads(tmp_path, monkeypatch, option, value, message):
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(tmp_path / "no-weights"))  # loading would fail with exit 1
    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png", option, value)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_each_image_gets_a_line_saying_where_it_went(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 20, 26)
    result = run("upscale", tmp_path / "a.png", "-o", tmp_path / "out", "--model", tiny_model_file)
    assert f"{tmp_path / 'a.png'} -> {tmp_path / 'out' / 'a_x4.png'}  26x20 -> 104x80" in result.stderr


def test_tile_progress_within_an_image(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 40, 40)
    upscaler = make_upscaler(resolve_model(tiny_model_file), "cpu", "fp32")
    plan = plan_jobs([str(tmp_path / "a.png")], 4, tmp_path / "out")
    seen = []
    results = list(run_jobs(plan, upscaler, RunOptions(tile=16, overlap=4),
                            on_tile=lambda job, done, total: seen.append((job.input.name, done, total))))
    assert results[0].status == "ok"
    total = seen[0][2]
    assert total == 9 and seen == [("a.png", i, total) for i in range(1, total + 1)]


def test_pipelined_batches_give_results_in_order_and_the_same_files(tmp_path, tiny_model_file):
    """Decode-ahead and threaded writes (batch.run_jobs) change neither the order of the results
    nor a byte of the outputs, errors and skips included."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        write_photo(folder / f"p{i}.png", 20 + i, 24)
    (folder / "p3.png").write_bytes(b"not an image")
    upscaler = make_upscaler(resolve_model(tiny_model_file), "cpu", "fp32")
    outputs = {}
    for threads in (1, 3):
        out = tmp_path / f"out{threads}"
        out.mkdir()
        Image.fromarray(photo(8, 8)).save(out / "p5_x4.png")  # exists: skipped
        plan = plan_jobs([str(folder)], 4, out)
        results = list(run_jobs(plan, upscaler, RunOptions(tile=0), io_threads=threads))
        assert [r.input for r in results] == [str(j.input) for j in plan.jobs]
        assert [r.status for r in results] == ["ok", "ok", "ok", "error", "ok", "error"]
        results = list(run_jobs(plan_jobs([str(folder)], 4, out), upscaler, RunOptions(tile=0),
                                out=OutputOptions(skip_existing=True), io_threads=threads))
        assert [r.status for r in results] == ["skipped"] * 3 + ["error", "skipped", "skipped"]
        outputs[threads] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outputs[1] == outputs[3] and len(outputs[1]) == 5


def test_each_images_seconds_are_its_own_not_the_wait_for_the_one_before(tmp_path, tiny_model_file,
                                                                          monkeypatch):
    """The next input is decoded while the model works on this one, and this one's output is
    written while the model works on the next; neither wait is an image's own time. The clock
    moves one tick per image, only once the reads and writes under way are done, so every image
    takes exactly one tick (counting the wait would give later images two)."""
    from concurrent.futures import ThreadPoolExecutor, wait

    import drn_cli.batch

    submitted = []

    class TrackedPool(ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            submitted.append(super().submit(*args, **kwargs))
            return submitted[-1]

    def tick(job, done, total):
        wait(submitted)
        ticks[0] += 1.0

    for i in range(3):
        write_photo(tmp_path / f"p{i}.png", 20, 24)
    upscaler = make_upscaler(resolve_model(tiny_model_file), "cpu", "fp32")
    ticks = [0.0]
    monkeypatch.setattr(drn_cli.batch, "ThreadPoolExecutor", TrackedPool)
    monkeypatch.setattr(drn_cli.batch.time, "perf_counter", lambda: ticks[0])
    results = list(run_jobs(plan_jobs([str(tmp_path)], 4, tmp_path / "out"), upscaler, RunOptions(tile=0),
                            on_tile=tick))
    assert [r.seconds for r in results] == [1.0, 1.0, 1.0]


def test_bmp_is_a_listed_format_and_works(tmp_path, tiny_model_file):
    assert "bmp" in run("upscale", "--help").stdout
    write_photo(tmp_path / "a.png")
    assert run("upscale", tmp_path / "a.png", "--format", "bmp", "--model", tiny_model_file).exit_code == 0
    assert Image.open(tmp_path / "a_x4.bmp").format == "BMP"


# ---------------------------------------------------------------------------- CLI conventions

def test_version_short_help_and_help_without_type_labels():
    assert run("--version").stdout.strip() == f"drn {__version__}"
    short = run("upscale", "-h")
    assert short.exit_code == 0 and "upscale [OPTIONS] {INPUTS}..." in short.stdout
    for label in ("<bool>", "<list[", "<str>", "<path>", "{inputs}"):
        assert label not in short.stdout, label
    assert "--install-completion" in run("--help").stdout


def test_eval_results_go_to_stdout(tmp_path):
    folder = tmp_path / "HR"
    folder.mkdir()
    Image.fromarray(photo(32, 32)).save(folder / "x.png")
    table = run("eval", "--dataset", folder, "--model", "bicubic", "--scale", "2")
    assert table.exit_code == 0 and "PSNR" in table.stdout and "PSNR" not in table.stderr
    as_json = run("eval", "--dataset", folder, "--model", "bicubic", "--scale", "2", "--json")
    assert json.loads(as_json.stdout)["scale"] == 2 and "PSNR" in as_json.stderr


def test_models_lists_every_preset_with_what_is_installed(shipped_tiny):
    result = run("models", "--json")
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert {"drn-s-x4", "drn-s-x4-real", "drn-s-x2", "drn-s-x8"} <= set(rows)
    assert rows["drn-s-x4"]["installed"] and not rows["drn-s-x8"]["installed"]
    assert rows["drn-s-x4"]["params"] == 4_804_041 and rows["drn-s-x8"]["official"].endswith("DRNS8x.pt")
    text = run("models").stdout  # a block per model, whole lines at any terminal width
    assert "drn-s-x4  x4, 4.80 M params, trained on bicubic LR, installed" in text
    assert "drn-s-x8  x8, 5.40 M params, trained on bicubic LR, not installed: download " in text
    assert "drn convert DRNS8x.pt -o drn-s-x8.safetensors and pass --model drn-s-x8.safetensors" in " ".join(text.split())
    assert "drn-l-x2" in text and "not shipped: drn train --model drn-l-x2" in " ".join(text.split())
    # which models --denoise takes: the installed clean/photo pairs (x2's photo model is not installed here)
    assert rows["drn-s-x4"]["denoise_pair"] == rows["drn-s-x4-real"]["denoise_pair"] == ["drn-s-x4", "drn-s-x4-real"]
    assert rows["drn-s-x2"]["denoise_pair"] is None and rows["drn-s-x8"]["denoise_pair"] is None
    assert text.count("--denoise: drn-s-x4 (0) + drn-s-x4-real (1)") == 2


# ---------------------------------------------------------------------------- new options

@pytest.mark.parametrize("outscale,name,size", [("2", "a_x2.png", (52, 40)), ("1.5", "a_x1.5.png", (39, 30)),
                                                ("6", "a_x6.png", (156, 120))])
def test_outscale_resizes_the_models_output(tmp_path, shipped_tiny, outscale, name, size):
    write_photo(tmp_path / "a.png", 20, 26)
    result = run("upscale", tmp_path / "a.png", "--outscale", outscale)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / name).size == size


@pytest.mark.parametrize("options,name,size", [
    (("--width", "100"), "a_w100.png", (100, 77)),              # 26x20: height 20 * 100/26 = 76.9
    (("--height", "50"), "a_h50.png", (65, 50)),
    (("--width", "100", "--height", "50"), "a_65x50.png", (65, 50)),    # the height binds; named by the real size
    (("--width", "52", "--height", "500"), "a_52x40.png", (52, 40)),     # the width binds
    (("--width", "13"), "a_w13.png", (13, 10)),                 # smaller than the input: the model, then shrunk
])
def test_width_and_height_resize_the_models_output_keeping_the_aspect(tmp_path, shipped_tiny, options, name, size):
    write_photo(tmp_path / "a.png", 20, 26)
    result = run("upscale", tmp_path / "a.png", *options, "--denoise", "1", "--json")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / name).size == size
    record = json.loads(result.stdout)
    assert record["output"] == str(tmp_path / name) and record["size_out"] == list(size)
    # The pixels are the photo model's x4 output resized, as --outscale does it.
    real = make_upscaler(resolve_model(shipped_tiny / "drn-s-x4-real.safetensors"), "auto", "auto")
    x4 = upscale_picture(read_image(tmp_path / "a.png"), real).final
    assert np.array_equal(np.asarray(Image.open(tmp_path / name)), resize_picture(x4, size).pixels)
    # A second run over the folder leaves the first one's output alone.
    again = run("upscale", tmp_path, *options, "--dry-run", "--overwrite")
    assert "1 to upscale" in again.stderr and "earlier output" in again.stderr, again.output


def test_width_beyond_16x_fails_that_input_only(tmp_path, shipped_tiny):
    (tmp_path / "in").mkdir()
    write_photo(tmp_path / "in" / "small.png", 10, 10)
    write_photo(tmp_path / "in" / "big.png", 40, 100)
    for extra in ((), ("--dry-run",)):
        result = run("upscale", tmp_path / "in", "--width", 1000, "-o", tmp_path / "out", *extra)
        assert result.exit_code == 1, result.output
        assert "small.png" in result.stderr and "--width 1000 would enlarge this 10x10 image 100 times" in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["big_w1000.png"]
    assert Image.open(tmp_path / "out" / "big_w1000.png").size == (1000, 400)


@pytest.mark.parametrize("options", [("--width", "100", "--outscale", "2"), ("--height", "80", "--scale", "2"),
                                     ("--width", "100", "--all-levels"), ("--width", "0")])
def test_width_and_height_refuse_other_size_options(tmp_path, monkeypatch, options):
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(tmp_path / "no-weights"))  # loading would fail with exit 1
    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png", *options)
    assert result.exit_code == 2 and ("--width" in result.stderr or "--height" in result.stderr), result.output


def test_tta_is_the_average_of_the_eight_flips_and_rotations(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 12, 16)
    upscaler = make_upscaler(resolve_model(tiny_model_file), "cpu", "fp32")
    picture = read_image(tmp_path / "a.png")
    tta = upscale_picture(picture, upscaler, RunOptions(tile=0, tta=True)).final.pixels
    plain = upscale_picture(picture, upscaler, RunOptions(tile=0)).final.pixels
    image = picture.pixels.astype(np.float32) / 255
    direct = self_ensemble(lambda x: upscaler.upscale_array(x, tile=0), image) * 255
    assert np.abs(tta.astype(float) - direct).max() <= 0.5 + 1e-6
    assert not np.array_equal(tta, plain)
    assert run("upscale", tmp_path / "a.png", "--tta", "--model", tiny_model_file).exit_code == 0
    # an upscaler adapted to an anisotropic blur (--adapt) averages only the turns that keep it
    halves = replace(upscaler, ensemble=((0, False), (2, False)))
    kept = upscale_picture(picture, halves, RunOptions(tile=0, tta=True)).final.pixels
    turned_back = np.rot90(upscaler.upscale_array(np.ascontiguousarray(np.rot90(image, 2)), tile=0), -2)
    two = (upscaler.upscale_array(image, tile=0) + turned_back) / 2 * 255
    assert np.abs(kept.astype(float) - two).max() <= 0.5 + 1e-6 and not np.array_equal(kept, tta)


def test_upscale_defaults_to_the_model_each_picture_needs_and_eval_to_the_paper_model(tmp_path, shipped_tiny):
    """Without --model: the photo model for a compressed JPEG, the clean one for a clean PNG."""
    Image.fromarray(textured(104)).save(tmp_path / "a.png")
    Image.fromarray(textured(104)).save(tmp_path / "b.jpg", quality=50)
    assert run("upscale", tmp_path / "a.png", tmp_path / "b.jpg").exit_code == 0
    for stem, ext, model in (("a", "png", "drn-s-x4"), ("b", "jpg", "drn-s-x4-real")):
        picture = read_image(tmp_path / f"{stem}.{ext}")
        upscaler = make_upscaler(resolve_model(shipped_tiny / f"{model}.safetensors"), "auto", "auto")
        alone = upscale_picture(picture, upscaler).final
        written = tmp_path / f"{stem}_x4.{ext}"
        expected = tmp_path / f"expected.{ext}"
        write_image(expected, alone, "PNG" if ext == "png" else "JPEG", 95, overwrite=True)
        assert written.read_bytes() == expected.read_bytes(), model
    folder = tmp_path / "HR"
    folder.mkdir()
    Image.fromarray(photo(32, 32)).save(folder / "x.png")
    evaluated = run("eval", "--dataset", folder, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["model"] == "drn-s-x4"


def test_upscale_scale_2_and_8_of_photos_resize_the_photo_model(tmp_path, shipped_tiny):
    """No photo model is x2 or x8: --scale resizes drn-s-x4-real's output (as --outscale does);
    the clean x2/x8 run only when named."""
    write_photo(tmp_path / "a.png", 20, 26)
    picture = read_image(tmp_path / "a.png")
    real = make_upscaler(resolve_model(shipped_tiny / "drn-s-x4-real.safetensors"), "auto", "auto")
    for scale in (2, 8):
        result = run("upscale", tmp_path / "a.png", "--scale", scale, "--denoise", "1")
        assert result.exit_code == 0, result.output
        image = np.asarray(Image.open(tmp_path / f"a_x{scale}.png"))
        assert image.shape == (20 * scale, 26 * scale, 3)
        assert np.array_equal(image, upscale_picture(picture, real, output=OutputSpec(outscale=scale)).final.pixels)
    named = run("upscale", tmp_path / "a.png", "--scale", 2, "--model", "drn-s-x2", "-o", tmp_path / "c.png")
    assert named.exit_code == 1 and "no shipped weights for drn-s-x2" in named.stderr
    levels = run("upscale", tmp_path / "a.png", "--scale", 2, "--all-levels")
    assert levels.exit_code == 2 and "--model drn-s-x2" in levels.stderr


# ---------------------------------------------------------------------------- Python API

def test_python_api_takes_paths_and_a_scale(tmp_path, shipped_tiny):
    write_photo(tmp_path / "a.png", 20, 26)
    out = upscale(tmp_path / "a.png", scale=4)
    assert isinstance(out, Image.Image) and out.size == (104, 80)
    halved = upscale(np.asarray(Image.open(tmp_path / "a.png")), outscale=2)
    assert halved.shape == (40, 52, 3)
    # Without a model, scale=2 is the photo model resized, as outscale=2 is.
    assert np.array_equal(np.asarray(upscale(tmp_path / "a.png", scale=2)), halved)
    with pytest.raises(Exception, match="no shipped weights for drn-s-x2"):
        upscale(tmp_path / "a.png", model="drn-s-x2", scale=2)
    wide = upscale(np.asarray(Image.open(tmp_path / "a.png")), width=100)
    assert wide.shape == (77, 100, 3)
    with pytest.raises(Exception, match="--width/--height set the final size themselves; they exclude --scale"):
        upscale(tmp_path / "a.png", scale=2, width=100)


@pytest.mark.parametrize("bad,message", [(123, "got int"), (np.zeros((4, 4, 3), np.float32), "uint8 or uint16"),
                                         (np.zeros((4, 4, 2), np.uint8), "got shape")])
def test_python_api_explains_wrong_types(bad, message, shipped_tiny):
    with pytest.raises(TypeError, match=message):
        upscale(bad)


def test_a_mistyped_model_name_says_what_was_meant(tmp_path):
    result = run("upscale", tmp_path / "a.png", "--model", "drn-s-x4-rel")
    assert result.exit_code == 2 and "did you mean drn-s-x4-real?" in result.stderr
    unlike = run("upscale", tmp_path / "a.png", "--model", "zzzz")
    assert unlike.exit_code == 2 and "did you mean" not in unlike.stderr


def test_another_setting_goes_beside_the_first_with_suffix_and_the_error_says_so(tmp_path, shipped_tiny):
    from images import write_photo

    write_photo(tmp_path / "a.png")
    assert run("upscale", tmp_path / "a.png", "--denoise", "0").exit_code == 0
    again = run("upscale", tmp_path / "a.png", "--denoise", "1")
    said = " ".join(again.stderr.split())
    assert again.exit_code == 1 and "--suffix NAME writes another beside it" in said
    beside = run("upscale", tmp_path / "a.png", "--denoise", "1", "--suffix", "photo", "--all-levels")
    assert beside.exit_code == 0, beside.output
    assert {p.name for p in tmp_path.iterdir()} >= {"a_x4.png", "a_x4_photo.png", "a_x2_photo.png"}
    twice = run("upscale", tmp_path, "--suffix", "photo", "--skip-existing")  # its own outputs are no inputs
    assert twice.exit_code == 0 and "1 skipped" in twice.stderr, twice.stderr
    assert run("upscale", tmp_path / "a.png", "--suffix", "../x").exit_code == 2


def test_a_named_model_is_named_in_its_result_line(tmp_path, tiny_model_file):
    from images import write_photo

    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file)
    assert result.exit_code == 0 and str(tiny_model_file) in " ".join(result.stderr.split()), result.stderr
