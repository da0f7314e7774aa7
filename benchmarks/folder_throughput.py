"""Folder throughput of `drn upscale`'s batch path, images per second, one run: decode, upscale and
encode one after another (before) against the pipelined run_jobs (decode-ahead and threaded
writes), with the two parts alone beside them, so it shows what bounds a folder: the model
or the files.

    python3 -m benchmarks.folder_throughput --count 8 --size 128
    python3 -m benchmarks.folder_throughput --device cuda --count 10 --size 500 [--compile]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from drn_cli.batch import OutputOptions, run_jobs
from drn_cli.inference import load_upscaler
from drn_cli.picture import upscale_picture as upscale_whole
from drn_cli.request import OutputSpec, RunOptions


def upscale_picture(picture, upscaler):
    return upscale_whole(picture, upscaler).final
from drn_cli.io import read_image, write_image
from drn_cli.plan import plan_jobs


def photos(folder: Path, count: int, size: int) -> None:
    """`count` smooth-plus-noise JPEG photos, `size` pixels square."""
    rng = np.random.default_rng(0)
    for i in range(count):
        base = np.linspace(0, 255, size)[None, :, None] * rng.uniform(0.3, 1, (1, 1, 3))
        img = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"p{i:03d}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4-real")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--io-threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="as drn upscale --compile (the warm-up compiles)")
    args = parser.parse_args()
    upscaler = load_upscaler(args.model, args.device, compile=args.compile)
    sync = torch.cuda.synchronize if upscaler.device.type == "cuda" else (lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        photos(folder, args.count, args.size)
        inputs = sorted(folder.iterdir())
        upscale_picture(read_image(inputs[0]), upscaler)  # warm-up
        pictures = [read_image(p) for p in inputs]

        def timed(fn) -> float:
            sync()
            tic = time.perf_counter()
            fn()
            sync()
            return args.count / (time.perf_counter() - tic)

        def sequential(out: Path) -> None:
            for path in inputs:
                write_image(out / f"{path.stem}_x4.png", upscale_picture(read_image(path), upscaler))

        def pipelined(out: Path) -> None:
            plan = plan_jobs([str(folder)], upscaler.scale, out)
            results = list(run_jobs(plan, upscaler, RunOptions(), OutputSpec(), OutputOptions(), io_threads=args.io_threads))
            assert all(r.status == "ok" for r in results), results

        def model_only() -> None:
            for picture in pictures:
                upscale_picture(picture, upscaler)

        outputs = [upscale_picture(p, upscaler) for p in pictures[:1]] * args.count

        def files_only(out: Path) -> None:
            for path, picture in zip(inputs, outputs, strict=True):
                read_image(path)
                write_image(out / f"{path.stem}_x4.png", picture, overwrite=True)

        dirs = [Path(tmp) / name for name in ("seq", "pipe", "files")]
        for d in dirs:
            d.mkdir()
        device = torch.cuda.get_device_name(upscaler.device) if upscaler.device.type == "cuda" else \
            f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
        print(f"{device}, torch {torch.__version__}; {args.model}, {args.count} JPEGs {args.size}x{args.size} "
              f"-> x{upscaler.scale} PNG")
        print("| path | images/s | ratio |")
        print("|---|---|---|", flush=True)
        paths = [("decode + upscale + encode, one after another (before)", lambda: sequential(dirs[0])),
                 (f"run_jobs, pipelined ({args.io_threads} I/O threads)", lambda: pipelined(dirs[1])),
                 ("the model alone (decoded pictures in memory)", model_only),
                 ("decode + encode alone (no model)", lambda: files_only(dirs[2]))]
        before = None
        for label, fn in paths:  # each row as it is measured: a run cut short still says something
            rate = timed(fn)
            before = before or rate
            print(f"| {label} | {rate:.2f} | {rate / before:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
