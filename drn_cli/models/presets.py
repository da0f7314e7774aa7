"""Named models, one table: architecture + tag (`drn-s-x4`, `drn-s-x4-real`), what LR each was
trained on and when to use it.

Torch-free, so that the CLI can name the defaults in its help and check names without loading
anything. A preset is shipped when `weights/<name>.safetensors` exists (weights.model_path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Preset:
    name: str
    variant: str       # the architecture's size: a key of its `variants` (registry.py)
    scale: int
    degradation: str   # the LR it was trained on: bicubic (the paper's) or real (degradations/real.py)
    use: str           # when to pick it, in a few words
    official: str | None = None  # the official DRN checkpoint of this architecture (`drn convert` reads it)
    architecture: str = "drn"    # registry id
    root: str | None = None      # the first model of its lineage (None: itself); `drn average` compares them


_OFFICIAL = "https://github.com/guoyongcs/DRN/releases/download/v0.1/"

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("drn-s-x4-real", "drn-s-x4", 4, "real", "real photos: phone and web JPEGs (blur, noise, compression)",
           root="drn-s-x4"),
    Preset("drn-s-x4", "drn-s-x4", 4, "bicubic", "clean inputs (renders, screenshots, bicubic-made LR); the paper's benchmarks",
           _OFFICIAL + "DRNS4x.pt"),
    Preset("drn-s-x2-real", "drn-s-x2", 2, "real", "real photos at x2 (blur, noise, JPEG), a quarter of the x4 photo model's work",
           root="drn-s-x2"),
    Preset("drn-s-x2", "drn-s-x2", 2, "bicubic", "clean inputs at x2"),
    Preset("drn-s-x8", "drn-s-x8", 8, "bicubic", "clean inputs at x8 when named; drn-s-x4 resized to x8 scores higher (docs/models.md)", _OFFICIAL + "DRNS8x.pt"),
    Preset("drn-l-x2", "drn-l-x2", 2, "bicubic", "the paper's larger model at x2"),
    Preset("drn-l-x4", "drn-l-x4", 4, "bicubic", "the paper's larger model at x4", _OFFICIAL + "DRNL4x.pt"),
    Preset("drn-l-x8", "drn-l-x8", 8, "bicubic", "the paper's larger model at x8", _OFFICIAL + "DRNL8x.pt"),
)}

PAPER_MODEL = "drn-s-x4"      # `drn eval` and `finetune-unpaired` start here (paper protocol)
UPSCALE_MODEL = "drn-s-x4-real"  # what `drn upscale` uses when no --model or --scale is given


SCALES = (2, 4, 8)  # DRN's scales: powers of two (paper Sec. 3.3)


def default_variant(scale: int) -> str:
    """The architecture trained and shipped for a scale when none is named: DRN-S."""
    return f"drn-s-x{scale}"


def preset_for_scale(scale: int | None, default: str = UPSCALE_MODEL) -> str:
    """The model to use when only a scale (or nothing) is given: `default` at its own scale,
    else the DRN-S of that scale."""
    return default if scale is None or PRESETS[default].scale == scale else default_variant(scale)


def shipped_weights_dir() -> Path:
    """Folder of the weights shipped with the package (installed or in a source checkout);
    DRN_WEIGHTS_DIR overrides it."""
    override = os.environ.get("DRN_WEIGHTS_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parents[1]
    installed = package / "shipped_weights"  # pyproject maps the top-level weights/ here
    return installed if installed.is_dir() else package.parent / "weights"


def shipped_file(name: str) -> Path:
    """Where preset `name`'s weights are, whether or not they are there."""
    return shipped_weights_dir() / f"{name}.safetensors"


def model_file(spec: str | os.PathLike) -> Path:
    """The weights file a preset name, a file or a run folder (its model.safetensors) names.
    Torch-free, so front doors check --model before anything loads: UsageError for a name that
    is none of these, WeightsError for a preset whose weights are not installed."""
    from ..atomic import name_problem
    from ..errors import UsageError, WeightsError

    text = str(spec)
    if problem := name_problem(text):
        raise UsageError(f"--model {text[:60]}...: no such model file, run folder or preset ({problem})")
    if text in PRESETS:
        path = shipped_file(text)
        if not path.is_file():
            raise WeightsError(f"no shipped weights for {text} (looked for {path}); pass "
                               "--model PATH with a .safetensors or official .pt file")
        return path
    path = Path(spec)
    if path.is_dir():
        if not (path / "model.safetensors").is_file():
            raise UsageError(f"--model {text}: a folder without model.safetensors; name a run folder of "
                             "drn train or finetune-unpaired, or a weights file")
        return path / "model.safetensors"
    if not path.is_file():
        raise UsageError(f"--model {text}: no such model file, run folder or preset; presets are "
                         f"{', '.join(PRESETS)}")
    return path


def is_installed(name: str) -> bool:
    return shipped_file(name).is_file()


def model_for_outscale(outscale: float, default: str = UPSCALE_MODEL) -> str:
    """For `--outscale X` without --model: the installed preset of `default`'s kind (same training
    degradation) with the smallest scale at or above X, else the one with the largest scale."""
    kind = PRESETS[default].degradation
    family = sorted((p for p in PRESETS.values() if p.degradation == kind and p.name.startswith("drn-s")
                     and is_installed(p.name)), key=lambda p: p.scale)
    if not family:
        return default
    return next((p.name for p in family if p.scale >= outscale), family[-1].name)


def denoise_pair(name: str) -> tuple[str, str] | None:
    """(clean model, photo model) of one architecture and scale that `--denoise` blends, for
    either member's name; None when `name` has no installed partner."""
    preset = PRESETS.get(name)
    if preset is None:
        return None
    partners = {p.degradation: p.name for p in PRESETS.values()
                if p.variant == preset.variant and is_installed(p.name) and p.degradation in ("bicubic", "real")}
    return (partners["bicubic"], partners["real"]) if len(partners) == 2 else None


def upscale_choice(model: str | None, scale: int | None, outscale: float | None) -> tuple[str, float | None]:
    """What `drn upscale` runs, as (model, outscale or None). A named model runs as it is. Without
    one, the default's family (photos) answers --scale as it answers --outscale: its model of that
    scale, else the nearest larger (or the largest), resized. Under --denoise auto (the default
    without a model) each picture then gets that model or its clean partner (denoise_pair): at
    x8, drn-s-x4 or drn-s-x4-real resized, both above drn-s-x8 on their kind of input
    (docs/models.md, docs/real-photos.md)."""
    if model is not None:
        return model, outscale
    if outscale is not None:
        return model_for_outscale(outscale), outscale
    if scale is None:
        return UPSCALE_MODEL, None
    chosen = model_for_outscale(scale)
    return chosen, None if PRESETS[chosen].scale == scale else float(scale)
