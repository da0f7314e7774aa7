"""The OpenVINO backend (`--backend openvino`, the [openvino] extra): a model's export graph
(Architecture.graph, the final output in [0, 1]) converted once to OpenVINO's format, cached on
disk, and compiled for the CPU, in bf16 where the CPU runs it fast.

On a 2-core AMX Xeon it ran drn-s-x4 several times faster than torch's bf16 path
(docs/performance.md, benchmarks/backends.py). The conversion takes ~10 s, so its result is
kept in the user cache under a key made of the weights file's SHA-256 and the OpenVINO version
(a changed file or a new OpenVINO never meets an old entry), and OpenVINO's own compiled-blob
cache sits beside it: a second process reads both in about a second. An entry that cannot be
read is removed and made again, never trusted.

`OpenVINOModel` has the LoadedModel interface the picture path uses (a call, `levels` with the
one final output, scale, device, precision); pyramid levels and the closed loop are torch's.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..atomic import writing_folder
from ..download import cache_root, sha256_file
from ..errors import UsageError

if TYPE_CHECKING:  # the torch model it wraps; loaded.load imports this module, not the other way
    from .loaded import LoadedModel

EXTRA = 'pip install "drn-cli[openvino]"'
_PRECISIONS = {torch.float32: "f32", torch.bfloat16: "bf16"}


def available() -> bool:
    """True when the openvino package can be imported."""
    return importlib.util.find_spec("openvino") is not None


def _openvino():
    try:
        import openvino
    except ImportError:
        raise UsageError(f"--backend openvino needs the openvino package: {EXTRA}") from None
    return openvino


@dataclass(eq=False)
class OpenVINOModel:
    """A compiled OpenVINO model with the LoadedModel interface of the picture path: a call on
    (B, 3, h, w) float in [0, 1] -> (B, 3, h*s, w*s) float32 in [0, 1], on the CPU."""

    source: LoadedModel   # the fp32 torch model it was converted from (its facts: scale, context, memory)
    compiled: Any         # openvino.CompiledModel
    dtype: torch.dtype    # what it computes in (torch's name for it)
    strength = reason = None  # not a --denoise blend
    backend = "openvino"
    has_dual = False      # the closed loop runs on torch (request.check_model says so first)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def scale(self) -> int:
        return self.source.scale

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def precision(self) -> str:
        return "bf16" if self.dtype == torch.bfloat16 else "fp32"

    @property
    def level_scales(self) -> tuple[int, ...]:
        return (self.scale,)  # the export graph's one output

    @property
    def context(self) -> int:
        return self.source.context

    def bytes_per_lr_pixel(self, device_type: str) -> int:
        return self.source.bytes_per_lr_pixel(device_type)

    def levels(self, lr: torch.Tensor) -> list[torch.Tensor]:
        """[the final output] of (B, 3, h, w) in [0, 1]; an infer request per call, so that
        threads may share the model."""
        request = self.compiled.create_infer_request()
        out = request.infer([np.ascontiguousarray(lr.detach().float().cpu().numpy())])
        return [torch.from_numpy(np.array(out[self.compiled.output(0)], dtype=np.float32))]

    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        return self.levels(lr)[-1]


def _ir_folder(weights: Path, version: str) -> Path:
    """Where the converted model of `weights` lives for this OpenVINO `version`."""
    return cache_root() / "openvino" / f"{sha256_file(weights)[:24]}-{version.split('-')[0]}"


def _convert(source: LoadedModel, folder: Path) -> None:
    """Convert `source`'s export graph (fp32) to OpenVINO's format in `folder`, whole or not at all."""
    ov = _openvino()
    graph = source.graph()
    with torch.no_grad():
        model = ov.convert_model(graph, example_input=torch.rand(1, 3, 64, 64), input=[(-1, 3, -1, -1)])
    with writing_folder(folder) as part:
        ov.save_model(model, str(part / "model.xml"), compress_to_fp16=False)


def _read(folder: Path, source: LoadedModel):
    """The cached model of `source`, converted first where missing; an entry that cannot be read
    is removed and converted again."""
    ov = _openvino()
    core = ov.Core()
    for attempt in (1, 2):
        if not (folder / "model.xml").is_file():
            _convert(source, folder)
        try:
            return core, core.read_model(str(folder / "model.xml"))
        except RuntimeError:
            if attempt == 2:
                raise
            shutil.rmtree(folder, ignore_errors=True)  # damaged: made again, never trusted
    raise AssertionError("unreachable")


def unconverted(specs: list[str]) -> list[str]:
    """Those of the models `specs` (preset names or files) that have no converted entry in the
    cache yet: the first use of each takes a while (~10 s for DRN-S), which a front door may say."""
    from .weights import model_path

    version = _openvino().__version__
    return [spec for spec in specs if not (_ir_folder(model_path(spec), version) / "model.xml").is_file()]


_CACHE: dict[tuple, OpenVINOModel] = {}
_LOCK = threading.Lock()


def load(source: LoadedModel, weights_file: Path, dtype: torch.dtype, threads: int) -> OpenVINOModel:
    """`source` (a LoadedModel in fp32 on the CPU, from `weights_file`) compiled by OpenVINO in
    `dtype` (float32 or bfloat16) on `threads` threads; cached per process like models.load."""
    ov = _openvino()
    key = (str(weights_file.resolve()), weights_file.stat().st_mtime_ns, dtype, threads)
    with _LOCK:
        if key not in _CACHE:
            folder = _ir_folder(weights_file, ov.__version__)
            core, model = _read(folder, source)
            if "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
                dtype = torch.float32  # a CPU without bf16: OpenVINO would refuse the hint
            config = {"INFERENCE_PRECISION_HINT": _PRECISIONS[dtype], "PERFORMANCE_HINT": "LATENCY",
                      "INFERENCE_NUM_THREADS": threads, "CACHE_DIR": str(folder.parent / "compiled")}
            _CACHE[key] = OpenVINOModel(source, core.compile_model(model, "CPU", config), dtype)
        return _CACHE[key]
