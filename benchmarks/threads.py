"""Threads under contention: the model's time per image with 1 and 2 threads, OpenMP's waiting
threads spinning (GOMP's default), passive, or spinning briefly then sleeping (GOMP_SPINCOUNT),
on an idle machine and beside one busy process.

Each arm is a fresh process (OpenMP reads its settings once) that times `drn upscale`'s picture
path on one --size image after a warm-up (median of --repeats); the busy process is a pure-Python
loop on one core, started before the arm and stopped after it. Ratios are to the idle machine's
2-thread spinning arm (torch's default without our setting).

    python3 -m benchmarks.threads --size 96 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

ARM = """
import json, statistics, sys, time
import numpy as np
from drn_cli.inference import load_upscaler
from drn_cli.io import Picture
from drn_cli.picture import upscale_picture
size, repeats = int(sys.argv[1]), int(sys.argv[2])
u = load_upscaler("drn-s-x4", "cpu")
p = Picture((np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8), None, "PNG")
upscale_picture(p, u)
times = []
for _ in range(repeats):
    tic = time.perf_counter()
    upscale_picture(p, u)
    times.append(time.perf_counter() - tic)
print(json.dumps(statistics.median(times)))
"""

ARMS = {  # name: environment (None: removed)
    "2 threads, spinning (OpenMP default)": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None},
    "2 threads, passive": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": None},
    "2 threads, spinning 10k then sleeping (drn's default)": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": "10000"},
    "2 threads, spinning 100k then sleeping": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": "100000"},
    "1 thread": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None},
}


def run_arm(env: dict, size: int, repeats: int) -> float:
    merged = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", ARM, str(size), str(repeats)], env=merged,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96, help="LR side in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; drn-s-x4, {args.size}x{args.size}, "
          f"median of {args.repeats}, seconds per image (ratio to the idle 2-thread spinning arm)")
    print("| arm | idle | beside one busy process |")
    print("|---|---|---|")
    base = None
    for name, env in ARMS.items():
        idle = run_arm(env, args.size, args.repeats)
        busy_process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            busy = run_arm(env, args.size, args.repeats)
        finally:
            busy_process.kill()
            busy_process.wait()
        base = base or idle
        print(f"| {name} | {idle:.2f} ({idle / base:.2f}) | {busy:.2f} ({busy / base:.2f}) |", flush=True)


if __name__ == "__main__":
    main()
