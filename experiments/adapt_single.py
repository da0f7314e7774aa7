"""One-picture adaptation (`drn upscale --adapt`) on a set made by experiments/blind_sets.sh:
each LR of WORK/DEG/single_lr upscaled by the default (--denoise auto's choice), by each shipped
x4 model, and adapted (test_time.adapt_to_picture, from the model auto picks), scored on its HR
with the paper's protocol (Y-PSNR, shave 4). Prints a row per picture and the means.

    python experiments/adapt_single.py runs/blind/gauss2.4x0.8a30 --steps 60
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from drn_cli.degradations import modcrop
from drn_cli.degradations.estimate import read_damage
from drn_cli.evaluate import score_image
from drn_cli.inference import Upscaler, load_upscaler
from drn_cli.io import find_images, read_rgb
from drn_cli.test_time import adapt_to_picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--start", default="auto", help="auto (the default's choice) or a model name")
    parser.add_argument("--pool", type=Path, help="a folder of HR images whose crops make half of each step's pairs "
                        "(default: the shipped weights/adapt-pool.png)")
    parser.add_argument("--no-pool", action="store_true", help="the picture's own pairs alone")
    args = parser.parse_args()
    models = {name: load_upscaler(name) for name in ("drn-s-x4", "drn-s-x4-real")}
    pool = [] if args.no_pool else [read_rgb(p) for p in find_images(args.pool)] if args.pool else None
    rows = []
    for hr_path in find_images(args.set / "single" / "HR"):
        hr = modcrop(read_rgb(hr_path), 4)
        lr_path = next(p for p in find_images(args.set / "single_lr") if p.stem == hr_path.stem)
        lr = read_rgb(lr_path)
        reading = read_damage(lr, None)
        auto = "drn-s-x4-real" if reading.strength >= 0.5 else "drn-s-x4"
        start = auto if args.start == "auto" else args.start
        scores = {name: score_image(up.upscale_uint8(lr), hr, 4)[0] for name, up in models.items()}
        tic = time.perf_counter()
        adapted = adapt_to_picture(models[start].model, lr, steps=args.steps, hr_pool=pool)
        scores["adapted"] = score_image(Upscaler(adapted.model).upscale_uint8(lr), hr, 4)[0]
        seconds = time.perf_counter() - tic
        rows.append([scores["drn-s-x4"], scores["drn-s-x4-real"], scores[auto], scores["adapted"]])
        print(f"{hr_path.stem}: {lr.shape[1]}x{lr.shape[0]} default {auto} ({reading.reason}) {scores[auto]:.3f}  "
              f"drn-s-x4 {scores['drn-s-x4']:.3f}  drn-s-x4-real {scores['drn-s-x4-real']:.3f}  "
              f"adapted {scores['adapted']:.3f}  [{adapted.text()}; {seconds:.1f} s]", flush=True)
    mean = np.mean(rows, axis=0)
    print(f"mean: drn-s-x4 {mean[0]:.3f}  drn-s-x4-real {mean[1]:.3f}  default {mean[2]:.3f}  adapted {mean[3]:.3f} "
          f"({mean[3] - mean[2]:+.3f} over the default)")


if __name__ == "__main__":
    main()
