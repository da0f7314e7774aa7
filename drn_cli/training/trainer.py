"""The training loop, shared by paired training and unpaired adaptation, resumable, one process or DDP.

A `Trainer` owns the network, its optimizers (Adam for the primal and a separate Adam for each
dual block, as the official code), the schedule (schedule.py), the moving average (--ema) and
checkpoints. What it trains on and with which loss is its task's: `paired.PairedTask` (Eq. 1 on
HR folders, `drn train`) or `adapt.AdaptTask` (Eq. 2 on LR photos, `drn finetune-unpaired`);
the loss itself is in losses.py. run_folder.py creates and resumes run folders.

A run ends at `steps`, or, with `minutes`, when that much wall-clock time of training has passed,
whichever comes first; the cosine then follows whichever is further along, so a run on a
machine lent for a fixed time still ends with its learning rate decayed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from .. import distributed
from ..atomic import write_bytes_atomic
from ..degradations import parse_degradation
from ..device import precision_name, resolve_precision
from ..errors import DrnError, UsageError
from ..evaluate import iter_scores
from ..inference import Upscaler
from ..models.grow import copy_inner_levels, fit_stem
from ..models.loaded import LoadedModel
from ..models.presets import default_variant
from ..models.registry import architecture as architecture_record
from ..models.registry import config_for, count_parameters
from ..models.weights import Weights, resolve_model, root_of, save_weights
from .losses import LOSSES
from .pace import Pace
from .schedule import MovingAverage, lr_at

EventFn = Callable[[dict], None]


def time_line(clock: dict[str, float], waiting: float) -> str:
    """"time: preparing the data 12 s, the held-out measure 16 s, training 4.8 min (3% waiting
    for batches)": where a run's seconds (`clock`, by part) went."""
    def span(seconds: float) -> str:
        return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

    parts = [f"{name} {span(seconds)}" for name, seconds in clock.items()]
    share = waiting / clock["training"] if clock.get("training") else 0.0
    return f"time: {', '.join(parts)} ({share:.0%} of training waiting for batches)"
