"""`drn finetune-unpaired` alone, beside a busy process on threads fixed at every core (the old
behaviour, OMP_NUM_THREADS set to the core count), and beside it following the free cores (the
default now): patches/s per run (the median of its logged intervals after the first), interleaved
over rounds, each a fresh process; and where an alone run's time goes (its "time:" line).

The busy process is another PyTorch process (a convolution loop on one thread), the neighbour an
adaptation run meets on a shared machine.

    python3 -m benchmarks.adapt_pace ../shared/data/real_lr/RealSRSet --steps 60 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOG = ("import torch; torch.set_num_threads(1); x = torch.rand(1, 16, 128, 128); w = torch.rand(16, 16, 3, 3)\n"
       "while True: torch.nn.functional.conv2d(x, w, padding=1)")


def run(photos: Path, steps: int, env: dict, out: Path) -> tuple[float, str]:
    """(median patches/s after the first interval, the run's "time:" line)."""
    command = [sys.executable, "-m", "drn_cli", "finetune-unpaired", str(photos), "--out", str(out),
               "--steps", str(steps), "--log-every", "10", "--save-every", str(steps)]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    rates = [json.loads(line)["patches_per_s"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "patches_per_s" in line]
    clock = next((line for line in done.stderr.splitlines() if "time: " in line), "")
    return statistics.median(rates[1:] or rates), clock[clock.find("time: "):]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cores = str(os.cpu_count() or 1)
    base = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    ways = {"alone": (False, base), "busy, fixed threads": (True, {**base, "OMP_NUM_THREADS": cores}),
            "busy, following free cores": (True, base)}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for k, (name, (busy, env)) in enumerate(ways.items()):
                hog = subprocess.Popen([sys.executable, "-c", HOG]) if busy else None
                try:
                    time.sleep(1.0 if busy else 0)
                    rate, clock = run(args.photos, args.steps, env, Path(tmp) / f"round{r}-way{k}")
                finally:
                    if hog is not None:
                        hog.kill()
                        hog.wait()
                rates[name].append(rate)
                print(f"round {r + 1}, {name}: {rate:.2f} patches/s" + (f"; {clock}" if not busy else ""), flush=True)
    alone = statistics.median(rates["alone"])
    print("\n| run | patches/s, median (runs) | against alone |\n|---|---|---|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} ({', '.join(f'{v:.2f}' for v in values)}) | {median / alone:.2f}x |")


if __name__ == "__main__":
    main()
