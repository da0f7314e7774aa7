"""Tiled vs whole-image output: PSNR between the two on real photos (issue: tiling self-check).

DRN's channel attention pools over the whole feature map, so tiled output cannot be bit-identical
to whole-image output; this measures how far apart they are at the given tile settings.

    python experiments/tiling_psnr.py --images '../shared/data/real_lr/*/*' --min-side 300 --max-side 400
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np

from drn_cli.inference import MAX_CPU_TILE, load_upscaler
from drn_cli.io import read_image
from drn_cli.request import DEFAULT_OVERLAP
from drn_cli.tiling import plan_axis


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="glob of input photos")
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--tile", type=int, default=MAX_CPU_TILE)
    parser.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--min-side", type=int, default=0, help="skip photos smaller than this (LR px)")
    parser.add_argument("--max-side", type=int, default=1 << 30, help="skip photos larger than this (LR px)")
    args = parser.parse_args()
    upscaler = load_upscaler(args.model, "cpu", args.precision)
    print(f"model {args.model}, precision {args.precision}, tile {args.tile}, overlap {args.overlap}\n")
    print("| photo | LR size | tiles | PSNR tiled vs whole (dB, 8-bit RGB) | whole s | tiled s |")
    print("|---|---|---|---|---|---|")
    values = []
    for path in sorted(glob.glob(args.images)):
        picture = read_image(path)
        h, w = picture.pixels.shape[:2]
        if min(h, w) < args.min_side or max(h, w) > args.max_side:
            continue
        rgb = np.repeat(picture.pixels, 3, axis=2) if picture.pixels.shape[2] == 1 else picture.pixels
        image = rgb.astype(np.float32) / (65535.0 if picture.bits == 16 else 255.0)
        t0 = time.perf_counter()
        a = np.clip(upscaler.upscale_array(image, tile=0) * 255 + 0.5, 0, 255).astype(np.uint8)
        t1 = time.perf_counter()
        b = np.clip(upscaler.upscale_array(image, args.tile, args.overlap) * 255 + 0.5, 0, 255).astype(np.uint8)
        t2 = time.perf_counter()
        n = len(plan_axis(h, args.tile, args.overlap)) * len(plan_axis(w, args.tile, args.overlap))
        values.append(psnr_uint8(a, b))
        print(f"| {path.split('/')[-1]} | {w}x{h} | {n} | {values[-1]:.2f} | {t1 - t0:.1f} | {t2 - t1:.1f} |", flush=True)
    print(f"\nmean {np.mean(values):.2f} dB, min {np.min(values):.2f} dB over {len(values)} photos")


if __name__ == "__main__":
    main()
