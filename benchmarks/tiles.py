"""Time per output pixel across image sizes: 256 px CPU tiles against one tile for the whole
image (what a larger default would do, memory allowing), one run.

    python3 -m benchmarks.tiles --sizes 200,288,400,512,700
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from drn_cli.inference import load_upscaler
from drn_cli.tiling import tile_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,288,400,512,700", help="LR sides in pixels")
    parser.add_argument("--model", default="drn-s-x4-real")
    args = parser.parse_args()
    upscaler = load_upscaler(args.model, "cpu")
    now = 1024  # one tile for every size measured
    upscaler.upscale_array(np.zeros((64, 64, 3), np.float32), 0)  # warm-up
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; {args.model}; "
          f"microseconds per output pixel")
    print("| LR size | tiles of 256 | us/px | one tile | us/px | one tile's speed-up |")
    print("|---|---|---|---|---|---|")
    for side in (int(v) for v in args.sizes.split(",")):
        image = np.random.default_rng(side).random((side, side, 3), dtype=np.float32)
        row = []
        for tile in (256, now):
            tic = time.perf_counter()
            upscaler.upscale_array(image, tile)
            per_pixel = (time.perf_counter() - tic) / (side * side * upscaler.scale ** 2) * 1e6
            row.append((tile_count(side, side, tile, 16), per_pixel))
        (n0, t0), (n1, t1) = row
        print(f"| {side} | {n0} | {t0:.2f} | {n1} | {t1:.2f} | {t0 / t1:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
