"""The model contract (models/architecture.py): a new architecture is its own module and a record.
Here the module is this file: a toy network registered at run time goes through `drn upscale`
(whole and tiled), the Python API and export without any other file knowing it. And no
DRN-specific field is read outside the DRN architecture's own modules."""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import photo
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.models import registry
from drn_cli.models.architecture import Architecture, Clamped, PrimalOnly, single_output
from drn_cli.models.weights import Weights, save_weights

PACKAGE = Path(__file__).resolve().parents[1] / "drn_cli"


@dataclass(frozen=True)
class ToyConfig:
    scale: int = 3
    width: int = 4

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return f"x{self.scale}, {self.width} features"


class Toy(nn.Module):
    """Nearest upsampling plus a small residual from one hidden layer: a x3 one-output network."""

    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.inner = nn.Conv2d(3, config.width, 3, 1, 1)
        self.outer = nn.Conv2d(config.width, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.outer(torch.relu(self.inner(x)))
        return nn.functional.interpolate(x + residual, scale_factor=self.config.scale, mode="nearest")


TOY = Architecture(
    id="toy", label="Toy", config=lambda d: ToyConfig(**d),
    detect=lambda state: ToyConfig(width=state["inner.weight"].shape[0]) if "inner.weight" in state else None,
    build=lambda c: PrimalOnly(Toy(c)), describe=ToyConfig.describe, variants={"toy-x3": ToyConfig()},
    levels=single_output, level_scales=lambda c: (c.scale,), graph=lambda net, half: Clamped(net, half),
    bytes_per_lr_pixel=lambda c, device: 1_000, context=lambda c: 2,
)


@pytest.fixture
def toy_file(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "ARCHITECTURES", dict(registry.ARCHITECTURES))  # restored after the test
    registry.register(TOY)
    torch.manual_seed(0)
    net = Toy(ToyConfig())
    path = tmp_path / "toy.safetensors"
    save_weights(path, Weights(ToyConfig(), net.state_dict(), None, {"test": True}, "toy"))
    return path, net


def test_a_registered_architecture_upscales_tiles_and_exports_like_the_built_in_ones(tmp_path, toy_file):
    path, net = toy_file
    image = photo(30, 44)
    Image.fromarray(image).save(tmp_path / "a.png")
    with torch.no_grad():
        x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
        expected = (net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    runner = CliRunner()
    for tile in ("0", "24"):  # tiled: overlap 5 (2 * context + 1) keeps it exact
        out = tmp_path / f"a_{tile}.png"
        result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(out), "--model", str(path),
                                     "--tile", tile, "--precision", "fp32"])
        assert result.exit_code == 0, result.output
        got = np.asarray(Image.open(out)).astype(int)
        assert got.shape == (90, 132, 3) and np.abs(got - expected).max() <= 1, tile
    from drn_cli import upscale

    assert np.abs(np.asarray(upscale(image, model=str(path))).astype(int) - expected).max() <= 2  # bf16 where fast
    listed = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "--model", str(path), "--confidence"])
    assert listed.exit_code == 2 and "dual blocks" in listed.stderr
    if __import__("importlib").util.find_spec("onnxruntime"):
        exported = runner.invoke(app, ["export", str(path), "-o", str(tmp_path / "toy.onnx")])
        assert exported.exit_code == 0, exported.output


# Fields and names only a DRN has; reading them anywhere but the DRN architecture's own modules
# would make the package DRN-shaped again (#46).
DRN_FIELDS = {"n_blocks", "n_feats", "phases", "super_resolve", "forward_upsampled", "up_blocks", "sub_mean",
              "add_mean"}
DRN_NAMES = {"DRNConfig", "RGB_RANGE", "ImageGraph", "DualRegression", "build_duals", "init_bicubic_path"}
DRN_OWN = {"models/drn.py", "models/grow.py"}  # grow: --grow-from nests a half-scale DRN's levels


def _drn_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in DRN_FIELDS:
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.ImportFrom):
            found += [f"{path.relative_to(PACKAGE)}:{node.lineno} imports {a.name}" for a in node.names if a.name in DRN_NAMES]
    return found


def test_no_drn_specific_field_is_read_outside_the_drn_architecture():
    reads = [read for path in sorted(PACKAGE.rglob("*.py")) if str(path.relative_to(PACKAGE)) not in DRN_OWN
             for read in _drn_reads(path)]
    assert reads == []


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The test above can fail: the same walk on DRN's own module finds its fields."""
    assert any(".phases" in read for read in _drn_reads(PACKAGE / "models" / "drn.py"))
