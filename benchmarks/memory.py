"""Peak memory of `drn upscale` against input size: each size runs in a fresh process and
reports its peak RSS, so the numbers show whether memory stays flat as the input grows.

    python3 -m benchmarks.memory --sizes 256,512,1024 --model drn-s-x4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def drn_process(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one `drn ARGS` process, with `env` added to this
    process's environment."""
    cmd = [sys.executable, "-c",
           ("import resource, sys; from drn_cli.cli import app; sys.argv[0] = 'drn'\n"
            "try:\n    app()\nfinally:\n"
            "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"),
           *args]
    tic = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - tic
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    rss_kib = int(done.stderr.split("maxrss")[-1].split()[0])
    return rss_kib / 1024, seconds


def run(size: int, model: str, work: Path, extra: list[str],
        env: dict[str, str] | None = None) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one `drn upscale` process on a size x size photo-like image,
    with `env` added to this process's environment."""
    rng = np.random.default_rng(size)
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.stack([np.sin(xx / (9 + c) + yy / 13) for c in range(3)], axis=2) * 90 + 128
    image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
    src = work / f"in{size}.png"
    Image.fromarray(image).save(src)
    return drn_process(["upscale", str(src), "-o", str(work / "out"), "--model", model, "--overwrite", *extra], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("extra", nargs="*", help="more `drn upscale` options, after --")
    args = parser.parse_args()
    print("| LR input | output MP | peak RSS (MiB) | seconds |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            rss, seconds = run(size, args.model, Path(tmp), args.extra)
            print(f"| {size}x{size} | {(size * 4) ** 2 / 1e6:.1f} | {rss:.0f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
