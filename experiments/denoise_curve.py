"""The --denoise curve: Y-PSNR / SSIM of the blend (1 - S) * clean + S * photo at several S, on
clean and realistic LR, from one pass of each model per image (the blend is linear in S, so
every S is scored from the same two outputs: exactly what `drn eval --denoise S` scores).

    python3 experiments/denoise_curve.py --data-dir ../shared/data/benchmarks \
        --sets Set5:bicubic,B100:bicubic,Set14:real,B100:real --strengths 0,0.25,0.5,0.75,1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from drn_cli.datasets import resolve_dataset
from drn_cli.degradations import modcrop
from drn_cli.evaluate import make_lr, score_image
from drn_cli.inference import load_upscaler
from drn_cli.io import read_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/benchmarks"))
    parser.add_argument("--sets", default="Set5:bicubic,B100:bicubic,Set14:real,B100:real")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--clean", default="drn-s-x4")
    parser.add_argument("--photo", default="drn-s-x4-real")
    args = parser.parse_args()
    strengths = [float(s) for s in args.strengths.split(",")]
    clean, photo = load_upscaler(args.clean), load_upscaler(args.photo)
    scale = clean.scale
    print(f"x{scale}, S = 0: {args.clean}, S = 1: {args.photo}; Y-PSNR / SSIM (paper protocol)")
    print("| set, LR | " + " | ".join(f"S = {s:g}" for s in strengths) + " |")
    print("|---|" + "---|" * len(strengths))
    for entry in args.sets.split(","):
        name, degradation = entry.split(":")
        scores = {s: [] for s in strengths}
        for path in resolve_dataset(name, args.data_dir):
            hr = modcrop(read_rgb(path), scale)
            lr = make_lr(hr, scale, degradation, path.stem)
            a, b = clean.upscale_uint8(lr), photo.upscale_uint8(lr)  # 0..255 floats
            for s in strengths:
                scores[s].append(score_image((1 - s) * a + s * b, hr, scale))
        cells = [f"{np.mean([p for p, _ in v]):.2f} / {np.mean([q for _, q in v]):.4f}" for v in scores.values()]
        print(f"| {name}, {degradation} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
