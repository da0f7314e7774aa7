"""Paired dual-regression training (paper Sec. 3.1, Eq. 1), resumable, single process or DDP.

Loss (paper Eq. 1, official `trainer.py`): L1 of the primal output at every pyramid level
against the bicubic pyramid, plus `dual_weight` x L1 of each dual block's output against the
level below. All losses are on the official 0..255 scale. Adam for the primal and a separate
Adam for each dual block; cosine learning-rate decay with optional linear warm-up.

Run folder: config.json, metrics.jsonl, checkpoint.pt (everything to resume), model.safetensors
(latest weights, primal + dual) and best.safetensors (best validation PSNR).

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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import distributed
from ..atomic import make_folder, write_bytes_atomic
from ..degradations import parse_degradation
from ..device import autocast, precision_name, resolve_precision
from ..errors import DrnError, UsageError, reason_of
from ..evaluate import iter_scores
from ..inference import Upscaler
from ..io import find_images, no_images
from ..models.drn import DRNConfig
from ..models.grow import copy_inner_levels, fit_stem
from ..models.loaded import LoadedModel
from ..models.presets import default_variant
from ..models.registry import architecture as architecture_record
from ..models.registry import config_for, count_parameters
from ..models.weights import Weights, resolve_model, save_weights
from .data import DevicePatches, PairedPatches, PatchSpec, Sample, build_pyramids, single_threaded_opencv

EventFn = Callable[[dict], None]
# The distance of Eq. 1. The paper uses L1; L2 is what PSNR measures, so a last short stage with it
# can trade L1's robustness for PSNR (a common final step of PSNR-oriented SR training).
LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}
GROW_FIT_BATCHES = 1000  # Adam steps of the --grow-from stem fit (about a minute on 2 CPU cores at x8)


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json in the run folder."""

    data: list[str]
    out: str
    model: dict = field(default_factory=lambda: DRNConfig().to_dict())
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
    kind: str = "train"            # what the run folder holds: "train" (paired) or "adapt" (finetune-unpaired)

    def __post_init__(self) -> None:
        """Refuse values no run can use, with the option's name (UsageError, exit code 2)."""
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
        scale = self.drn.scale
        if self.patch_size % scale or self.patch_size < 4 * scale:
            raise UsageError(f"--patch-size must be a multiple of {scale} and at least {4 * scale}, "
                             f"got {self.patch_size}")

    @property
    def drn(self) -> DRNConfig:
        return DRNConfig(**self.model)


