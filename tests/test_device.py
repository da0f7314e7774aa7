"""device.keep_freed_cpu_memory: on glibc, CPU inference keeps large freed blocks in the heap;
device.return_freed_cpu_memory hands them back between the images of a batch.

Each check runs in a fresh Python, since the setting is process-wide and lasts until exit: it
builds a CPU upscaler (or not), then allocates a 64 MiB tensor and asks glibc's mallinfo2 whether
that block was mapped on its own (the untuned behaviour above 32 MiB) or came from the heap.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from drn_cli.device import keep_freed_cpu_memory

PROBE = """
import ctypes, sys
import torch
from drn_cli.inference import make_upscaler
from drn_cli.models.weights import resolve_model

if len(sys.argv) > 1:
    make_upscaler(resolve_model(sys.argv[1]), device="cpu")

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
block = torch.empty(64 << 20, dtype=torch.uint8)
print("mapped" if libc.mallinfo2().hblkhd >= 64 << 20 else "heap")
"""


def glibc_with_mallinfo2() -> None:
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        version = ""
    if not version or tuple(map(int, version.split()[1].split(".")[:2])) < (2, 33):
        pytest.skip(f"needs glibc 2.33 or later (mallinfo2); this system has {version or 'another libc'}")


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without malloc settings or the opt-out, plus `env`."""
    ours = ("DRN_KEEP_FREED_MEMORY", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    return {**{k: v for k, v in os.environ.items() if k not in ours}, **env}


def where_64_mib_goes(*args: str, **env: str) -> str:
    environment = clean_environment(**env)
    result = subprocess.run([sys.executable, "-c", PROBE, *args], env=environment, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip()


def test_cpu_upscaler_keeps_large_blocks_in_the_heap(tiny_model_file):
    glibc_with_mallinfo2()
    assert where_64_mib_goes() == "mapped"  # the untuned process, for contrast
    assert where_64_mib_goes(str(tiny_model_file)) == "heap"


def test_opt_out_and_the_users_own_malloc_settings_are_respected(tiny_model_file):
    glibc_with_mallinfo2()
    assert where_64_mib_goes(str(tiny_model_file), DRN_KEEP_FREED_MEMORY="0") == "mapped"
    # glibc's own default, set by hand: ours must not replace it
    assert where_64_mib_goes(str(tiny_model_file), MALLOC_TRIM_THRESHOLD_="131072") == "mapped"


def test_not_applied_when_the_user_tuned_malloc(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    assert keep_freed_cpu_memory.__wrapped__() is False


RETURN_PROBE = """
import re
import torch
from drn_cli.device import keep_freed_cpu_memory, return_freed_cpu_memory

def rss_mib():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024

assert keep_freed_cpu_memory()
block = torch.ones(96 << 20, dtype=torch.uint8)  # touched, so resident
del block  # kept by the heap (under the 256 MiB trim threshold)
kept = rss_mib()
return_freed_cpu_memory()
print(kept - rss_mib())
"""


def test_freed_heap_is_handed_back_between_images():
    glibc_with_mallinfo2()
    result = subprocess.run([sys.executable, "-c", RETURN_PROBE], env=clean_environment(), capture_output=True,
                            text=True, check=True)
    assert int(result.stdout) >= 90  # MiB given back of the 96 freed


def test_threads_leave_out_a_core_another_process_keeps_busy(monkeypatch):
    """device.set_threads(None): one thread per core that other work leaves free (two OpenMP
    threads, one sharing its core with a busy process, ran 4x slower: docs/performance.md)."""
    import os
    import subprocess
    import sys

    import torch

    from drn_cli import device

    cores = os.cpu_count() or 1
    if cores < 2:
        pytest.skip("needs two cores to leave one out")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time

        time.sleep(0.3)
        assert device.busy_cores(0.3) >= 0.6
        device.set_threads(None)
        assert torch.get_num_threads() <= cores - 1
    finally:
        hog.kill()
        hog.wait()
        torch.set_num_threads(before)
