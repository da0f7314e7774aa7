"""Inference speed: output megapixels per second of `drn upscale`'s path at default settings
against the plain fp32 eager forward the official code runs (same weights, same input, one run).

    python benchmarks/inference.py --models drn-s-x4 --size 128 --tiles 64,128,256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from drn_cli.device import precision_name, resolve_precision
from drn_cli.errors import WeightsError
from drn_cli.inference import DEFAULT_CPU_TILE, make_upscaler
from drn_cli.model import DRN, VARIANTS
from drn_cli.weights import Weights, resolve_model


def weights_or_random(name: str) -> Weights:
    """The shipped weights of a variant, or seeded random ones (they time the same)."""
    try:
        return resolve_model(name)
    except WeightsError:  # no shipped weights for this variant: random weights time the same
        torch.manual_seed(0)
        return Weights(VARIANTS[name], DRN(VARIANTS[name]).state_dict())


def official_forward_mps(weights: Weights, image: np.ndarray) -> float:
    """fp32, contiguous, eager, whole image: the official `test` path."""
    model, _ = weights.build()
    x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None] * 255
    with torch.no_grad():
        model(x[:, :, :16, :16])
        tic = time.perf_counter()
        out = model(x)[-1]
    return out.shape[-1] * out.shape[-2] / 1e6 / (time.perf_counter() - tic)


def ours_mps(weights: Weights, image: np.ndarray, tile: int | None) -> float:
    upscaler = make_upscaler(weights, "cpu", "auto")
    upscaler.upscale_array(image[:16, :16], tile)
    tic = time.perf_counter()
    out = upscaler.upscale_array(image, tile)
    return out.shape[0] * out.shape[1] / 1e6 / (time.perf_counter() - tic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=128, help="LR side in pixels")
    parser.add_argument("--tiles", default="", help="comma-separated tile sizes to sweep")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size, 3), dtype=np.float32)
    mode = precision_name(resolve_precision("auto", torch.device("cpu")))
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}, LR {args.size}x{args.size}, auto = {mode}")
    print("| model | official fp32 eager MP/s | ours (default) MP/s | ratio |")
    print("|---|---|---|---|")
    for name in args.models.split(","):
        weights = weights_or_random(name)
        base = official_forward_mps(weights, image)
        ours = ours_mps(weights, image, None)
        print(f"| {name} | {base:.3f} | {ours:.3f} | {ours / base:.2f} |", flush=True)
    if args.tiles:
        weights = weights_or_random(args.models.split(",")[0])
        print(f"\ntile sweep ({args.models.split(',')[0]}, default {DEFAULT_CPU_TILE})\n")
        print("| tile | MP/s |")
        print("|---|---|")
        for tile in [int(t) for t in args.tiles.split(",")]:
            print(f"| {tile} | {ours_mps(weights, image, tile):.3f} |", flush=True)


if __name__ == "__main__":
    main()
