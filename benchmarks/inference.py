"""Inference speed: output megapixels per second of `drn upscale`'s path at default settings
against the plain fp32 eager forward the official code runs (same weights, same input, one run).

    python3 -m benchmarks.inference --models drn-s-x4 --size 128 --tiles 64,128,256
    python3 -m benchmarks.inference --device cuda --size 512 --repeats 5
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.timing import median_seconds
from drn_cli.device import precision_name, resolve_precision
from drn_cli.errors import WeightsError
from drn_cli.inference import MAX_CPU_TILE, make_upscaler
from drn_cli.models.registry import DRN
from drn_cli.models.weights import Weights, resolve_model


def weights_or_random(name: str) -> Weights:
    """The shipped weights of a variant, or seeded random ones (they time the same)."""
    try:
        return resolve_model(name)
    except WeightsError:  # no shipped weights for this variant: random weights time the same
        torch.manual_seed(0)
        return Weights(DRN.variants[name], DRN.build(DRN.variants[name]).primal.state_dict())


def official_forward_mps(weights: Weights, image: np.ndarray, device: torch.device, repeats: int) -> float:
    """fp32, contiguous, eager, whole image: the official `test` path."""
    model = weights.build()[0].to(device)
    x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None].to(device) * 255
    with torch.no_grad():
        seconds = median_seconds(lambda: model(x)[-1], device, repeats)
    return image.shape[0] * image.shape[1] * weights.config.scale ** 2 / 1e6 / seconds


def ours_mps(weights: Weights, image: np.ndarray, tile: int | None, device: torch.device, repeats: int) -> float:
    """`drn upscale`'s path: from a host float image to a host float image, tiles as chosen."""
    upscaler = make_upscaler(weights, str(device), "auto")
    seconds = median_seconds(lambda: upscaler.upscale_array(image, tile), device, repeats)
    return image.shape[0] * image.shape[1] * weights.config.scale ** 2 / 1e6 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=128, help="LR side in pixels")
    parser.add_argument("--tiles", default="", help="comma-separated tile sizes to sweep")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs after a warm-up (median)")
    args = parser.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size, 3), dtype=np.float32)
    mode = precision_name(resolve_precision("auto", device))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"{where}, torch {torch.__version__}, LR {args.size}x{args.size}, auto = {mode}, median of {args.repeats}")
    print("| model | official fp32 eager MP/s | ours (default) MP/s | ratio |")
    print("|---|---|---|---|")
    for name in args.models.split(","):
        weights = weights_or_random(name)
        base = official_forward_mps(weights, image, device, args.repeats)
        ours = ours_mps(weights, image, None, device, args.repeats)
        print(f"| {name} | {base:.3f} | {ours:.3f} | {ours / base:.2f} |", flush=True)
    if args.tiles:
        weights = weights_or_random(args.models.split(",")[0])
        print(f"\ntile sweep ({args.models.split(',')[0]}, default {MAX_CPU_TILE})\n")
        print("| tile | MP/s |")
        print("|---|---|")
        for tile in [int(t) for t in args.tiles.split(",")]:
            print(f"| {tile} | {ours_mps(weights, image, tile, device, args.repeats):.3f} |", flush=True)


if __name__ == "__main__":
    main()
