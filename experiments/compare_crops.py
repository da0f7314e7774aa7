"""Side-by-side crops of real photos upscaled by several models (README, docs/adaptation.md).

    python experiments/compare_crops.py PHOTO [PHOTO ...] --models bicubic,drn-s-x4,drn-s-x4-real \
        --crop 48 --out docs/images/real_photos.png

For each photo (a row): a centre crop of the LR, then one column per model, left to right
("bicubic" is MATLAB bicubic; "nearest" the LR pixel-replicated; "S=0.5" the --denoise 0.5 blend;
"auto" the default, --denoise auto; "adapt" the default with --adapt; a model not of --scale is
resized to it, as `drn upscale --outscale` does). With --whole each photo is upscaled whole and
the output cropped (--adapt reads and trains on the whole picture, as drn upscale does). Prints the mean absolute
difference (0..255) between neighbouring columns, so "how much did it change" has a number.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from drn_cli import upscale as drn_upscale
from drn_cli.degradations import imresize, quantize_uint8
from drn_cli.io import read_rgb


def centre(image: np.ndarray, size: int) -> np.ndarray:
    y, x = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[max(y, 0): max(y, 0) + size, max(x, 0): max(x, 0) + size]


def upscale(model: str, lr: np.ndarray, scale: int) -> np.ndarray:
    if model == "nearest":
        return np.kron(lr, np.ones((scale, scale, 1), np.uint8))
    if model == "bicubic":
        return quantize_uint8(imresize(lr.astype(np.float64), scale))
    if model.startswith("S="):  # a --denoise strength of the default models' blend
        return drn_upscale(lr, denoise=float(model[2:]), outscale=scale)
    if model in ("auto", "adapt"):  # the default, or the default adapted to the picture
        return drn_upscale(lr, adapt=model == "adapt")
    return drn_upscale(lr, model=model, outscale=scale)  # resized where the model is not x{scale}, as upscale does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--models", required=True, help="comma-separated: nearest, bicubic, S=0.5 (a --denoise strength), presets or files")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--crop", type=int, default=48, help="LR crop side in pixels")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--whole", action="store_true", help="upscale each photo whole, then crop the outputs")
    args = parser.parse_args()
    models, gap = args.models.split(","), 4
    rows, diffs = [], np.zeros(len(models) - 1)
    for path in args.photos:
        photo = read_rgb(path)
        if args.whole:
            tiles = [centre(upscale(model, photo, args.scale), args.crop * args.scale) for model in models]
        else:
            tiles = [upscale(model, centre(photo, args.crop), args.scale) for model in models]
        diffs += [np.abs(b.astype(float) - a).mean() for a, b in itertools.pairwise(tiles)]
        spacer = np.full((tiles[0].shape[0], gap, 3), 255, np.uint8)
        rows.append(np.concatenate([t for tile in tiles for t in (tile, spacer)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows)[:-gap]).save(args.out, optimize=True)
    for (a, b), d in zip(itertools.pairwise(models), diffs / len(args.photos)):
        print(f"mean |{b} - {a}| = {d:.3f} (0..255)")


if __name__ == "__main__":
    main()
