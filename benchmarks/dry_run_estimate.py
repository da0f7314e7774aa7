"""How close `drn upscale --dry-run`'s model-time estimate comes to the run: both commands, as a
user runs them, on one folder of JPEGs of several sizes; per image the estimate against the
run's own seconds (decode, upscale, encode), and the totals against the whole command's wall time.

    python3 -m benchmarks.dry_run_estimate                       # CPU, sizes 96..400
    python3 -m benchmarks.dry_run_estimate --device cuda --sizes 256 512 1024 2048
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def photos(folder: Path, sizes: list[int]) -> None:
    """A smooth-plus-noise JPEG per size, 4:3 landscape, `size` pixels wide."""
    rng = np.random.default_rng(0)
    for size in sizes:
        h = size * 3 // 4
        base = np.linspace(0, 255, size)[None, :, None] * rng.uniform(0.3, 1, (1, 1, 3))
        img = np.clip(base + rng.normal(0, 20, (h, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"w{size:05d}.jpg", quality=90)


def drn(*args: str) -> tuple[list[dict], float, str]:
    """(JSON records, wall seconds, stderr) of one `drn upscale` command."""
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "drn_cli", "upscale", *args, "--json"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - tic
    if done.returncode != 0:
        sys.exit(f"drn upscale {' '.join(args)} failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines()], wall, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4-real")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 160, 256, 400])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "in", Path(tmp) / "out"
        folder.mkdir()
        photos(folder, args.sizes)
        common = [str(folder), "-o", str(out), "--model", args.model, "--device", args.device]
        planned, dry_wall, said = drn(*common, "--dry-run")
        done, wall, _ = drn(*common)
    summary = [line for line in said.splitlines() if line.startswith("model time")]
    print(f"{platform.processor() or platform.machine()}, {args.model}, --device {args.device}")
    print(f"dry run: {summary[0] if summary else '(no estimate line)'}; its wall time {dry_wall:.1f} s\n")
    print("| image | LR size | estimate (s) | run (s) | run / estimate |")
    print("|---|---|---|---|---|")
    for p, d in zip(planned, done, strict=True):
        w, h = d["size_in"]
        print(f"| {Path(d['input']).name} | {w}x{h} | {p['seconds']:.2f} | {d['seconds']:.2f} | "
              f"{d['seconds'] / p['seconds']:.2f} |")
    estimate, images = sum(p["seconds"] for p in planned), sum(d["seconds"] for d in done)
    print(f"| all | | {estimate:.2f} | {images:.2f} | {images / estimate:.2f} |")
    print(f"\nthe run's wall time (start-up and model load included): {wall:.1f} s, "
          f"{wall / estimate:.2f}x the estimate")


if __name__ == "__main__":
    main()
