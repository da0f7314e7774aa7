import json

import pytest
import torch
from conftest import shared_path

from drn_cli.models.architecture import count_parameters
from drn_cli.models.drn import DRN, VARIANTS, DRNConfig
from drn_cli.models.weights import load_official

PAPER_PARAMS_M = {"drn-s-x4": 4.804, "drn-s-x8": 5.403, "drn-l-x4": 9.826, "drn-l-x8": 10.004}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS_M))
def test_variant_parameter_counts_match_the_paper(name):
    assert round(count_parameters(DRN(VARIANTS[name])) / 1e6, 3) == PAPER_PARAMS_M[name]


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_outputs_every_pyramid_level(scale):
    model = DRN(DRNConfig(scale=scale, n_blocks=1, n_feats=8)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 6, 5) * 255)
    assert [tuple(o.shape[-2:]) for o in out] == [(6 * 2 ** k, 5 * 2 ** k) for k in range(len(out))]
    assert len(out) == DRNConfig(scale=scale).phases + 1


def test_rejects_unsupported_scale_and_width():
    with pytest.raises(ValueError, match="2, 4 or 8"):
        DRNConfig(scale=3)
    with pytest.raises(ValueError, match="too narrow"):
        DRNConfig(scale=2, n_blocks=1, n_feats=4)


@pytest.mark.parametrize("folder", ["x2-b2-f8", "x4-b2-f8", "x8-b1-f8"])
def test_reproduces_official_outputs(folder):
    root = shared_path("fixtures", "official-drn", folder)
    weights = load_official(root / "model.pt", root / "dual_model.pt")
    meta = json.loads((root / "meta.json").read_text())
    assert weights.config == DRNConfig(meta["scale"], meta["n_blocks"], meta["n_feats"])
    model, duals = weights.build(with_dual=True)
    io = torch.load(root / "io.pt", weights_only=True)
    with torch.no_grad():
        sr = model(io["lr"])
        dual = [block(sr[i + 1]) for i, block in enumerate(duals)]
    assert len(sr) == len(io["sr"]) and len(dual) == len(io["dual"])
    # The official x2 fixture overflows to NaN in places; NaN must then match NaN.
    for ours, theirs in zip(sr + dual, io["sr"] + io["dual"]):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-3, equal_nan=True)


@pytest.mark.parametrize("name", ["drn-s-x4-real", "drn-s-x4", "drn-s-x2", "drn-s-x8"])
def test_models_load_gives_a_descriptor_of_every_shipped_model(name):
    """`models.load(name)`: what the model is, and a call on [0, 1] NCHW tensors at its scale."""
    from drn_cli import models
    from drn_cli.models.presets import PRESETS

    m = models.load(name, device="cpu", precision="fp32")
    assert (m.name, m.architecture, m.scale, m.has_dual) == (name, "drn", PRESETS[name].scale, True)
    assert "fp32" in m.precisions and m.precision == "fp32"
    x = torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    y = m(x)
    assert y.shape == (2, 3, 12 * m.scale, 10 * m.scale) and y.dtype == torch.float32
    assert 0 <= y.min() and y.max() <= 1
    levels = m.levels(x)
    assert [t.shape[-1] for t in levels] == [10 * 2 ** k for k in range(1, len(levels) + 1)] and torch.equal(levels[-1], y)
    assert m.loop_error(x, y).shape == (2, 1, 12, 10)
    assert models.load(name, device="cpu", precision="fp32") is m  # cached and shared
