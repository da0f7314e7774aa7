"""Unpaired adaptation (`finetune-unpaired`): Eq. 2 and the adaptation algorithm (paper Sec. 3.2, Algorithm 1).

Real LR photos x have no HR, so they get only the dual (closed-loop) loss L1(D(P(x)), x); paired
samples get the full dual-regression loss. Each step mixes the two with unpaired share rho. Per
sample, as Eq. 2 sums over samples:

    loss = (n_p / B) * (L_primal + lambda * L_dual + keep * L_keep)  +  (n_u / B) * lambda * L_closed_loop

where L_keep (below) is left out for plain bicubic pairs of HR folders, which need no keeping.

The paired share is HR patches with an LR made by `self_pairs`; the HR comes from `data` (HR
folders: the paper's paired synthetic data, Algorithm 2) or, when none is given, from the photos
themselves (self-pairs, the ZSSR idea). `self_pairs` is "auto" (the default: read from the
photos, degradations.estimate.self_pair_degradation: the kernel from their spectra, nearest or
bicubic; their noise level from flat regions; their JPEG quality from the files' quantization
tables, e.g. "bicubic+noise6+jpeg40"), a named degradation ("bicubic", "nearest", "bd",
optionally with "+noiseS" and "+jpegQ" stages) when the user knows how the photos were made, or
"dual": the model's own dual blocks, i.e. the degradation the closed loop learns. Noise and JPEG stages apply to the network's input only;
the targets stay the kernel's clean pyramid.

Pairs of another degradation than bicubic teach the model that degradation and, alone, make it
forget bicubic LR (-3.6 dB on Set5). So each pair's HR patch is also fed as bicubic LR, weighted
by `keep_bicubic`, with its bicubic pyramid as targets when the HR is real (HR folders), or the
frozen starting model's outputs when it is a photo (learning without forgetting, Li & Hoiem
2016): the model learns to tell the two apart instead of trading one for the other.
docs/adaptation.md measures these choices.

At x4/x8 the dual is one block per 2x step; how the loop closes on an unpaired image is a choice
(`loop`): "chain" runs every dual block from the final output down to x; "inner" compares only
dual[0](sr[1]) with x.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..degradations import CLASSIC, degrade, lr_pyramid, parse_degradation
from ..degradations.estimate import jpeg_quality, self_pair_degradation
from ..device import autocast
from ..errors import DrnError, UsageError
from ..io import ReadImages, read_folders
from ..metrics import psnr_y
from ..models.loaded import build
from ..models.weights import resolve_model
from ..test_time import cleaned
from .data import augmented_tensor
from .losses import LOOPS, closed_loop, dual_regression_loss
from .trainer import TrainConfig, Verdict

SELF_PAIRS = ("auto", "dual", *CLASSIC)


@dataclass
class AdaptConfig(TrainConfig):
    """A TrainConfig plus the unpaired photos and the adaptation choices."""

    lr_dir: str = ""
    steps: int = 400               # the defaults of `drn finetune-unpaired`, for library callers too
    batch_size: int = 8
    lr: float = 1e-4
    save_every: int = 50
    patch_size: int = 0            # HR pixels; 0: fit the photos (see fitted_patch)
    unpaired_ratio: float = 0.3
    loop: str = "chain"
    self_pairs: str = "auto"
    keep_bicubic: float = 3.0
    bicubic_init: bool = False
    holdout: float = 0.2           # share of the photos (and HR images) held out to measure the run
    keep_last: bool = False        # keep the last step even when the held-out images say the start was better
    kind: str = "adapt"
    inferred: dict = field(default_factory=dict)  # what --self-pairs auto read from the photos

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loop not in LOOPS:
            raise UsageError(f"unknown --loop {self.loop!r}; choose from {', '.join(LOOPS)}")
        if self.self_pairs not in ("auto", "dual"):
            try:
                fixed = not parse_degradation(self.self_pairs).family
            except ValueError:
                fixed = False
            if not fixed:
                raise UsageError(f"unknown --self-pairs {self.self_pairs!r}; choose from {', '.join(SELF_PAIRS)}, "
                                 "or a kernel with noise and JPEG stages such as bicubic+noise8+jpeg40")
        if not 0 <= self.unpaired_ratio <= 1:
            raise UsageError(f"--unpaired-ratio must be in [0, 1], got {self.unpaired_ratio}")
        if self.keep_bicubic < 0:
            raise UsageError(f"--keep-bicubic must be 0 (off) or more, got {self.keep_bicubic}")
        if not 0 <= self.holdout < 1:
            raise UsageError(f"--holdout must be at least 0 and below 1, got {self.holdout}")

    def check_patch_size(self) -> None:
        if self.patch_size != 0:  # 0: fitted to the photos by AdaptTask.resolve_config
            super().check_patch_size()

    def batch_split(self) -> tuple[int, int]:
        """(unpaired photos, pairs) per batch."""
        n_unpaired = round(self.unpaired_ratio * self.batch_size)
        return n_unpaired, self.batch_size - n_unpaired




def initial_architecture(model: str) -> tuple[str, dict]:
    """(registry id, config as a dict) of the starting weights `model` (a preset or file)."""
    weights = resolve_model(model)
    return weights.architecture, weights.config.to_dict()


def fitted_patch(photos: list[np.ndarray], scale: int, largest: int = 128) -> int:
    """The HR patch size for self-pairs: `largest`, or the median photo's shorter side if smaller
    (rounded down to a multiple of the scale), so most photos can serve as HR."""
    median = int(np.median([min(p.shape[:2]) for p in photos])) if photos else largest
    return max(4 * scale, min(largest, median // scale * scale))


class PhotoPatches(torch.utils.data.Dataset):
    """Random p x p patches with flips/transposes from photos -> (3, p, p) float 0..255; item i
    is a pure function of (seed, stream, i)."""

    def __init__(self, photos: list[np.ndarray], patch: int, seed: int, stream: int = 1) -> None:
        self.photos, self.patch, self.seed, self.stream = photos, patch, seed, stream

    def __len__(self) -> int:
        return 1 << 62

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, self.stream, index])
        img = self.photos[rng.integers(len(self.photos))]
        y, x = rng.integers(img.shape[0] - self.patch + 1), rng.integers(img.shape[1] - self.patch + 1)
        return augmented_tensor(img[y: y + self.patch, x: x + self.patch], rng.integers(2, size=3))


def split_holdout(images: list[np.ndarray], share: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training images, held-out images): every k-th image, evenly spread, about `share` of
    them; none when fewer than 3 images (each side needs some)."""
    count = int(share * len(images)) if len(images) >= 3 else 0
    held = {round((i + 0.5) * len(images) / count) for i in range(count)} if count else set()
    return ([im for i, im in enumerate(images) if i not in held], [im for i, im in enumerate(images) if i in held])


