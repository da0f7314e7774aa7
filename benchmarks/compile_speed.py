"""Does torch.compile pay? One run, eager against compiled (`nn.Module.compile()`, inductor):
(a) inference, drn upscale's uint8 path on a whole image, beside the official fp32 eager forward;
(b) one training step of `drn train` (forward, dual-regression loss, backward, fused Adam).
Prints each line as it is measured, compile times included, so a run cut short still says
what it found.

    python3 -m benchmarks.compile_speed --device cuda --size 512 --data .gpu/train
    python3 -m benchmarks.compile_speed --size 32 --data ../shared/data/train/Kodak24 --batch-size 2 --patch-size 64
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch

from benchmarks.timing import median_seconds, seconds
from drn_cli.inference import integer_rows, make_upscaler
from drn_cli.models.weights import resolve_model
from drn_cli.training.trainer import TrainConfig, Trainer


def inference(args: argparse.Namespace) -> None:
    weights = resolve_model(args.model)
    upscaler = make_upscaler(weights, args.device, "auto")
    device, scale = upscaler.device, upscaler.scale
    image = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    megapixels = args.size ** 2 * scale ** 2 / 1e6
    official = weights.build()[0].to(device)
    x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None].to(device) * 255

    def official_forward() -> None:
        with torch.no_grad():
            official(x)

    def ours() -> None:
        upscaler.upscale_rows(image, lambda y, rows: None, 0, to_host=integer_rows(3, 8))

    base = megapixels / median_seconds(official_forward, device, args.repeats)
    print(f"inference, {args.model}, LR {args.size}x{args.size}, median of {args.repeats}, output MP/s")
    print(f"| official fp32 eager | {base:.2f} | 1.00x |", flush=True)
    eager = megapixels / median_seconds(ours, device, args.repeats)
    print(f"| ours, eager (uint8 rows) | {eager:.2f} | {eager / base:.2f}x |", flush=True)
    upscaler.model.network.compile()
    print(f"| compile + first call | {seconds(ours, device):.1f} s | |", flush=True)
    compiled = megapixels / median_seconds(ours, device, args.repeats)
    print(f"| ours, compiled (uint8 rows) | {compiled:.2f} | {compiled / base:.2f}x |", flush=True)


def training(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(data=args.data, out=tmp, model=resolve_model(args.model).config.to_dict(),
                             batch_size=args.batch_size, patch_size=args.patch_size, device=args.device,
                             lr=1e-5)
        trainer = Trainer(config)
        batches = trainer.task.batches(0, 10 ** 6)
        device = trainer.device

        def step() -> None:
            trainer._train_step(next(batches))

        print(f"\ntraining step, {args.model}, batch {args.batch_size}, HR patch {args.patch_size}, "
              f"median of {args.repeats * 4}, patches/s")
        eager = args.batch_size / median_seconds(step, device, args.repeats * 4)
        print(f"| eager | {eager:.1f} | 1.00x |", flush=True)
        trainer.net.compile()
        print(f"| compile + first step | {seconds(step, device):.1f} s | |", flush=True)
        compiled = args.batch_size / median_seconds(step, device, args.repeats * 4)
        print(f"| compiled | {compiled:.1f} | {compiled / eager:.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=512, help="LR side in pixels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", action="append", required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patch-size", type=int, default=192)
    args = parser.parse_args()
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{torch.get_num_threads()} CPU threads"
    print(f"{where}, torch {torch.__version__}")
    inference(args)
    training(args)


if __name__ == "__main__":
    main()
