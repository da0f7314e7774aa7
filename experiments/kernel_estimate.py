"""How well `degradations.estimate.read_blur` reads a Gaussian blur from LR alone (docs/adaptation.md).

    python experiments/kernel_estimate.py [--train ../shared/data/train]

1. Calibration: the spectral slope prior (estimate.ALPHA_PRIOR) is the median slope of clean
   bicubic x4 LR of BSD200's first 60 images, fitted with the prior off.
2. Accuracy on images the prior never saw (SunHays80's first 40), for known kernels at x4: read
   from the folder of 40 LR, and from each single LR (median and quartiles over 16); also with
   noise and JPEG stages after the blur. Errors in HR pixels; angle errors only where the
   kernel is anisotropic (ratio above 1.3).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from drn_cli.degradations import degrade, gauss_name, modcrop
from drn_cli.degradations.estimate import fit_blur, read_blur, welch_spectrum
from drn_cli.io import find_images, read_rgb

KERNELS = [(0, 0, 0), (2.4, 0.8, 30), (1.6, 1.2, 120), (2.0, 1.0, 120), (3.0, 1.2, 75), (1.0, 0.6, 160), (1.6, 1.6, 0)]
STAGES = ["", "+noise10", "+jpeg75", "+noise10+jpeg50"]


def angle_error(a: float, b: float) -> float:
    return abs((a - b + 90) % 180 - 90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    args = parser.parse_args()
    calibration = [modcrop(read_rgb(p), 4) for p in find_images(args.train / "BSD200")[:60]]
    slope = fit_blur([welch_spectrum(degrade(hr, 4, "bicubic")) for hr in calibration], prior_weight=0).alpha
    print(f"calibration: median slope of clean bicubic LR (BSD200, 60 images) {slope:.3f}\n")
    test = [modcrop(read_rgb(p), 4) for p in find_images(args.train / "SunHays80")[:40]]
    print("| LR (x4) | read from the folder (40): sigmas (HR px) at angle -> self-pairs | single images: major sigma median [quartiles] | minor | angle error: folder / singles (median) |")
    print("|---|---|---|---|---|")
    for major, minor, angle in KERNELS:
        base = "bicubic" if major == 0 else gauss_name(major, minor, angle)
        for stage in STAGES:
            lrs = [degrade(hr, 4, base + stage, seed=i) for i, hr in enumerate(test)]
            folder = read_blur(lrs)
            singles = [read_blur([lr]) for lr in lrs[:16]]
            s_major = np.array([r.hr_sigmas(4)[0] for r in singles])
            s_minor = np.array([r.hr_sigmas(4)[1] for r in singles])
            aniso = major > 1.3 * minor
            ang = (f"{angle_error(folder.angle, angle):.0f} / {np.median([angle_error(r.angle, angle) for r in singles]):.0f}"
                   if aniso else "-")
            f_major, f_minor = folder.hr_sigmas(4)
            print(f"| {base + stage} | {f_major:.2f} x {f_minor:.2f} at {folder.angle:.0f} -> {folder.degradation(4)} | {np.median(s_major):.2f} [{np.percentile(s_major, 25):.2f}, "
                  f"{np.percentile(s_major, 75):.2f}] | {np.median(s_minor):.2f} | {ang} |")


if __name__ == "__main__":
    main()
