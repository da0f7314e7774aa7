"""Wall time and peak RSS of one `drn upscale` over a folder: glibc's malloc defaults
(DRN_KEEP_FREED_MEMORY=0) against drn's (device.keep_freed_cpu_memory, with the free heap handed
back between images), each a fresh process, one after the other.

    python3 -m benchmarks.batch_memory ../shared/data/real_lr
"""

from __future__ import annotations

import argparse
import tempfile

from benchmarks.memory import drn_process


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
            peak, wall = drn_process(["upscale", args.folder, "-r", "-o", out, "--model", args.model],
                                     {"DRN_KEEP_FREED_MEMORY": keep})
        print(f"| {name} | {wall:.0f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