@dataclass(frozen=True)
class Measure:
    """What the held-out images say of the model: its closed-loop L1 on held-out photos (0..255),
    and the Y-PSNR of held-out pairs made with the run's pair degradation (None without pairs,
    or with "dual" pairs, which change as the model trains)."""

    loop: float
    psnr: float | None

    def text(self) -> str:
        return f"closed-loop L1 {self.loop:.3f}" + (f", pair PSNR {self.psnr:.2f} dB" if self.psnr is not None else "")


def photos_at_least(photos: list[np.ndarray], min_side: int, folder: str | Path,
                    hint: str = "use a smaller --patch-size") -> list[np.ndarray]:
    """The photos whose shorter side is at least `min_side`; DrnError naming `folder` if none."""
    kept = [p for p in photos if min(p.shape[:2]) >= min_side]
    if not kept:
        raise DrnError(f"{folder}: no LR photos of at least {min_side}x{min_side} pixels; {hint}")
    return kept


class AdaptTask:
    """A Trainer's task whose batches mix unpaired LR patches and paired pyramids, with Eq. 2's
    loss (see module doc). Its `config` is the trainer's with the auto choices made from the
    photos; its verdict restores the start when the held-out pairs got worse."""

    def __init__(self, trainer) -> None:
        self.trainer = t = trainer
        if t.init_weights is not None and t.init_weights.dual is None:
            raise DrnError(f"{t.config.init}: has no dual weights, which the closed loop needs; use weights "
                           "saved by `drn train` (its model.safetensors holds both)")
        # The photos are decoded once, here: the auto choices read them, and so does training.
        read = read_folders([t.config.lr_dir])
        self.config = config = self.resolve_config(t.config, read)
        # RGB uint8 (H, W, 3); some held out of training, to measure it (`measure`)
        self.photos, self.held_photos = split_holdout(self._readable(read), config.holdout)
        self.n_unpaired, self.n_pairs = config.batch_split()
        # Bicubic pairs of real HR keep bicubic quality by themselves: no keep term is needed.
        self.keep = config.keep_bicubic > 0 and not (config.data and config.self_pairs == "bicubic")
        self.teacher, self._cleaned = None, {}
        if self.n_pairs and self.keep and not config.data:
            # A frozen copy of the starting primal: its outputs on bicubic LR are the targets
            # that keep the adapted model's bicubic behaviour (learning without forgetting).
            # With bicubic self-pairs it competes with them on the same inputs, so it holds the
            # model near its start: photos that look bicubic are what it already knows.
            self.teacher = t.init_weights.build()[0].to(t.device, memory_format=torch.channels_last)
            self.teacher.eval().requires_grad_(False)

    @staticmethod
    def resolve_config(config: AdaptConfig, read: ReadImages) -> AdaptConfig:
        """`config` with its auto choices made from the decoded photos `read`: the patch size (0:
        HR folders are cut at 128, photos as they allow) and `--self-pairs auto`
        (degradations.estimate). A config whose choices are made comes back unchanged."""
        _, n_pairs = config.batch_split()
        patch = config.patch_size or (128 if config.data else fitted_patch(read.images, config.net.scale))
        self_pairs, inferred = config.self_pairs, config.inferred
        if self_pairs == "auto":
            self_pairs, inferred = (self_pair_degradation(read.images, [jpeg_quality(p) for p in read.paths],
                                                           config.net.scale) if n_pairs
                                     else ("bicubic", {}))
        return replace(config, patch_size=patch, self_pairs=self_pairs, inferred=inferred)

    def describe(self, before: Measure | None = None) -> list[str]:
        c, label = self.config, self.trainer.model_label()
        pairs = f"{'HR folders ' + ', '.join(c.data) if c.data else 'self-pairs'} with {c.self_pairs} LR"
        lines = []
        if c.inferred:
            read = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in c.inferred.items())
            lines.append(f"read from the photos: {read} -> pairs {c.self_pairs}")
        if self.held_photos or self.paired_hr[1]:
            photos, images = len(self.held_photos), len(self.paired_hr[1])
            lines.append(f"held out to measure the run: {photos} photo{'s' * (photos != 1)}"
                         + (f", {images} HR image{'s' * (images != 1)}" if c.data else "") + " (--holdout)")
        what = (f"adapting {label} to {c.lr_dir} ({pairs}, {c.patch_size}px patches; "
                f"before: {before.text()})")
        return [*lines, what]

    def _readable(self, read: ReadImages) -> list[np.ndarray]:
        """The images of `read`, after a warning naming the unreadable files it skipped."""
        if read.warning():
            self.trainer.emit({"type": "warning", "message": read.warning()})
        return read.images

    @functools.cached_property
    def unpaired_sources(self) -> list[np.ndarray]:
        """The photos large enough for an LR patch (the closed loop's inputs)."""
        lr_patch = self.config.patch_size // self.config.net.scale
        return photos_at_least(self.photos, lr_patch, self.config.lr_dir)

    def prepare(self) -> str:
        pairs = f", {len(self.pair_sources)} images for the pairs' HR" if self.n_pairs else ""
        return f"{len(self.unpaired_sources)} LR photos{pairs}"

    @functools.cached_property
    def paired_hr(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(training, held-out) images of the HR folders (--paired-data), or ([], []) without."""
        c = self.config
        return split_holdout(self._readable(read_folders(c.data)), c.holdout) if c.data else ([], [])

    @functools.cached_property
    def pair_sources(self) -> list[np.ndarray]:
        """The images whose patches are the pairs' HR: the HR folders' images, or the photos
        (those smaller than a patch are left out, with a warning that says so)."""
        c = self.config
        if c.data:
            return photos_at_least(self.paired_hr[0], c.patch_size, ", ".join(c.data))
        small = sum(1 for p in self.photos if min(p.shape[:2]) < c.patch_size)
        if small:
            self.trainer.emit({"type": "warning", "message": f"{small} of {len(self.photos)} photos are smaller than "
                               f"the {c.patch_size}px patch: they are left out of the self-pairs (the loop still uses them)"})
        return photos_at_least(self.self_pair_hr(self.photos), c.patch_size, c.lr_dir, "self-pairs treat each photo as HR: "
                               "use a smaller --patch-size or give --paired-data")

    def self_pair_hr(self, photos: list[np.ndarray]) -> list[np.ndarray]:
        """`photos` (self.photos or self.held_photos) as self-pairs' HR: themselves, or, when the
        pairs carry noise or JPEG (so the photos do), the photos cleaned by the starting model
        (test_time.cleaned: its output downscaled back): noisy HR would teach the model to put
        the noise back (docs/adaptation.md)."""
        c, start = self.config, self.trainer.init_weights
        if c.self_pairs == "dual" or not parse_degradation(c.self_pairs).damages or start is None:
            return photos
        key = "held" if photos is self.held_photos else "train"
        if key not in self._cleaned:
            model = build(start, "start", str(self.trainer.device), "fp32")
            self._cleaned[key] = [cleaned(model, photo) for photo in photos]
        return self._cleaned[key]

    def batches(self, start: int, until: int):
        """Per step in [start, until): (unpaired LR patches, the pairs' HR patches), each
        (n, 3, p, p) 0..255, or None when its share of the batch is empty."""
        c, t = self.config, self.trainer
        lr_patch = c.patch_size // c.net.scale
        unpaired = PhotoPatches(self.unpaired_sources, lr_patch, c.seed, 1)
        pairs = PhotoPatches(self.pair_sources, c.patch_size, c.seed, 2) if self.n_pairs else None
        rank_offset = t.dist.rank * c.batch_size
        for step in range(start, until):
            base = (step * t.dist.world) * c.batch_size + rank_offset
            u = [unpaired[base + j] for j in range(self.n_unpaired)]
            p = [pairs[base + j] for j in range(self.n_pairs)] if pairs else []
            yield (t.to_device(torch.stack(u)) if u else None,
                   t.to_device(torch.stack(p)) if p else None)

    def pair_pyramid(self, hr: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 3, p, p) HR patches 0..255 -> (network input, targets [LR_0, ..., HR]), each
        rounded to integers like a real image: by the current dual blocks ("dual") or the named
        degradation. With noise or JPEG stages (bicubic+noise8+jpeg40) only the input has them;
        the targets are the kernel's clean pyramid, as in `drn train --degradation real`."""
        if self.config.self_pairs == "dual":
            with torch.no_grad(), autocast(self.trainer.device, self.trainer.dtype):
                pyramid = [hr]
                for block in reversed(self.trainer.net.dual):
                    pyramid.insert(0, block(pyramid[0]).float().round().clamp(0, 255))
            return pyramid[0], [self.trainer.to_device(level) for level in pyramid]
        kind, scale = self.config.self_pairs, self.config.net.scale
        kernel = parse_degradation(kind).kernel
        pyramid = self._pyramid(hr, kernel)
        if kind == kernel:
            return pyramid[0], pyramid
        seed = (self.config.seed * 1_000_003 + self.trainer.step) * 64
        lr = np.stack([degrade(img, scale, kind, seed + i) for i, img in enumerate(_images(hr))])
        return self.trainer.to_device(torch.from_numpy(lr).permute(0, 3, 1, 2).float()), pyramid

    def _pyramid(self, hr: torch.Tensor, kernel: str) -> list[torch.Tensor]:
        """(B, 3, p, p) HR patches 0..255 -> their pyramids [LR_0, ..., HR] by `kernel`."""
        pyramids = [lr_pyramid(img, self.config.net.scale, kernel) for img in _images(hr)]
        return [self.trainer.to_device(torch.from_numpy(np.stack(level)).permute(0, 3, 1, 2).float())
                for level in zip(*pyramids)]

    def keep_targets(self, hr: torch.Tensor, pyramid: list[torch.Tensor]
                     ) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """(B, 3, p, p) HR patches 0..255 and their pair pyramid -> (their bicubic LR to add to the
        batch, its targets): the bicubic pyramid for real HR, the teacher's outputs for photos.
        With plain bicubic self-pairs that LR is the pairs' own input: nothing is added (None)
        and the targets apply to the pairs."""
        kind = self.config.self_pairs
        kernel = "dual" if kind == "dual" else parse_degradation(kind).kernel
        clean = pyramid if kernel == "bicubic" else self._pyramid(hr, "bicubic")
        extra = None if kind == "bicubic" else clean[0]
        if self.teacher is None:
            return extra, clean
        with torch.no_grad(), autocast(self.trainer.device, self.trainer.dtype):
            return extra, [t.float() for t in self.teacher(clean[0])]

    def loss(self, net, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(primal, dual) terms of Eq. 2 of `net` (the network, or its DDP wrapper) on one batch."""
        unpaired, hr = batch
        paired_lr, pyramid = (None, None) if hr is None else self.pair_pyramid(hr)
        keep_lr, keep = self.keep_targets(hr, pyramid) if hr is not None and self.keep else (None, None)
        n_u = 0 if unpaired is None else unpaired.shape[0]
        n_p = 0 if pyramid is None else pyramid[0].shape[0]
        inputs = [t for t in (unpaired, paired_lr, keep_lr) if t is not None]
        share_u = n_u / self.config.batch_size
        paired_part = slice(n_u, n_u + n_p)
        keep_part = paired_part if keep_lr is None else slice(n_u + n_p, None)
        with autocast(self.trainer.device, self.trainer.dtype):
            sr, sr2lr, loop = net(torch.cat(inputs), with_loop=unpaired is not None)
            zero = sr[-1].new_zeros(()).float()
            primal, dual = zero, zero
            if pyramid is not None:
                primal, dual = dual_regression_loss([s[paired_part] for s in sr],
                                                    [d[paired_part] for d in sr2lr],
                                                    pyramid, self.config.dual_weight, loss=self.config.loss)
                primal, dual = (1 - share_u) * primal, (1 - share_u) * dual
            if keep is not None:
                kept = sum(F.l1_loss(s[keep_part].float(), t) for s, t in zip(sr, keep))
                primal = primal + (1 - share_u) * self.config.keep_bicubic * kept
            if unpaired is not None:
                closed = closed_loop([d[:n_u] for d in sr2lr], loop[:n_u], unpaired, self.config.loop)
                dual = dual + share_u * self.config.dual_weight * closed
        return primal, dual

    def measure(self) -> Measure:
        """The held-out photos' closed-loop L1 and the held-out pairs' PSNR, as the model is now."""
        c = self.config
        held_hr = self.paired_hr[1] if c.data else self.self_pair_hr(self.held_photos)
        psnr = None
        if self.n_pairs and c.self_pairs != "dual" and held_hr:
            psnr = self.pair_psnr([p for p in held_hr if min(p.shape[:2]) >= c.patch_size] or held_hr)
        return Measure(self.closed_loop_report(), psnr)

    def pair_psnr(self, images: list[np.ndarray]) -> float:
        """Mean Y-PSNR of the primal network on centre crops (one patch) of `images` taken as HR,
        their LR made with the run's pair degradation, seeded per image."""
        t, c = self.trainer, self.config
        scale, side = c.net.scale, c.patch_size
        scores = []
        t.net.eval()
        for i, img in enumerate(images):
            h, w = min(side, img.shape[0]) // scale * scale, min(side, img.shape[1]) // scale * scale
            y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
            hr = np.ascontiguousarray(img[y:y + h, x:x + w])
            lr = torch.from_numpy(degrade(hr, scale, c.self_pairs, seed=i).transpose(2, 0, 1).copy())[None].float()
            with torch.inference_mode(), autocast(t.device, t.dtype):
                sr = t.net.primal(t.to_device(lr))[-1].float().clamp(0, 255).round()
            scores.append(psnr_y(sr[0].permute(1, 2, 0).byte().cpu().numpy(), hr, scale))
        t.net.train()
        return float(np.mean(scores))

    def verdict(self, before: Measure, after: Measure) -> Verdict:
        """Warnings when the held-out images say the run made the model worse. With a pair PSNR,
        a lower one restores the starting weights (unless keep_last): the closed-loop L1 alone
        does not decide, as it can rise while the output improves (docs/adaptation.md)."""
        if after.psnr is not None and after.psnr < before.psnr:
            lost = f"the held-out pairs lost {before.psnr - after.psnr:.2f} dB"
            if self.config.keep_last:
                return Verdict([f"{lost}; kept the last step (--keep-last)"])
            restored = f"{lost}: model.safetensors holds the starting weights again (--keep-last keeps the last step)"
            return Verdict([restored], restore_start=True)
        if after.loop > before.loop and after.psnr is None:
            rose = ("the closed-loop L1 of the held-out photos rose; it can rise while the output improves, "
                    "so look at the results (with --paired-data the run is measured by PSNR)")
            return Verdict([rose])
        return Verdict()

    def closed_loop_report(self, max_photos: int = 16, crop: int = 64) -> float:
        """Mean closed-loop L1 (0..255) over centre crops of up to `max_photos` held-out photos
        (all the photos when none are held out)."""
        photos = photos_at_least(self.held_photos or self.photos, 1, self.config.lr_dir)[:max_photos]
        total = 0.0
        self.trainer.net.eval()
        with torch.inference_mode(), autocast(self.trainer.device, self.trainer.dtype):
            for img in photos:
                ch, cw = min(crop, img.shape[0]), min(crop, img.shape[1])
                y, x = (img.shape[0] - ch) // 2, (img.shape[1] - cw) // 2
                t = torch.from_numpy(np.ascontiguousarray(img[y:y + ch, x:x + cw].transpose(2, 0, 1)))
                t = self.trainer.to_device(t[None].float())
                _, sr2lr, loop = self.trainer.net(t, with_loop=True)
                total += closed_loop(sr2lr, loop, t, self.config.loop).item()
        self.trainer.net.train()
        return total / len(photos)


def _images(t: torch.Tensor) -> np.ndarray:
    """(B, 3, h, w) float 0..255 with integer values -> (B, h, w, 3) uint8 on the host."""
    return t.permute(0, 2, 3, 1).byte().cpu().numpy()
