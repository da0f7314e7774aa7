"""Photos at x2: `drn upscale PHOTOS --scale 2` (the x2 photo model) against today's path before
it, `drn upscale PHOTOS --outscale 2 --model drn-s-x4-real` (the x4 photo model, resized), in one
run: each command once on the same folder, as a user runs it (a fresh process: start-up, decode,
model, encode), the two commands alternating over --repeats rounds, the median kept.

    python3 -m benchmarks.photo_x2_speed ../shared/data/real_lr/RealSRSet --repeats 2
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

COMMANDS = {
    "--scale 2 (drn-s-x2-real)": ["--scale", "2"],
    "--outscale 2 --model drn-s-x4-real (before)": ["--outscale", "2", "--model", "drn-s-x4-real"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="a folder of photos")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    pixels = 0
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            shutil.copy(photo, Path(tmp) / photo.name)
        from PIL import Image

        pixels = sum(Image.open(p).size[0] * Image.open(p).size[1] for p in photos)
        for round_ in range(args.repeats):
            for name, options in COMMANDS.items():
                out = Path(tmp) / f"out{round_}{len(times[name])}{options[0]}"
                tic = time.perf_counter()
                subprocess.run([sys.executable, "-m", "drn_cli", "upscale", tmp, "-o", str(out), *options],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - tic)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}; {len(photos)} photos of "
          f"{args.photos.name}, {pixels / 1e6:.2f} MP in all; median of {args.repeats} whole commands")
    print("| command | seconds | speed-up |")
    print("|---|---|---|")
    base = statistics.median(times[list(COMMANDS)[1]])
    for name, values in times.items():
        seconds = statistics.median(values)
        print(f"| `drn upscale PHOTOS {' '.join(COMMANDS[name])}` | {seconds:.1f} | {base / seconds:.2f}x |")


if __name__ == "__main__":
    main()
