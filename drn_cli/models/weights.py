"""Weight files: our self-describing `.safetensors` format and official DRN `.pt` checkpoints.

Our format holds `primal.<name>` and `dual.<i>.<name>` tensors; its metadata holds
`format = "drn-cli"`, the `architecture` (registry.py; absent = "drn"), its `config` (JSON) and
free-form `provenance` (JSON), so one file rebuilds its model. Official files are `torch.save(state_dict)` pickles, loaded only with
`weights_only=True`: a pickle that needs more is refused and never executed.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save

from ..atomic import write_bytes_atomic
from ..download import ProgressFn, fetch_verified
from ..errors import UsageError, WeightsError, reason_of
from .presets import PRESETS, denoise_pair, model_file, shipped_file
from .registry import ARCHITECTURES, architecture, count_parameters, detect, dual_blocks

FORMAT_NAME = "drn-cli"
StateDict = dict[str, torch.Tensor]


@dataclass
class Weights:
    """A network's architecture (registry id and config) and weights; `dual` is None when the
    file had no dual blocks."""

    config: Any
    primal: StateDict
    dual: list[StateDict] | None = None
    provenance: dict = field(default_factory=dict)
    architecture: str = "drn"

    def build(self, with_dual: bool = False) -> tuple[torch.nn.Module, torch.nn.ModuleList | None]:
        """Instantiate the primal network (and the duals if asked and present), in eval mode."""
        net = architecture(self.architecture).build(self.config)
        model = net.primal
        _load_strict(model, self.primal, "primal network")
        duals = None
        if with_dual and self.dual is not None:
            if net.dual is None or len(self.dual) != len(net.dual):
                raise WeightsError(f"{len(self.dual)} dual blocks given, the x{self.config.scale} "
                                   f"{architecture(self.architecture).label} model has {len(net.dual or [])}")
            duals = net.dual
            for i, (block, state) in enumerate(zip(duals, self.dual)):
                _load_strict(block, state, f"dual block {i}")
        return model.eval(), (duals.eval() if duals is not None else None)

    def trainable(self) -> torch.nn.Module:
        """The architecture's whole module (`.primal` and `.dual`) with these weights loaded;
        dual blocks the file lacks keep their fresh initialisation."""
        net = architecture(self.architecture).build(self.config)
        primal, duals = self.build(with_dual=True)
        net.primal.load_state_dict(primal.state_dict())
        if duals is not None:
            net.dual.load_state_dict(duals.state_dict())
        return net


def _load_strict(module: torch.nn.Module, state: StateDict, what: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0:3]
        raise WeightsError(f"weights do not fit the {what}: {' '.join(first)}") from None


# ---------------------------------------------------------------------------- our format

def save_weights(path: str | os.PathLike, weights: Weights, *, half: bool = False) -> None:
    """Write `weights` as .safetensors (atomically); `half` stores tensors as fp16."""
    tensors = {f"primal.{k}": v for k, v in weights.primal.items()}
    for i, state in enumerate(weights.dual or []):
        tensors.update({f"dual.{i}.{k}": v for k, v in state.items()})
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in tensors.items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": "1",
        "architecture": weights.architecture,
        "config": json.dumps(weights.config.to_dict()),
        "provenance": json.dumps(weights.provenance),
    }
    write_bytes_atomic(path, save(tensors, metadata=metadata), overwrite=True)


def _load_safetensors(path: Path) -> Weights:
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable .safetensors file ({exc})") from None
    if metadata.get("format") != FORMAT_NAME or "config" not in metadata:
        raise WeightsError(f"{path}: .safetensors file without drn-cli metadata; "
                           "convert official weights with `drn convert`")
    arch_id = metadata.get("architecture", "drn")  # files written before the key existed are DRNs
    try:
        config = architecture(arch_id).config(json.loads(metadata["config"]))
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: bad architecture metadata ({exc})") from None
    tensors = {k: v.float() for k, v in tensors.items()}
    primal = {k[len("primal."):]: v for k, v in tensors.items() if k.startswith("primal.")}
    dual_indices = sorted({int(k.split(".")[1]) for k in tensors if k.startswith("dual.")})
    dual = [{k[len(f"dual.{i}."):]: v for k, v in tensors.items() if k.startswith(f"dual.{i}.")}
            for i in dual_indices] or None
    return Weights(config, primal, dual, provenance, arch_id)


def root_of(weights: Weights, spec: str | os.PathLike) -> str | None:
    """The first model of `weights`' lineage: its provenance's `root` (drn train records it), or,
    for a shipped preset, the table's; None when the file does not say (an official checkpoint,
    a file from before roots were recorded)."""
    if "root" in weights.provenance:
        return weights.provenance["root"]
    preset = PRESETS.get(str(spec))
    return None if preset is None else preset.root or preset.name


def average_models(specs: list[str], force: bool = False) -> Weights:
    """`drn average`: the average (average_weights) of two or more presets or weights files,
    refused with a UsageError for models that do not share an ancestor unless `force`."""
    if len(specs) < 2:
        raise UsageError("average needs two or more models")
    ingredients = [resolve_model(spec) for spec in specs]
    if not force:
        check_related(ingredients, specs)
    return average_weights(ingredients)


def check_related(ingredients: list[Weights], specs: list[str]) -> None:
    """UsageError when two of the models to average come from different roots: averaging helps
    only models fine-tuned from one ancestor (average_weights)."""
    roots = {str(spec): root_of(w, spec) for w, spec in zip(ingredients, specs)}
    known = {root for root in roots.values() if root is not None}
    if len(known) > 1:
        listing = ", ".join(f"{spec} from {root}" for spec, root in roots.items() if root is not None)
        raise UsageError(f"these models do not share an ancestor ({listing}); an average of unrelated "
                         "models is worse than either. --force averages them anyway")


def average_weights(ingredients: list[Weights]) -> Weights:
    """The uniform average of models of one architecture (a "model soup", Wortsman et al. 2022).

    Averaging helps only models fine-tuned from a common ancestor, which sit in one basin of the
    loss; DRN has no batch norm, so the average needs no re-estimated statistics. Primal and dual
    tensors are averaged in fp32; the dual blocks are kept only when every ingredient has them.
    The provenance is the first ingredient's, with `soup_of` added: each ingredient's steps.
    """
    if not ingredients:
        raise WeightsError("no weights to average")
    config = ingredients[0].config
    if any((w.architecture, w.config) != (ingredients[0].architecture, config) for w in ingredients):
        configs = ", ".join(sorted({str(w.config.to_dict()) for w in ingredients}))
        raise WeightsError(f"cannot average models of different architectures: {configs}")

    def mean(states: list[StateDict]) -> StateDict:
        return {k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]}

    primal = mean([w.primal for w in ingredients])
    dual = None
    if all(w.dual is not None for w in ingredients):
        dual = [mean([w.dual[i] for w in ingredients]) for i in range(len(ingredients[0].dual))]
    provenance = {**ingredients[0].provenance,
                  "soup_of": [w.provenance.get("steps") for w in ingredients]}
    return Weights(config, primal, dual, provenance, ingredients[0].architecture)


# ---------------------------------------------------------------------------- official .pt

def _torch_load(path: Path) -> object:
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror})") from None
    # torch.save writes a zip archive (torch >= 1.6) or a pickle (protocol 2+ starts with 0x80)
    if not head.startswith((b"PK\x03\x04", b"\x80")):
        if head[8:9] == b"{":  # .safetensors: an 8-byte header length, then the JSON header
            raise WeightsError(f"{path}: already a .safetensors file, not a PyTorch checkpoint; pass "
                               "it to --model as it is (named *.safetensors)")
        raise WeightsError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle); "
                           "pass a .pt file saved by torch.save or one of our .safetensors files")
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(f"{path}: refused to load: the file needs more than plain tensors to "
                           f"unpickle, and running its code would be unsafe ({reason_of(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - the weights-only unpickler meets bytes that are no pickle with
        # any error at all (IndexError, KeyError, RuntimeError, ...): every one means "not a checkpoint"
        raise WeightsError(f"{path}: not a readable PyTorch checkpoint ({reason_of(exc, with_type=True)})") from None


def _clean_state_dict(obj: object, path: Path) -> StateDict:
    """Unwrap {'state_dict'|'model'|'params_ema'|'params': ...} and strip DataParallel `module.`
    prefixes. BasicSR files (Real-ESRGAN's) may hold both params_ema and params: the moving
    average is the released model, as Real-ESRGAN's own inference takes it."""
    for key in ("state_dict", "model", "params_ema", "params"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors, found {type(obj).__name__}")
    return {re.sub(r"^module\.", "", k): v.float() for k, v in obj.items()}


def infer_config(state: StateDict, source: str = "weights") -> tuple[str, Any]:
    """(architecture id, config) of a primal state dict, read from its keys and shapes by each
    architecture's `detect` (registry.py)."""
    found = detect(state)
    if found is None:
        known = ", ".join(a.label for a in ARCHITECTURES.values())
        raise WeightsError(f"{source}: not a model this version knows ({known}); its first keys are "
                           f"{', '.join(list(state)[:3])}")
    return found[0].id, found[1]


def _from_training_checkpoint(state: dict, path: Path) -> Weights:
    """The weights in a `drn train` / `finetune-unpaired` checkpoint.pt (its "net": the primal
    network's and the dual blocks' tensors)."""
    net = state["net"]
    primal = {k[len("primal."):]: v.float() for k, v in net.items() if k.startswith("primal.")}
    arch_id, config = infer_config(primal, str(path))
    indices = sorted({int(k.split(".")[1]) for k in net if k.startswith("dual.")})
    dual = [{k[len(f"dual.{i}."):]: v.float() for k, v in net.items() if k.startswith(f"dual.{i}.")}
            for i in indices] or None
    return Weights(config, primal, dual, {"source": f"training checkpoint {path.name} (step {state.get('step')})"},
                   arch_id)


def load_official(path: str | os.PathLike, dual_path: str | os.PathLike | None = None) -> Weights:
    """Load an official DRN checkpoint (and optionally its `*_dual_model.pt` list), or the
    weights of one of our training checkpoints (checkpoint.pt)."""
    path = Path(path)
    obj = _torch_load(path)
    if isinstance(obj, dict) and isinstance(obj.get("net"), dict) and "opt_primal" in obj:
        return _from_training_checkpoint(obj, path)
    primal = _clean_state_dict(obj, path)
    arch_id, config = infer_config(primal, str(path))
    arch = architecture(arch_id)
    primal = arch.rename(primal)
    dual = None
    if dual_path is not None:
        dual_path = Path(dual_path)
        obj = _torch_load(dual_path)
        if not isinstance(obj, (list, tuple)):
            raise WeightsError(f"{dual_path}: expected a list of dual state dicts, "
                               f"found {type(obj).__name__}")
        dual = [_clean_state_dict(s, dual_path) for s in obj]
        needed = dual_blocks(arch, config)
        if len(dual) != needed:
            raise WeightsError(f"{dual_path}: has {len(dual)} dual blocks, the x{config.scale} "
                               f"{arch.label} model has {needed}")
    return Weights(config, primal, dual, {"source": f"official checkpoint {path.name}"}, arch_id)


# ---------------------------------------------------------------------------- resolving names

def model_path(spec: str | os.PathLike, progress: ProgressFn | None = None) -> Path:
    """The weights file a preset name, file or run folder refers to (presets.model_file); a
    third-party preset is downloaded first where it is not in the cache (download_preset)."""
    path = model_file(spec)
    preset = PRESETS.get(str(spec))
    if preset is not None and preset.url and not path.is_file():
        download_preset(preset.name, progress)
    return path


def download_preset(name: str, progress: ProgressFn | None = None) -> Path:
    """Download third-party preset `name` into the user cache, verified against its pinned SHA-256
    (and size); WeightsError naming what to do offline."""
    preset, path = PRESETS[name], shipped_file(name)
    offline = f"offline, download {preset.url} elsewhere and put it at {path}"
    return fetch_verified(preset.url, path, preset.sha256, preset.size, name, offline, WeightsError, progress)


def resolve_model(spec: str | os.PathLike, dual_path: str | os.PathLike | None = None) -> Weights:
    """Load weights from a preset name, a .safetensors file or an official .pt checkpoint."""
    path = model_path(spec)
    if path.suffix == ".safetensors":
        return _load_safetensors(path)
    return load_official(path, dual_path)


def read_provenance(path: str | os.PathLike) -> dict:
    """The provenance metadata of one of our .safetensors files, without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads((f.metadata() or {}).get("provenance", "{}"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable .safetensors file ({exc})") from None


def catalogue() -> list[dict]:
    """Every preset: scale, primal parameters, what it was trained on and is for, whether its
    weights are installed (and where), its recorded scores and recipe, the official checkpoint,
    the (clean, photo) pair that --denoise chooses from or blends, where it has one, and for a
    third-party model its architecture, release URL, SHA-256, size and licence."""
    rows = []
    for preset in PRESETS.values():
        arch = architecture(preset.architecture)
        params = count_parameters(arch, arch.variants[preset.variant])
        path = shipped_file(preset.name)
        provenance = read_provenance(path) if path.is_file() and path.suffix == ".safetensors" else {}
        rows.append({"name": preset.name, "scale": preset.scale, "params": params,
                     "trained_on": preset.degradation, "use": preset.use, "installed": path.is_file(),
                     "file": str(path), "steps": provenance.get("steps"), "scores": provenance.get("scores"),
                     "recipe": provenance.get("recipe"), "official": preset.official,
                     "denoise_pair": denoise_pair(preset.name), "architecture": arch.label,
                     "url": preset.url, "sha256": preset.sha256, "bytes": preset.size, "licence": preset.licence})
    return rows
