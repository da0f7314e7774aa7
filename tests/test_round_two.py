"""What a new user still tripped on (issue 39), each case failing before its fix. Real files,
tiny real models, the real CLI; nothing is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import photo, tiny_weights
from images import write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli import upscale
from drn_cli.cli import app
from drn_cli.errors import UsageError
from drn_cli.models.weights import save_weights

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("outscale", [0, -1, 100])
def test_the_python_api_refuses_what_the_cli_refuses_with_the_same_words(outscale, shipped_tiny, tmp_path):
    with pytest.raises(UsageError) as api:
        upscale(photo(8, 8), outscale=outscale)
    write_photo(tmp_path / "a.png", 8, 8)
    cli = run("upscale", tmp_path / "a.png", "--outscale", outscale)
    assert cli.exit_code == 2 and str(api.value) in cli.stderr


def test_eval_states_how_the_lr_was_made(tmp_path, tiny_model_file):
    folder = tmp_path / "Tiny" / "HR"
    folder.mkdir(parents=True)
    Image.fromarray(photo(48, 48)).save(folder / "a.png")
    real = run("eval", "--dataset", folder, "--model", tiny_model_file, "--degradation", "real", "--device", "cpu")
    assert real.exit_code == 0, real.output
    assert "LR = the real degradation" in real.stdout and "MATLAB-bicubic" not in real.stdout
    clean = run("eval", "--dataset", folder, "--model", tiny_model_file, "--device", "cpu")
    assert "LR = MATLAB-bicubic imresize rounded to uint8" in clean.stdout


def test_an_unknown_model_is_a_usage_error_found_before_torch_loads(tmp_path):
    write_photo(tmp_path / "a.png", 8, 8)
    code = ("import sys; from drn_cli.cli import app; sys.argv = ['drn', 'upscale', sys.argv[1], '--model', 'nope'];\n"
            "try:\n    app()\nexcept SystemExit as e:\n    print('torch' in sys.modules, e.code)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.png")], capture_output=True, text=True, check=False)
    assert out.stdout.split() == ["False", "2"], out.stdout + out.stderr
    assert "--model nope: no such model file, run folder or preset" in out.stderr


def test_a_missing_input_is_reported_before_torch_loads(tmp_path):
    code = ("import sys; from drn_cli.cli import app; sys.argv = ['drn', 'upscale', sys.argv[1]];\n"
            "try:\n    app()\nexcept SystemExit as e:\n    print('torch' in sys.modules, e.code)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing.png")], capture_output=True, text=True, check=False)
    assert out.stdout.split() == ["False", "1"], out.stdout + out.stderr
    assert "missing.png: no such file or folder" in out.stderr and out.stderr.count("\n") == 1


def test_inputs_that_fail_before_torch_loads_still_get_their_json_records(tmp_path):
    """--json gives a record per input whether it fails before the model loads or after."""
    result = CliRunner().invoke(app, ["upscale", str(tmp_path / "missing.png"), str(tmp_path / "none*.png"), "--json"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(os.path.basename(r["input"]), r["status"]) for r in records] == [("missing.png", "error"), ("none*.png", "error")]
    assert result.stderr.splitlines()[-1] == "0 done, 2 failed"


def test_a_run_folder_and_a_training_checkpoint_are_models(tmp_path):
    """--model RUN_DIR takes its model.safetensors; --model RUN_DIR/checkpoint.pt its weights."""
    data = tmp_path / "hr"
    data.mkdir()
    for i in range(2):
        Image.fromarray(photo(40, 40, seed=i)).save(data / f"{i}.png")
    run_dir = tmp_path / "tiny"
    trained = run("train", "--data", data, "--out", run_dir, "--scale", "4", "--n-blocks", "1", "--n-feats", "8",
                  "--steps", "1", "--batch-size", "1", "--patch-size", "32", "--device", "cpu", "--precision", "fp32")
    assert trained.exit_code == 0, trained.output
    write_photo(tmp_path / "a.png", 10, 12)
    outputs = []
    for i, spec in enumerate((run_dir, run_dir / "checkpoint.pt", run_dir / "model.safetensors")):
        result = run("upscale", tmp_path / "a.png", "--model", spec, "-o", tmp_path / f"o{i}.png", "--device", "cpu",
                     "--precision", "fp32")
        assert result.exit_code == 0, result.output
        outputs.append(np.asarray(Image.open(tmp_path / f"o{i}.png")))
    assert np.array_equal(outputs[0], outputs[1]) and np.array_equal(outputs[0], outputs[2])
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("upscale", tmp_path / "a.png", "--model", empty)
    assert result.exit_code == 2 and "a folder without model.safetensors" in result.stderr


def test_width_and_height_name_the_output_by_its_real_size(tmp_path, tiny_model_file):
    write_photo(tmp_path / "face.png", 20, 20)
    result = run("upscale", tmp_path / "face.png", "--width", 100, "--height", 50, "--model", tiny_model_file)
    assert result.exit_code == 0, result.output
    out = tmp_path / "face_50x50.png"
    assert out.is_file() and Image.open(out).size == (50, 50)
    assert not (tmp_path / "face_100x50.png").exists()


def test_a_second_run_counts_skipped_outputs_apart_and_names_the_two_flags(tmp_path, tiny_model_file):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in "abc":
        write_photo(folder / f"{name}.png", 8, 8)
    assert run("upscale", folder, "--model", tiny_model_file).exit_code == 0
    again = run("upscale", folder, "--model", tiny_model_file)
    assert again.exit_code == 1
    assert "3 outputs exist already" in again.stderr and "--overwrite" in again.stderr and "--skip-existing" in again.stderr
    assert again.stderr.count("error") <= 1
    skipped = run("upscale", folder, "--model", tiny_model_file, "--skip-existing")
    assert skipped.exit_code == 0 and "0 done, 3 skipped (outputs exist)" in skipped.stderr
    one = run("upscale", folder / "a.png", "--model", tiny_model_file)
    assert one.exit_code == 1 and " ".join(one.stderr.split()).endswith(
        f"0 done, 1 failed: {folder / 'a_x4.png'} exists; --overwrite replaces it, --skip-existing skips it, "
        "--suffix NAME writes another beside it (to compare settings)")


def test_an_input_listed_twice_is_upscaled_once_and_said_so(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 8, 8)
    result = run("upscale", tmp_path / "a.png", tmp_path / "a.png", "-o", tmp_path / "dup", "--model", tiny_model_file)
    assert result.exit_code == 0, result.output
    assert "listed twice" in result.stderr and "overwrite" not in result.stderr
    assert [p.name for p in (tmp_path / "dup").iterdir()] == ["a_x4.png"]


def test_subfolders_left_out_without_r_are_counted_and_globs_take_double_stars(tmp_path, tiny_model_file):
    (tmp_path / "shots" / "day" / "noon").mkdir(parents=True)
    (tmp_path / "shots" / "night").mkdir()
    write_photo(tmp_path / "shots" / "a.png", 8, 8)
    write_photo(tmp_path / "shots" / "day" / "noon" / "b.png", 8, 8)
    result = run("upscale", tmp_path / "shots", "--model", tiny_model_file, "-o", tmp_path / "o1")
    assert result.exit_code == 0, result.output
    assert "left out 2 subfolders of" in result.stderr and "-r" in result.stderr
    globbed = run("upscale", f"{tmp_path}/shots/**/*.png", "--model", tiny_model_file, "-o", tmp_path / "o2")
    assert globbed.exit_code == 0, globbed.output
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["a_x4.png", "b_x4.png"]


def test_all_levels_names_its_extra_file_and_huge_outputs_are_warned_of(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 8, 8)
    result = run("upscale", tmp_path / "a.png", "--model", tiny_model_file, "--all-levels")
    assert result.exit_code == 0 and "a_x2.png" in result.stderr
    big = tmp_path / "big.png"
    Image.new("RGB", (2600, 2600)).save(big)  # x4: 108 megapixels
    result = run("upscale", big, "--model", tiny_model_file, "--dry-run")
    assert "108 megapixels" in result.stderr and "--width" in result.stderr


def test_average_refuses_unrelated_models_unless_forced(tmp_path):
    a, b = tiny_weights(seed=0), tiny_weights(seed=1)
    a.provenance, b.provenance = {"root": "run:one"}, {"root": "run:two"}
    save_weights(tmp_path / "a.safetensors", a)
    save_weights(tmp_path / "b.safetensors", b)
    refused = run("average", tmp_path / "a.safetensors", tmp_path / "b.safetensors", "-o", tmp_path / "s.safetensors")
    assert refused.exit_code == 2 and "do not share an ancestor" in refused.stderr
    assert not (tmp_path / "s.safetensors").exists()
    forced = run("average", tmp_path / "a.safetensors", tmp_path / "b.safetensors", "-o", tmp_path / "s.safetensors",
                 "--force")
    assert forced.exit_code == 0, forced.output


def test_eval_offline_fails_fast_in_one_line_and_leaves_no_empty_cache(monkeypatch):
    """A host that cannot be reached (here a closed port on 127.0.0.1) is one line naming it and
    --data-dir, at once (no retries), and the set's cache folder is not left behind empty."""
    import socket
    import time

    from drn_cli import datasets
    from drn_cli.datasets import hr_folder, parse_registry

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    table = parse_registry(f"dataset\tfile\tbytes\tsha256\turl\nTiny\ta.png\t10\t{'0' * 64}\thttp://127.0.0.1:{port}/a.png\n")
    monkeypatch.setattr(datasets, "registry", lambda: table)
    tic = time.monotonic()
    result = run("eval", "--dataset", "Tiny", "--model", "bicubic", "--scale", "2")
    assert time.monotonic() - tic < 5
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and f"could not reach 127.0.0.1:{port}" in lines[0] and "--data-dir DIR" in lines[0]
    assert not hr_folder("Tiny").exists() and not hr_folder("Tiny").parent.exists()


