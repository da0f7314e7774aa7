"""One-picture adaptation (`drn upscale --adapt`) on a set made by experiments/blind_sets.sh:
each LR of WORK/DEG/single_lr upscaled by the default (--denoise auto's choice), by each shipped
x4 model, and adapted (test_time.adapt_to_picture, from the model auto picks), scored on its HR
with the paper's protocol (Y-PSNR, shave 4). Prints a row per picture and the means.

    python experiments/adapt_single.py runs/blind/gauss2.4x0.8a30 --steps 60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from drn_cli import test_time
from drn_cli.degradations import estimate, modcrop
from drn_cli.degradations.estimate import read_damage
from drn_cli.evaluate import score_image
from drn_cli.inference import Upscaler, load_upscaler, upscaler_for_picture
from drn_cli.io import Picture, find_images, read_rgb
from drn_cli.models.weights import save_weights
from drn_cli.request import UpscaleRequest
from drn_cli.test_time import adapt_to_picture
from drn_cli.training.schedule import lr_at


def _strided(welch, image: np.ndarray, window: int, stride: int, crop: int) -> np.ndarray:
    """welch_spectrum's mean power spectrum with tiles every `stride` pixels: the mean of the
    half-window-stride spectra of the image shifted by multiples of `stride` (the same tiles)."""
    shifts = range(0, window // 2, stride)
    return np.mean([welch(image[dy:, dx:], window, crop) for dy in shifts for dx in shifts], axis=0)


def _cosine_adam(steps: int) -> None:
    """test_time's Adam with its lr falling from the set one to 0 over `steps` steps (half a cosine)."""
    class CosineAdam(torch.optim.Adam):
        def step(self, closure=None):
            done = getattr(self, "done", 0)
            for group in self.param_groups:
                group.setdefault("peak", group["lr"])
                group["lr"] = lr_at(done, group["peak"], 0.0, 0, steps)
            self.done = done + 1
            return super().step(closure)
    test_time.torch.optim.Adam = CosineAdam


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--start", default="auto", help="auto (the default's choice), a model name or a weights file")
    parser.add_argument("--pool", type=Path, help="a folder of HR images whose crops make half of each step's pairs "
                        "(default: the shipped weights/adapt-pool.png)")
    parser.add_argument("--no-pool", action="store_true", help="the picture's own pairs alone")
    parser.add_argument("--kernel", help="the self-pairs' degradation named instead of read (the oracle: the set's "
                        "true kernel, e.g. gauss2.4x0.8a30)")
    parser.add_argument("--lr", type=float, default=test_time.LEARNING_RATE)
    parser.add_argument("--batch", type=int, default=test_time.BATCH, help="pairs a step")
    parser.add_argument("--loop", type=int, default=test_time.LOOP_SHARE, help="closed-loop crops a step")
    parser.add_argument("--welch-stride", type=int, help="read the blur with Welch tiles at this stride (LR pixels; the "
                        "reading's own is half its 32-pixel window)")
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                        help="the learning rate over the steps: constant, or cosine from --lr down to 0")
    parser.add_argument("--save", type=Path, help="a folder to save each picture's adapted weights in "
                        "(STEM.safetensors) and how --adapt runs them (STEM.json: the degradation adapted to, whether the "
                        "model is tied to its blur, Upscaler.back_projection and .ensemble)")
    parser.add_argument("--only", help="comma-separated picture names (stems) to run")
    args = parser.parse_args()
    test_time.LEARNING_RATE, test_time.BATCH, test_time.LOOP_SHARE = args.lr, args.batch, args.loop
    if args.welch_stride:
        welch = estimate.welch_spectrum
        estimate.welch_spectrum = lambda image, window=32, crop=512: _strided(welch, image, window, args.welch_stride, crop)
    if args.schedule == "cosine":
        _cosine_adam(args.steps)
    if args.kernel:
        test_time.self_pair_degradation = lambda photos, qualities, scale: (args.kernel, {})
    models = {name: load_upscaler(name) for name in ("drn-s-x4", "drn-s-x4-real")}
    pool = [] if args.no_pool else [read_rgb(p) for p in find_images(args.pool)] if args.pool else None
    rows = []
    for hr_path in find_images(args.set / "single" / "HR"):
        if args.only and hr_path.stem not in args.only.split(","):
            continue
        hr = modcrop(read_rgb(hr_path), 4)
        lr_path = next(p for p in find_images(args.set / "single_lr") if p.stem == hr_path.stem)
        lr = read_rgb(lr_path)
        reading = read_damage(lr, None)
        auto = upscaler_for_picture(UpscaleRequest(), lr.shape[1::-1], Picture(lr, None, "PNG")).model.name
        start = auto if args.start == "auto" else args.start
        for name in (auto, start):
            models.setdefault(name, load_upscaler(name))
        scores = {name: score_image(up.upscale_uint8(lr), hr, 4)[0] for name, up in models.items()
                  if name in ("drn-s-x4", "drn-s-x4-real", auto, start)}
        tic = time.perf_counter()
        adapted = adapt_to_picture(models[start].model, lr, steps=args.steps, hr_pool=pool)
        scores["adapted"] = score_image(adapted.upscaler().upscale_uint8(lr), hr, 4)[0]
        weights_only = score_image(Upscaler(adapted.model).upscale_uint8(lr), hr, 4)[0]
        seconds = time.perf_counter() - tic
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            save_weights(args.save / f"{hr_path.stem}.safetensors", adapted.model.weights)
            upscaler = adapted.upscaler()
            (args.save / f"{hr_path.stem}.json").write_text(json.dumps(
                {"degradation": adapted.degradation, "tied": adapted.tied_to_blur, "back_projection": upscaler.back_projection,
                 "ensemble": upscaler.ensemble, "line": adapted.text()}))
        rows.append([scores["drn-s-x4"], scores["drn-s-x4-real"], scores[auto], weights_only, scores["adapted"]])
        print(f"{hr_path.stem}: {lr.shape[1]}x{lr.shape[0]} default {auto} ({reading.reason}) {scores[auto]:.3f}  "
              f"drn-s-x4 {scores['drn-s-x4']:.3f}  drn-s-x4-real {scores['drn-s-x4-real']:.3f}  "
              f"adapted {weights_only:.3f}, as --adapt runs it {scores['adapted']:.3f}  [{adapted.text()}; {seconds:.1f} s]", flush=True)
    mean = np.mean(rows, axis=0)
    print(f"mean: drn-s-x4 {mean[0]:.3f}  drn-s-x4-real {mean[1]:.3f}  default {mean[2]:.3f}  adapted weights "
          f"{mean[3]:.3f} ({mean[3] - mean[2]:+.3f})  --adapt {mean[4]:.3f} ({mean[4] - mean[2]:+.3f} over the default)")


if __name__ == "__main__":
    main()
