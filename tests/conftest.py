"""Shared fixtures: isolated caches, tiny seeded models, and the ../shared data when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from drn_cli.models.drn import DRN, DRNConfig, build_duals, init_bicubic_path
from drn_cli.models.weights import Weights, save_weights

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """No test touches the user's cache or the shipped weights folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DRN_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg"))
    monkeypatch.delenv("DRN_DEBUG", raising=False)
    monkeypatch.delenv("DRN_MAX_PIXELS", raising=False)
    monkeypatch.setenv("DRN_BACKEND", "torch")  # the OpenVINO tests ask for it by name (test_openvino.py)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data), which is absent here")
    return path


def tiny_weights(scale: int = 4, n_blocks: int = 1, n_feats: int = 8, seed: int = 0,
                 bicubic: bool = True) -> Weights:
    """A tiny seeded DRN; with `bicubic` it starts as (roughly) a bicubic upscaler."""
    torch.manual_seed(seed)
    config = DRNConfig(scale=scale, n_blocks=n_blocks, n_feats=n_feats)
    model = DRN(config)
    if bicubic:
        init_bicubic_path(model)
    duals = build_duals(config)
    return Weights(config, model.state_dict(), [d.state_dict() for d in duals], {"test": True})


@pytest.fixture
def tiny_model_file(tmp_path) -> Path:
    path = tmp_path / "tiny-x4.safetensors"
    save_weights(path, tiny_weights())
    return path


@pytest.fixture
def shipped_tiny(tmp_path, monkeypatch) -> Path:
    """A weights folder whose drn-s-x4 and drn-s-x4-real are tiny models (different seeds), set as
    the shipped folder."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    save_weights(folder / "drn-s-x4.safetensors", tiny_weights())
    save_weights(folder / "drn-s-x4-real.safetensors", tiny_weights(seed=1))
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(folder))
    return folder


def photo(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A smooth random (h, w, 3) uint8 test image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / 5 + c) * np.cos(yy / 7 - c) for c in range(3)], axis=2)
    return np.clip(127.5 + 100 * base + rng.normal(0, 5, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def lr_photos(tmp_path):
    """Three small photos in tmp_path/real, for finetune-unpaired."""
    from PIL import Image

    folder = tmp_path / "real"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo(40, 44, seed=10 + i)).save(folder / f"p{i}.png")
    return folder