def test_messages_name_the_model_not_its_config_object(tmp_path, tiny_model_file, lr_photos):
    """train, finetune-unpaired, convert and average say which model, in words."""
    data = tmp_path / "hr"
    data.mkdir()
    Image.fromarray(photo(40, 40)).save(data / "a.png")
    tiny = ["--n-blocks", "1", "--n-feats", "8", "--batch-size", "1", "--patch-size", "32", "--device", "cpu"]
    trained = run("train", "--data", data, "--out", tmp_path / "t", "--scale", "4", "--steps", "1", *tiny)
    adapted = run("finetune-unpaired", lr_photos, "--model", tiny_model_file, "--out", tmp_path / "a", "--steps", "1",
                  "--batch-size", "2", "--patch-size", "32", "--device", "cpu")
    averaged = run("average", tiny_model_file, tiny_model_file, "-o", tmp_path / "s.safetensors")
    for result in (trained, adapted, averaged):
        assert result.exit_code == 0, result.output
        assert "DRNConfig" not in result.stderr and "x4, 1 blocks per level, 8 base features" in result.stderr
    assert f"adapting {tiny_model_file}: DRN x4" in adapted.stderr
    assert "training a fresh DRN: DRN x4" in trained.stderr
    assert "M parameters" in trained.stderr


