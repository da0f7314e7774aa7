"""Device and precision choice shared by inference and training.

Importing this module does not import torch (each function does), so that the CLI can check
`--device` and `--precision` values before it loads anything (`check_options`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
from typing import TYPE_CHECKING

from .errors import DrnError, UsageError

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("auto", "torch", "openvino")
_DEVICE_SPEC = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_options(device: str, precision: str, backend: str = "torch") -> None:
    """UsageError for a --device, --precision or --backend value that no machine could accept."""
    if not _DEVICE_SPEC.fullmatch(device):
        raise UsageError(f"unknown --device {device!r}; use auto, cpu, cuda or cuda:N")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown --precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if backend not in BACKENDS:
        raise UsageError(f"unknown --backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "openvino" and device.startswith("cuda"):
        raise UsageError("--backend openvino runs on the CPU; use --device cpu (or --backend torch on CUDA)")
    if backend == "openvino" and precision == "fp16":
        raise UsageError("--backend openvino runs in bf16 or fp32 here; use --precision bf16 or fp32")


def backend_option(spec: str | None) -> str:
    """--backend's value: `spec`, else DRN_BACKEND, else "auto" (resolve_backend decides then)."""
    return spec or os.environ.get("DRN_BACKEND") or "auto"


def resolve_backend(spec: str, device: torch.device, precision: str) -> str:
    """"torch" or "openvino". 'auto' takes OpenVINO on a CPU that runs bf16 fast (AMX, AVX-512
    BF16), where the openvino package is installed and the precision is auto or bf16: there it
    ran several times faster than torch (docs/performance.md). Elsewhere torch: CUDA, and CPUs
    without fast bf16, where both run fp32 and OpenVINO was measured no faster by enough to
    matter."""
    import importlib.util

    if spec != "auto":
        return spec
    fast = device.type == "cpu" and precision in ("auto", "bf16") and cpu_has_fast_bf16()
    return "openvino" if fast and importlib.util.find_spec("openvino") is not None else "torch"


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N' -> torch.device."""
    import torch

    check_options(spec, "auto")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DrnError(f"device {spec!r} asked for, but no CUDA GPU is available; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DrnError(f"device {spec!r} does not exist: {torch.cuda.device_count()} GPU(s) found")
    return device


# glibc's malloc hands out blocks above its mmap threshold (at most 32 MiB by default) as fresh
# mappings and unmaps them when freed, so on the CPU every large activation of a pass is
# page-faulted and zeroed by the kernel anew: at a 256 px tile that cost as much system time as
# the network's own work (docs/performance.md). Blocks up to 128 MiB (a 256 px tile's largest
# activation is about 42 MB in bf16, 85 MB in fp32) now come from the heap, and up to 256 MiB of
# freed heap is kept, so each layer reuses what the last one freed; larger blocks (whole output
# images) are still mapped and returned, and a batch hands the free heap back between images
# (return_freed_cpu_memory), so the peak stays that of glibc's defaults (docs/performance.md).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>
_MMAP_THRESHOLD = 128 << 20
_TRIM_THRESHOLD = 256 << 20
_USER_MALLOC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def keep_freed_cpu_memory() -> bool:
    """Make glibc's malloc keep freed large blocks for reuse (process-wide, once); True where done.

    Not done off glibc, with DRN_KEEP_FREED_MEMORY=0, or where the user set malloc's own settings
    (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES). The price: the process holds
    on to up to 256 MiB of memory it no longer uses."""
    if os.environ.get("DRN_KEEP_FREED_MEMORY") == "0" or any(k in os.environ for k in _USER_MALLOC_SETTINGS):
        return False
    libc = _glibc()
    return bool(libc and libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and
                libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def return_freed_cpu_memory() -> None:
    """Hand the free pages of the process's heap back to the OS (glibc's malloc_trim), where
    keep_freed_cpu_memory applies. Between the images of a batch: the heap those images leave
    free would otherwise add up over a long batch (docs/performance.md)."""
    if keep_freed_cpu_memory():
        _glibc().malloc_trim(0)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's own symbols, glibc's among them, on a GNU libc system; else None."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError):
        return None
    return ctypes.CDLL(None)


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(spec: str, device: torch.device) -> torch.dtype:
    """'auto' picks bf16 where the hardware runs it fast (CUDA with bf16, CPUs with AVX-512 BF16
    or AMX), fp16 on older GPUs, else fp32. Returns the autocast dtype (float32 = no autocast)."""
    import torch

    check_options("auto", spec)
    if spec == "fp32":
        return torch.float32
    if spec == "bf16":
        return torch.bfloat16
    if spec == "fp16":
        if device.type == "cpu":
            raise DrnError("fp16 is not supported on the CPU; use --precision bf16 or fp32")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """Autocast context for `dtype` on `device`; a no-op for float32."""
    import torch

    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def precision_name(dtype: torch.dtype) -> str:
    import torch

    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def _proc_stat() -> tuple[int, int] | None:
    """(all, idle) CPU time of the machine so far from /proc/stat, in clock ticks; None where it
    cannot be read."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        # user .. steal; guest time is counted in user already
        return sum(values[:8]), values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    except (OSError, ValueError, IndexError):
        return None


class CpuShare:
    """How many cores other processes keep busy, between one call of `elsewhere` and the next:
    the machine's busy time (/proc/stat) less this process's own (os.times, all its threads)."""

    def __init__(self) -> None:
        self._last = self._sample()

    @staticmethod
    def _sample() -> tuple[tuple[int, int] | None, float]:
        times = os.times()
        return _proc_stat(), times.user + times.system

    def elsewhere(self) -> float:
        """Cores (0..cpu_count) busy outside this process since the last call; 0.0 where
        /proc/stat cannot be read."""
        (stat0, own0), (stat1, own1) = self._last, self._sample()
        self._last = (stat1, own1)
        if stat0 is None or stat1 is None or stat1[0] <= stat0[0]:
            return 0.0
        spent, idle = stat1[0] - stat0[0], stat1[1] - stat0[1]
        cores = os.cpu_count() or 1
        wall = spent / cores / os.sysconf("SC_CLK_TCK")  # seconds: every core's ticks add up
        return max(0.0, (spent - idle) / spent * cores - (own1 - own0) / wall)


def busy_cores(window: float = 0.1) -> float:
    """How many cores other work keeps busy, from /proc/stat over `window` seconds (this process
    sleeps meanwhile); 0.0 where /proc/stat cannot be read."""
    import time

    share = CpuShare()
    time.sleep(window)
    return share.elsewhere()


def free_cores(busy: float) -> int:
    """The threads to run on when other work keeps `busy` cores busy: one per core left free."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, round(cores - busy)))


def set_threads(threads: int | None) -> None:
    """--threads: the CPU threads torch (and OpenVINO, models.openvino_model) use for the model.
    None: OMP_NUM_THREADS where it is set, else one per core that other work leaves free. With
    one core of two taken by another process, two OpenMP threads made each op wait for the one
    that shared its core: torch's bf16 path ran 3.6x slower than on one thread and swung 62%
    round to round, fp32 alike (docs/performance.md, benchmarks/steadiness.py)."""
    import torch

    if threads is None and "OMP_NUM_THREADS" not in os.environ:
        threads = free_cores(busy_cores())
    if threads is not None:
        torch.set_num_threads(threads)
