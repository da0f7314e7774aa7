"""ONNX export (issue 19): parity with PyTorch fp32 at two sizes, dynamic size, [0, 1] in and out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_weights
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.models.drn import ImageGraph
from drn_cli.models.weights import save_weights

runner = CliRunner()


@pytest.mark.parametrize("half", [False, True])
def test_export_matches_pytorch_and_takes_any_size(tmp_path, half):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'drn-cli[onnx]')")
    weights = tiny_weights(seed=2)
    model = tmp_path / "m.safetensors"
    save_weights(model, weights)
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(model), "-o", str(out)] + (["--half"] if half else []))
    assert result.exit_code == 0, result.output
    assert "matches PyTorch fp32 within" in result.stderr
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    lr = np.random.default_rng(0).random((2, 3, 19, 23), dtype=np.float32)  # a third size, batch 2
    got = session.run(["sr"], {"lr": lr})[0]
    with torch.no_grad():
        expected = ImageGraph(weights.build()[0].eval())(torch.from_numpy(lr)).numpy()
    assert got.shape == (2, 3, 76, 92) and got.min() >= 0 and got.max() <= 1
    assert np.abs(got - expected).max() < (2e-2 if half else 1e-3)
    again = runner.invoke(app, ["export", str(model), "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.stderr


def test_export_without_the_onnx_package_says_how_to_get_it_before_any_work(tmp_path, monkeypatch, tiny_model_file):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(tiny_model_file), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and 'pip install "drn-cli[onnx]"' in result.stderr
    assert not out.exists() and "Traceback" not in result.output


def test_export_refuses_an_output_not_named_onnx(tmp_path, tiny_model_file):
    result = runner.invoke(app, ["export", str(tiny_model_file), "-o", str(tmp_path / "model.png")])
    assert result.exit_code == 2 and "name it *.onnx" in result.stderr
    assert not (tmp_path / "model.png").exists()
