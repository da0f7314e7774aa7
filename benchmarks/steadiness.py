"""How steady each CPU path is on the same input, round after round, in one process: drn's torch
fp32 and bf16 paths (models.load, the call the picture path makes) on one thread per core and on
the threads drn picks (one per core that other work leaves free: device.set_threads), and
OpenVINO bf16 when the package is installed, interleaved so that the machine's swings hit them
alike. Prints each path's median, its spread (max - min) as a share of the median, and every round.

    python3 -m benchmarks.steadiness --size 128 --rounds 10
    python3 -c "while True: pass" & python3 -m benchmarks.steadiness; kill %1   # beside a busy process
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from drn_cli.device import set_threads
from drn_cli.models.loaded import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    cores = os.cpu_count() or 1
    set_threads(None)
    picked = torch.get_num_threads()
    fp32, bf16 = load(args.model, "cpu", "fp32", backend="torch"), load(args.model, "cpu", "bf16", backend="torch")
    paths = {f"torch fp32, {cores} threads": (fp32, cores), f"torch bf16, {cores} threads": (bf16, cores),
             f"torch bf16, {picked} threads (drn's pick)": (bf16, picked)}
    try:
        paths[f"OpenVINO bf16, {picked} threads"] = (load(args.model, "cpu", "bf16", backend="openvino"), picked)
    except Exception as exc:  # noqa: BLE001 - the package is optional
        print(f"OpenVINO left out: {exc}")
    for model, threads in paths.values():
        torch.set_num_threads(threads)
        model(x)  # first-call allocations and kernel choice, twice
        model(x)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.rounds):
        for name, (model, threads) in paths.items():
            torch.set_num_threads(threads)
            tic = time.perf_counter()
            model(x)
            times[name].append(time.perf_counter() - tic)
    print(f"{args.model}, LR {args.size}x{args.size}, {cores} cores, {args.rounds} interleaved rounds")
    print("| path | median s | spread (max-min)/median | rounds |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.3f} | {(max(values) - min(values)) / median:.0%} | "
              f"{' '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
