"""Does `--degradation real` starve training? Patches/s of whole steps (data + step) with the
realistic pipeline against bicubic, same model, batch and patches, one run.

    python benchmarks/train_degradation.py --data ../shared/data/train/T91 --steps 6

Also the data side alone: milliseconds to make one training sample of each kind.
"""

from __future__ import annotations

import argparse
import time

from drn_cli.model import VARIANTS
from drn_cli.training.data import PairedPatches, PatchSpec, build_pyramids
from drn_cli.training.trainer import TrainConfig, Trainer


def whole_steps(data: list[str], degradation: str, args) -> float:
    """Median patches/s over `args.steps` steps after one warm-up step."""
    config = TrainConfig(data=data, out="", model=VARIANTS[args.model].to_dict(), batch_size=args.batch_size,
                         patch_size=args.patch_size, steps=args.steps + 1, degradation=degradation)
    trainer = Trainer(config)
    times, tic = [], None
    for batch in trainer.batches(config.steps):
        trainer._train_step(batch)
        now = time.perf_counter()
        if tic is not None:
            times.append(now - tic)
        tic = now
    times.sort()
    return args.batch_size / times[len(times) // 2]


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
    args = parser.parse_args()
    rows = [(kind, whole_steps(args.data, kind, args), sample_ms(args.data, kind, args)) for kind in ("bicubic", "real")]
    base = rows[0][1]
    print(f"{args.model}, batch {args.batch_size}, HR patch {args.patch_size}, median of {args.steps} steps")
    print("| LR | patches/s (whole step) | ratio | ms per sample (data only) |")
    print("|---|---|---|---|")
    for kind, rate, ms in rows:
        print(f"| {kind} | {rate:.2f} | {rate / base:.2f} | {ms:.2f} |")


if __name__ == "__main__":
    main()
