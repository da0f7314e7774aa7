"""Wall time and peak RSS of one `drn upscale` over a folder: glibc's malloc defaults
(DRN_KEEP_FREED_MEMORY=0) against drn's (device.keep_freed_cpu_memory, with the free heap handed
back between images), each a fresh process, one after the other.

    python benchmarks/batch_memory.py ../shared/data/real_lr
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

PEAK = ("import resource, sys; from drn_cli.cli import app; sys.argv[0] = 'drn'\n"
        "try:\n    app()\nfinally:\n"
        "    print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--model", default="drn-s-x4-real")
    args = parser.parse_args()
    print(f"`drn upscale {args.folder} -r --model {args.model}`")
    print("| malloc | wall s | peak RSS (MiB) |")
    print("|---|---|---|")
    for name, keep in (("glibc defaults (DRN_KEEP_FREED_MEMORY=0)", "0"), ("drn's (default)", "1")):
        with tempfile.TemporaryDirectory() as out:
            tic = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", PEAK, "upscale", args.folder, "-r", "-o", out,
                                   "--model", args.model], capture_output=True, text=True,
                                  env={**os.environ, "DRN_KEEP_FREED_MEMORY": keep}, check=False)
            wall = time.perf_counter() - tic
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        peak_kib = int(done.stderr.split("maxrss")[-1].split()[0])
        print(f"| {name} | {wall:.0f} | {peak_kib / 1024:.0f} |", flush=True)


if __name__ == "__main__":
    main()
