"""Models: the networks, their named presets, their weight files and the registry that ties them.

    from drn_cli import models
    m = models.load("drn-s-x4")          # a LoadedModel (loaded.py), cached and shared
    sr = m(x)                            # (B, 3, h, w) in [0, 1] -> (B, 3, 4h, 4w) in [0, 1]
    m.scale, m.has_dual, m.precisions    # what the model is and can do

- `drn.py`: DRN, its dual blocks and config, the bicubic-path init, config from tensor shapes.
- `presets.py`: the one table of named models (torch-free).
- `weights.py`: the self-describing .safetensors format and official .pt checkpoints.
- `registry.py`: one record per architecture: detect, configure, build.
- `grow.py`: growing a x4 DRN into a x8 one (`drn train --grow-from`).
- `loaded.py`: `load()` and the LoadedModel descriptor.

This module stays torch-free (the CLI reads presets from it); `load` imports torch when called.
"""

from __future__ import annotations

from .presets import PAPER_MODEL, PRESETS, SCALES, UPSCALE_MODEL

__all__ = ["PAPER_MODEL", "PRESETS", "SCALES", "UPSCALE_MODEL", "load"]


def load(name_or_path: str = UPSCALE_MODEL, device: str = "auto", precision: str = "auto",
         compile: bool = False):
    """A loaded model (loaded.LoadedModel) of a preset name or a weights file; see loaded.load."""
    from .loaded import load as load_model

    return load_model(name_or_path, device, precision, compile)
