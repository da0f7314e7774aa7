"""How fast a run goes and why: its rate per logged interval, the cores other processes take
meanwhile, the rate it made when it had the CPU to itself, and (on a CPU) its threads.

Two OpenMP threads on two cores, one of them shared with another busy process, make every op
wait for the thread that shares its core: an adaptation run fell from 12 to 0.6-1.4 patches/s
beside another torch process (docs/performance.md). So on a CPU the run follows the cores other
work leaves free, one thread per free core, as `drn upscale` does at its start; where
OMP_NUM_THREADS fixes the threads it keeps them.

The rate a kind of run (model, patches, precision, device) made with the CPU to itself is kept in
the user cache (pace.json), so that a run slowed from its first step still says what to expect.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import torch

from ..atomic import write_bytes_atomic
from ..device import CpuShare, busy_cores, free_cores
from ..download import cache_root
from ..errors import DrnError

QUIET = 0.25  # cores busy elsewhere under which an interval counts as having the CPU to itself


class Pace:
    """One run's pace, measured interval by interval (`interval`), and where its time went."""

    def __init__(self, device: torch.device, follow_free_cores: bool, workload: str = "") -> None:
        """`workload` names the kind of run whose quiet rate is remembered ("" remembers none)."""
        self.workload = workload
        self.on_cpu = device.type == "cpu"
        self.follow = follow_free_cores and self.on_cpu and "OMP_NUM_THREADS" not in os.environ
        self.share: CpuShare | None = None
        self.quiet_rates: list[float] = []
        self.intervals = 0
        self.waiting = 0.0  # seconds spent waiting for batches (the task's data)
        self.threads_before = torch.get_num_threads()
        self.remembered = _remembered().get(workload) if workload else None  # read once, not per interval

    def __enter__(self) -> Pace:  # noqa: PYI034 (Self needs Python 3.11)
        """Training starts: on one thread per core free now (following free cores)."""
        self.threads_before = torch.get_num_threads()
        if self.follow:
            torch.set_num_threads(free_cores(busy_cores()))
        if self.on_cpu:
            self.share = CpuShare()  # intervals count from here
        return self

    def __exit__(self, *exc) -> None:
        """Training stops: the process's threads as they were, and its quiet rate remembered."""
        if self.follow:
            torch.set_num_threads(self.threads_before)
        if self.workload and self.quiet_rates:
            remembered = _remembered()
            remembered[self.workload] = round(statistics.median(self.quiet_rates), 3)
            try:
                _pace_file().parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(_pace_file(), json.dumps(remembered, indent=1).encode(), overwrite=True)
            except (OSError, DrnError):
                pass  # a read-only cache costs only the next run's expectation

    def expected(self) -> float | None:
        """Patches/s with the CPU to itself: the median of this run's quiet intervals, else the
        rate remembered for its workload, else None."""
        return statistics.median(self.quiet_rates) if self.quiet_rates else self.remembered

    def interval(self, patches: int, seconds: float) -> dict:
        """The step event's pace fields for an interval of `patches` in `seconds`: patches_per_s,
        and on a CPU busy_elsewhere (cores), expected_patches_per_s (`expected`: quiet intervals
        count from the second, the first warms up) and threads (set for the next interval when
        following free cores)."""
        rate = patches / seconds
        self.intervals += 1
        fields = {"patches_per_s": rate}
        if self.share is None:
            return fields
        busy = self.share.elsewhere()
        expected = self.expected()
        if expected:
            fields["expected_patches_per_s"] = expected
        if busy < QUIET and self.intervals > 1:
            self.quiet_rates.append(rate)
        if self.follow:
            free = free_cores(busy)
            if free < torch.get_num_threads() or busy < QUIET:  # down at once, up only once the CPU is quiet
                torch.set_num_threads(free)
        return {**fields, "busy_elsewhere": round(busy, 2), "threads": torch.get_num_threads()}


def _pace_file() -> Path:
    """The remembered quiet rates (asked each time: DRN_CACHE_DIR may change)."""
    return cache_root() / "pace.json"


def _remembered() -> dict[str, float]:
    """The quiet rates of earlier runs, by workload; {} where none is kept or it is unreadable."""
    try:
        data = json.loads(_pace_file().read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}
