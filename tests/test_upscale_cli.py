import json
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import photo
from images import write_grey16_png, write_photo, write_rgba_png, write_rotated_jpeg, write_truncated_png
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def mixed_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_photo(folder / "photo.png")
    write_rgba_png(folder / "rgba.png")
    write_grey16_png(folder / "grey16.png")
    write_rotated_jpeg(folder / "rotated.jpg")
    write_truncated_png(folder / "truncated.png")
    (folder / "notes.png").write_text("this is text, not a PNG")
    return folder


def test_mixed_folder_writes_good_outputs_and_names_bad_files(mixed_folder, tmp_path, tiny_model_file):
    out = tmp_path / "out"
    result = run("upscale", mixed_folder, "-o", out, "--model", tiny_model_file)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "grey16_x4.png", "photo_x4.png", "rgba_x4.png", "rotated_x4.jpg"]
    assert "truncated.png" in result.stderr and "notes.png" in result.stderr
    assert "Traceback" not in result.output

    photo_out = Image.open(out / "photo_x4.png")
    assert photo_out.size == (26 * 4, 20 * 4) and photo_out.mode == "RGB"
    rgba = Image.open(out / "rgba_x4.png")
    assert rgba.mode == "RGBA" and rgba.size == (28 * 4, 20 * 4)
    alpha = np.asarray(rgba)[:, :, 3]
    assert alpha.min() < 20 and alpha.max() > 235  # the alpha gradient survived
    grey = Image.open(out / "grey16_x4.png")
    assert grey.mode == "I;16" and grey.size == (22 * 4, 18 * 4)
    grey_in = np.asarray(Image.open(mixed_folder / "grey16.png")).astype(float)
    grey_out = np.asarray(grey).astype(float)
    assert grey_out.max() > 256  # real 16-bit values, not squeezed into 8 bits
    assert abs(grey_out.mean() - grey_in.mean()) < 0.005 * 65535  # not mis-scaled
    rotated = Image.open(out / "rotated_x4.jpg")
    assert rotated.size == (16 * 4, 24 * 4)  # orientation 6 applied: portrait
    assert rotated.getexif().get(0x0112) is None
    assert rotated.getexif().get(0x010F) == "drn-test-camera"
    assert rotated.info.get("icc_profile") == Image.open(mixed_folder / "rotated.jpg").info["icc_profile"]


def test_outputs_resemble_the_input(tmp_path, tiny_model_file):
    # The tiny model starts as a bicubic upscaler, so its output downscaled is close to the input.
    write_photo(tmp_path / "a.png", 24, 24)
    assert run("upscale", tmp_path / "a.png", "--model", tiny_model_file).exit_code == 0
    out = np.asarray(Image.open(tmp_path / "a_x4.png")).astype(float)
    small = out.reshape(24, 4, 24, 4, 3).mean(axis=(1, 3))
    assert np.abs(small - np.asarray(Image.open(tmp_path / "a.png"))).mean() < 12


def test_json_records_and_exit_zero(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--json", "--format", "webp")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["status"] == "ok" and record["size_out"] == [104, 80]
    assert record["output"].endswith("a_x4.webp") and (tmp_path / "a_x4.webp").is_file()


def test_refuses_to_overwrite_then_skip_existing_and_overwrite(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png")
    existing = tmp_path / "a_x4.png"
    existing.write_bytes(b"keep me")
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file)
    assert result.exit_code == 1 and "--overwrite" in result.stderr
    assert existing.read_bytes() == b"keep me"
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--skip-existing", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "skipped"
    assert run("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--overwrite").exit_code == 0
    assert Image.open(existing).size == (104, 80)


def test_output_option_naming_a_file_is_a_usage_error(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png")
    (tmp_path / "file").write_text("x")
    result = run("upscale", tmp_path / "a.png", "-o", tmp_path / "file", "--model", tiny_model_file)
    assert result.exit_code == 2 and "must name a folder" in result.stderr


def test_recursive_keeps_tree_and_globs(tmp_path, tiny_model_file):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_photo(tmp_path / "in" / "top.png")
    write_photo(tmp_path / "in" / "sub" / "deep.png")
    result = run("upscale", tmp_path / "in", "-r", "-o", tmp_path / "out", "--model", tiny_model_file)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "top_x4.png").is_file() and (tmp_path / "out" / "sub" / "deep_x4.png").is_file()
    result = run("upscale", str(tmp_path / "in" / "*.png"), "-o", tmp_path / "g", "--model", tiny_model_file)
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "g").iterdir()] == ["top_x4.png"]


