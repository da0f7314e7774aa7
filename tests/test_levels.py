"""--all-levels and --confidence (issue 19): every pyramid level and the closed-loop map from one pass."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import photo, tiny_weights
from images import write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.inference import make_upscaler
from drn_cli.levels import upscale_extras
from drn_cli.models.weights import save_weights

runner = CliRunner()


def _image(h: int = 20, w: int = 24) -> np.ndarray:
    return photo(h, w, seed=4).astype(np.float32) / 255


def test_levels_and_loop_map_match_a_direct_computation():
    weights = tiny_weights(seed=5)
    upscaler = make_upscaler(weights, "cpu", "fp32")
    image = _image()
    x2, x4, loop = upscale_extras(upscaler, image, tile=0, overlap=4, loop=True)
    model, duals = weights.build(with_dual=True)
    lr = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        levels = [(t / 255).clamp(0, 1) for t in model(lr * 255)]
        back = levels[-1] * 255
        for block in reversed(duals):
            back = block(back)
        direct = (back - lr * 255).abs().mean(1)[0].numpy()
    np.testing.assert_allclose(x2, levels[1][0].permute(1, 2, 0).numpy(), atol=1e-4)
    np.testing.assert_allclose(x4, levels[2][0].permute(1, 2, 0).numpy(), atol=1e-4)
    assert loop.shape == image.shape[:2] and loop.dtype == np.float32
    np.testing.assert_allclose(loop, direct, atol=1e-3)
    assert np.array_equal(x4, upscaler.upscale_array(image, tile=0))  # the same final image as without extras


def test_tiled_extras_stay_close_to_whole_image():
    upscaler = make_upscaler(tiny_weights(seed=6), "cpu", "fp32")
    image = _image(40, 44)
    whole = upscale_extras(upscaler, image, tile=0, overlap=8, loop=True)
    tiled = upscale_extras(upscaler, image, tile=16, overlap=8, loop=True)
    for a, b in zip(whole, tiled):
        assert a.shape == b.shape
        assert float(np.abs(a - b).mean()) < 0.02 * max(1.0, float(np.abs(a).mean()))


@pytest.mark.parametrize("scale,levels", [(4, [2, 4]), (8, [2, 4, 8])])
def test_all_levels_writes_every_scale_with_its_size(tmp_path, scale, levels):
    model = tmp_path / f"tiny-x{scale}.safetensors"
    save_weights(model, tiny_weights(scale=scale, n_feats=8 if scale == 4 else 4))
    write_photo(tmp_path / "a.png", 10, 12)
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "--model", str(model), "--all-levels", "--json"])
    assert result.exit_code == 0, result.output
    for level in levels:
        assert Image.open(tmp_path / f"a_x{level}.png").size == (12 * level, 10 * level)
    record = json.loads(result.stdout)
    assert record["extra_outputs"] == [str(tmp_path / f"a_x{k}.png") for k in levels[:-1]]


def test_confidence_writes_a_colour_map_and_reports_the_mean(tmp_path, tiny_model_file):
    write_photo(tmp_path / "a.png", 10, 12)
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "--model", str(tiny_model_file),
                                 "--confidence", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    loop = Image.open(tmp_path / "a_x4.loop.png")
    assert loop.size == (48, 40) and loop.mode == "RGB" and "0..255 scale" in loop.info["drn:loop_error"]
    assert record["loop_error"] > 0 and f"mean {record['loop_error']:.3f}" in loop.info["drn:loop_error"]
    refused = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "--model", str(tiny_model_file),
                                  "--confidence", "--tta"])
    assert refused.exit_code == 2
