"""docs/architecture.md's "where a new X goes", tried: each new thing added where the table says,
in the test itself, and used through the package as it is. (A new architecture, input kind and
front door are tried in test_model_contract.py, test_input_kinds.py and test_front_door.py.)"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import photo
from PIL import Image
from torch.nn import functional as F
from typer.testing import CliRunner

from drn_cli import degradations
from drn_cli.atomic import writing
from drn_cli.cli import app, ui
from drn_cli.degradations import Kernel, imresize, parse_degradation
from drn_cli.evaluate import score_image
from drn_cli.models import load
from drn_cli.models.presets import PRESETS
from drn_cli.models.weights import resolve_model
from drn_cli.training import run_folder
from drn_cli.training.trainer import TrainConfig, Verdict

runner = CliRunner()
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def test_the_table_names_a_tried_example_for_every_row():
    """Each row of the table says which test adds such a thing, and that test exists."""
    section = DOC.read_text().split("## Where a new X goes")[1]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| a new")]
    assert len(rows) >= 7
    for row in rows:
        tried = re.search(r"tried in `tests/(\w+\.py)::(\w+)`", row)
        assert tried, f"no tried example in: {row[:60]}"
        text = (Path(__file__).parent / tried[1]).read_text()
        assert f"def {tried[2]}(" in text, f"{tried[1]} has no {tried[2]}"


# -- degradation: one class (here a Kernel) and one line in REGISTRY ---------------------------

def box_downscale(hr: np.ndarray, scale: int) -> np.ndarray:
    """Each s x s block averaged (float64)."""
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    return hr[:h * scale, :w * scale].reshape(h, scale, w, scale, 3).mean(axis=(1, 3))


def test_a_new_degradation_is_one_class_and_one_registry_line(tmp_path, monkeypatch):
    monkeypatch.setitem(degradations.REGISTRY, "box", Kernel("box", box_downscale, "s x s block average"))
    parse_degradation.cache_clear()
    hr = photo(32, 40, seed=3)
    Image.fromarray(hr).save(tmp_path / "a.png")
    result = runner.invoke(app, ["eval", "--dataset", str(tmp_path), "--model", "bicubic", "--scale", "2",
                                 "--degradation", "box", "--json"])
    parse_degradation.cache_clear()
    assert result.exit_code == 0, result.output
    lr = np.clip(np.floor(box_downscale(hr, 2) + 0.5), 0, 255).astype(np.uint8)
    expected = score_image(imresize(lr.astype(np.float64), 2), hr, 2)[0]
    assert json.loads(result.stdout.strip().splitlines()[-1])["psnr"] == pytest.approx(expected, abs=1e-9)
    assert "box (s x s block average)" in degradations.describe()


# -- training task: a class with prepare, batches, loss, describe, measure, verdict; its kind in KINDS


@dataclass(frozen=True)
class HeldLoss:
    value: float

    def text(self) -> str:
        return f"L1 {self.value:.3f}"


class ToyTask:
    """Teaches the primal network to be bicubic on random patches; judges the run by a fixed
    batch's loss, and asks for the start back when it rose (so the loop's verdict is seen)."""

    def __init__(self, trainer) -> None:
        self.trainer, self.config = trainer, trainer.config
        self.held = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 255

    def prepare(self) -> str:
        return "random patches"

    def describe(self, before) -> list[str]:
        return [f"toy run, held-out {before.text()}"]

    def batches(self, start: int, until: int):
        for step in range(start, until):
            yield self.trainer.to_device(torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(step)) * 255)

    def loss(self, net, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sr, _, _ = net(lr)
        target = F.interpolate(lr, scale_factor=self.config.net.scale, mode="bicubic", align_corners=False)
        return F.l1_loss(sr[-1], target), sr[-1].new_zeros(())

    def measure(self) -> HeldLoss:
        with torch.no_grad():
            return HeldLoss(self.loss(self.trainer.net, self.trainer.to_device(self.held))[0].item())

    def verdict(self, before: HeldLoss, after: HeldLoss) -> Verdict:
        return Verdict(["worse"], restore_start=True) if after.value > before.value else Verdict()


@pytest.mark.parametrize("worse", [False, True])
def test_a_new_training_task_runs_in_the_one_loop(tmp_path, tiny_model_file, monkeypatch, worse):
    monkeypatch.setitem(run_folder.KINDS, "toy", (TrainConfig, ToyTask))
    # the task's verdict, whatever the toy learnt: the loop acts on it
    verdict = Verdict(["worse"], restore_start=True) if worse else Verdict()
    monkeypatch.setattr(ToyTask, "verdict", lambda self, before, after: verdict)
    events = []
    config = TrainConfig(data=[], out=str(tmp_path / "run"), kind="toy", init=str(tiny_model_file),
                         model=resolve_model(str(tiny_model_file)).config.to_dict(), steps=3, batch_size=2,
                         patch_size=32, lr=1e-2, save_every=3, log_every=1, device="cpu", precision="fp32")
    trainer = run_folder.start_run(config, events.append)
    trainer.train()
    saved, start = resolve_model(str(tmp_path / "run" / "model.safetensors")), resolve_model(str(tiny_model_file))
    same = all(torch.equal(saved.primal[k], start.primal[k]) for k in start.primal)
    assert same == worse
    assert json.loads((tmp_path / "run" / "config.json").read_text())["kind"] == "toy"
    messages = [e.get("message", "") for e in events]
    assert any(m.startswith("toy run, held-out L1") for m in messages)
    assert ("worse" in messages) == worse
    assert sum(e["type"] == "step" for e in events) == 3


# -- export format: a module beside export.py over LoadedModel.graph() ---------------------------

def export_torchscript(model, path: Path) -> None:
    """`model`'s graph traced to TorchScript, written atomically."""
    with writing(path) as part, torch.no_grad():
        torch.jit.trace(model.graph(), torch.rand(1, 3, 12, 16)).save(str(part))


def test_a_new_export_format_is_a_function_over_the_graph(tmp_path, tiny_model_file):
    model = load(str(tiny_model_file), device="cpu", precision="fp32")
    export_torchscript(model, tmp_path / "m.pt")
    lr = torch.rand(1, 3, 12, 16)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(tmp_path / "m.pt"))(lr), model(lr), atol=1e-4, rtol=1e-4)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no part file left"


# -- command: a function registered on the Typer app; its words from the library -----------------

def test_a_new_command_is_a_function_on_the_app(monkeypatch):
    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))

    @app.command("scale-of")
    def scale_of(name: str) -> None:
        """Say a named model's scale."""
        ui.out.print(f"{name}: x{PRESETS[name].scale}")  # a result: stdout (ui.err has status)

    result = runner.invoke(app, ["scale-of", "drn-s-x2"])
    assert result.exit_code == 0 and result.stdout.strip() == "drn-s-x2: x2"
    assert "scale-of" in runner.invoke(app, ["--help"]).stdout