def test_missing_input_and_missing_weights(tmp_path, monkeypatch, tiny_model_file):
    result = run("upscale", tmp_path / "nope.png", "--model", tiny_model_file)
    assert result.exit_code == 1 and "nope.png" in result.stderr
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(tmp_path / "empty"))
    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png")
    assert result.exit_code == 1 and "--model" in result.stderr and "Traceback" not in result.output


def test_default_model_is_the_shipped_preset(tmp_path, shipped_tiny):
    write_photo(tmp_path / "a.png")
    result = run("upscale", tmp_path / "a.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "a_x4.png").size == (104, 80)


def test_python_api_is_thread_safe(tiny_model_file):
    from drn_cli import upscale

    images = [photo(20, 20, seed=s) for s in range(4)]
    expected = [upscale(img, str(tiny_model_file), device="cpu", precision="fp32") for img in images]
    results = [None] * 4

    def work(i):
        results[i] = upscale(images[i], str(tiny_model_file), device="cpu", precision="fp32")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        assert got.shape == (80, 80, 3) and np.array_equal(got, want)
    pil = upscale(Image.fromarray(images[0]).convert("L"), str(tiny_model_file), precision="fp32")
    assert pil.mode == "L" and pil.size == (80, 80)


def test_compile_writes_what_the_eager_model_writes(tmp_path, tiny_model_file):
    """--compile (torch.compile) changes the speed, not the picture: equal to the eager output
    within one level of 8 bits (fp32 kernels fused differently). One image: compiling is slow."""
    write_photo(tmp_path / "a.png", 20, 26)
    common = ("--model", tiny_model_file, "--device", "cpu", "--precision", "fp32")
    assert run("upscale", tmp_path / "a.png", "-o", tmp_path / "eager.png", *common).exit_code == 0
    from torch._dynamo.utils import counters

    counters.clear()
    result = run("upscale", tmp_path / "a.png", "-o", tmp_path / "compiled.png", "--compile", *common)
    assert result.exit_code == 0, result.output
    assert counters["stats"]["unique_graphs"] >= 1  # the model really went through torch.compile
    eager = np.asarray(Image.open(tmp_path / "eager.png")).astype(int)
    compiled = np.asarray(Image.open(tmp_path / "compiled.png")).astype(int)
    assert eager.shape == compiled.shape == (80, 104, 3) and np.abs(eager - compiled).max() <= 1


def _records(result) -> dict[str, dict]:
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    return {Path(r["input"]).name: r for r in lines}


def test_dry_run_predicts_the_real_run_and_writes_nothing(mixed_folder, tmp_path, tiny_model_file):
    out = tmp_path / "out"
    before = sorted(p.name for p in mixed_folder.iterdir())
    dry = run("upscale", mixed_folder, "-o", out, "--model", tiny_model_file, "--outscale", 3, "--dry-run", "--json")
    assert dry.exit_code == 1 and "notes.png" in dry.stderr and "nothing written" in dry.stderr
    assert not out.exists() and sorted(p.name for p in mixed_folder.iterdir()) == before
    planned = _records(dry)
    real = _records(run("upscale", mixed_folder, "-o", out, "--model", tiny_model_file, "--outscale", 3, "--json"))
    assert planned.keys() == real.keys()
    for name, record in real.items():
        if record["status"] == "ok":
            assert planned[name]["status"] == "planned" and planned[name]["output"] == record["output"]
            assert planned[name]["size_in"] == record["size_in"]
            assert planned[name]["size_out"] == record["size_out"] == list(Image.open(record["output"]).size)
    assert planned["rotated.jpg"]["size_in"] == [16, 24]  # stored 24 wide, EXIF orientation 6 read from the header
    # damage past a header shows only in the real run (the dry run decodes nothing: docs/reliability.md)
    assert {name: r["status"] for name, r in planned.items() if name != "truncated.png"} == {
        name: "planned" if r["status"] == "ok" else r["status"] for name, r in real.items() if name != "truncated.png"}
    assert planned["notes.png"]["status"] == "error" and real["truncated.png"]["status"] == "error"


def test_dry_run_sees_existing_outputs_as_the_real_run_does(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png")
    (tmp_path / "a_x4.png").write_bytes(b"keep me")
    args = ("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--json")
    dry = run(*args, "--dry-run")
    assert dry.exit_code == 1 and json.loads(dry.stdout)["status"] == "error" and "--overwrite" in dry.stderr
    dry = run(*args, "--dry-run", "--skip-existing")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["status"] == "skipped"
    (tmp_path / "b_x4.loop.png").write_bytes(b"keep me too")  # the --confidence extra of b.png
    write_photo(tmp_path / "b.png")
    args = ("upscale", tmp_path / "b.png", "--model", tiny_model_file, "--all-levels", "--confidence", "--json")
    dry, real = run(*args, "--dry-run"), run(*args)
    assert json.loads(dry.stdout)["status"] == json.loads(real.stdout)["status"] == "error"
    assert json.loads(dry.stdout)["error"] == json.loads(real.stdout)["error"]
    assert (tmp_path / "a_x4.png").read_bytes() == b"keep me"
    assert (tmp_path / "b_x4.loop.png").read_bytes() == b"keep me too"
    assert not (tmp_path / "b_x2.png").exists() and not (tmp_path / "b_x4.png").exists()  # refused before any work


def test_dry_run_estimates_the_model_time_from_the_pixels_of_its_tiles(tmp_path, tiny_model_file):
    from drn_cli.batch import model_seconds
    from drn_cli.inference import load_upscaler
    from drn_cli.request import RunOptions

    write_photo(tmp_path / "a.png", 30, 45)
    # 30 rows in 3 spans of 13 (overlapping by at least 4), 45 columns in 4 of 15: 39 x 60 input
    # pixels through the model; at 1 ms a pixel, 2.34 s; with --tta 8 passes; whole: 30 x 45.
    for options, seconds in ((RunOptions(tile=16, overlap=4), 2.34), (RunOptions(tile=16, overlap=4, tta=True), 18.72),
                             (RunOptions(tile=0), 1.35)):
        assert model_seconds((45, 30), options.tile, options, 1e-3) == pytest.approx(seconds)
    upscaler = load_upscaler(str(tiny_model_file), "cpu", "fp32")
    assert upscaler.probe_side(0, 45) == upscaler.probe_side(256, 45) == 45 and upscaler.probe_side(16, 45) == 16
    assert upscaler.seconds_per_pixel(16) > 0
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert "model time " in result.stderr and "from one timed" in result.stderr
    assert json.loads(result.stdout)["seconds"] >= 0
    assert not (tmp_path / "a_x4.png").exists()


def test_dry_run_counts_the_tiles_the_model_runs(tmp_path, tiny_model_file):
    from drn_cli.batch import preview_jobs, run_jobs
    from drn_cli.inference import load_upscaler
    from drn_cli.plan import plan_jobs
    from drn_cli.request import OutputSpec, RunOptions

    write_photo(tmp_path / "a.png", 30, 45)
    plan = plan_jobs([str(tmp_path / "a.png")], 4, tmp_path / "out")
    upscaler = load_upscaler(str(tiny_model_file), "cpu", "fp32")
    seen: list[tuple[int, int]] = []  # the (done, total) tile progress run_jobs reports
    # 30 rows in 3 spans of at most 16 overlapping by 4, 45 columns in 4; --tta runs all 8 passes;
    # --all-levels and --confidence come from the same single pass.
    extras = OutputSpec(all_levels=True, confidence=True)
    for options, spec, expected in ((RunOptions(tile=16, overlap=4), OutputSpec(), 12),
                                    (RunOptions(tile=16, overlap=4, tta=True), OutputSpec(), 96),
                                    (RunOptions(tile=0), OutputSpec(), 1), (RunOptions(tile=16, overlap=4), extras, 12)):
        [preview] = preview_jobs(plan, (2, 4), options.tile, options, spec)
        seen.clear()
        [result] = run_jobs(plan, upscaler, options, spec, on_tile=lambda job, done, total: seen.append((done, total)))
        assert result.status == "ok"
        assert preview.tiles == result.tiles == expected
        assert seen == [(k, expected) for k in range(1, expected + 1)]  # each tile reported once, in order
        for path in (tmp_path / "out").iterdir():
            path.unlink()
