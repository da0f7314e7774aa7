"""The bytes of `drn upscale`'s outputs, pinned: a refactor must not change what users get.

Each case upscales a fixed small image (RGB, RGBA or grey, made here from a seeded generator)
with a shipped model and compares the SHA-256 of every written file with the hashes recorded in
tests/data/pinned_outputs.json. The float arithmetic differs between CPU kinds (oneDNN picks
AVX2, AVX-512 or AMX kernels; `auto` precision picks bf16 or fp32), so hashes are recorded per
CPU kind; a CPU kind with no record skips with the command that records it:

    DRN_RECORD_PINS=1 python3 -m pytest tests/test_pinned_outputs.py

So that every machine checks something, each shipped model's fp32 output is also kept as an image
(tests/data/reference/) and compared on any CPU kind within two levels, in fp32 and in the
precision `auto` picks there: fp32 kernels differ only in the order they add, and bf16 (the body
only) moved these pixels by one level at most (mean 0.02-0.06) on AMX and AVX-512 BF16 kernels.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app

PINS = Path(__file__).parent / "data" / "pinned_outputs.json"
REFERENCES = Path(__file__).parent / "data" / "reference"
RECORD = os.environ.get("DRN_RECORD_PINS") == "1"

# (case name, input kind, extra options); every case runs with --device cpu.
CASES = [
    ("x4-real-default", "rgb", []),
    ("x4", "rgb", ["--model", "drn-s-x4"]),
    ("x4-blur", "rgb", ["--model", "drn-s-x4-blur"]),
    ("x2", "rgb", ["--model", "drn-s-x2"]),
    ("x8", "rgb", ["--model", "drn-s-x8"]),
    ("x4-fp32", "rgb", ["--model", "drn-s-x4", "--precision", "fp32"]),
    ("scale2-default", "rgb", ["--scale", "2"]),
    ("outscale3", "rgb", ["--outscale", "3"]),
    ("width100", "rgb", ["--width", "100"]),
    ("tiled", "rgb", ["--model", "drn-s-x4", "--tile", "16", "--tile-overlap", "4"]),
    ("tta", "rgb", ["--model", "drn-s-x4", "--tta"]),
    ("levels-confidence", "rgb", ["--model", "drn-s-x4", "--all-levels", "--confidence"]),
    ("rgba", "rgba", []),
    ("grey", "grey", ["--model", "drn-s-x4"]),
]


def cpu_kind() -> str:
    """torch's CPU capability, with AMX and AVX-512 BF16 told apart (their bf16 kernels differ)."""
    import torch

    kind = torch.backends.cpu.get_cpu_capability()
    for name in ("amx_tile", "avx512_bf16"):
        if getattr(torch.cpu, f"_is_{name}_supported", lambda: False)():
            return f"{kind}+{name}"
    return kind


def make_input(folder: Path, kind: str) -> Path:
    """A fixed 40x28 image: smooth waves plus seeded noise (RGB), with a ramp alpha (RGBA) or as
    grey; saved as PNG, so that the decoded pixels are exact."""
    rng = np.random.default_rng(2026)
    yy, xx = np.mgrid[0:28, 0:40]
    waves = np.stack([np.sin(xx / 4 + c) * np.cos(yy / 6 - c) for c in range(3)], axis=2)
    rgb = np.clip(127.5 + 90 * waves + rng.normal(0, 8, (28, 40, 3)), 0, 255).astype(np.uint8)
    if kind == "rgba":
        alpha = np.clip(xx * 6, 0, 255).astype(np.uint8)[:, :, None]
        image = Image.fromarray(np.concatenate([rgb, alpha], axis=2), "RGBA")
    elif kind == "grey":
        image = Image.fromarray(rgb.mean(axis=2).astype(np.uint8), "L")
    else:
        image = Image.fromarray(rgb, "RGB")
    path = folder / f"pin_{kind}.png"
    image.save(path)
    return path


def run_case(tmp_path: Path, kind: str, options: list[str]) -> dict[str, str]:
    """{written file name: SHA-256} of one `drn upscale` run."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in upscaled(tmp_path, kind, options)}


def upscaled(tmp_path: Path, kind: str, options: list[str]) -> list[Path]:
    """The files one `drn upscale` run of the fixed `kind` image writes, in name order."""
    source = make_input(tmp_path, kind)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["upscale", str(source), "-o", str(out), "--device", "cpu", *options])
    assert result.exit_code == 0, result.output
    return sorted(out.iterdir())


@pytest.mark.parametrize(("name", "kind", "options"), CASES, ids=[c[0] for c in CASES])
def test_upscale_output_bytes_are_pinned(tmp_path, name, kind, options):
    got = run_case(tmp_path, kind, options)
    pins = json.loads(PINS.read_text()) if PINS.is_file() else {}
    key = f"{cpu_kind()}/{name}"
    if RECORD:
        pins[key] = got
        PINS.parent.mkdir(exist_ok=True)
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        return
    if key not in pins:
        pytest.skip(f"no pinned output for CPU kind {cpu_kind()}; record with DRN_RECORD_PINS=1 "
                    "python3 -m pytest tests/test_pinned_outputs.py on the code before a change")
    assert got == pins[key]


@pytest.mark.parametrize("precision", ["fp32", "auto"])
@pytest.mark.parametrize("model", ["drn-s-x4", "drn-s-x4-real", "drn-s-x4-blur", "drn-s-x2", "drn-s-x2-real", "drn-s-x8"])
def test_output_is_within_a_level_of_the_fp32_reference_on_any_cpu(tmp_path, model, precision):
    (path,) = upscaled(tmp_path, "rgb", ["--model", model, "--precision", precision])
    reference = REFERENCES / f"{model}.png"
    if RECORD:
        if precision == "fp32":
            REFERENCES.mkdir(parents=True, exist_ok=True)
            path.replace(reference)
        return
    got, want = (np.asarray(Image.open(p), dtype=np.int16) for p in (path, reference))
    assert got.shape == want.shape
    diff = np.abs(got - want)
    assert diff.max() <= 2 and diff.mean() < 0.1, f"max {diff.max()}, mean {diff.mean():.4f} levels"
