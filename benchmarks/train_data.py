"""Training's work around the model, one run: bicubic batches from the DataLoader (PairedPatches,
collated on the host, then copied) against batches cut on the device (DevicePatches), and Adam's
step, per-tensor (foreach) against fused.

    python3 -m benchmarks.train_data --data ../shared/data/train/T91 --data ../shared/data/train/BSD200
    python3 -m benchmarks.train_data --device cuda --batch-size 32 --patch-size 192 --data ...
"""

from __future__ import annotations

import argparse
import platform

import torch

from benchmarks.timing import median_seconds
from drn_cli.device import resolve_device
from drn_cli.models.drn import VARIANTS
from drn_cli.models.registry import DRN as DRN_ARCH
from drn_cli.training.data import DevicePatches, PairedPatches, PatchSpec, build_pyramids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", required=True)
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = VARIANTS[args.model]
    spec = PatchSpec(config.scale, args.patch_size, seed=0)
    pyramids = build_pyramids(args.data, spec)[0]
    dataset = PairedPatches(pyramids, spec, 1 << 40)
    on_device = DevicePatches(pyramids, spec, device)
    step = iter(range(10 ** 9))

    def loader_batch() -> None:
        base = next(step) * args.batch_size
        indices = range(base, base + args.batch_size)
        batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=indices,
                                                      pin_memory=device.type == "cuda")))
        [t.to(device, non_blocking=True) for t in batch.pyramid]

    def device_batch() -> None:
        base = next(step) * args.batch_size
        on_device.batch(range(base, base + args.batch_size))

    model = DRN_ARCH.build(config).primal.to(device)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    steps = {fused: torch.optim.Adam(model.parameters(), lr=1e-4, fused=fused).step for fused in (False, True)}

    rows = [("batches: DataLoader, collated on the host (before)", median_seconds(loader_batch, device, args.repeats)),
            ("batches: cut on the device (DevicePatches)", median_seconds(device_batch, device, args.repeats)),
            ("Adam step, per tensor (before)", median_seconds(steps[False], device, args.repeats)),
            ("Adam step, fused", median_seconds(steps[True], device, args.repeats))]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"{name}, torch {torch.__version__}, {torch.get_num_threads()} threads; {args.model}, batch "
          f"{args.batch_size}, HR patch {args.patch_size}, {len(pyramids)} images; median of {args.repeats}")
    print("| work | ms | ratio to before |")
    print("|---|---|---|")
    for i, (label, seconds) in enumerate(rows):
        print(f"| {label} | {seconds * 1e3:.2f} | {rows[i - i % 2][1] / seconds:.2f}x |")


if __name__ == "__main__":
    main()
