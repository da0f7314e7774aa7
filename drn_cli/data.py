"""Training data: random aligned patches with the bicubic LR pyramid (DRN.md §3).

Every pyramid level is made from the whole HR image directly with the MATLAB-compatible bicubic
(not cascaded), once, when the dataset is built; patches are then cropped at aligned positions
from the cached levels, so the cores go to the network, not to decoding or resizing.

Sample `i` is a pure function of (seed, i): the stream of batches is the same on every run and a
resumed run continues it without saving any data-loader state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .degrade import degrade, modcrop
from .errors import DrnError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def find_images(folder: str | Path) -> list[Path]:
    """Image files under `folder`, recursively, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DrnError(f"{folder}: not a folder of images")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def load_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (grey and palette images converted)."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DrnError(f"{path}: cannot read image ({exc})") from None


def lr_pyramid(hr: np.ndarray, scale: int, kind: str = "bicubic") -> list[np.ndarray]:
    """[LR_0, ..., LR_{phases-1}, HR] of a modcropped (H, W, 3) uint8 image, coarsest first; each
    LR level made from HR directly with the named degradation (degrade.py), rounded to uint8."""
    phases = int(math.log2(scale))
    return [degrade(hr, 2 ** (phases - k), kind) for k in range(phases)] + [hr]


@dataclass
class PatchSpec:
    scale: int
    patch_size: int  # HR pixels, a multiple of scale
    seed: int = 0


class PairedPatches(torch.utils.data.Dataset):
    """Random aligned patch pyramids from HR images, with flips and transposes.

    Item i -> list of phases+1 float tensors (3, p*2**k, p*2**k) in 0..255, coarsest first,
    where p = patch_size // scale. The virtual length is `length`.
    """

    def __init__(self, pyramids: list[list[np.ndarray]], spec: PatchSpec, length: int) -> None:
        if not pyramids:
            raise DrnError("no training images large enough for the patch size")
        self.pyramids, self.spec, self.length = pyramids, spec, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> list[torch.Tensor]:
        rng = np.random.default_rng([self.spec.seed, index])
        levels = self.pyramids[rng.integers(len(self.pyramids))]
        lr_patch = self.spec.patch_size // self.spec.scale
        h, w = levels[0].shape[:2]
        y, x = rng.integers(h - lr_patch + 1), rng.integers(w - lr_patch + 1)
        flips = rng.integers(2, size=3)
        return [augmented_tensor(level[y * 2 ** k: (y + lr_patch) * 2 ** k,
                                       x * 2 ** k: (x + lr_patch) * 2 ** k], flips)
                for k, level in enumerate(levels)]


def augmented_tensor(patch: np.ndarray, flips: np.ndarray) -> torch.Tensor:
    """(h, w, 3) uint8 patch, flipped vertically / horizontally / transposed as the three 0/1
    `flips` say -> (3, h', w') float tensor in 0..255."""
    flip_v, flip_h, transpose = flips
    patch = patch[::-1] if flip_v else patch
    patch = patch[:, ::-1] if flip_h else patch
    patch = patch.transpose(1, 0, 2) if transpose else patch
    return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1))).float()


def build_pyramids(folders: list[str | Path], spec: PatchSpec) -> tuple[list[list[np.ndarray]], list[Path]]:
    """Decode and pyramid every image in `folders`; returns (pyramids, skipped_too_small)."""
    paths = [p for folder in folders for p in find_images(folder)]
    if not paths:
        raise DrnError(f"no images found in {', '.join(map(str, folders))}")
    pyramids, skipped = [], []
    for path in paths:
        hr = modcrop(load_rgb(path), spec.scale)
        if min(hr.shape[:2]) < spec.patch_size:
            skipped.append(path)
            continue
        pyramids.append(lr_pyramid(hr, spec.scale))
    return pyramids, skipped
