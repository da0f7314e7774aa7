"""ONNX export: the primal network as a graph that takes and returns images in [0, 1].

The graph is the model's call contract (models.LoadedModel.graph) without the pyramid: input "lr" (N, 3, H, W) float32
in [0, 1], output "sr" (N, 3, H*s, W*s) float32 clamped to [0, 1]; height and width are dynamic.
The 0..255 range of the official weights stays inside. `half` stores the weights and runs the
network in fp16 (the input and output stay float32). `check_onnx` runs the file with
onnxruntime, when it is installed, against PyTorch fp32 at two sizes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .atomic import check_new, writing
from .errors import DrnError, OutputError, UsageError
from .models.loaded import LoadedModel

FP32_TOLERANCE = 1e-3   # max |ONNX - PyTorch fp32| on [0, 1] images
HALF_TOLERANCE = 2e-2   # fp16 weights and activations: about 5 levels of 255 at worst


def check_export(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output that is not a new .onnx file in an existing folder, or
    a machine without the onnx package (PyTorch's exporter needs it)."""
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise UsageError(f"-o {path}: an ONNX file is written; name it *.onnx")
    check_new(path)
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write: the folder {path.parent} does not exist")
    try:
        import onnx  # noqa: F401 - PyTorch's exporter imports it
    except ImportError:
        raise DrnError('drn export needs the onnx package: pip install "drn-cli[onnx]" (it also brings '
                       "onnxruntime, which checks the exported file)") from None


def export_onnx(model: LoadedModel, path: str | os.PathLike, half: bool = False, opset: int = 17) -> None:
    """Write `model`'s primal network to `path` as ONNX with dynamic batch, height and width,
    through a hidden temporary file renamed into place (no half-written file under `path`)."""
    path = Path(path)
    check_export(path)
    graph = model.graph(half)
    example = torch.rand(1, 3, 24, 32)
    axes = {0: "batch", 2: "height", 3: "width"}
    try:
        # The TorchScript exporter (dynamo=False) needs no extra packages and handles the fp16
        # hooks; torch warns that it is deprecated in favour of torch.export, which needs onnxscript.
        with writing(path) as part, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(graph, (example,), str(part), input_names=["lr"], output_names=["sr"],
                              dynamic_axes={"lr": axes, "sr": axes}, opset_version=opset, dynamo=False)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def check_onnx(path: str | os.PathLike, model: LoadedModel, half: bool = False,
               sizes: tuple[tuple[int, int], ...] = ((24, 32), (37, 29))) -> float | None:
    """Max |onnxruntime - PyTorch fp32| over random images of `sizes`; None when onnxruntime is
    not installed. DrnError when it exceeds the tolerance (FP32_TOLERANCE, or HALF_TOLERANCE)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    reference = model.graph()
    worst = 0.0
    for h, w in sizes:
        lr = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * w))
        with torch.no_grad():
            expected = reference(lr).numpy()
        got = session.run(["sr"], {"lr": lr.numpy()})[0]
        if got.shape != expected.shape:
            raise DrnError(f"{path}: ONNX output has shape {got.shape}, PyTorch {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
    limit = HALF_TOLERANCE if half else FP32_TOLERANCE
    if worst > limit:
        raise DrnError(f"{path}: ONNX output differs from PyTorch by up to {worst:.2e} (limit {limit:g})")
    return worst
