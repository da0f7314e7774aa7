"""Where --denoise auto should call a picture blurred (estimate.AUTO_BLUR_SIGMA): for LR of
training images (Kodak24 and SunHays80's first 40; never a benchmark) made clean and with
Gaussian blurs, each picture's read_blur major sigma (one picture, as auto reads it) and its
Y-PSNR with the clean and with the photo model; then, per threshold, how often "blurred at or
above it" picks the better model and the mean dB lost against always picking the better one.

    python experiments/blur_choice.py [--train ../shared/data/train]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from drn_cli.degradations import degrade, modcrop
from drn_cli.degradations.estimate import read_blur
from drn_cli.evaluate import score_image
from drn_cli.inference import load_upscaler
from drn_cli.io import find_images, read_rgb

DEGRADATIONS = ["bicubic", "gauss1x1a0", "gauss1.3x1.3a0", "gauss1.6x1.2a120", "gauss2x0.6a90", "gauss2.4x0.8a30"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    args = parser.parse_args()
    paths = find_images(args.train / "Kodak24") + find_images(args.train / "SunHays80")[:40]
    clean, photo = load_upscaler("drn-s-x4"), load_upscaler("drn-s-x4-real")
    rows = []  # (degradation, major sigma, psnr clean, psnr photo, minor sigma)
    for name in DEGRADATIONS:
        for path in paths:
            hr = modcrop(read_rgb(path), 4)
            lr = degrade(hr, 4, name)
            blur = read_blur([lr])
            rows.append((name, blur.sigma_major, score_image(clean.upscale_uint8(lr), hr, 4)[0],
                         score_image(photo.upscale_uint8(lr), hr, 4)[0], blur.sigma_minor))
        part = [r for r in rows if r[0] == name]
        print(f"{name}: sigma median {np.median([r[1] for r in part]):.2f} LR px; clean {np.mean([r[2] for r in part]):.3f}, "
              f"photo {np.mean([r[3] for r in part]):.3f} dB; photo better on {sum(r[3] > r[2] for r in part)}/{len(part)}",
              flush=True)
    major, c, p, minor = (np.array([r[k] for r in rows]) for k in (1, 2, 3, 4))
    best = np.maximum(c, p)
    is_clean = np.array([r[0] == "bicubic" for r in rows])
    for label, sigma in (("major sigma", major), ("mean of the two sigmas", (major + minor) / 2)):
        print(f"\n{label}:\n| threshold (LR px) | right choice | mean loss vs the better model (dB) | clean pictures sent to the photo model |")
        print("|---|---|---|---|")
        for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 9):
            pick = np.where(sigma >= threshold, p, c)
            right = np.mean(pick == best)
            print(f"| {threshold:g} | {right:.0%} | {np.mean(best - pick):.3f} | {np.mean(sigma[is_clean] >= threshold):.0%} |")


if __name__ == "__main__":
    main()
