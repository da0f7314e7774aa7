"""`drn upscale --adapt` against plain `drn upscale` of the same picture, in one process,
interleaved over rounds: the cost of adapting as a ratio to the upscale itself, and its seconds
on this machine for the budget the issue sets (a 0.1 MP LR picture in under a minute on 2 CPU
cores). The picture is a centre crop of a Kodak image (bicubic x4 LR of it would be 0.016 MP;
this times the budget's size); with --blur, the crop blurred: upscaled x4 (bicubic) and taken
back down with that degradation, a picture --denoise auto reads as blurred, whose --adapt output
is back-projected (back_projection.py); the back-projection's own cost is timed too. With --tta,
`--adapt --tta` as well (its passes: those that keep the blur read, Upscaler.ensemble).

    python3 -m benchmarks.adapt_speed ../shared/data/train/Kodak24/kodim03.png --side 316 --rounds 3 --blur gauss2.4x0.8a30 --tta
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from drn_cli.degradations import degrade
from drn_cli.degradations.resize import imresize, quantize_uint8
from drn_cli.device import set_threads
from drn_cli.inference import Upscaler
from drn_cli.io import read_image
from drn_cli.request import DEFAULT_ADAPT_STEPS, UpscaleRequest
from drn_cli.session import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", type=Path)
    parser.add_argument("--side", type=int, default=316, help="centre crop side (316: 0.1 MP)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=DEFAULT_ADAPT_STEPS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--blur", help="make the picture the LR of a 4x larger crop with this degradation (e.g. gauss2.4x0.8a30)")
    parser.add_argument("--tta", action="store_true", help="time --adapt --tta too")
    args = parser.parse_args()
    set_threads(None)
    picture = read_image(args.picture)
    h, w = picture.pixels.shape[:2]
    y, x = max(0, (h - args.side) // 2), max(0, (w - args.side) // 2)
    pixels = picture.pixels[y:y + args.side, x:x + args.side].copy()
    pixels = degrade(quantize_uint8(imresize(pixels, 4)), 4, args.blur) if args.blur else pixels
    picture = type(picture)(pixels, None, "PNG")
    plain = Session(UpscaleRequest(denoise=1, device=args.device, backend="torch"))
    adapt = Session(UpscaleRequest(denoise=1, device=args.device, backend="torch", adapt_steps=args.steps))
    plain.upscale(picture)  # warm-up: the model loads, the allocator settles
    model = plain.upscaler(picture.size, picture).model
    back_projected = Upscaler(model, back_projection=args.blur.split("+")[0]) if args.blur else None
    paths = {"plain": lambda: plain.upscale(picture), "adapt": lambda: adapt.upscale(picture)}
    if back_projected:
        paths["back-projected"] = lambda: back_projected.upscale_array(picture.pixels / 255.0)
    if args.tta:
        adapt_tta = Session(UpscaleRequest(denoise=1, device=args.device, backend="torch", adapt_steps=args.steps,
                                           tta=True))
        paths["adapt --tta"] = lambda: adapt_tta.upscale(picture)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, run in paths.items():
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            tic = time.perf_counter()
            run()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - tic)
    p, a = statistics.median(times["plain"]), statistics.median(times["adapt"])
    print(f"picture {picture.size[0]}x{picture.size[1]} ({picture.size[0] * picture.size[1] / 1e6:.2f} MP), "
          f"{args.steps} steps, {args.rounds} rounds, device {plain.upscaler().device}, threads {torch.get_num_threads()}")
    print(f"plain upscale: median {p:.1f} s (spread {min(times['plain']):.1f}-{max(times['plain']):.1f})")
    print(f"--adapt:       median {a:.1f} s (spread {min(times['adapt']):.1f}-{max(times['adapt']):.1f}), "
          f"{a / p:.1f}x the plain upscale")
    if back_projected:
        b = statistics.median(times["back-projected"])
        print(f"upscale + back-projection (no adapting): median {b:.1f} s (spread {min(times['back-projected']):.1f}-"
              f"{max(times['back-projected']):.1f}), {b / p:.2f}x the plain upscale")
    if args.tta:
        t = statistics.median(times["adapt --tta"])
        print(f"--adapt --tta: median {t:.1f} s (spread {min(times['adapt --tta']):.1f}-{max(times['adapt --tta']):.1f}), "
              f"{t / p:.1f}x the plain upscale")


if __name__ == "__main__":
    main()
