import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from drn_cli.adapt import AdaptConfig, Adapter, closed_loop
from drn_cli.cli import app
from drn_cli.errors import DrnError
from drn_cli.model import DRNConfig, build_duals
from drn_cli.train import start_run
from drn_cli.weights import Weights, resolve_model, save_weights

from conftest import photo, tiny_weights


@pytest.fixture
def lr_photos(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo(40, 44, seed=10 + i)).save(folder / f"p{i}.png")
    return folder


def test_closed_loop_modes_shapes():
    duals = build_duals(DRNConfig(4, 1, 8))
    x = torch.rand(2, 3, 8, 8) * 255
    sr = [x, torch.rand(2, 3, 16, 16) * 255, torch.rand(2, 3, 32, 32) * 255]
    assert closed_loop(duals, sr, x, "chain").ndim == 0
    assert closed_loop(duals, sr, x, "inner").ndim == 0


def test_finetune_unpaired_cli_reports_before_and_after(lr_photos, tmp_path, tiny_model_file):
    out = tmp_path / "adapt"
    result = CliRunner().invoke(app, ["finetune-unpaired", str(lr_photos), "--model", str(tiny_model_file),
                                      "--out", str(out), "--steps", "3", "--batch-size", "4", "--patch-size",
                                      "32", "--precision", "fp32", "--device", "cpu", "--lr", "1e-4"])
    assert result.exit_code == 0, result.output
    assert "closed-loop L1 on the photos:" in result.stderr and "->" in result.stderr
    adapted = resolve_model(out / "model.safetensors")
    assert adapted.provenance["steps"] == 3 and adapted.dual is not None
    original = resolve_model(tiny_model_file)
    assert not torch.equal(adapted.primal["head.weight"], original.primal["head.weight"])


def test_only_unpaired_and_frozen_dual_updates_primal_only(lr_photos, tmp_path, tiny_model_file):
    config = AdaptConfig(data=[], out=str(tmp_path / "a"), model=DRNConfig(4, 1, 8).to_dict(), steps=2,
                         batch_size=2, patch_size=32, precision="fp32", device="cpu", init=str(tiny_model_file),
                         lr=1e-3, lr_dir=str(lr_photos), unpaired_ratio=1.0, freeze_dual=True)
    adapter = start_run(config, cls=Adapter)
    dual_before = {k: v.clone() for k, v in adapter.net.dual.state_dict().items()}
    head_before = adapter.net.primal.head.weight.detach().clone()
    adapter.run()
    for k, v in adapter.net.dual.state_dict().items():
        assert torch.equal(v, dual_before[k]), k
    assert not torch.equal(adapter.net.primal.head.weight, head_before)


def test_weights_without_dual_are_refused(lr_photos, tmp_path):
    w = tiny_weights()
    save_weights(tmp_path / "nodual.safetensors", Weights(w.config, w.primal, None, {}))
    config = AdaptConfig(data=[], out=str(tmp_path / "a"), model=w.config.to_dict(), steps=1, batch_size=2,
                         patch_size=32, device="cpu", init=str(tmp_path / "nodual.safetensors"), lr_dir=str(lr_photos))
    with pytest.raises(DrnError, match="no dual weights"):
        start_run(config, cls=Adapter)
