"""Before/after crops for docs/adaptation.md: for each photo, a centre crop of the LR input
(pixel-replicated), the base model's output and the adapted model's output, side by side.
Prints the mean absolute difference (0..255) between the adapted and base crops, and between
the replicated LR and the base, so "how much did adaptation change" has a number.

    python benchmarks/adaptation_crops.py --base weights/drn-s-x4.safetensors \
        --adapted runs/real/model.safetensors --out docs/images/adapt_real.png PHOTO [PHOTO ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from drn_cli.inference import load_upscaler
from drn_cli.io import read_rgb


def centre(image: np.ndarray, size: int) -> np.ndarray:
    y, x = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[max(y, 0): max(y, 0) + size, max(x, 0): max(x, 0) + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--base", required=True)
    parser.add_argument("--adapted", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--crop", type=int, default=48, help="LR crop side in pixels")
    args = parser.parse_args()
    base, adapted = load_upscaler(args.base), load_upscaler(args.adapted)
    s, gap = base.scale, 4
    rows, changed, upscaled = [], [], []
    for path in args.photos:
        lr = centre(read_rgb(path), args.crop)
        tiles = [np.kron(lr, np.ones((s, s, 1), np.uint8))]
        for upscaler in (base, adapted):
            tiles.append((upscaler.upscale_array(lr.astype(np.float32) / 255) * 255).round().astype(np.uint8))
        changed.append(np.abs(tiles[2].astype(float) - tiles[1]).mean())
        upscaled.append(np.abs(tiles[1].astype(float) - tiles[0]).mean())
        height = tiles[0].shape[0]
        spacer = np.full((height, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([t for tile in tiles for t in (tile, spacer)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows)[:-gap]).save(args.out, optimize=True)
    print(f"mean |adapted - base| {np.mean(changed):.3f}; mean |base - replicated LR| {np.mean(upscaled):.3f}")


if __name__ == "__main__":
    main()
