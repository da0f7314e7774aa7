"""Make weights/adapt-pool.png: the clean HR crops `drn upscale --adapt` makes half of its pairs
from (test_time.py). One 192x192 crop of each of Kodak24's kodim09..kodim24 (Kodak's images are
freely usable; ../shared/data/SOURCES.md), the most detailed of a grid of candidates by gradient
energy, tiled 4 x 4. kodim01..08 are left out: docs/adaptation.md scores --adapt on them.

    python scripts/make_adapt_pool.py [--kodak ../shared/data/train/Kodak24]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 192


def detailed_crop(image: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The `side` x `side` crop of (H, W, 3) with the most gradient energy on a half-side grid."""
    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    energy = np.abs(np.diff(luma, axis=0))[:, :-1] + np.abs(np.diff(luma, axis=1))[:-1]
    h, w = energy.shape
    best = max(((y, x) for y in range(0, h - side, side // 2) for x in range(0, w - side, side // 2)),
               key=lambda yx: energy[yx[0]: yx[0] + side, yx[1]: yx[1] + side].sum())
    return image[best[0]: best[0] + side, best[1]: best[1] + side]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=Path("../shared/data/train/Kodak24"))
    parser.add_argument("--out", type=Path, default=Path("weights/adapt-pool.png"))
    args = parser.parse_args()
    crops = [detailed_crop(np.asarray(Image.open(args.kodak / f"kodim{k:02d}.png").convert("RGB")))
             for k in range(9, 25)]
    rows = [np.concatenate(crops[r * 4: r * 4 + 4], axis=1) for r in range(4)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.out, optimize=True)


if __name__ == "__main__":
    main()
