"""Run folders: made by `drn train` or `drn finetune-unpaired`, continued by `--resume` (either kind).

A run folder holds config.json (the whole TrainConfig, with its `kind`: "train" or "adapt"),
metrics.jsonl, checkpoint.pt (everything to resume), model.safetensors (the latest weights,
primal + dual) and best.safetensors (the best validation PSNR).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from ..atomic import make_folder, write_bytes_atomic
from ..errors import DrnError, reason_of
from ..io import find_images, no_images
from .adapt import AdaptConfig, AdaptTask
from .paired import PairedTask
from .trainer import EventFn, TrainConfig, Trainer

# A run kind's config class and task: "train" (paired, Eq. 1) and "adapt" (unpaired, Eq. 2).
KINDS: dict[str, tuple[type[TrainConfig], type]] = {"train": (TrainConfig, PairedTask), "adapt": (AdaptConfig, AdaptTask)}


def config_class(kind: str) -> type[TrainConfig]:
    """The config class of a run kind; ValueError for an unknown one."""
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}")
    return KINDS[kind][0]


def _trainer(config: TrainConfig, on_event: EventFn | None) -> Trainer:
    return Trainer(config, KINDS[config.kind][1], on_event)


def _write_config(out: Path, config: TrainConfig) -> None:
    write_bytes_atomic(out / "config.json", json.dumps(asdict(config), indent=2).encode(), overwrite=True)


def start_run(config: TrainConfig, on_event: EventFn | None = None) -> Trainer:
    """Create the run folder (refusing a non-empty one) and a fresh Trainer of the config's kind."""
    out = Path(config.out)
    if out.exists() and any(out.iterdir()):
        raise DrnError(f"{out}: run folder exists and is not empty; use --resume {out} to continue it")
    for folder in config.data:
        if not find_images(folder):
            raise DrnError(no_images(folder))
    trainer = _trainer(config, on_event)
    trainer.emit({"type": "info", "message": trainer.task.prepare()})  # data that cannot train fails here
    if trainer.dist.is_main:
        make_folder(out)
        # trainer.config: what the run decided of any "auto" choice (adaptation), recorded for --resume
        _write_config(out, trainer.config)
    return trainer


def resume_run(run_dir: str | Path, steps: int | None = None, on_event: EventFn | None = None,
               minutes: float | None = None) -> Trainer:
    """The Trainer of either kind of run folder restored from RUN_DIR/checkpoint.pt; `steps` and
    `minutes` extend the run."""
    run_dir = Path(run_dir)
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        # folders written before `kind` was recorded: an adaptation run names its photo folder
        saved.setdefault("kind", "adapt" if "lr_dir" in saved else "train")
        config = config_class(saved["kind"])(**saved)
    except (OSError, ValueError, TypeError) as exc:
        raise DrnError(f"{run_dir}: not a run folder with a readable config.json ({exc})") from None
    if steps is not None:
        config.steps = steps
    if minutes is not None:
        config.minutes = minutes
    config.out = str(run_dir)
    trainer = _trainer(config, on_event)
    ckpt = run_dir / "checkpoint.pt"
    if ckpt.is_file():
        try:
            state = torch.load(ckpt, map_location=trainer.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged file fails in torch's reader with any error
            raise DrnError(f"{ckpt}: cannot be read ({reason_of(exc, 120)}); start a new run from the last saved "
                           f"weights with --init {run_dir / 'model.safetensors'}") from None
        trainer.load_state_dict(state)
    else:
        trainer.emit({"type": "warning", "message": f"{run_dir}: no checkpoint.pt yet (stopped before "
                      "the first save): starting at step 0"})
    if trainer.step >= config.steps:
        raise DrnError(f"{run_dir}: already at step {trainer.step} of {config.steps}; "
                       "pass a larger --steps to continue")
    if trainer.out_of_time:
        raise DrnError(f"{run_dir}: its {config.minutes:g} minutes of training are spent; "
                       "pass a larger --minutes to continue")
    if trainer.dist.is_main:  # config.json always describes the run as it now continues
        _write_config(run_dir, config)
        _drop_metrics_after(run_dir / "metrics.jsonl", trainer.step)
    return trainer


def _drop_metrics_after(path: Path, step: int) -> None:
    """Keep only metrics.jsonl's records up to the checkpoint's step: a run killed between two
    saves logged steps that --resume trains again (they would appear twice), and the kill may
    have cut its last line short."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line + "\n")
        except (ValueError, KeyError, TypeError):
            continue
    write_bytes_atomic(path, "".join(kept).encode(), overwrite=True)