def architecture(model: str | None = None, scale: int | None = None, n_blocks: int | None = None,
                 n_feats: int | None = None) -> DRNConfig:
    """A named variant or preset (default: the DRN-S of `scale`, or of x4) with optional overrides."""
    try:
        return config_for(model or default_variant(scale or 4), scale, n_blocks, n_feats)[1]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def dual_regression_loss(sr: list[torch.Tensor], sr2lr: list[torch.Tensor],
                         pyramid: list[torch.Tensor], dual_weight: float,
                         dual_targets: list[torch.Tensor] | None = None, loss: str = "l1",
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(primal, dual) losses of paper Eq. 1, with the distance LOSSES[loss] (L1 in the paper).
    `pyramid` is [LR_0, ..., HR], the same levels as `sr`; the dual blocks' targets are its levels
    below HR unless `dual_targets` says otherwise (under the realistic degradation the innermost one
    is the deterministic LR, data.Sample)."""
    distance = LOSSES[loss]
    primal = sum(distance(out.float(), target) for out, target in zip(sr, pyramid))
    targets = pyramid[:-1] if dual_targets is None else dual_targets
    dual = sum(distance(out.float(), target) for out, target in zip(sr2lr, targets))
    return primal, dual_weight * dual


def lr_at(step: int, config: TrainConfig, elapsed: float = 0.0) -> float:
    """Learning rate at `step` after `elapsed` seconds of training: linear warm-up, then cosine
    from lr down to min_lr, along steps or along `config.minutes`, whichever is further."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(1, config.steps - config.warmup)
    if config.minutes is not None:
        progress = max(progress, elapsed / (60 * config.minutes))
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


class _StreamSampler(torch.utils.data.Sampler):
    """Sample indices of steps [first, last) for this rank: index = global sample number."""

    def __init__(self, first: int, last: int, batch: int, rank: int, world: int) -> None:
        self.first, self.last, self.batch, self.rank, self.world = first, last, batch, rank, world

    def __iter__(self):
        for step in range(self.first, self.last):
            base = (step * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return (self.last - self.first) * self.batch


def _atomic_torch_save(obj: object, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue(), overwrite=True)


class Trainer:
    """One run: builds everything from a TrainConfig, optionally restores a checkpoint."""

    def __init__(self, config: TrainConfig, on_event: EventFn | None = None) -> None:
        self.config = config
        self.emit = on_event or (lambda event: None)
        self.dist, self.device = distributed.init(config.device)
        self.dtype = resolve_precision(config.precision, self.device)
        self.out = Path(config.out)
        torch.manual_seed(config.seed + self.dist.rank)
        arch = architecture_record("drn")
        self.net = arch.build(config.drn)
        self.init_weights = self._load_init(config.init) if config.init else None
        if self.init_weights is None and config.bicubic_init and arch.warm_start is not None:
            arch.warm_start(self.net.primal)
        self.net.to(self.device, memory_format=torch.channels_last)
        # fused: one kernel per parameter group instead of several per tensor (CPU and CUDA).
        adam = functools.partial(torch.optim.Adam, lr=config.lr, betas=(0.9, 0.999), eps=1e-8, fused=True)
        self.opt_primal = adam([p for p in self.net.primal.parameters() if p.requires_grad])
        self.opt_dual = [adam(b.parameters()) for b in self.net.dual]
        self.step, self.best_psnr, self.skipped, self.loss_avg = 0, -math.inf, 0, None
        self.elapsed = 0.0  # seconds of training so far, the same on every rank (run())
        if config.grow_from and not (self.out / "checkpoint.pt").is_file():  # a resume loads its own
            self._grow_from(config.grow_from)
        # --ema: fp32 moving averages of every floating tensor of the network, what is validated and
        # saved; they start from the weights as they are now (after --init and --grow-from)
        self.ema = ({k: v.detach().clone() for k, v in self.net.state_dict().items() if v.is_floating_point()}
                    if config.ema else None)
        self.ddp = (nn.parallel.DistributedDataParallel(self.net, device_ids=[self.device.index]
                                                         if self.device.type == "cuda" else None)
                    if self.dist.world > 1 else self.net)

    @property
    def precision(self) -> str:
        return precision_name(self.dtype)

    def model_label(self) -> str:
        """"drn-s-x4-real: DRN x4, 30 blocks per level, 16 base features, 4.80 M parameters"."""
        arch = architecture_record("drn")
        start = self.config.init or "a fresh DRN"
        return f"{start}: {arch.label} {arch.describe(self.config.drn)}, {count_parameters(arch, self.config.drn) / 1e6:.2f} M parameters"

    def describe(self, closed_loop_before: float | None = None) -> list[str]:
        """The lines that open the run's output, the last one what is trained on what."""
        return [f"training {self.model_label()} ({self.config.degradation} LR)"]

    def _load_init(self, spec: str) -> Weights:
        """Load the starting weights `spec` into the network; returns them."""
        weights = resolve_model(spec)
        if weights.config != self.config.drn:
            raise DrnError(f"--init {spec}: weights are {weights.config}, the run needs {self.config.drn}")
        primal, duals = weights.build(with_dual=True)
        self.net.primal.load_state_dict(primal.state_dict())
        if duals is not None:
            self.net.dual.load_state_dict(duals.state_dict())
        return weights

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
        error = fit_stem(self.net.primal, inner, (b.lr for b in self.batches(GROW_FIT_BATCHES)))
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
            "ema": self.ema,
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
            self.ema = state["ema"]
        torch.set_rng_state(state["torch_rng"])

    def weights(self) -> Weights:
        c = self.config
        return Weights(c.drn, self.net.primal.state_dict(), [b.state_dict() for b in self.net.dual],
                       {"trained_by": "drn train", "steps": self.step,
                        "data": [Path(d).name for d in c.data],  # names: no paths of this machine
                        "degradation": c.degradation, "patch_size": c.patch_size,
                        "batch_size": c.batch_size, "precision": precision_name(self.dtype)})

    def save(self) -> None:
        if not self.dist.is_main:
            return
        _atomic_torch_save(self.state_dict(), self.out / "checkpoint.pt")
        with self.averaged():
            save_weights(self.out / "model.safetensors", self.weights())
        self.emit({"type": "save", "step": self.step})

    def _average(self) -> None:
        """--ema: move the averages toward the weights just stepped. The decay is warmed up as
        min(ema, (1 + step) / (10 + step)) (TensorFlow's ExponentialMovingAverage with
        num_updates), so a short run's average is not held back by its starting weights."""
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        current = self.net.state_dict()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.ema.values()), [current[k] for k in self.ema], 1 - decay)

    @contextlib.contextmanager
    def averaged(self):
        """The network holds the --ema averages inside this block (for validation and saving);
        without --ema, its own weights."""
        if self.ema is None:
            yield
            return
        raw = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.net.load_state_dict(self.ema, strict=False)
        try:
            yield
        finally:
            self.net.load_state_dict(raw)

    # ------------------------------------------------------------------ loop
    def validate(self) -> float:
        paths = [Path(p) for p in self.config.val]
        model = LoadedModel("validation", Weights(self.config.drn, {}), self.net.primal.eval(), None,
                            self.device, self.dtype)
        upscaler = Upscaler(model)
        fn = functools.partial(upscaler.upscale_uint8, tile=0)
        scores = list(iter_scores(fn, paths, self.config.drn.scale, self.config.degradation))
        self.net.primal.train()
        return float(np.mean([s.psnr for s in scores]))

    def loss(self, batch: Sample) -> tuple[torch.Tensor, torch.Tensor]:
        """(primal, dual) losses of one paired batch."""
        with autocast(self.device, self.dtype):
            sr, sr2lr, _ = self.ddp(batch.lr)
        return dual_regression_loss(sr, sr2lr, batch.pyramid, self.config.dual_weight, batch.dual_targets,
                                    self.config.loss)

    @property
    def out_of_time(self) -> bool:
        return self.config.minutes is not None and self.elapsed >= 60 * self.config.minutes

    def _train_step(self, batch) -> dict | None:
        lr_value = lr_at(self.step, self.config, self.elapsed)
        for opt in [self.opt_primal, *self.opt_dual]:
            for group in opt.param_groups:
                group["lr"] = lr_value
        primal, dual = self.loss(batch)
        loss = primal + dual
        value = loss.item()
        if not math.isfinite(value) or (self.loss_avg is not None
                                         and value > self.config.skip_threshold * self.loss_avg):
            self.skipped += 1
            return None
        for opt in [self.opt_primal, *self.opt_dual]:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in [self.opt_primal, *self.opt_dual]:
            opt.step()
        if self.ema is not None:
            self._average()
        self.loss_avg = value if self.loss_avg is None else 0.99 * self.loss_avg + 0.01 * value
        return {"loss": value, "loss_primal": primal.item(), "loss_dual": dual.item(), "lr": lr_value}

    def to_device(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)

    @property
    def patch_spec(self) -> PatchSpec:
        c = self.config
        return PatchSpec(c.drn.scale, c.patch_size, c.seed, c.degradation)

    @functools.cached_property
    def pyramids(self) -> list:
        """The training images' pyramids, built once per process (the slow part of a start)."""
        pyramids, skipped, read = build_pyramids(self.config.data, self.patch_spec)
        if read.warning():
            self.emit({"type": "warning", "message": read.warning()})
        size = self.config.patch_size
        if not pyramids:
            raise DrnError(f"no training image is at least {size}x{size} pixels ({len(skipped)} smaller); "
                           "use a smaller --patch-size or larger images")
        if skipped:
            self.emit({"type": "warning", "message": f"skipped {len(skipped)} image(s) smaller "
                       f"than the {size}px patch, e.g. {skipped[0]}"})
        return pyramids

    def prepare_data(self) -> None:
        """Decode the training data now (it is kept), so that data that cannot train fails
        before the run folder is made."""
        self.emit({"type": "info", "message": f"{len(self.pyramids)} training images"})

    def batches(self, until: int):
        """Batches for steps [self.step, until): data.Sample of device tensors. Bicubic pairs are
        cut on the device from pyramids held there (data.DevicePatches); the other degradations
        are made per sample on the host, in `workers` DataLoader processes."""
        c = self.config
        spec, pyramids = self.patch_spec, self.pyramids
        if c.degradation == "bicubic":
            patches = DevicePatches(pyramids, spec, self.device)
            for step in range(self.step, until):
                base = (step * self.dist.world + self.dist.rank) * c.batch_size
                batch = patches.batch(range(base, base + c.batch_size))
                yield Sample(self.to_device(batch.lr), [self.to_device(t) for t in batch.pyramid],
                             self.to_device(batch.dual_lr))
            return
        dataset = PairedPatches(pyramids, spec, length=c.steps * c.batch_size * self.dist.world)
        sampler = _StreamSampler(self.step, until, c.batch_size, self.dist.rank, self.dist.world)
        loader = torch.utils.data.DataLoader(dataset, batch_size=c.batch_size, sampler=sampler,
                                             num_workers=c.workers, pin_memory=self.device.type == "cuda")
        with single_threaded_opencv():
            stream = iter(loader)  # the workers fork here
        for batch in stream:
            yield Sample(self.to_device(batch.lr), [self.to_device(t) for t in batch.pyramid],
                         self.to_device(batch.dual_lr))

    def run(self, until: int | None = None) -> None:
        """Train from the current step to `until` (default: the run's total) or to the end of
        `minutes`, checkpointing. The clock starts at the first batch (the data is built by
        then) and is agreed between ranks every log_every steps, so they all stop at one step."""
        c = self.config
        until = c.steps if until is None else min(until, c.steps)
        metrics = (self.out / "metrics.jsonl").open("a") if self.dist.is_main else None
        tic, patches, started, elapsed_before = time.perf_counter(), 0, None, self.elapsed
        for batch in self.batches(until):
            started = started or time.perf_counter()
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
                record.update(step=self.step, patches_per_s=patches / elapsed, skipped=self.skipped)
                tic, patches = time.perf_counter(), 0
                self._log(metrics, record)
            if c.val and (self.step % c.val_every == 0 or self.step == c.steps or self.out_of_time):
                self._validate(metrics)
            if self.step % c.save_every == 0 or self.step in (c.steps, until):
                self.save()
            if self.step == until:
                break
        if metrics is not None:
            metrics.close()
        distributed.barrier()

    def _log(self, metrics, record: dict) -> None:
        if metrics is not None:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        budget = self.config.minutes
        left = {} if budget is None else {"minutes_left": max(0.0, budget - self.elapsed / 60)}
        self.emit({"type": "step", **record, "steps": self.config.steps, **left})

    def _validate(self, metrics) -> None:
        if not self.dist.is_main:
            return
        with self.averaged():
            psnr = self.validate()
            if psnr > self.best_psnr:
                self.best_psnr = psnr
                save_weights(self.out / "best.safetensors", self.weights())
        self._log(metrics, {"step": self.step, "val_psnr": psnr, "best_psnr": self.best_psnr})


