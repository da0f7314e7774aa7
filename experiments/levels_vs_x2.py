"""The x4 model's own x2 level (`drn upscale --all-levels`) against drn-s-x2, same input.

    python experiments/levels_vs_x2.py --x4 drn-s-x4 --x2 drn-s-x2 --hr ../shared/data/benchmarks/Set5/HR

Both get the same LR (MATLAB bicubic HR/4) and make an image of twice its size; each is scored
against the bicubic HR/2 (the target of the x4 model's x2 level in training), Y-PSNR/SSIM with a
border of 2, as `drn eval` does. MATLAB bicubic x2 of the LR is the baseline row.
"""

from __future__ import annotations

import argparse

import numpy as np

from drn_cli.degradations import degrade, imresize, modcrop, quantize_uint8
from drn_cli.inference import load_upscaler
from drn_cli.io import find_images, read_rgb
from drn_cli.levels import upscale_extras
from drn_cli.metrics import psnr_y, ssim_y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x4", default="drn-s-x4")
    parser.add_argument("--x2", default="drn-s-x2")
    parser.add_argument("--hr", action="append", required=True, help="HR folder (repeatable)")
    args = parser.parse_args()
    x4, x2 = load_upscaler(args.x4, "cpu", "auto"), load_upscaler(args.x2, "cpu", "auto")
    print(f"| set | bicubic x2 of the LR | {args.x2} on the LR | {args.x4}'s x2 level |")
    print("|---|---|---|---|")
    for folder in args.hr:
        scores = {"bicubic": [], "x2": [], "level": []}
        for path in find_images(folder):
            hr = modcrop(read_rgb(path), 4)
            target, lr = degrade(hr, 2), degrade(hr, 4)
            image = lr.astype(np.float32) / 255
            outputs = {"bicubic": quantize_uint8(imresize(lr.astype(np.float64), 2)),
                       "x2": quantize_uint8(x2.upscale_array(image, tile=0) * 255),
                       "level": quantize_uint8(upscale_extras(x4, image, 0, 16, loop=False)[0] * 255)}
            for name, out in outputs.items():
                scores[name].append((psnr_y(out, target, 2), ssim_y(out, target, 2)))
        cells = [f"{np.mean([p for p, _ in v]):.2f} / {np.mean([q for _, q in v]):.4f}" for v in scores.values()]
        print(f"| {folder.rstrip('/').split('/')[-2]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
