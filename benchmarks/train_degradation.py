"""Does `--degradation real` starve training? Patches/s of whole steps (data + step) with the
realistic pipeline against bicubic, same model, batch and patches, one run.

    python3 -m benchmarks.train_degradation --data ../shared/data/train/T91 --steps 6
    python3 -m benchmarks.train_degradation --data .gpu/train --device cuda --workers 8 --batch-size 32

Also the data side alone: milliseconds to make one training sample of each kind in this process,
and the trainer's own batches without the model (`--workers` loader processes), in patches/s:
where that is not well above the whole step's rate, the loader starves the model.
"""

from __future__ import annotations

import argparse
import time

import torch

from drn_cli.models.drn import VARIANTS
from drn_cli.training.data import PairedPatches, PatchSpec, build_pyramids
from drn_cli.training.trainer import TrainConfig, Trainer


def make_trainer(data: list[str], degradation: str, args) -> Trainer:
    config = TrainConfig(data=data, out="", model=VARIANTS[args.model].to_dict(), batch_size=args.batch_size,
                         patch_size=args.patch_size, steps=args.steps + 1, degradation=degradation,
                         device=args.device, workers=args.workers)
    return Trainer(config)


def median_rate(trainer: Trainer, train: bool) -> float:
    """Median patches/s over the run's batches after the first (warm-up, loader start), each with
    its training step when `train`."""
    times, tic = [], None
    for batch in trainer.task.batches(0, trainer.config.steps):
        if train:
            trainer._train_step(batch)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        if tic is not None:
            times.append(now - tic)
        tic = now
    times.sort()
    return trainer.config.batch_size / times[len(times) // 2]


def sample_ms(data: list[str], degradation: str, args, count: int = 200) -> float:
    spec = PatchSpec(VARIANTS[args.model].scale, args.patch_size, 0, degradation)
    patches = PairedPatches(build_pyramids(data, spec)[0], spec, count)
    tic = time.perf_counter()
    for i in range(count):
        patches[i]
    return (time.perf_counter() - tic) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", required=True)
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader processes for the realistic batches")
    args = parser.parse_args()
    rows = []
    for kind in ("bicubic", "real"):
        trainer = make_trainer(args.data, kind, args)
        rows.append((kind, median_rate(trainer, train=True), median_rate(trainer, train=False),
                     sample_ms(args.data, kind, args)))
    base = rows[0][1]
    print(f"{args.model}, batch {args.batch_size}, HR patch {args.patch_size}, median of {args.steps} steps, "
          f"device {trainer.device}, {args.workers} loader workers")
    print("| LR | patches/s (whole step) | ratio | patches/s (batches alone) | ms per sample (data only, one process) |")
    print("|---|---|---|---|---|")
    for kind, rate, loader, ms in rows:
        print(f"| {kind} | {rate:.2f} | {rate / base:.2f} | {loader:.2f} | {ms:.2f} |")


if __name__ == "__main__":
    main()
