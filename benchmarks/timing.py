"""Timing shared by the benchmark scripts (`from benchmarks.timing import ...`; run them from the repository root)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def seconds(fn: Callable[[], object], device: torch.device) -> float:
    """Wall clock of one `fn()` (CUDA synchronised before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    tic = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - tic


def median_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall clock of `fn()` over `repeats` runs after one warm-up (CUDA synchronised)."""
    fn()
    times = sorted(seconds(fn, device) for _ in range(repeats))
    return times[len(times) // 2]
