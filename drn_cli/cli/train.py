"""`drn train` and `drn finetune-unpaired`: a config from the options, the run under a display."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..degradations import describe
from ..errors import UsageError
from ..models.presets import UPSCALE_MODEL
from ..training.events import event_line, step_line, step_stats
from . import app, ui
from .ui import DeviceOpt, PrecisionOpt, ScaleOpt, handle_errors

Steps = Annotated[int | None, typer.Option(metavar="N", help="Total steps of the run (default: 10000 for train, 400 for finetune-unpaired).")]
SaveEvery = Annotated[int, typer.Option(metavar="N", help="Checkpoint every N steps.")]
LogEvery = Annotated[int, typer.Option(metavar="N", help="Log metrics every N steps.")]
Seed = Annotated[int, typer.Option(metavar="N", help="Random seed.")]
Rate = Annotated[float, typer.Option("--lr", metavar="RATE", help="Peak learning rate.")]
DualWeight = Annotated[float, typer.Option(metavar="W", help="Weight of the dual loss (lambda).")]


@app.command()
@handle_errors
def train(
    data: Annotated[list[Path] | None, typer.Option("--data", metavar="DIR", help="Folder of HR training images (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Run folder to create.")] = None,
    resume: Annotated[Path | None, typer.Option(metavar="DIR", help="Continue this run folder (of train or finetune-unpaired) up to --steps.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="Variant name, e.g. drn-s-x4.")] = None,
    scale: ScaleOpt = None,
    n_blocks: Annotated[int | None, typer.Option(metavar="N", help="RCABs per level (overrides the variant).")] = None,
    n_feats: Annotated[int | None, typer.Option(metavar="N", help="Base width (overrides the variant).")] = None,
    steps: Steps = None,
    minutes: Annotated[float | None, typer.Option(metavar="M", help="End after M minutes of training, or at --steps if sooner; the learning-rate schedule ends with it (for machines lent for a fixed time).")] = None,
    batch_size: Annotated[int, typer.Option(metavar="N", help="Patches per step (per process).")] = 16,
    patch_size: Annotated[int, typer.Option(metavar="N", help="HR patch size in pixels (a multiple of the scale).")] = 128,
    lr: Rate = 2e-4,
    warmup: Annotated[int, typer.Option(metavar="N", help="Linear warm-up steps.")] = 0,
    dual_weight: DualWeight = 0.1,
    loss: Annotated[str, typer.Option(metavar="NAME", help="Distance of the primal and dual losses: l1 (the paper's) or l2 (mean squared error, what PSNR measures; for a last short stage).")] = "l1",
    val: Annotated[str | None, typer.Option(metavar="SET", help="Validation set: a dataset name or an HR folder.")] = None,
    data_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Local benchmark copy for --val.")] = None,
    val_every: Annotated[int, typer.Option(metavar="N", help="Validate every N steps.")] = 500,
    save_every: SaveEvery = 200,
    log_every: LogEvery = 10,
    seed: Seed = 0,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    workers: Annotated[int, typer.Option(metavar="N", help="DataLoader worker processes.")] = 0,
    ema: Annotated[float, typer.Option(metavar="DECAY", help="Validate and save a moving average of the weights with this decay (0.999 is usual); 0: the weights themselves.")] = 0.0,
    init: Annotated[str | None, typer.Option(metavar="MODEL", help="Start from these weights (preset or file).")] = None,
    grow_from: Annotated[str | None, typer.Option(metavar="MODEL", help="Start the inner levels from this half-scale model (drn-s-x4 inside drn-s-x8); the finest level from --init or fresh.")] = None,
    degradation: Annotated[str, typer.Option(metavar="NAME", help=f"How LR patches are made: {describe()}.")] = "bicubic",
) -> None:
    """Paired dual-regression training on folders of HR images (resumable; torchrun for DDP)."""
    from ..training.run_folder import resume_run, start_run
    from ..training.trainer import TrainConfig, architecture
    from .evaluate import dataset_paths

    display = TrainDisplay()
    if resume is not None:
        return _run(resume_run(resume, steps, display, minutes=minutes), display)
    if not data or out is None:
        raise UsageError("drn train needs --data DIR and --out RUN_DIR (or --resume RUN_DIR)")
    arch_id, net = architecture(model, scale, n_blocks, n_feats)
    config = TrainConfig(
        data=[str(d) for d in data], out=str(out), architecture=arch_id, model=net.to_dict(),
        steps=steps or 10_000, minutes=minutes, batch_size=batch_size, patch_size=patch_size, lr=lr, warmup=warmup,
        dual_weight=dual_weight, loss=loss, val=[str(p) for p in dataset_paths(val, data_dir)[1]] if val else [],
        val_every=val_every, save_every=save_every, log_every=log_every, seed=seed, device=device,
        precision=precision, workers=workers, ema=ema, init=init, grow_from=grow_from, degradation=degradation)
    _run(start_run(config, display), display)


def _run(trainer, display: TrainDisplay) -> None:
    """Run either kind of run folder to its end under the display."""
    with display:
        trainer.train()


class TrainDisplay:
    """Training progress on stderr: a live bar with step, losses, patches/s, ETA and the last
    validation PSNR on a terminal; one plain line per logged step otherwise (log files)."""

    def __init__(self) -> None:
        self.quiet = os.environ.get("RANK", "0") != "0"
        self.progress = ui.progress("step", stats=True) if ui.err.is_terminal and not self.quiet else None
        self.task, self.val = None, None

    def __enter__(self) -> TrainDisplay:  # noqa: PYI034 (Self needs Python 3.11)
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: dict) -> None:
        if self.quiet:
            return
        self.val, line = event.get("val_psnr", self.val), event_line(event)
        if line is not None:
            ui.say(*line)
        elif event["type"] == "step" and self.progress is None:
            ui.say("info", step_line(event, self.val))
        elif event["type"] == "step":
            stats = step_stats(event, self.val)
            if self.task is None:
                self.task = self.progress.add_task("train", total=event["steps"], stats=stats)
            self.progress.update(self.task, completed=event["step"], stats=stats)


@app.command("finetune-unpaired")
@handle_errors
def finetune_unpaired(
    lr_dir: Annotated[Path, typer.Argument(help="Folder of real LR photos (no HR needed).")],
    model: Annotated[str, typer.Option("--model", "-m", metavar="MODEL", help="Starting weights with dual blocks (preset, file or run folder); default: the model drn upscale uses for photos.")] = UPSCALE_MODEL,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Run folder to create.")] = None,
    resume: Annotated[Path | None, typer.Option(metavar="DIR", help="Continue this run folder up to --steps.")] = None,
    steps: Steps = None,
    unpaired_ratio: Annotated[float, typer.Option(metavar="R", help="Share of unpaired photos in each batch (rho).")] = 0.3,
    paired_data: Annotated[list[Path] | None, typer.Option(metavar="DIR", help="HR folders for the paired share, degraded as --self-pairs says (default: self-pairs from the photos).")] = None,
    self_pairs: Annotated[str, typer.Option(metavar="KIND", help="How the pairs (self-pairs, or --paired-data) get their LR: auto (kernel, noise level and JPEG quality read from the photos), bicubic, nearest or bd with optional +noiseS and +jpegQ stages (if you know how the photos were made, e.g. bicubic+noise8+jpeg40), or dual (the degradation the loop learns).")] = "auto",
    keep_bicubic: Annotated[float, typer.Option(metavar="W", help="Weight of the term that keeps bicubic-LR outputs as the starting model's (0: off).")] = 3.0,
    dual_weight: DualWeight = 0.1,
    freeze_dual: Annotated[bool, typer.Option("--freeze-dual/--train-dual", help="Keep the dual blocks fixed.")] = False,
    loop: Annotated[str, typer.Option(metavar="KIND", help="How the loop closes at x4/x8: chain (all dual blocks) or inner.")] = "chain",
    batch_size: Annotated[int, typer.Option(metavar="N", help="Patches per step.")] = 8,
    patch_size: Annotated[int, typer.Option(metavar="N", help="HR patch size in pixels (0: up to 128, fitted to the photos).")] = 0,
    lr: Rate = 1e-4,
    holdout: Annotated[float, typer.Option(metavar="SHARE", help="Share of the photos (and --paired-data images) held out of training to measure it: the held-out pairs' PSNR and photos' closed-loop L1, before and after.")] = 0.2,
    keep_last: Annotated[bool, typer.Option("--keep-last", help="Keep the last step even when the held-out pairs score lower than at the start (by default the start is kept).")] = False,
    save_every: SaveEvery = 50,
    log_every: LogEvery = 10,
    seed: Seed = 0,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
) -> None:
    """Adapt a model to real LR photos with the closed-loop (dual) loss (DRN paper, Eq. 2)."""
    from ..training.adapt import AdaptConfig, initial_architecture
    from ..training.run_folder import resume_run, start_run

    display = TrainDisplay()
    if resume is not None:
        return _run(resume_run(resume, steps, display), display)
    if out is None:
        raise UsageError("finetune-unpaired needs --out RUN_DIR (or --resume RUN_DIR)")
    if not lr_dir.is_dir():
        raise UsageError(f"{lr_dir}: not a folder of LR photos")
    arch_id, net = initial_architecture(model)
    config = AdaptConfig(
        data=[str(d) for d in paired_data or []], out=str(out), architecture=arch_id, model=net,
        steps=steps or 400, batch_size=batch_size, patch_size=patch_size, lr=lr, dual_weight=dual_weight,
        save_every=save_every, log_every=log_every, seed=seed, device=device, precision=precision, init=model,
        lr_dir=str(lr_dir), unpaired_ratio=unpaired_ratio, freeze_dual=freeze_dual, loop=loop,
        self_pairs=self_pairs, keep_bicubic=keep_bicubic, holdout=holdout, keep_last=keep_last)
    _run(start_run(config, display), display)
