"""Where `drn upscale`'s time goes on one image, one run: the model's forward alone, then each
stage the path adds around it (finite check, tiling and blending, the copy to the host as float
or as integers), then on CUDA the peak memory per LR pixel, then a profiler table of the whole
path. Output megapixels per second.

    python3 -m benchmarks.path_breakdown --device cuda --size 512
    python3 -m benchmarks.path_breakdown --size 128          # CPU
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.timing import median_seconds
from drn_cli.device import precision_name
from drn_cli.inference import integer_rows, make_upscaler
from drn_cli.models.weights import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=512, help="LR side in pixels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=15, help="profiler table rows")
    args = parser.parse_args()
    upscaler = make_upscaler(resolve_model(args.model), args.device, "auto")
    device, scale = upscaler.device, upscaler.scale
    image = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    lr = torch.from_numpy(image.transpose(2, 0, 1).copy())[None].to(device)

    def whole_integers() -> None:
        upscaler.upscale_rows(image, lambda y, rows: None, 0, to_host=integer_rows(3, 8))

    stages = [
        ("forward (super_resolve, input on the device)", lambda: upscaler.model.network.super_resolve(lr, upscaler.dtype)),
        ("+ finite check (LoadedModel.levels)", lambda: upscaler.model.levels(lr)),
        ("+ host input, blending, float rows to the host (upscale_array, whole image)",
         lambda: upscaler.upscale_array(image, 0)),
        ("the same with uint8 rows to the host (drn upscale's PNG path)", whole_integers),
        ("upscale_array with the default tile", lambda: upscaler.upscale_array(image)),
    ]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    megapixels = args.size ** 2 * scale ** 2 / 1e6
    print(f"{where}, torch {torch.__version__}, {args.model}, LR {args.size}x{args.size}, "
          f"{precision_name(upscaler.dtype)}, default tile {upscaler.default_tile()}, median of {args.repeats}")
    print("| stage | MP/s |")
    print("|---|---|")
    for label, fn in stages:
        print(f"| {label} | {megapixels / median_seconds(fn, device, args.repeats):.2f} |", flush=True)
    if device.type == "cuda":  # what inference.CUDA_BYTES_PER_LR_PIXEL estimates
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        upscaler.upscale_array(image, 0)
        peak = torch.cuda.max_memory_allocated(device) - base
        print(f"\nwhole-image peak GPU memory above the model: {peak / 2**20:.0f} MiB, "
              f"{peak / args.size ** 2:.0f} bytes per LR pixel")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        upscaler.upscale_array(image)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\nprofile of one upscale_array (default tile), by {key}:\n")
    print(prof.key_averages().table(sort_by=key, row_limit=args.rows))


if __name__ == "__main__":
    main()
