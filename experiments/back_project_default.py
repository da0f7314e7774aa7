"""What back-projecting the default's output onto the blur read would do (back_projection.py,
as `--adapt` does after adapting), for the pictures --denoise auto reads as blurred, on the
labelled set of experiments/auto_choice.py (Kodak24 and SunHays80's first 40, each degraded in
known ways; never a benchmark). A picture whose closed-loop error through the blur read is
above back_projection.LOOP_ERROR_LIMIT is left as the default makes it, as --adapt leaves it. Prints
per kind: how many pictures read as blurred, how many of those the loop error leaves, and the
mean Y-PSNR change (shave 4) of 3 and 10 iterations over the default on the rest.

    python experiments/back_project_default.py
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from auto_choice import labelled_lrs  # experiments/ is on the path when this file runs

from drn_cli.back_projection import LOOP_ERROR_LIMIT, back_project, loop_error
from drn_cli.degradations.estimate import read_damage, self_pair_degradation
from drn_cli.evaluate import score_image
from drn_cli.inference import load_upscaler
from drn_cli.io import find_images


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float() / 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    args = parser.parse_args()
    photo = load_upscaler("drn-s-x4-real")
    paths = find_images(args.train / "Kodak24") + find_images(args.train / "SunHays80")[:40]
    blurred, left, gains = defaultdict(int), defaultdict(int), defaultdict(list)
    for kind, _, hr, lr, quality in labelled_lrs(paths):
        if lr.ndim != 3 or read_damage(lr, quality, "JPEG" if quality else None).damage != "blur":
            continue
        blurred[kind] += 1
        sr = photo.upscale_uint8(lr)
        degradation = self_pair_degradation([lr], [quality], 4)[0]
        if "+" in degradation or loop_error(lr, sr, degradation) > LOOP_ERROR_LIMIT:
            left[kind] += 1
            continue
        base = score_image(sr, hr, 4)[0]
        gains[kind].append([score_image(back_project(tensor(sr), tensor(lr), degradation, n)[0].permute(1, 2, 0).numpy()
                                        * 255, hr, 4)[0] - base for n in (3, 10)])
    print("| kind | read as blurred | left (noise, JPEG or loop error) | back-projected: 3 iterations | 10 iterations | worst (3) |")
    print("|---|---|---|---|---|---|")
    for kind in blurred:
        g = np.array(gains[kind]) if gains[kind] else np.zeros((0, 2))
        cells = (f"{g[:, 0].mean():+.3f} | {g[:, 1].mean():+.3f} | {g[:, 0].min():+.3f}" if len(g) else "- | - | -")
        print(f"| {kind} | {blurred[kind]} | {left[kind]} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
