"""A loaded model: the one object inference, levels, evaluation and export ask for.

`load(name_or_path, device=..., precision=...)` returns a `LoadedModel` (cached, read-only,
shared between threads), whose call is the inference contract: (B, 3, h, w) float in [0, 1] ->
(B, 3, h*s, w*s) float32 in [0, 1] on the model's device. Where the architecture has them it
also gives every pyramid level from the same pass and the closed loop |D(SR) - LR|. Nothing
outside this package touches a network's layers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..device import keep_freed_cpu_memory, precision_name, resolve_backend, resolve_device, resolve_precision
from ..errors import DrnError
from .presets import UPSCALE_MODEL
from .registry import Architecture, architecture, count_parameters
from .weights import Weights, model_path, resolve_model


@dataclass(eq=False)
class LoadedModel:
    """A network on a device in a precision. `name`: the preset name or file it came from;
    `has_dual`: dual blocks present (levels' loop map and adaptation need them)."""

    name: str
    weights: Weights
    network: nn.Module
    duals: nn.ModuleList | None
    device: torch.device
    dtype: torch.dtype
    strength = reason = None  # a --denoise strength and why: not a blend (models.blend.BlendedModel has them)

    @property
    def arch(self) -> Architecture:
        return architecture(self.weights.architecture)

    @property
    def architecture(self) -> str:
        return self.weights.architecture

    @property
    def config(self) -> Any:
        return self.weights.config

    @property
    def scale(self) -> int:
        return self.weights.config.scale

    @property
    def has_dual(self) -> bool:
        return self.duals is not None

    @property
    def precisions(self) -> tuple[str, ...]:
        """The precisions this architecture runs well in (fp32 always)."""
        return self.arch.precisions

    @property
    def precision(self) -> str:
        return precision_name(self.dtype)

    @property
    def parameters(self) -> int:
        return count_parameters(self.arch, self.config)

    def describe(self) -> str:
        """"drn-s-x4-real: DRN x4, 30 blocks per level, 16 base features, 4.80 M parameters"."""
        return f"{self.name}: {self.arch.label} {self.arch.describe(self.config)}, {self.parameters / 1e6:.2f} M parameters"

    @property
    def level_scales(self) -> tuple[int, ...]:
        """The scales of `levels`' outputs: (2, 4) for a x4 DRN, (4,) for a one-output network."""
        return self.arch.level_scales(self.config)

    @property
    def context(self) -> int:
        """The receptive radius in LR pixels (0: unbounded), for exact tiling (tiling.py)."""
        return self.arch.context(self.config)

    def bytes_per_lr_pixel(self, device_type: str) -> int:
        """Peak memory per LR pixel of a tile on "cpu" or "cuda" (sizes the default tile)."""
        return self.arch.bytes_per_lr_pixel(self.config, device_type)

    def _forward(self, lr: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
        return self.arch.levels(self.network, lr.to(self.device), dtype)

    def levels(self, lr: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, h, w) in [0, 1] -> every output of one pass (the pyramid levels above the input,
        x2 ... xS, for DRN; the one xS output elsewhere), each (B, 3, h*s_k, w*s_k) float32 in
        [0, 1] on the device. A non-finite result in reduced precision is redone in fp32."""
        levels = self._forward(lr, self.dtype)
        if self.dtype != torch.float32 and not all(torch.isfinite(x).all() for x in levels):
            levels = self._forward(lr, torch.float32)
        return levels

    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) in [0, 1] -> (B, 3, h*s, w*s) float32 in [0, 1] (levels' last)."""
        return self.levels(lr)[-1]

    def loop_error(self, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) LR and (B, 3, h*s, w*s) SR in [0, 1] -> (B, 1, h, w) |D(SR) - LR|, mean
        over RGB, on the 0..255 scale: the closed loop of paper Sec. 3.2 (the architecture's)."""
        if self.duals is None:
            raise DrnError(f"{self.name} has no dual blocks, so it has no closed loop (our DRN .safetensors "
                           "files have them; official primal-only checkpoints and other architectures do not)")
        return self.arch.loop_error(self.duals, lr, sr)

    def graph(self, half: bool = False) -> nn.Module:
        """A fresh fp32 copy of the network as a traceable module in [0, 1] for export:
        (N, 3, H, W) -> (N, 3, H*s, W*s); `half` runs its body in fp16."""
        return self.arch.graph(self.weights.build()[0].eval(), half)


def build(weights: Weights, name: str = "weights", device: str = "auto", precision: str = "auto",
          compile: bool = False) -> LoadedModel:
    """A LoadedModel of loaded weights on the chosen device and precision. `compile` runs the
    network through torch.compile (inductor), which compiles on the first image and again for new
    tile shapes: on an H100 the forward ran 2x faster after 27 s (docs/performance.md)."""
    dev = resolve_device(device)
    if dev.type == "cpu":
        keep_freed_cpu_memory()  # 2.25x faster 256 px tiles here (device.py)
    network, duals = weights.build(with_dual=True)
    network = network.to(dev, memory_format=torch.channels_last)
    if compile:
        network.compile()  # in place: the architecture's levels call the compiled forward
    return LoadedModel(name, weights, network, None if duals is None else duals.to(dev), dev,
                       resolve_precision(precision, dev))


_CACHE: dict[tuple, LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load(name_or_path: str = UPSCALE_MODEL, device: str = "auto", precision: str = "auto",
         compile: bool = False, backend: str = "torch"):
    """The model a preset name or weights file names, loaded once per (file, modification time,
    device, precision, compile) and shared: returned objects are read-only. `backend` "openvino"
    (or "auto", where device.resolve_backend picks it) gives an openvino_model.OpenVINOModel
    converted from the fp32 torch model, with the same interface for the picture path."""
    path = model_path(name_or_path)
    if resolve_backend(backend, resolve_device(device), precision) == "openvino":
        from .openvino_model import load as load_openvino

        source = load(name_or_path, "cpu", "fp32")
        return load_openvino(source, path, resolve_precision(precision, torch.device("cpu")), torch.get_num_threads())
    key = (str(path.resolve()), path.stat().st_mtime_ns, device, precision, compile)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = build(resolve_model(path), str(name_or_path), device, precision, compile)
        return _CACHE[key]
