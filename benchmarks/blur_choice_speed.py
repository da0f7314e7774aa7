"""What the default's choice costs on a blurred picture: `drn upscale` without options (the damage
read, the blur model's check `inference.blur_explains`, then the blur model) against the photo
model named (`--model drn-s-x4-real`: no reading, no check), in one process, interleaved over
rounds; the check alone is timed too. Ratios to the named model's run, medians and spreads.

    python3 -m benchmarks.blur_choice_speed ../shared/data/train/Kodak24/kodim03.png --side 316 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from drn_cli.degradations import degrade
from drn_cli.degradations.resize import imresize, quantize_uint8
from drn_cli.inference import blur_explains, load_upscaler
from drn_cli.io import Picture, read_image
from drn_cli.request import UpscaleRequest
from drn_cli.session import Session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", type=Path)
    parser.add_argument("--side", type=int, default=316, help="centre crop side of the LR (316: 0.1 MP)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blur", default="gauss2.4x0.8a30", help="the LR is a 4x larger crop taken down with this")
    args = parser.parse_args()
    pixels = read_image(args.picture).pixels[..., :3]
    h, w = pixels.shape[:2]
    side = min(args.side, h // 4 * 4, w // 4 * 4) if args.side * 4 > min(h, w) else args.side
    y, x = (h - side) // 2, (w - side) // 2
    crop = pixels[y: y + side, x: x + side]
    big = quantize_uint8(imresize(crop.astype(float), 4.0)) if side * 4 > min(h, w) else pixels[
        (h - 4 * side) // 2: (h + 4 * side) // 2, (w - 4 * side) // 2: (w + 4 * side) // 2]
    picture = Picture(degrade(big, 4, args.blur), None, "PNG")
    default, named = Session(UpscaleRequest()), Session(UpscaleRequest(model="drn-s-x4-real"))
    photo = load_upscaler("drn-s-x4-real", backend=UpscaleRequest().model_backend)  # as the default's check loads it
    chosen = default.upscale(picture)[1].model.name  # warm-up, and what the default picks
    named.upscale(picture)
    times: dict[str, list[float]] = {"default": [], "photo model named": [], "the check alone": []}
    for _ in range(args.rounds):
        for label, run in (("default", lambda: default.upscale(picture)),
                           ("photo model named", lambda: named.upscale(picture)),
                           ("the check alone", lambda: blur_explains(picture, photo))):
            tic = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - tic)
    base = statistics.median(times["photo model named"])
    print(f"{picture.size[0]}x{picture.size[1]} LR ({args.blur}); the default ran {chosen}; {args.rounds} rounds, interleaved")
    for label, values in times.items():
        ratios = [v / base for v in values]
        print(f"{label:18s} median {statistics.median(ratios):.2f}x the named photo model "
              f"(spread {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
