"""Device and precision choice shared by inference and training.

Importing this module does not import torch (each function does), so that the CLI can check
`--device` and `--precision` values before it loads anything (`check_options`).
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from .errors import DrnError, UsageError

if TYPE_CHECKING:
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DEVICE_SPEC = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_options(device: str, precision: str) -> None:
    """UsageError for a --device or --precision value that no machine could accept."""
    if not _DEVICE_SPEC.fullmatch(device):
        raise UsageError(f"unknown --device {device!r}; use auto, cpu, cuda or cuda:N")
    if precision not in PRECISIONS:
        raise UsageError(f"unknown --precision {precision!r}; choose from {', '.join(PRECISIONS)}")


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