def test_photos_at_x2_run_the_x2_photo_model_where_it_is_installed(tmp_path, shipped_tiny):
    """--scale 2, --outscale 2 and --width/--height of a factor up to 2 without --model run
    drn-s-x2-real once it is installed (a quarter of the x4 model's work); a larger factor still
    runs drn-s-x4-real."""
    save_weights(shipped_tiny / "drn-s-x2-real.safetensors", tiny_weights(scale=2, n_feats=16, seed=3))
    Image.fromarray(photo(20, 20)).save(tmp_path / "a.jpg", quality=60)  # a web JPEG: --denoise auto picks photo models
    for options, model in ((["--scale", "2"], "drn-s-x2-real"), (["--outscale", "1.5"], "drn-s-x2-real"),
                           (["--width", "40"], "drn-s-x2-real"), (["--width", "60"], "drn-s-x4-real"),
                           (["--scale", "4"], "drn-s-x4-real")):
        out = tmp_path / "o" / ("_".join(options) + ".jpg")
        result = run("upscale", tmp_path / "a.jpg", *options, "-o", out, "--json", "--device", "cpu")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["model"] == model, (options, result.stdout)


def test_threads_option_and_short_spinning_threads_by_default(tmp_path, tiny_model_file):
    """--threads sets torch's CPU threads; the CLI makes OpenMP's waiting threads spin briefly,
    then sleep, unless the user chose (two long-spinning threads beside a busy program ran up to
    17x slower)."""
    write_photo(tmp_path / "a.png", 8, 8)
    code = ("import os, sys, torch; from drn_cli.cli import app; sys.argv = ['drn'] + sys.argv[1:];\n"
            "try:\n    app()\nexcept SystemExit as e:\n    print(os.environ.get('GOMP_SPINCOUNT'), torch.get_num_threads(), e.code)")
    args = ["upscale", str(tmp_path / "a.png"), "--model", str(tiny_model_file), "--threads", "1", "--overwrite"]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    assert out.stdout.split() == ["10000", "1", "0"], out.stdout + out.stderr
    mine = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                          env={**env, "OMP_WAIT_POLICY": "PASSIVE"})
    assert mine.stdout.split()[0] == "None"  # the user's policy, untouched
