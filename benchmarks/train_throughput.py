"""Training throughput: our train step (bf16 autocast + channels_last where available) against a
plain fp32 eager step like the official trainer's, same model, batch and patch, one run.

    python3 -m benchmarks.train_throughput --model drn-s-x4 --batch-size 8 --patch-size 128
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from drn_cli.device import precision_name, resolve_precision
from drn_cli.models.drn import VARIANTS
from drn_cli.training.data import Sample
from drn_cli.training.trainer import TrainConfig, Trainer


def patches_per_second(trainer: Trainer, batch: Sample, steps: int) -> float:
    trainer._train_step(batch)  # warm-up (allocations, oneDNN kernel selection)
    times = []
    for _ in range(steps):
        tic = time.perf_counter()
        trainer._train_step(batch)
        times.append(time.perf_counter() - tic)
    times.sort()
    return batch.lr.shape[0] / times[len(times) // 2]


def make_trainer(args, precision: str, channels_last: bool) -> tuple[Trainer, Sample]:
    config = TrainConfig(data=[], out="", model=VARIANTS[args.model].to_dict(), batch_size=args.batch_size,
                         patch_size=args.patch_size, precision=precision, device="cpu")
    trainer = Trainer(config)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    trainer.net.to(memory_format=fmt)
    scale = config.drn.scale
    p = args.patch_size // scale
    torch.manual_seed(0)
    pyramid = [(torch.rand(args.batch_size, 3, p * 2 ** k, p * 2 ** k) * 255).contiguous(memory_format=fmt)
               for k in range(config.drn.phases + 1)]
    return trainer, Sample(pyramid[0], pyramid, pyramid[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    fast = precision_name(resolve_precision("auto", torch.device("cpu")))
    baseline = patches_per_second(*make_trainer(args, "fp32", channels_last=False), args.steps)
    ours = patches_per_second(*make_trainer(args, "auto", channels_last=True), args.steps)
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{args.model}, batch {args.batch_size}, HR patch {args.patch_size}, median of {args.steps} steps")
    print("| train step | patches/s | ratio |")
    print("|---|---|---|")
    print(f"| fp32 eager, contiguous (official-style) | {baseline:.2f} | 1.00 |")
    print(f"| ours: {fast} autocast + channels_last | {ours:.2f} | {ours / baseline:.2f} |")


if __name__ == "__main__":
    main()
