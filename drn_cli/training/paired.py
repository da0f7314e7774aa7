"""Paired training (`drn train`): patches of HR folders with their LR pyramids, and Eq. 1."""

from __future__ import annotations

import functools

import torch

from ..device import autocast
from ..errors import DrnError
from .data import DevicePatches, PairedPatches, PatchSpec, Sample, build_pyramids, single_threaded_opencv
from .losses import dual_regression_loss
from .trainer import Verdict


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


class PairedTask:
    """HR folders cut into patch pyramids (data.py), LR made by the run's degradation; Eq. 1."""

    def __init__(self, trainer) -> None:
        self.trainer, self.config = trainer, trainer.config

    @property
    def spec(self) -> PatchSpec:
        c = self.config
        return PatchSpec(c.net.scale, c.patch_size, c.seed, c.degradation)

    @functools.cached_property
    def pyramids(self) -> list:
        """The training images' pyramids, built once per process (the slow part of a start)."""
        t = self.trainer
        pyramids, skipped, read = build_pyramids(self.config.data, self.spec)
        if read.warning():
            t.emit({"type": "warning", "message": read.warning()})
        size = self.config.patch_size
        if not pyramids:
            raise DrnError(f"no training image is at least {size}x{size} pixels ({len(skipped)} smaller); "
                           "use a smaller --patch-size or larger images")
        if skipped:
            t.emit({"type": "warning", "message": f"skipped {len(skipped)} image(s) smaller "
                    f"than the {size}px patch, e.g. {skipped[0]}"})
        return pyramids

    def prepare(self) -> str:
        return f"{len(self.pyramids)} training images"

    def describe(self, before: None = None) -> list[str]:
        return [f"training {self.trainer.model_label()} ({self.config.degradation} LR)"]

    def measure(self) -> None:  # a paired run is judged by its validation PSNR (--val), as it goes
        return None

    def verdict(self, before: None, after: None) -> Verdict:  # best.safetensors holds the best validated step
        return Verdict()

    def batches(self, start: int, until: int):
        """data.Sample batches of device tensors for steps [start, until). Bicubic pairs are cut
        on the device from pyramids held there (data.DevicePatches); the other degradations are
        made per sample on the host, in `workers` DataLoader processes."""
        t, c = self.trainer, self.config
        world, rank = t.dist.world, t.dist.rank
        if c.degradation == "bicubic":
            patches = DevicePatches(self.pyramids, self.spec, t.device)
            for step in range(start, until):
                base = (step * world + rank) * c.batch_size
                yield self._on_device(patches.batch(range(base, base + c.batch_size)))
            return
        dataset = PairedPatches(self.pyramids, self.spec, length=c.steps * c.batch_size * world)
        sampler = _StreamSampler(start, until, c.batch_size, rank, world)
        loader = torch.utils.data.DataLoader(dataset, batch_size=c.batch_size, sampler=sampler,
                                             num_workers=c.workers, pin_memory=t.device.type == "cuda")
        with single_threaded_opencv():
            stream = iter(loader)  # the workers fork here
        for batch in stream:
            yield self._on_device(batch)

    def _on_device(self, batch: Sample) -> Sample:
        move = self.trainer.to_device
        return Sample(move(batch.lr), [move(level) for level in batch.pyramid], move(batch.dual_lr))

    def loss(self, net, batch: Sample) -> tuple[torch.Tensor, torch.Tensor]:
        """(primal, dual) terms of Eq. 1 of `net` (the network, or its DDP wrapper) on one batch."""
        t, c = self.trainer, self.config
        with autocast(t.device, t.dtype):
            sr, sr2lr, _ = net(batch.lr)
        return dual_regression_loss(sr, sr2lr, batch.pyramid, c.dual_weight, batch.dual_targets, c.loss)
