"""The OpenVINO backend (#49): the same picture as torch within the precision budget, the converted
model cached on disk (a damaged entry made again, a changed weights file never meeting an old
one), auto's choice, and one line where the package is missing or a feature needs torch."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from conftest import photo, tiny_weights
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.models.weights import save_weights

runner = CliRunner()
needs_openvino = pytest.mark.skipif(
    __import__("importlib").util.find_spec("openvino") is None,
    reason="the OpenVINO backend needs the openvino package (the [openvino] and [test] extras install it)")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache for the module: each conversion costs seconds."""
    return tmp_path_factory.mktemp("ov-cache")


@pytest.fixture
def model_file(tmp_path, shared_cache, monkeypatch):
    monkeypatch.setenv("DRN_CACHE_DIR", str(shared_cache))
    path = shared_cache / "tiny.safetensors"
    if not path.exists():
        save_weights(path, tiny_weights(n_feats=8, seed=3, bicubic=False))
    return path


def _upscale(tmp_path, model, name, *options):
    Image.fromarray(photo(40, 56)).save(tmp_path / "in.png")
    result = runner.invoke(app, ["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / name), "--model",
                                 str(model), *options])
    assert result.exit_code == 0, result.output
    return np.asarray(Image.open(tmp_path / name)).astype(int)


@needs_openvino
def test_both_backends_give_the_same_picture_within_the_precision_budget(tmp_path, model_file):
    reference = _upscale(tmp_path, model_file, "torch.png", "--backend", "torch", "--precision", "fp32")
    fp32 = _upscale(tmp_path, model_file, "ov32.png", "--backend", "openvino", "--precision", "fp32")
    assert np.abs(fp32 - reference).max() <= 1
    bf16 = _upscale(tmp_path, model_file, "ov16.png", "--backend", "openvino", "--precision", "bf16")
    assert np.abs(bf16 - reference).mean() < 1.0 and bf16.shape == reference.shape  # bf16 everywhere: a level or so
    tiled = _upscale(tmp_path, model_file, "ov_tiled.png", "--backend", "openvino", "--precision", "fp32", "--tile", "24")
    torch_tiled = _upscale(tmp_path, model_file, "torch_tiled.png", "--backend", "torch", "--precision", "fp32",
                           "--tile", "24")
    assert np.abs(tiled - torch_tiled).max() <= 1  # tiles, TTA and blends run on the model's call as on torch's


@needs_openvino
def test_the_converted_model_is_cached_and_a_damaged_or_stale_entry_is_never_trusted(tmp_path, model_file):
    from drn_cli.download import cache_root
    from drn_cli.models import openvino_model
    from drn_cli.models.loaded import load

    model = load(str(model_file), "cpu", "fp32", backend="openvino")
    [entry] = list((cache_root() / "openvino").glob("*/model.xml"))
    made = entry.stat().st_mtime_ns
    openvino_model._CACHE.clear()
    load(str(model_file), "cpu", "fp32", backend="openvino")
    assert entry.stat().st_mtime_ns == made  # read again, not converted again
    entry.write_text("<not a model")  # damaged
    openvino_model._CACHE.clear()
    again = load(str(model_file), "cpu", "fp32", backend="openvino")
    assert entry.read_text().startswith("<?xml") and again(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    other = tmp_path / "other.safetensors"  # another file: its own entry
    save_weights(other, tiny_weights(n_feats=8, seed=4, bicubic=False))
    load(str(other), "cpu", "fp32", backend="openvino")
    assert len(list((cache_root() / "openvino").glob("*/model.xml"))) == 2
    assert model.level_scales == (4,) and not model.has_dual


def test_without_the_package_openvino_is_one_line_and_auto_falls_back(tmp_path, tiny_model_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now fails
    Image.fromarray(photo(12, 12)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "--model", str(tiny_model_file),
                                 "--backend", "openvino"])
    assert result.exit_code == 2 and 'pip install "drn-cli[openvino]"' in result.stderr
    assert "Traceback" not in result.output


def test_auto_takes_openvino_only_where_bf16_is_fast_and_torch_for_levels_and_the_loop(monkeypatch):
    from drn_cli import device
    from drn_cli.request import UpscaleRequest

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
    assert device.resolve_backend("auto", torch.device("cpu"), "auto") == "torch"  # AVX2: torch's fp32
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    assert device.resolve_backend("auto", torch.device("cpu"), "fp32") == "torch"
    assert device.resolve_backend("auto", torch.device("cuda"), "auto") == "torch"
    assert UpscaleRequest(model="drn-s-x4", confidence=True, backend="auto").model_backend == "torch"
    with pytest.raises(Exception, match="run on the torch backend"):
        UpscaleRequest(model="drn-s-x4", all_levels=True, backend="openvino")
    with pytest.raises(Exception, match="runs on the CPU"):
        UpscaleRequest(model="drn-s-x4", device="cuda", backend="openvino")
