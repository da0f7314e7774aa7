"""Whole-process time of one photo, start-up included: `drn upscale` at default settings against a
process that does what the official code's test path does (import torch, build the model, load
the weights, fp32 eager forward of the whole image, save a PNG). Same weights, same photo.

    python3 -m benchmarks.whole_process --size 512x384 --model drn-s-x4
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

OFFICIAL_STYLE = """
import sys, numpy as np, torch
from PIL import Image
from drn_cli.models.weights import resolve_model
model, _ = resolve_model(sys.argv[1]).build()
x = torch.from_numpy(np.asarray(Image.open(sys.argv[2]).convert('RGB')).transpose(2, 0, 1).copy()).float()[None]
with torch.no_grad():
    sr = model(x)[-1]
Image.fromarray(sr[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy()).save(sys.argv[3])
"""


def seconds(cmd: list[str]) -> float:
    tic = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x384", help="LR photo size, WxH")
    parser.add_argument("--model", default="drn-s-x4")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:height, 0:width]
        image = np.stack([np.sin(xx / (9 + c) + yy / 13) for c in range(3)], axis=2) * 90 + 128
        Image.fromarray(np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)).save(work / "in.png")
        official = seconds([sys.executable, "-c", OFFICIAL_STYLE, args.model, str(work / "in.png"), str(work / "o.png")])
        ours = seconds([sys.executable, "-m", "drn_cli", "upscale", str(work / "in.png"), "-o", str(work / "out"),
                        "--model", args.model])
    print(f"| {args.model} | {args.size} | {official:.1f} | {ours:.1f} | {official / ours:.2f} |")


if __name__ == "__main__":
    main()
