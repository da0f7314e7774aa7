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
    degradation: str   # the LR it was trained on: bicubic (the paper's), real (degradations/real.py) or blur
    use: str           # when to pick it, in a few words
    official: str | None = None  # the official DRN checkpoint of this architecture (`drn convert` reads it)
    architecture: str = "drn"    # registry id
    root: str | None = None      # the first model of its lineage (None: itself); `drn average` compares them
    # a third-party model, downloaded (verified) into the user cache on first use, never shipped:
    url: str | None = None       # its release file
    sha256: str | None = None    # the release file's SHA-256
    size: int | None = None      # its bytes, where known
    licence: str | None = None


_OFFICIAL = "https://github.com/guoyongcs/DRN/releases/download/v0.1/"

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("drn-s-x4-real", "drn-s-x4", 4, "real", "real photos: phone and web JPEGs (blur, noise, compression)",
           root="drn-s-x4"),
    Preset("drn-s-x4", "drn-s-x4", 4, "bicubic", "clean inputs (renders, screenshots, bicubic-made LR); the paper's benchmarks",
           _OFFICIAL + "DRNS4x.pt"),
    Preset("drn-s-x4-blur", "drn-s-x4", 4, "blur", "blurred pictures without noise or JPEG blocks: what --denoise auto "
           "sends there", root="drn-s-x4"),
    Preset("drn-s-x2-real", "drn-s-x2", 2, "real", "real photos at x2 (blur, noise, JPEG), a quarter of the x4 photo model's work",
           root="drn-s-x2"),
    Preset("drn-s-x2", "drn-s-x2", 2, "bicubic", "clean inputs at x2"),
    Preset("drn-s-x8", "drn-s-x8", 8, "bicubic", "clean inputs at x8 when named; drn-s-x4 resized to x8 scores higher (docs/models.md)", _OFFICIAL + "DRNS8x.pt"),
    Preset("drn-l-x2", "drn-l-x2", 2, "bicubic", "the paper's larger model at x2"),
    Preset("drn-l-x4", "drn-l-x4", 4, "bicubic", "the paper's larger model at x4", _OFFICIAL + "DRNL4x.pt"),
    Preset("drn-l-x8", "drn-l-x8", 8, "bicubic", "the paper's larger model at x8", _OFFICIAL + "DRNL8x.pt"),
)}

_REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
_BSD = "BSD-3-Clause (Real-ESRGAN, Xintao Wang)"
# What users of chaiNNer and Upscayl reach for (docs/models.md): Real-ESRGAN's GAN-trained models,
# sharp on hair, fur and stone where our PSNR-trained ones look painted. SHA-256 and sizes as
# several independent public projects pin them (the Real-ESRGAN project publishes none).
THIRD_PARTY: dict[str, Preset] = {p.name: p for p in (
    Preset("realesr-general-x4v3", "srvgg-x4", 4, "real", "photos, GAN-sharp, small and fast (Real-ESRGAN's general model)",
           architecture="srvgg", url=_REAL_ESRGAN + "v0.2.5.0/realesr-general-x4v3.pth", size=4_885_111,
           sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292", licence=_BSD),
    Preset("RealESRGAN_x4plus", "rrdb-x4", 4, "real", "photos, GAN-sharp: hair, fur, stone (23 RRDBs: slow on a CPU)",
           architecture="rrdb", url=_REAL_ESRGAN + "v0.1.0/RealESRGAN_x4plus.pth", size=67_040_989,
           sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", licence=_BSD),
    Preset("RealESRGAN_x2plus", "rrdb-x2", 2, "real", "photos at x2, GAN-sharp",
           architecture="rrdb", url=_REAL_ESRGAN + "v0.2.1/RealESRGAN_x2plus.pth", size=67_061_725,
           sha256="49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb", licence=_BSD),
    Preset("RealESRGAN_x4plus_anime_6B", "rrdb-anime-x4", 4, "real", "anime and illustrations (6 RRDBs)",
           architecture="rrdb", url=_REAL_ESRGAN + "v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
           sha256="f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da", licence=_BSD),
)}
PRESETS.update(THIRD_PARTY)

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
    return Path(override) if override else package_weights_dir()


def package_weights_dir() -> Path:
    """The package's own weights folder, whatever DRN_WEIGHTS_DIR says: the installed one, or a
    source checkout's weights/ (also home to adapt-pool.png, test_time.py's HR crops)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "shipped_weights"  # pyproject maps the top-level weights/ here
    return installed if installed.is_dir() else package.parent / "weights"


def shipped_file(name: str) -> Path:
    """Where preset `name`'s weights are, whether or not they are there: the shipped folder, or
    for a third-party model the user cache's models/ folder (DRN_CACHE_DIR overrides)."""
    preset = PRESETS.get(name)
    if preset is not None and preset.url:
        from ..download import cache_root

        return cache_root() / "models" / preset.url.rsplit("/", 1)[-1]
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
        if not path.is_file() and not PRESETS[text].url:  # a third-party file downloads when it loads
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
        import difflib

        close = difflib.get_close_matches(text, PRESETS, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(f"--model {text}: no such model file, run folder or preset; {hint}presets are "
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


BLEND_ENDS = ("bicubic", "real")  # the training degradations of a --denoise pair's clean and photo ends


def denoise_pair(name: str) -> tuple[str, str] | None:
    """(clean model, photo model) of one architecture and scale that `--denoise` blends, for
    either member's name; None when `name` has no installed partner."""
    preset = PRESETS.get(name)
    if preset is None or preset.degradation not in BLEND_ENDS:
        return None
    partners = {p.degradation: p.name for p in PRESETS.values()
                if p.variant == preset.variant and is_installed(p.name) and p.degradation in BLEND_ENDS}
    return (partners["bicubic"], partners["real"]) if len(partners) == 2 else None


def blur_model(name: str) -> str | None:
    """The installed blur model (trained on degradations.Blur) of `name`'s architecture and scale,
    which --denoise auto runs on pictures it reads as blurred but not noisy or compressed, where the
    blur read explains them (inference.blur_explains); None where there is none (only x4 has one)."""
    preset = PRESETS.get(name)
    if preset is None:
        return None
    return next((p.name for p in PRESETS.values()
                 if p.variant == preset.variant and p.degradation == "blur" and is_installed(p.name)), None)


def auto_models(name: str) -> tuple[str, ...] | None:
    """The models --denoise auto chooses among for `name`: its (clean, photo) pair, then its blur
    model where one is installed; None where `name` has no pair."""
    pair = denoise_pair(name)
    blur = blur_model(name)
    return None if pair is None else (*pair, blur) if blur else pair


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
