"""Whole `drn upscale` commands on one folder of photos, compared in one run: each command as a
user runs it (a fresh process: start-up, model loads, decode, model, encode), the commands
alternating over --repeats rounds, the median kept; speed-ups against the last command.

    python3 -m benchmarks.commands ../shared/data/real_lr/RealSRSet --repeats 2 \
        --command "" --command "--model drn-s-x4-real"
"""

from __future__ import annotations

import argparse
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image


def compare(folder: Path, commands: dict[str, list[str]], repeats: int) -> None:
    """Time each command's options on a copy of `folder` and print a table (the last command is
    the baseline of the speed-up column)."""
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            shutil.copy(photo, Path(tmp) / photo.name)
        pixels = sum(Image.open(p).size[0] * Image.open(p).size[1] for p in photos)
        for round_ in range(repeats):
            for k, (name, options) in enumerate(commands.items()):
                out = Path(tmp) / f"out{round_}_{k}"
                tic = time.perf_counter()
                subprocess.run([sys.executable, "-m", "drn_cli", "upscale", tmp, "-o", str(out), *options],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - tic)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}; {len(photos)} photos of "
          f"{folder.name}, {pixels / 1e6:.2f} MP in all; median of {repeats} whole commands")
    print("| command | seconds | speed-up |")
    print("|---|---|---|")
    base = statistics.median(times[list(commands)[-1]])
    for name, values in times.items():
        seconds = statistics.median(values)
        print(f"| `{' '.join(['drn upscale PHOTOS', *commands[name]])}`{name} | {seconds:.1f} | {base / seconds:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="a folder of photos")
    parser.add_argument("--command", action="append", required=True, metavar="OPTIONS",
                        help="the options of one drn upscale command (repeatable; \"\" for none)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    compare(args.photos, {f" ({k + 1})": shlex.split(c) for k, c in enumerate(args.command)}, args.repeats)


if __name__ == "__main__":
    main()
