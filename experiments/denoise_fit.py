"""Fit --denoise auto's rule on training images with known damage (never the benchmark sets).

For each HR crop of the training folders, LR is made three ways: clean MATLAB bicubic and two
draws of the realistic family (degradations/real.py). Each LR goes through the clean and the photo
model once; the blend is linear in S, so its PSNR at every S on a 0.05 grid comes from those two
outputs. The rule maps the LR's damage (estimate.damage: blockiness, noise, sharpness) to S as
clip(w0 + w1 (blockiness - 1) + w2 noise + w3 sharpness, 0, 1), rounded to 0.05: a least-squares
line to each LR's best S, then refined by a random search for the highest mean PSNR; and, as a
second kind of rule, thresholds (S = 1 when the blocks, the noise or the blur pass one, else 0)
searched on a grid. Images with an even index fit, the others check. --cache keeps the
features and PSNR curves, so a second run only fits.

    python3 experiments/denoise_fit.py --data ../shared/data/train/Kodak24 ../shared/data/train/BSD200 --images 80
"""

from __future__ import annotations

import argparse

import numpy as np

from drn_cli.degradations import degrade, modcrop
from drn_cli.degradations.estimate import damage
from drn_cli.inference import load_upscaler
from drn_cli.io import find_images, read_rgb

GRID = np.round(np.linspace(0, 1, 21), 2)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / max(np.mean((np.clip(np.round(a), 0, 255) - b) ** 2), 1e-9)))


def rule_strength(w: np.ndarray, features: np.ndarray) -> np.ndarray:
    return np.round(np.clip(features @ w, 0, 1) * 20) / 20


def mean_psnr(w: np.ndarray, features: np.ndarray, curves: np.ndarray) -> float:
    index = np.round(rule_strength(w, features) * 20).astype(int)
    return float(curves[np.arange(len(curves)), index].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["../shared/data/train/Kodak24", "../shared/data/train/BSD200"])
    parser.add_argument("--images", type=int, default=80)
    parser.add_argument("--crop", type=int, default=256, help="HR crop side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="an .npz file for the features and PSNR curves")
    args = parser.parse_args()
    if args.cache and __import__("os").path.exists(args.cache):
        data = np.load(args.cache)
        return fit_rules(data["image"], data["kinds"], data["features"], data["curves"], args.seed)
    clean, photo = load_upscaler("drn-s-x4"), load_upscaler("drn-s-x4-real")
    paths = [p for folder in args.data for p in find_images(folder)]
    paths = [paths[i] for i in np.linspace(0, len(paths) - 1, args.images).astype(int)]
    image, kinds, features, curves = [], [], [], []
    for k, path in enumerate(paths):
        img = read_rgb(path)
        h, w = img.shape[:2]
        y, x = max(0, (h - args.crop) // 2), max(0, (w - args.crop) // 2)
        hr = modcrop(img[y: y + args.crop, x: x + args.crop], 4)
        for kind, seed in (("bicubic", 0), ("real", 2 * k), ("real", 2 * k + 1)):
            lr = degrade(hr, 4, kind, seed)
            a, b = clean.upscale_uint8(lr).astype(np.float64), photo.upscale_uint8(lr).astype(np.float64)
            f = damage(lr)
            image.append(k)
            kinds.append(kind)
            features.append([1.0, f.blockiness - 1, f.noise, f.sharpness])
            curves.append([psnr((1 - s) * a + s * b, hr) for s in GRID])
    image, kinds = np.array(image), np.array(kinds)
    features, curves = np.array(features), np.array(curves)
    if args.cache:
        np.savez(args.cache, image=image, kinds=kinds, features=features, curves=curves)
    fit_rules(image, kinds, features, curves, args.seed)


def threshold_strength(t: np.ndarray, features: np.ndarray) -> np.ndarray:
    """1 where the blockiness excess, the noise or the blur (low sharpness) passes its threshold."""
    return ((features[:, 1] > t[0]) | (features[:, 2] > t[1]) | (features[:, 3] < t[2])).astype(float)


def fit_rules(image, kinds, features, curves, seed: int) -> None:
    fit, check = image % 2 == 0, image % 2 == 1
    best = GRID[curves.argmax(axis=1)]
    w, *_ = np.linalg.lstsq(features[fit], best[fit], rcond=None)
    rng = np.random.default_rng(seed)
    score = mean_psnr(w, features[fit], curves[fit])
    for step in range(4000):  # refine for PSNR, not for S
        trial = w + rng.normal(0, 0.3 * 0.999 ** step, 4) * np.array([0.5, 1.0, 0.05, 0.2])
        trial_score = mean_psnr(trial, features[fit], curves[fit])
        if trial_score > score:
            w, score = trial, trial_score
    def threshold_psnr(t, sel) -> float:
        index = (threshold_strength(t, features[sel]) * 20).astype(int)
        return float(curves[sel][np.arange(sel.sum()), index].mean())

    grid = [(b, n, s) for b in np.linspace(0.0, 0.3, 16) for n in np.linspace(1, 12, 23) for s in np.linspace(-3, 1, 21)]
    t = max(grid, key=lambda t: threshold_psnr(np.array(t), fit))
    print("DENOISE_RULE =", tuple(round(float(v), 4) for v in w), " DENOISE_THRESHOLDS =", tuple(round(float(v), 3) for v in t))
    for label, part in (("fit half", fit), ("check half", check)):
        for kind in ("bicubic", "real"):
            sel = part & (kinds == kind)
            s0, s1 = curves[sel, 0].mean(), curves[sel, -1].mean()
            oracle = curves[sel].max(axis=1).mean()
            print(f"{label}, {kind} LR ({sel.sum()}): S=0 {s0:.3f}, S=1 {s1:.3f}, best S per image {oracle:.3f}, "
                  f"line {mean_psnr(w, features[sel], curves[sel]):.3f} (mean S {rule_strength(w, features[sel]).mean():.2f}), "
                  f"thresholds {threshold_psnr(np.array(t), sel):.3f} (mean S {threshold_strength(np.array(t), features[sel]).mean():.2f})")
    for kind in ("bicubic", "real"):
        sel = kinds == kind
        print(kind, "blockiness-1, noise, sharpness percentiles 10/50/90:",
              [np.round(np.percentile(features[sel, i], [10, 50, 90]), 2).tolist() for i in (1, 2, 3)])


if __name__ == "__main__":
    main()
