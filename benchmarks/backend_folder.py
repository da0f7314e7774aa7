"""Whole-process time of `drn upscale` on a folder of photos, start-up included, per backend: torch
(`--backend torch`, drn's default torch path), OpenVINO (`--backend openvino`, its converted
model already cached, as every run after the first finds it) and the official fp32 eager path
(one process that imports torch, builds the model and runs each photo whole, as the official
code's test script does). Rounds are interleaved in one run, so that the machine's swings hit
every path alike; medians and spreads are printed. The first OpenVINO process (the conversion)
is timed apart.

    python3 -m benchmarks.backend_folder --count 6 --size 160 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

OFFICIAL_STYLE = """
import sys, numpy as np, torch
from pathlib import Path
from PIL import Image
from drn_cli.models.weights import resolve_model
model, _ = resolve_model(sys.argv[1]).build()
for path in sorted(Path(sys.argv[2]).glob('*.jpg')):
    x = torch.from_numpy(np.asarray(Image.open(path).convert('RGB')).transpose(2, 0, 1).copy()).float()[None]
    with torch.no_grad():
        sr = model(x)[-1]
    Image.fromarray(sr[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy()).save(Path(sys.argv[3]) / path.name)
"""


def photos(folder: Path, count: int, size: int) -> None:
    """`count` smooth-plus-noise JPEG photos, `size` pixels square, seeded."""
    rng = np.random.default_rng(0)
    for i in range(count):
        yy, xx = np.mgrid[0:size, 0:size]
        base = 127 + 90 * np.sin(xx[..., None] / (7 + i) + yy[..., None] / 11 + np.arange(3))
        img = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"p{i:02d}.jpg", quality=85)


def timed(cmd: list[str], env: dict) -> float:
    tic = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "photos"
        folder.mkdir()
        photos(folder, args.count, args.size)
        env = dict(os.environ, DRN_CACHE_DIR=str(root / "cache"))
        env.pop("DRN_BACKEND", None)

        def drn(backend: str, out: str) -> list[str]:
            return [sys.executable, "-m", "drn_cli", "upscale", str(folder), "-o", str(root / out), "--model",
                    args.model, "--backend", backend, "--overwrite"]

        from drn_cli.models.weights import model_path

        official = [sys.executable, "-c", OFFICIAL_STYLE, str(model_path(args.model)), str(folder), str(root / "official")]
        (root / "official").mkdir()
        first = timed(drn("openvino", "ov"), env)  # converts and caches
        paths = {"official fp32 eager": official, "drn --backend torch": drn("torch", "torch"),
                 "drn --backend openvino": drn("openvino", "ov")}
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, cmd in paths.items():
                times[name].append(timed(cmd, env))
    base = statistics.median(times["official fp32 eager"])
    print(f"{args.count} photos of {args.size}x{args.size}, {args.model}, {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} cores")
    print(f"{'path':28s} {'median s':>9s} {'vs official':>12s} {'vs torch':>9s}  spread (min-max)")
    torch_median = statistics.median(times["drn --backend torch"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:28s} {median:9.2f} {base / median:11.2f}x {torch_median / median:8.2f}x  "
              f"{min(values):.2f}-{max(values):.2f}")
    print(f"first OpenVINO process (conversion into the cache): {first:.2f} s")


if __name__ == "__main__":
    main()
