"""Growing a trained DRN into one of twice its scale (`drn train --grow-from`)."""

import pytest
import torch
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.models.drn import DRN, VARIANTS, DRNConfig, nested_prefixes
from drn_cli.models.grow import copy_inner_levels, fit_stem, stem_features
from drn_cli.models.weights import Weights, resolve_model, save_weights


def _random_drn(config: DRNConfig, seed: int) -> DRN:
    torch.manual_seed(seed)
    return DRN(config).eval()


@pytest.mark.parametrize("inner, outer", [("drn-s-x4", "drn-s-x8"), ("drn-s-x2", "drn-s-x4")])
def test_shipped_variants_nest_with_every_inner_tensor_placed(inner, outer):
    small, big = DRN(VARIANTS[inner]), DRN(VARIANTS[outer])
    before = {k: v.clone() for k, v in big.state_dict().items()}
    copied = copy_inner_levels(big, Weights(small.config, small.state_dict()))
    own = {"head.", "sub_mean.", "add_mean."}
    placed = [k for k in small.state_dict() if not any(k.startswith(p) for p in own)]
    assert copied == len(placed)
    pairs = nested_prefixes(small.config, big.config)
    for name in placed:
        prefix = next(p for p in pairs if name.startswith(p))
        assert torch.equal(big.state_dict()[pairs[prefix] + name[len(prefix):]], small.state_dict()[name])
    # The finest level is the outer network's own.
    for name in ("head.weight", "down.0.dual_module.1.weight", f"tail.{big.config.phases}.weight"):
        assert torch.equal(big.state_dict()[name], before[name])


@pytest.mark.parametrize("inner, outer", [
    (DRNConfig(4, 2, 16), DRNConfig(8, 2, 16)),   # same width
    (DRNConfig(4, 2, 16), DRNConfig(8, 3, 8)),    # other block count
    (DRNConfig(2, 2, 32), DRNConfig(8, 2, 8)),    # not half the scale
])
def test_architectures_that_do_not_nest_are_refused(inner, outer):
    with pytest.raises(ValueError, match="does not nest"):
        nested_prefixes(inner, outer)


def test_fitted_stem_makes_the_grown_model_reproduce_the_inner_one():
    """After the copy and the stem fit, the grown x8's 4x level is the x4's output."""
    inner = _random_drn(DRNConfig(4, 1, 16), seed=0)
    outer = _random_drn(DRNConfig(8, 1, 8), seed=1)
    copy_inner_levels(outer, Weights(inner.config, inner.state_dict()))
    generator = torch.Generator().manual_seed(2)
    images = [torch.from_numpy(photo(12, 12, seed=i)).permute(2, 0, 1).float() for i in range(6)]
    lr = torch.stack(images)

    def level_error() -> float:
        with torch.no_grad():
            return (outer(lr)[2] - inner(lr)[2]).abs().mean().item()

    def batches(n):
        for _ in range(n):
            yield lr[torch.randint(0, len(lr), (4,), generator=generator)]

    unfitted = level_error()
    error = fit_stem(outer, inner, batches(400))
    assert error < 0.01
    with torch.no_grad():
        feature_gap = (stem_features(outer, lr, 1) - stem_features(inner, lr, 0)).abs().mean()
        assert feature_gap < 0.1 * stem_features(inner, lr, 0).abs().mean()
    assert level_error() < 0.2 * unfitted


def test_train_grow_from_starts_a_x8_from_a_x4_file(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    for i in range(2):
        Image.fromarray(photo(64, 64, seed=i)).save(hr / f"img{i}.png")
    inner = _random_drn(DRNConfig(4, 1, 16), seed=3)
    save_weights(tmp_path / "x4.safetensors", Weights(inner.config, inner.state_dict()))
    common = ["--data", str(hr), "--scale", "8", "--n-blocks", "1", "--batch-size", "2", "--patch-size", "32",
              "--precision", "fp32", "--device", "cpu", "--steps", "1", "--grow-from", str(tmp_path / "x4.safetensors")]

    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "run"), "--n-feats", "8", *common])
    assert result.exit_code == 0, result.output
    assert "tensors copied into the inner levels" in result.stderr
    grown = resolve_model(tmp_path / "run" / "model.safetensors")
    assert grown.config == DRNConfig(8, 1, 8)
    # One step at lr 2e-4 barely moves the copied levels.
    copied = grown.primal["up_blocks.0.0.body.0.weight"]
    assert (copied - inner.state_dict()["up_blocks.0.0.body.0.weight"]).abs().max() < 0.01

    wrong = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "run2"), "--n-feats", "16", *common])
    assert wrong.exit_code == 2 and "--grow-from" in wrong.stderr and "does not nest" in wrong.stderr
