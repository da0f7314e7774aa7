"""CPU inference backends against the official fp32 eager forward: speed, set-up time and how far
each output lies from fp32 (PSNR, 0..255), on one random LR image with the same weights.

    python3 -m benchmarks.backends --model drn-s-x4 --size 128

Backends: torch eager fp32 (the official path, the baseline), `drn upscale`'s default path
(channels_last, bf16 body, fp32 head/tails), torch.compile of that path, and OpenVINO fp32/bf16
when `openvino` is installed. Set-up is what a process pays before its first image: compile or
model conversion, plus the first call.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from benchmarks.inference import weights_or_random
from drn_cli.device import autocast, resolve_precision


class LastOutput(torch.nn.Module):
    """The final SR image of a DRN (0..255 in and out): what a backend has to export."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[-1]


def timed(setup: Callable[[], Callable[[torch.Tensor], np.ndarray]], x: torch.Tensor, repeats: int):
    """(set-up seconds incl. first call, median seconds per call, output) of one backend."""
    tic = time.perf_counter()
    run = setup()
    run(x)
    setup_s = time.perf_counter() - tic
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        out = run(x)
        times.append(time.perf_counter() - tic)
    return setup_s, float(np.median(times)), out


def torch_backend(net: torch.nn.Module, dtype: torch.dtype, channels_last: bool, compile_: bool):
    def setup():
        model = net.to(memory_format=torch.channels_last) if channels_last else net
        model = torch.compile(model) if compile_ else model

        def run(x):
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode(), autocast(torch.device("cpu"), dtype):
                return model(x).float().numpy()
        return run
    return setup


def openvino_backend(net: torch.nn.Module, precision: str, example: torch.Tensor):
    import openvino as ov

    def setup():
        converted = ov.convert_model(net, example_input=example, input=[ov.PartialShape([1, 3, -1, -1])])
        compiled = ov.Core().compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                              "PERFORMANCE_HINT": "LATENCY"})
        request = compiled.create_infer_request()
        return lambda x: request.infer({0: x.numpy()})[0].copy()
    return setup


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((np.clip(a, 0, 255) - np.clip(b, 0, 255)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="drn-s-x4")
    parser.add_argument("--size", type=int, default=128, help="LR side in pixels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to set up)")
    args = parser.parse_args()
    weights = weights_or_random(args.model)
    model, _ = weights.build()
    net = LastOutput(model.eval())
    torch.manual_seed(0)
    x = torch.rand(1, 3, args.size, args.size) * 255
    bf16 = resolve_precision("bf16", torch.device("cpu"))
    backends = {
        "torch eager fp32 (official)": torch_backend(net, torch.float32, False, False),
        "torch channels_last + bf16 (drn default)": torch_backend(net, bf16, True, False),
    }
    if not args.no_compile:
        backends["torch.compile channels_last + bf16"] = torch_backend(net, bf16, True, True)
    try:
        import openvino  # noqa: F401
        backends["OpenVINO fp32"] = openvino_backend(net, "f32", x)
        backends["OpenVINO bf16"] = openvino_backend(net, "bf16", x)
    except ImportError:
        print("openvino not installed: `pip install openvino` to include it")
    print(f"{args.model}, LR {args.size}x{args.size}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| backend | set-up s | MP/s | x official | PSNR vs fp32 (dB) |")
    print("|---|---|---|---|---|")
    reference, base = None, None
    for name, setup in backends.items():
        setup_s, seconds, out = timed(setup, x, args.repeats)
        mps = out.shape[-1] * out.shape[-2] / 1e6 / seconds
        reference = out if reference is None else reference
        base = mps if base is None else base
        print(f"| {name} | {setup_s:.1f} | {mps:.3f} | {mps / base:.2f} | {psnr(out, reference):.1f} |", flush=True)


if __name__ == "__main__":
    main()
