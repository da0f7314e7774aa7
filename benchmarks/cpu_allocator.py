"""glibc malloc tuning (drn_cli.device.keep_freed_cpu_memory) on and off, each measurement in a
fresh process on this machine, the two settings alternating: time per input pixel of one tile
pass at several tile sides and the system time it caused, a training step, and a whole
`drn upscale` (seconds, peak RSS). Off = DRN_KEEP_FREED_MEMORY=0, glibc's defaults.

    python3 -m benchmarks.cpu_allocator --tiles 96,128,192,256 --size 512
    python3 -m benchmarks.cpu_allocator --tiles 256 --size 512 --precision fp32    # AVX2 CPUs' path
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.memory import run as upscale_process

TILE_PROBE = """
import json, os, sys
from drn_cli.inference import load_upscaler
upscaler = load_upscaler(sys.argv[1], device="cpu", precision=sys.argv[3])
for side in map(int, sys.argv[2].split(",")):
    upscaler.seconds_per_pixel(side)  # warm-up at this shape
    before = os.times()
    seconds = upscaler.seconds_per_pixel(side)
    after = os.times()
    print(json.dumps({"side": side, "us": seconds * 1e6, "user": after.user - before.user,
                      "sys": after.system - before.system}))
"""

TRAIN_PROBE = """
import sys
from types import SimpleNamespace
from benchmarks.train_throughput import make_trainer, patches_per_second
args = SimpleNamespace(model=sys.argv[1], batch_size=8, patch_size=192)
print(patches_per_second(*make_trainer(args, sys.argv[2], channels_last=True), 3))
"""

SETTINGS = {"off (glibc defaults)": {"DRN_KEEP_FREED_MEMORY": "0"}, "on (drn default)": {}}


def probe(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=Path(__file__).parent, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4-real")
    parser.add_argument("--tiles", default="96,128,192,256")
    parser.add_argument("--size", type=int, default=512, help="LR side of the whole-upscale image")
    parser.add_argument("--precision", default="auto", help="auto, or fp32 for the path of CPUs without fast bf16")
    args = parser.parse_args()
    tiles, upscale, train = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in SETTINGS.items():
            lines = probe(TILE_PROBE, env, args.model, args.tiles, args.precision).splitlines()
            tiles[name] = [json.loads(line) for line in lines]
            train[name] = float(probe(TRAIN_PROBE, env, "drn-s-x4", args.precision))
            upscale[name] = upscale_process(args.size, args.model, Path(tmp), ["--precision", args.precision], env)
    off, on = SETTINGS
    print(f"{args.model}, one tile pass after a warm-up, CPU, --precision {args.precision}")
    print("| tile (LR px) | us per input pixel, off | system s, off | us per input pixel, on | system s, on | speed-up |")
    print("|---|---|---|---|---|---|")
    for a, b in zip(tiles[off], tiles[on]):
        print(f"| {a['side']} | {a['us']:.1f} | {a['sys']:.1f} | {b['us']:.1f} | {b['sys']:.1f} | {a['us'] / b['us']:.2f}x |")
    print()
    print("| whole run | off | on | ratio |")
    print("|---|---|---|---|")
    print(f"| `drn upscale` of a {args.size}x{args.size} image, seconds | {upscale[off][1]:.1f} | "
          f"{upscale[on][1]:.1f} | {upscale[off][1] / upscale[on][1]:.2f}x faster |")
    print(f"| the same, peak RSS (MiB) | {upscale[off][0]:.0f} | {upscale[on][0]:.0f} | "
          f"{upscale[on][0] / upscale[off][0]:.2f}x |")
    print(f"| drn-s-x4 train step, batch 8, HR patch 192, patches/s | {train[off]:.2f} | {train[on]:.2f} | "
          f"{train[on] / train[off]:.2f}x faster |")


if __name__ == "__main__":
    main()