def run_kind(kind: str) -> tuple[type, type]:
    """(config class, trainer class) of a run folder's kind; ValueError for an unknown one."""
    if kind == "train":
        return TrainConfig, Trainer
    if kind == "adapt":
        from .adapt import AdaptConfig, Adapter

        return AdaptConfig, Adapter
    raise ValueError(f"unknown run kind {kind!r}")


def start_run(config: TrainConfig, on_event: EventFn | None = None) -> Trainer:
    """Create the run folder (refusing a non-empty one) and a fresh Trainer of the config's kind."""
    out = Path(config.out)
    if out.exists() and any(out.iterdir()):
        raise DrnError(f"{out}: run folder exists and is not empty; use --resume {out} to continue it")
    for folder in config.data:
        if not find_images(folder):
            raise DrnError(no_images(folder))
    trainer = run_kind(config.kind)[1](config, on_event)
    trainer.prepare_data()
    if trainer.dist.is_main:
        make_folder(out)
        # trainer.config: what the run decided of any "auto" choice (Adapter), recorded for --resume
        write_bytes_atomic(out / "config.json", json.dumps(asdict(trainer.config), indent=2).encode())
    return trainer


def resume_run(run_dir: str | Path, steps: int | None = None, on_event: EventFn | None = None,
               minutes: float | None = None) -> Trainer:
    """The Trainer of either kind of run folder (config.json's `kind`: train or adapt) restored
    from RUN_DIR/checkpoint.pt; `steps` and `minutes` extend the run."""
    run_dir = Path(run_dir)
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        # folders written before `kind` was recorded: an adaptation run names its photo folder
        kind = saved.setdefault("kind", "adapt" if "lr_dir" in saved else "train")
        config_cls, trainer_cls = run_kind(kind)
        config = config_cls(**saved)
    except (OSError, ValueError, TypeError) as exc:
        raise DrnError(f"{run_dir}: not a run folder with a readable config.json ({exc})") from None
    if steps is not None:
        config.steps = steps
    if minutes is not None:
        config.minutes = minutes
    config.out = str(run_dir)
    trainer = trainer_cls(config, on_event)
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
        write_bytes_atomic(run_dir / "config.json", json.dumps(asdict(config), indent=2).encode(),
                           overwrite=True)
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