GROW_FIT_BATCHES = 1000  # Adam steps of the --grow-from stem fit (about a minute on 2 CPU cores at x8)


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json in the run folder."""

    data: list[str]
    out: str
    architecture: str = "drn"      # the network's registry id; its record must be `trainable`
    model: dict = field(default_factory=lambda: config_for(default_variant(4))[1].to_dict())  # its config
    steps: int = 10_000
    minutes: float | None = None   # wall-clock budget of the training loop; None: steps alone
    batch_size: int = 16
    patch_size: int = 128          # HR pixels
    lr: float = 2e-4
    min_lr: float = 1e-7
    warmup: int = 0
    dual_weight: float = 0.1
    loss: str = "l1"               # distance of Eq. 1: l1 (the paper's) or l2 (mean squared error, see LOSSES)
    val: list[str] = field(default_factory=list)   # HR image files for validation
    val_every: int = 500
    save_every: int = 200
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    workers: int = 0
    ema: float = 0.0               # decay of the weights' moving average that is validated and saved; 0: off
    init: str | None = None
    grow_from: str | None = None   # a half-scale model grown into the inner levels (model.nested_prefixes)
    degradation: str = "bicubic"   # how LR patches are made: bicubic (paper), real, or any named one (data.py)
    bicubic_init: bool = True      # start from an identity path that outputs the bicubic input
    skip_threshold: float = 1e6    # official: skip a batch whose loss exceeds this x the average
    freeze_dual: bool = False      # train the primal alone: the dual blocks keep their starting weights
    kind: str = "train"            # what the run folder holds: "train" (paired) or "adapt" (finetune-unpaired)
    run_id: str = ""               # made once per run; the root of a run from scratch (provenance "root")

    def __post_init__(self) -> None:
        """Refuse values no run can use, with the option's name (UsageError, exit code 2)."""
        self.run_id = self.run_id or uuid.uuid4().hex
        record = architecture_record(self.architecture)
        if not record.trainable:
            raise UsageError(f"{record.label} models cannot be trained or adapted here: dual regression "
                             "training needs a network with dual blocks (DRN)")
        try:
            parse_degradation(self.degradation)
        except ValueError as exc:
            raise UsageError(f"--degradation: {exc}") from None
        self.check_patch_size()
        for name in ("steps", "batch_size", "val_every", "save_every", "log_every"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.minutes is not None and not self.minutes > 0:
            raise UsageError(f"--minutes must be more than 0, got {self.minutes}")
        if not 0 <= self.ema < 1:
            raise UsageError(f"--ema must be at least 0 and below 1 (0.999 is usual), got {self.ema}")
        if self.loss not in LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")

    def check_patch_size(self) -> None:
        scale = self.net.scale
        if self.patch_size % scale or self.patch_size < 4 * scale:
            raise UsageError(f"--patch-size must be a multiple of {scale} and at least {4 * scale}, "
                             f"got {self.patch_size}")

    @property
    def net(self) -> Any:
        """The network's config, as its architecture's record reads `model`."""
        return architecture_record(self.architecture).config(self.model)


def architecture(model: str | None = None, scale: int | None = None, n_blocks: int | None = None,
                 n_feats: int | None = None) -> tuple[str, Any]:
    """(registry id, config) of a named variant or preset (default: the DRN-S of `scale`, or of
    x4) with `drn train`'s overrides where given."""
    try:
        arch, config = config_for(model or default_variant(scale or 4), scale=scale, n_blocks=n_blocks, n_feats=n_feats)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return arch.id, config


@dataclass(frozen=True)
class Verdict:
    """A task's judgement of a finished run: its warnings, and whether the starting weights
    explain the held-out data better than the last step (the Trainer then saves them instead)."""

    lines: list[str] = field(default_factory=list)
    restore_start: bool = False


class Task(Protocol):
    """What a Trainer trains on and how: the data, the loss, and how the run is judged. The
    Trainer owns the network, the steps, saving and acting on the verdict."""

    config: TrainConfig  # the run's config with the task's auto choices made (what config.json records)

    def prepare(self) -> str: ...                                     # decode the data; one info line
    def batches(self, start: int, until: int): ...                    # one batch per step
    def loss(self, net, batch) -> tuple[torch.Tensor, torch.Tensor]: ...  # (primal, dual) terms of `net` on it
    def describe(self, before) -> list[str]: ...                       # the opening lines, given measure()
    def measure(self): ...                          # what the run is judged by (its .text() for the log), or None
    def verdict(self, before, after) -> Verdict: ...                  # the finished run judged


class Trainer:
    """One run: the network, optimizers, schedule, average and checkpoints built from a
    TrainConfig; its task (`make_task(trainer)`: run_folder.TASKS picks it by `config.kind`)
    supplies the batches and the loss."""

    def __init__(self, config: TrainConfig, make_task: Callable[[Trainer], Task],
                 on_event: EventFn | None = None) -> None:
        self.created = time.perf_counter()  # the run's time breakdown starts here (train())
        self.config = config
        self.emit = on_event or (lambda event: None)
        self.dist, self.device = distributed.init(config.device)
        self.dtype = resolve_precision(config.precision, self.device)
        self.out = Path(config.out)
        torch.manual_seed(config.seed + self.dist.rank)
        self.arch = architecture_record(config.architecture)
        self.net = self.arch.build(config.net)
        self.init_weights = self._load_init(config.init) if config.init else None
        if self.init_weights is None and config.bicubic_init and self.arch.warm_start is not None:
            self.arch.warm_start(self.net.primal)
        if config.freeze_dual:
            self.net.dual.requires_grad_(False)
        self.net.to(self.device, memory_format=torch.channels_last)
        # fused: one kernel per parameter group instead of several per tensor (CPU and CUDA).
        adam = functools.partial(torch.optim.Adam, lr=config.lr, betas=(0.9, 0.999), eps=1e-8, fused=True)
        self.opt_primal = adam([p for p in self.net.primal.parameters() if p.requires_grad])
        self.opt_dual = [] if config.freeze_dual else [adam(b.parameters()) for b in self.net.dual]
        self.step, self.best_psnr, self.skipped, self.loss_avg = 0, -math.inf, 0, None
        self.elapsed = 0.0  # seconds of training so far, the same on every rank (run())
        self.task = make_task(self)
        self.config = config = self.task.config  # with the task's auto choices made (adaptation reads its photos)
        workload = (f"{self.arch.label} {json.dumps(config.model, sort_keys=True)} {config.kind} batch {config.batch_size} "
                    f"patch {config.patch_size} {self.precision} {self.device.type}")
        self.pace = Pace(self.device, follow_free_cores=self.dist.world == 1, workload=workload)
        if config.grow_from and not (self.out / "checkpoint.pt").is_file():  # a resume loads its own
            self._grow_from(config.grow_from)
        # --ema: the average starts from the weights as they are now (after --init and --grow-from)
        self.ema = MovingAverage(self.net, config.ema) if config.ema else None
        self.ddp = (nn.parallel.DistributedDataParallel(self.net, device_ids=[self.device.index]
                                                         if self.device.type == "cuda" else None)
                    if self.dist.world > 1 else self.net)

    @property
    def precision(self) -> str:
        return precision_name(self.dtype)

    def model_label(self) -> str:
        """"drn-s-x4-real: DRN x4, 30 blocks per level, 16 base features, 4.80 M parameters"."""
        start = self.config.init or "a fresh DRN"
        return (f"{start}: {self.arch.label} {self.arch.describe(self.config.net)}, "
                f"{count_parameters(self.arch, self.config.net) / 1e6:.2f} M parameters")

    def train(self) -> None:
        """The whole run as `drn train` and `drn finetune-unpaired` make it: its opening lines,
        `run()`, then the task's verdict (adaptation: the held-out images measured before and
        after, and the starting weights kept where the run made them worse) and a closing line;
        every line an "info" or "warning" event of rank 0."""
        c, main = self.config, self.dist.is_main
        clock = {"preparing the data": time.perf_counter() - self.created}
        tic = time.perf_counter()
        before = self.task.measure() if main else None  # rank 0 alone says and settles the run
        clock["the held-out measure"] = time.perf_counter() - tic
        if main:
            *notes, what = self.task.describe(before)
            budget = f" or {c.minutes:g} minutes of training" if c.minutes is not None else ""
            for line in [*notes, f"{what} on {self.device} ({self.precision}) from step {self.step} to {c.steps}{budget}"]:
                self.emit({"type": "info", "message": line})
        tic = time.perf_counter()
        self.run()
        clock["training"] = time.perf_counter() - tic
        if not main:
            return
        tic = time.perf_counter()
        after = self.task.measure()
        clock["the held-out measure"] += time.perf_counter() - tic
        if after is not None:
            self.emit({"type": "info", "message": f"held out: {before.text()} -> {after.text()}"})
        verdict = self.task.verdict(before, after)
        if verdict.restore_start:
            self.restore_start()
        for line in verdict.lines:
            self.emit({"type": "warning", "message": line})
        self.emit({"type": "info", "message": time_line(clock, self.pace.waiting)})
        self.emit({"type": "info", "message": f"done: {self.out / 'model.safetensors'} (step {self.step})"})

    def _load_init(self, spec: str) -> Weights:
        """Load the starting weights `spec` into the network; returns them."""
        weights = resolve_model(spec)
        if (weights.architecture, weights.config) != (self.arch.id, self.config.net):
            theirs = architecture_record(weights.architecture)
            raise DrnError(f"--init {spec}: weights are {theirs.label} {theirs.describe(weights.config)}, the run needs "
                           f"{self.arch.label} {self.arch.describe(self.config.net)}")
        self.net.load_state_dict(weights.trainable().state_dict())
        return weights

    def restore_start(self) -> None:
        """Put the starting weights (--init) back and save them as model.safetensors: the verdict
        of a run that made the held-out data worse. checkpoint.pt keeps the last step (--resume)."""
        self.net.load_state_dict(self.init_weights.trainable().state_dict())
        save_weights(self.out / "model.safetensors", self.weights())

    def _grow_from(self, spec: str) -> None:
        """--grow-from: copy the half-scale model `spec` into the inner levels, then fit the stem
        on GROW_FIT_BATCHES training batches so those levels get the features they were trained
        on (models/grow.py). The finest level and the duals keep their --init or fresh weights."""
        weights = resolve_model(spec)
        try:
            copied = copy_inner_levels(self.net.primal, weights)
        except ValueError as exc:
            raise UsageError(f"--grow-from {spec}: {exc}") from None
        inner = weights.build()[0].to(self.device).float()
        error = fit_stem(self.net.primal, inner, (b.lr for b in self.task.batches(self.step, GROW_FIT_BATCHES)))
        self.emit({"type": "info", "message": f"--grow-from {spec}: {copied} tensors copied into the "
                   f"inner levels; stem fitted to their input features ({error:.2%} error)"})

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {
            "net": self.net.state_dict(),
            "opt_primal": self.opt_primal.state_dict(),
            "opt_dual": [o.state_dict() for o in self.opt_dual],
            "step": self.step, "best_psnr": self.best_psnr, "skipped": self.skipped,
            "loss_avg": self.loss_avg, "torch_rng": torch.get_rng_state(), "elapsed": self.elapsed,
            "ema": None if self.ema is None else self.ema.values,
        }

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.opt_primal.load_state_dict(state["opt_primal"])
        for opt, s in zip(self.opt_dual, state["opt_dual"]):
            opt.load_state_dict(s)
        self.step, self.best_psnr = state["step"], state["best_psnr"]
        self.skipped, self.loss_avg = state["skipped"], state["loss_avg"]
        self.elapsed = state.get("elapsed", 0.0)  # absent in checkpoints before --minutes
        if self.ema is not None and state.get("ema") is not None:  # else it starts from the weights here
            self.ema.values = state["ema"]
        torch.set_rng_state(state["torch_rng"])

    def weights(self) -> Weights:
        c = self.config
        return Weights(c.net, self.net.primal.state_dict(), [b.state_dict() for b in self.net.dual],
                       {"trained_by": "drn train",
                        "steps": self.step,
                        "data": [Path(d).name for d in c.data],  # names: no paths of this machine
                        "degradation": c.degradation, "patch_size": c.patch_size,
                        "batch_size": c.batch_size, "precision": self.precision,
                        "init": c.init and Path(c.init).name, "root": self.root}, self.arch.id)

    @property
    def root(self) -> str:
        """The first model of this run's lineage: its --init's root, or the run itself."""
        if self.init_weights is None:
            return f"run:{self.config.run_id}"
        return root_of(self.init_weights, self.config.init) or Path(self.config.init).name

    def averaged(self):
        """The network holds the --ema averages inside this block; without --ema, its own weights."""
        return self.ema.applied() if self.ema is not None else contextlib.nullcontext()

    def save(self) -> None:
        if not self.dist.is_main:
            return
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        write_bytes_atomic(self.out / "checkpoint.pt", buffer.getvalue(), overwrite=True)
        with self.averaged():
            save_weights(self.out / "model.safetensors", self.weights())
        self.emit({"type": "save", "step": self.step})

    # ------------------------------------------------------------------ loop
    def validate(self) -> float:
        """Mean PSNR of the primal network on the validation images, degraded as in training."""
        paths = [Path(p) for p in self.config.val]
        model = LoadedModel("validation", Weights(self.config.net, {}, architecture=self.arch.id), self.net.primal.eval(), None,
                            self.device, self.dtype)
        upscaler = Upscaler(model)
        scores = list(iter_scores(lambda lr, _quality: upscaler.upscale_uint8(lr, tile=0), paths,
                                  self.config.net.scale, self.config.degradation))
        self.net.primal.train()
        return float(np.mean([s.psnr for s in scores]))

    @property
    def out_of_time(self) -> bool:
        return self.config.minutes is not None and self.elapsed >= 60 * self.config.minutes

    def _train_step(self, batch) -> dict | None:
        c = self.config
        lr_value = lr_at(self.step, c.lr, c.min_lr, c.warmup, c.steps, c.minutes, self.elapsed)
        for opt in [self.opt_primal, *self.opt_dual]:
            for group in opt.param_groups:
                group["lr"] = lr_value
        primal, dual = self.task.loss(self.ddp, batch)
        loss = primal + dual
        value = loss.item()
        if not math.isfinite(value) or (self.loss_avg is not None and value > c.skip_threshold * self.loss_avg):
            self.skipped += 1  # the official guard: a batch whose loss explodes is skipped
            return None
        for opt in [self.opt_primal, *self.opt_dual]:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in [self.opt_primal, *self.opt_dual]:
            opt.step()
        if self.ema is not None:
            self.ema.update(self.step)
        self.loss_avg = value if self.loss_avg is None else 0.99 * self.loss_avg + 0.01 * value
        return {"loss": value, "loss_primal": primal.item(), "loss_dual": dual.item(), "lr": lr_value}

    def to_device(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)

    def run(self, until: int | None = None) -> None:
        """Train from the current step to `until` (default: the run's total) or to the end of
        `minutes`, checkpointing. The clock starts at the first batch (the data is built by
        then) and is agreed between ranks every log_every steps, so they all stop at one step."""
        c = self.config
        until = c.steps if until is None else min(until, c.steps)
        with self.pace:  # on a CPU: threads that follow the cores other work leaves free
            self._run(until)
        distributed.barrier()

    def _run(self, until: int) -> None:
        c = self.config
        metrics = (self.out / "metrics.jsonl").open("a") if self.dist.is_main else None
        tic, patches, started, elapsed_before = time.perf_counter(), 0, None, self.elapsed
        asked = time.perf_counter()  # when the loop last asked the task for a batch
        for batch in self.task.batches(self.step, until):
            started = started or time.perf_counter()
            self.pace.waiting += time.perf_counter() - asked
            record = self._train_step(batch)
            self.step += 1
            patches += c.batch_size * self.dist.world
            if c.minutes is not None and self.step % c.log_every == 0:
                self.elapsed = elapsed_before + max(distributed.all_gather(time.perf_counter() - started))
                if self.out_of_time:
                    until = self.step  # saved below; validated too, like the run's last step
            if record is None:
                self.emit({"type": "skip", "step": self.step, "skipped": self.skipped})
            elif self.step % c.log_every == 0 or self.step == c.steps:
                elapsed = time.perf_counter() - tic
                record.update(step=self.step, skipped=self.skipped, **self.pace.interval(patches, elapsed))
                per_step = elapsed * c.batch_size * self.dist.world / patches
                tic, patches = time.perf_counter(), 0
                self._log(metrics, record, {"seconds_per_step": per_step})
            if c.val and (self.step % c.val_every == 0 or self.step == c.steps or self.out_of_time):
                self._validate(metrics)
            if self.step % c.save_every == 0 or self.step in (c.steps, until):
                self.save()
            if self.step == until:
                break
            asked = time.perf_counter()
        if metrics is not None:
            metrics.close()

    def _log(self, metrics, record: dict, timing: dict | None = None) -> None:
        """Write `record` to metrics.jsonl and emit it as a "step" event, with the run's length,
        `timing` (seconds_per_step) and the minutes left of a --minutes budget."""
        if metrics is not None:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        budget = self.config.minutes
        left = {} if budget is None else {"minutes_left": max(0.0, budget - self.elapsed / 60)}
        self.emit({"type": "step", **record, "steps": self.config.steps, **left, **(timing or {})})

    def _validate(self, metrics) -> None:
        if not self.dist.is_main:
            return
        with self.averaged():
            psnr = self.validate()
            if psnr > self.best_psnr:
                self.best_psnr = psnr
                save_weights(self.out / "best.safetensors", self.weights())
        self._log(metrics, {"step": self.step, "val_psnr": psnr, "best_psnr": self.best_psnr})
