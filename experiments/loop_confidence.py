"""Does the closed-loop error predict the SR error? (docs/confidence.md)

    python experiments/loop_confidence.py --model drn-s-x4 --hr ../shared/data/benchmarks/B100/HR --images 30

For each degradation (bicubic, nearest, bd, real, JPEG at two qualities) the first N images of
the HR folder are degraded (x4, evaluation seeds), upscaled whole with `--confidence`'s
computation (levels.upscale_extras), and scored:
- per image: mean loop error |D(SR) - LR| against Y-PSNR; Spearman rank correlation over all
  images of all degradations, and within each degradation;
- per pixel: how well the loop error (at LR resolution, repeated over each LR pixel's s x s
  block) finds the 10% of SR pixels with the largest error, as AUROC (0.5 = no better than chance).
"""

from __future__ import annotations

import argparse

import numpy as np

from drn_cli.degradations import degrade, modcrop
from drn_cli.degradations.real import seed_for_name
from drn_cli.inference import load_upscaler
from drn_cli.io import find_images, read_rgb
from drn_cli.levels import upscale_extras
from drn_cli.metrics import psnr_y, rgb_to_y

DEGRADATIONS = ("bicubic", "nearest", "bd", "real", "bicubic+jpeg30", "bicubic+jpeg60")


def ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def spearman(a: list[float], b: list[float]) -> float:
    return float(np.corrcoef(ranks(np.asarray(a)), ranks(np.asarray(b)))[0, 1])


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive pixel scores above a random negative one (ties half)."""
    r = ranks(scores) + 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--hr", required=True)
    parser.add_argument("--images", type=int, default=30)
    args = parser.parse_args()
    upscaler = load_upscaler(args.model, "cpu", "auto")
    s = upscaler.scale
    rows, all_loop, all_psnr, aurocs = [], [], [], []
    for kind in DEGRADATIONS:
        loops, psnrs, kind_auroc = [], [], []
        for path in find_images(args.hr)[: args.images]:
            hr = modcrop(read_rgb(path), s)
            lr = degrade(hr, s, kind, seed_for_name(path.stem))
            sr, loop = upscale_extras(upscaler, lr.astype(np.float32) / 255, 0, 16, loop=True)[-2:]
            sr_u8 = np.clip(sr * 255 + 0.5, 0, 255).astype(np.uint8)
            loops.append(float(loop.mean()))
            psnrs.append(psnr_y(sr_u8, hr, s))
            error = np.abs(rgb_to_y(sr_u8.astype(np.float64)) - rgb_to_y(hr.astype(np.float64)))[s:-s, s:-s]
            per_pixel = np.kron(loop, np.ones((s, s)))[s:-s, s:-s]
            top = error >= np.quantile(error, 0.9)
            kind_auroc.append(auroc(per_pixel.ravel(), top.ravel()))
        rows.append((kind, np.mean(loops), np.mean(psnrs), spearman(loops, psnrs), np.mean(kind_auroc)))
        all_loop += loops
        all_psnr += psnrs
        aurocs += kind_auroc
    print(f"model {args.model}, {args.images} images of {args.hr}, x{s}")
    print("| LR degradation | mean loop error | mean PSNR (Y) | Spearman(loop, PSNR) within | pixel AUROC (top-10% SR error) |")
    print("|---|---|---|---|---|")
    for kind, loop, psnr, rho, auc in rows:
        print(f"| {kind} | {loop:.2f} | {psnr:.2f} | {rho:+.2f} | {auc:.3f} |")
    print(f"| all | {np.mean(all_loop):.2f} | {np.mean(all_psnr):.2f} | {spearman(all_loop, all_psnr):+.2f} | {np.mean(aurocs):.3f} |")


if __name__ == "__main__":
    main()
