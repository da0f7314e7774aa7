import json
import os
import pickle

import pytest
import torch
from conftest import tiny_weights
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.errors import WeightsError, reason_of
from drn_cli.models.drn import DRNConfig
from drn_cli.models.weights import infer_config, load_official, resolve_model, save_weights


def test_safetensors_round_trip_rebuilds_the_model(tmp_path):
    weights = tiny_weights(scale=2, n_feats=8)
    path = tmp_path / "w.safetensors"
    save_weights(path, weights)
    loaded = resolve_model(path)
    assert loaded.config == weights.config and loaded.provenance == {"test": True}
    for key, value in weights.primal.items():
        assert torch.equal(loaded.primal[key], value), key
    assert len(loaded.dual) == 1
    loaded.build(with_dual=True)


def test_half_storage_is_close(tmp_path):
    weights = tiny_weights()
    save_weights(tmp_path / "h.safetensors", weights, half=True)
    loaded = resolve_model(tmp_path / "h.safetensors")
    torch.testing.assert_close(loaded.primal["head.weight"], weights.primal["head.weight"], atol=1e-3, rtol=1e-3)


def test_official_checkpoint_with_module_prefix_and_wrapper(tmp_path):
    weights = tiny_weights(scale=8, n_blocks=2, n_feats=8)
    wrapped = {"state_dict": {f"module.{k}": v for k, v in weights.primal.items()}}
    torch.save(wrapped, tmp_path / "DRN.pt")
    torch.save(weights.dual, tmp_path / "DRN_dual.pt")
    loaded = load_official(tmp_path / "DRN.pt", tmp_path / "DRN_dual.pt")
    assert loaded.config == DRNConfig(8, 2, 8)
    assert len(loaded.dual) == 3
    loaded.build(with_dual=True)


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = marker
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"head.weight": evil}, f)
    with pytest.raises(WeightsError, match="refused"):
        resolve_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (b"hello world\n", "not a PyTorch checkpoint"),               # a text file passed as --model
    (b"", "not a PyTorch checkpoint"),
    (b"\x80\x02}q\x00X\x05\x00\x00\x00", "not a readable PyTorch checkpoint"),  # a pickle cut short
    (b"PK\x03\x04garbage", "not a readable PyTorch checkpoint"),   # a zip header and nothing behind it
])
def test_files_that_are_no_checkpoint_get_one_line(tmp_path, content, message):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        resolve_model(path)
    result = CliRunner().invoke(app, ["average", str(path), str(path), "-o", str(tmp_path / "soup.safetensors")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_corrupt_safetensors_header(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\xff" * 8 + b"{not json")
    with pytest.raises(WeightsError, match="not a readable .safetensors"):
        resolve_model(path)


def test_wrong_architecture_names_what_was_expected(tmp_path):
    weights = tiny_weights(scale=4, n_feats=8)
    weights.config = DRNConfig(4, 1, 16)  # metadata lies about the width
    save_weights(tmp_path / "w.safetensors", weights)
    with pytest.raises(WeightsError, match="do not fit the primal network"):
        resolve_model(tmp_path / "w.safetensors").build()


def test_missing_preset_says_how_to_pass_a_model(tmp_path, monkeypatch):
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="--model PATH"):
        resolve_model("drn-s-x4")


def test_infer_config_rejects_non_drn():
    with pytest.raises(WeightsError, match="not a model this version knows"):
        infer_config({"conv.weight": torch.zeros(1)})


def test_convert_command(tmp_path):
    weights = tiny_weights()
    torch.save(weights.primal, tmp_path / "m.pt")
    torch.save(weights.dual, tmp_path / "d.pt")
    out = tmp_path / "m.safetensors"
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "m.pt"), "--dual", str(tmp_path / "d.pt"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    loaded = resolve_model(out)
    assert loaded.config == weights.config and len(loaded.dual) == 2
    assert json.loads(json.dumps(loaded.provenance))["source"].startswith("official")



def test_converting_one_of_our_files_says_it_needs_no_converting(tmp_path):
    save_weights(tmp_path / "ours.safetensors", tiny_weights())
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "ours.safetensors"), "-o", str(tmp_path / "x.safetensors")])
    assert result.exit_code == 1 and "already a .safetensors file" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.safetensors").exists()
    os.replace(tmp_path / "ours.safetensors", tmp_path / "ours.pt")  # renamed: the content still tells
    with pytest.raises(WeightsError, match="already a .safetensors file"):
        resolve_model(tmp_path / "ours.pt")


def test_reason_of_keeps_one_line_of_a_library_message():
    assert reason_of(RuntimeError("first line\nsecond line")) == "first line"
    assert reason_of(IndexError()) == "IndexError"
    assert reason_of(KeyError("x"), with_type=True) == "KeyError: 'x'"
    assert reason_of(ValueError("a" * 500), limit=10) == "a" * 10

def test_average_command_writes_the_mean_of_each_tensor(tmp_path):
    a, b, c = (tiny_weights(seed=s, bicubic=False) for s in (1, 2, 3))
    for i, w in enumerate((a, b, c)):
        w.provenance = {"steps": 100 * (i + 1)}
        save_weights(tmp_path / f"{i}.safetensors", w)
    out = tmp_path / "soup.safetensors"
    files = [str(tmp_path / f"{i}.safetensors") for i in range(3)]
    result = CliRunner().invoke(app, ["average", *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    soup = resolve_model(out)
    for key in a.primal:
        torch.testing.assert_close(soup.primal[key], (a.primal[key] + b.primal[key] + c.primal[key]) / 3)
    k = "dual_module.1.weight"
    torch.testing.assert_close(soup.dual[1][k], (a.dual[1][k] + b.dual[1][k] + c.dual[1][k]) / 3)
    assert soup.provenance["soup_of"] == [100, 200, 300]
    again = CliRunner().invoke(app, ["average", *files, "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def test_average_refuses_different_architectures(tmp_path):
    save_weights(tmp_path / "x4.safetensors", tiny_weights(scale=4))
    save_weights(tmp_path / "x2.safetensors", tiny_weights(scale=2))
    result = CliRunner().invoke(app, ["average", str(tmp_path / "x4.safetensors"), str(tmp_path / "x2.safetensors"),
                                      "-o", str(tmp_path / "soup.safetensors")])
    assert result.exit_code == 1 and "different architectures" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "soup.safetensors").exists()
