import json

import numpy as np
import pytest
from conftest import photo, shared_path
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app

runner = CliRunner()


@pytest.fixture
def hr_folder(tmp_path):
    folder = tmp_path / "Mine" / "HR"
    folder.mkdir(parents=True)
    for i in range(2):
        Image.fromarray(photo(48, 40, seed=i)).save(folder / f"im{i}.png")
    return folder


def test_eval_bicubic_json_and_saves(hr_folder, tmp_path):
    result = runner.invoke(app, ["eval", "--dataset", str(hr_folder), "--model", "bicubic", "--scale", "2",
                                 "--json", "--per-image", "--save-lr", str(tmp_path / "lr"),
                                 "--save-dir", str(tmp_path / "sr")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["model"] == "bicubic" and report["scale"] == 2 and len(report["images"]) == 2
    assert 20 < report["psnr"] < 60 and 0 < report["ssim"] <= 1
    assert Image.open(tmp_path / "lr" / "im0_x2.png").size == (20, 24)
    assert Image.open(tmp_path / "sr" / "im0_x2.png").size == (40, 48)
    assert "border shave = scale" in result.stderr


def test_eval_model_and_data_dir_layout(hr_folder, tmp_path, tiny_model_file):
    result = runner.invoke(app, ["eval", "--dataset", "Set5", "--data-dir", str(tmp_path), "--model",
                                 str(tiny_model_file), "--json"])
    assert result.exit_code == 1 and "Set5/HR" in result.stderr
    (tmp_path / "Set5" / "HR").mkdir(parents=True)  # there, but empty
    result = runner.invoke(app, ["eval", "--dataset", "Set5", "--data-dir", str(tmp_path), "--model",
                                 str(tiny_model_file), "--json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(tmp_path / "Set5" / "HR") in result.stderr and ".png" in result.stderr
    (tmp_path / "Set5" / "HR").rmdir()
    (tmp_path / "Set5").rmdir()
    (tmp_path / "Set5").symlink_to(hr_folder.parent)
    for extra in ([], ["--self-ensemble"], ["--degradation", "nearest"]):
        result = runner.invoke(app, ["eval", "--dataset", "Set5", "--data-dir", str(tmp_path), "--model",
                                     str(tiny_model_file), "--json", *extra])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["scale"] == 4 and report["psnr"] > 15


def test_eval_outscale_scores_the_resized_output_that_upscale_writes(hr_folder, tmp_path, tiny_model_file):
    def report(*extra):
        result = runner.invoke(app, ["eval", "--dataset", str(hr_folder), "--model", str(tiny_model_file),
                                     "--json", "--per-image", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert report("--outscale", "4")["psnr"] == report()["psnr"]   # the model's own scale: no resize
    halved = report("--outscale", "2", "--save-lr", str(tmp_path / "lr"), "--save-dir", str(tmp_path / "sr"))
    assert halved["scale"] == 2 and halved["model"].endswith("resized to x2") and len(halved["images"]) == 2
    # The SR it scored is what `drn upscale --outscale 2` writes from the same LR.
    up = runner.invoke(app, ["upscale", str(tmp_path / "lr" / "im0_x2.png"), "--model", str(tiny_model_file),
                             "--outscale", "2", "-o", str(tmp_path / "up.png")])
    assert up.exit_code == 0, up.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "up.png")), np.asarray(Image.open(tmp_path / "sr" / "im0_x2.png")))
    for bad in (["--outscale", "3"], ["--outscale", "2", "--scale", "4"], ["--outscale", "2", "--model", "bicubic"]):
        result = runner.invoke(app, ["eval", "--dataset", str(hr_folder), *bad])
        assert result.exit_code == 2 and "--outscale" in result.stderr, bad


@pytest.mark.parametrize("dataset,scale,psnr,ssim", [("Set5", 4, 28.42, 0.810), ("Set5", 8, 24.40, None)])
def test_bicubic_matches_the_paper(dataset, scale, psnr, ssim):
    data_dir = shared_path("data", "benchmarks")
    result = runner.invoke(app, ["eval", "--dataset", dataset, "--data-dir", str(data_dir), "--model", "bicubic",
                                 "--scale", str(scale), "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(report["psnr"] - psnr) <= 0.02
    if ssim is not None:
        assert abs(report["ssim"] - ssim) <= 0.005


def test_the_bicubic_row_refuses_a_bad_device_as_a_model_does():
    from drn_cli.errors import UsageError
    from drn_cli.evaluate import EvalRequest

    for model in ("bicubic", None):
        with pytest.raises(UsageError, match="--device"):
            EvalRequest(model=model, scale=4, device="tpu")
