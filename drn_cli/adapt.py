"""Unpaired adaptation (`finetune-unpaired`): the paper's Eq. 2 and adaptation algorithm (DRN.md §4).

Real LR photos x have no HR, so they get only the dual (closed-loop) loss L1(D(P(x)), x); paired
samples (bicubic pyramids from HR images) get the full dual-regression loss. Each step mixes the
two with unpaired share rho. Per sample, as Eq. 2 sums over samples:

    loss = (n_p / B) * (L_primal + lambda * L_dual)  +  (n_u / B) * lambda * L_closed_loop

At x4/x8 the dual is one block per 2x step; how the loop closes on an unpaired image is a choice
(`loop`): "chain" runs every dual block from the final output down to x; "inner" compares only
dual[0](sr[1]) with x. docs/adaptation.md measures them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .data import (PairedPatches, PatchSpec, augmented_tensor, bicubic_pyramid, build_pyramids,
                   find_images, load_rgb)
from .degrade import modcrop
from .device import autocast
from .errors import DrnError
from .train import TrainConfig, Trainer, dual_regression_loss

LOOPS = ("chain", "inner")


@dataclass
class AdaptConfig(TrainConfig):
    """A TrainConfig plus the unpaired photos and the adaptation choices."""

    lr_dir: str = ""
    unpaired_ratio: float = 0.3
    freeze_dual: bool = False
    loop: str = "chain"
    bicubic_init: bool = False


def closed_loop(duals: torch.nn.ModuleList, sr: list[torch.Tensor], x: torch.Tensor, loop: str) -> torch.Tensor:
    """L1 between the dual mapping of the primal outputs `sr` and the LR input x (0..255)."""
    if loop == "inner":
        return F.l1_loss(duals[0](sr[1]).float(), x)
    y = sr[-1]
    for block in reversed(duals):
        y = block(y)
    return F.l1_loss(y.float(), x)


class UnpairedPatches(torch.utils.data.Dataset):
    """Random p x p patches with flips/transposes from LR photos; item i is a pure function of i."""

    def __init__(self, photos: list[np.ndarray], patch: int, seed: int) -> None:
        self.photos, self.patch, self.seed = photos, patch, seed

    def __len__(self) -> int:
        return 1 << 62

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, 1, index])
        img = self.photos[rng.integers(len(self.photos))]
        y, x = rng.integers(img.shape[0] - self.patch + 1), rng.integers(img.shape[1] - self.patch + 1)
        return augmented_tensor(img[y: y + self.patch, x: x + self.patch], rng.integers(2, size=3))


def photos_at_least(photos: list[np.ndarray], min_side: int, folder: str | Path,
                    hint: str = "use a smaller --patch-size") -> list[np.ndarray]:
    """The photos whose shorter side is at least `min_side`; DrnError naming `folder` if none."""
    kept = [p for p in photos if min(p.shape[:2]) >= min_side]
    if not kept:
        raise DrnError(f"{folder}: no LR photos of at least {min_side}x{min_side} pixels; {hint}")
    return kept


class Adapter(Trainer):
    """Trainer whose batches mix unpaired LR patches and paired pyramids (see module doc)."""

    config: AdaptConfig

    def __init__(self, config: AdaptConfig, on_event=None) -> None:
        if config.loop not in LOOPS:
            raise DrnError(f"unknown loop {config.loop!r}; choose from {', '.join(LOOPS)}")
        if not 0 <= config.unpaired_ratio <= 1:
            raise DrnError(f"--unpaired-ratio must be in [0, 1], got {config.unpaired_ratio}")
        super().__init__(config, on_event)
        if config.freeze_dual:
            self.net.dual.requires_grad_(False)
            self.opt_dual = []
        self.n_unpaired = round(config.unpaired_ratio * config.batch_size)
        self.n_paired = config.batch_size - self.n_unpaired

    def _load_init(self, spec: str) -> None:
        super()._load_init(spec)
        if self._init_weights.dual is None:
            raise DrnError(f"{spec}: has no dual weights, which the closed loop needs; use weights "
                           "saved by `drn train` (its model.safetensors holds both)")

    @functools.cached_property
    def photos(self) -> list[np.ndarray]:
        """The LR photos, decoded once (RGB uint8)."""
        return [load_rgb(p) for p in find_images(self.config.lr_dir)]

    def paired_dataset(self) -> PairedPatches:
        c = self.config
        spec = PatchSpec(c.drn.scale, c.patch_size, c.seed)
        if c.data:
            pyramids, _ = build_pyramids(c.data, spec)
        else:  # default: the photos themselves as HR, their bicubic downscales as LR
            photos = photos_at_least(self.photos, c.patch_size, c.lr_dir, "the default pairs treat each "
                                     "photo as HR: use a smaller --patch-size or give --paired-data")
            pyramids = [bicubic_pyramid(modcrop(p, c.drn.scale), c.drn.scale) for p in photos]
        return PairedPatches(pyramids, spec, length=1 << 62)

    def batches(self, until: int):
        c = self.config
        lr_patch = c.patch_size // c.drn.scale
        unpaired = UnpairedPatches(photos_at_least(self.photos, lr_patch, c.lr_dir), lr_patch, c.seed)
        paired = self.paired_dataset()
        rank_offset = self.dist.rank * c.batch_size
        for step in range(self.step, until):
            base = (step * self.dist.world) * c.batch_size + rank_offset
            u = [unpaired[base + j] for j in range(self.n_unpaired)]
            p = [paired[base + j] for j in range(self.n_paired)]
            yield (self.to_device(torch.stack(u)) if u else None,
                   [self.to_device(torch.stack(level)) for level in zip(*p)] if p else None)

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        unpaired, paired = batch
        n_u = 0 if unpaired is None else unpaired.shape[0]
        inputs = [t for t in (unpaired, None if paired is None else paired[0]) if t is not None]
        share_u = n_u / self.config.batch_size
        with autocast(self.device, self.dtype):
            sr, sr2lr = self.ddp(torch.cat(inputs))
            zero = sr[-1].new_zeros(()).float()
            primal, dual = zero, zero
            if paired is not None:
                primal, dual = dual_regression_loss([s[n_u:] for s in sr], [d[n_u:] for d in sr2lr],
                                                    paired, self.config.dual_weight)
                primal, dual = (1 - share_u) * primal, (1 - share_u) * dual
            if unpaired is not None:
                loop = closed_loop(self.net.dual, [s[:n_u] for s in sr], unpaired, self.config.loop)
                dual = dual + share_u * self.config.dual_weight * loop
        return primal, dual

    def closed_loop_report(self, max_photos: int = 16, crop: int = 64) -> float:
        """Mean closed-loop L1 (0..255) over centre crops of up to `max_photos` photos."""
        photos = photos_at_least(self.photos, 1, self.config.lr_dir)[:max_photos]
        total = 0.0
        self.net.eval()
        with torch.inference_mode(), autocast(self.device, self.dtype):
            for img in photos:
                ch, cw = min(crop, img.shape[0]), min(crop, img.shape[1])
                y, x = (img.shape[0] - ch) // 2, (img.shape[1] - cw) // 2
                t = torch.from_numpy(np.ascontiguousarray(img[y:y + ch, x:x + cw].transpose(2, 0, 1)))
                t = self.to_device(t[None].float())
                sr, _ = self.net(t)
                total += closed_loop(self.net.dual, sr, t, self.config.loop).item()
        self.net.train()
        return total / len(photos)
