"""Test-time adaptation (`drn upscale --adapt`): one picture's own copy of the model, for a few steps.

A picture has no HR, but it carries the evidence of how it was made: its blur (read from its
spectrum, degradations.estimate.read_blur, as KernelGAN reads a kernel from one image), its noise
and its JPEG quality. Taken as HR, the picture's own patches with that degradation applied are
self-pairs (ZSSR, Shocher et al., CVPR 2018), which train the primal at every pyramid level and
the dual blocks (paper Eq. 1); crops of the picture itself close the loop L1(D(P(x)), x) (paper
Eq. 2, the unpaired term). A copy of the model's weights trains on both; the loaded, shared model
is never touched and nothing is written.

The verdict is the picture's own: the self-pairs of fixed crops are scored (L1, 0..255) before and
after, and the starting weights are kept when the adapted copy explains them worse. On a picture
--denoise auto reads as blurred, the output is then back-projected onto the blur read
(back_projection.py: the closed loop D(P(x)) = x imposed on the output itself).

Noisy and compressed pictures (what --denoise auto reads as noise, a JPEG's quality or a lossy
format, or self-pairs that would carry noise or JPEG) are not adapted: the closed loop on them is
least where the output carries their grain, which adapting put back on every such real photo tried.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.nn import functional as F

from .back_projection import LOOP_ERROR_LIMIT, loop_error
from .degradations import (
    TURNS_AND_FLIPS,
    degrade,
    kernel_symmetries,
    lr_pyramid,
    parse_degradation,
    quantize_uint8,
)
from .degradations.estimate import read_damage, self_pair_degradation
from .degradations.resize import downscale_bicubic
from .device import autocast
from .errors import UsageError
from .inference import Upscaler
from .io import read_rgb, rgb_uint8
from .models.loaded import LoadedModel, build
from .models.presets import package_weights_dir
from .request import DEFAULT_ADAPT_STEPS

BATCH = 6                # pairs per step (half self-pairs, half from the shipped clean crops); two more crops close the loop
LOOP_SHARE = 2
LARGEST_PATCH = 96       # HR pixels of a self-pair (the picture's pixels)
LEARNING_RATE = 5e-5
DUAL_WEIGHT = 0.1        # lambda of paper Eq. 1 and 2
VERDICT_CROPS = 4
POOL_SIDE = 192          # pixels of each clean HR crop in weights/adapt-pool.png
NOT_ADAPTED = ("compressed", "noise")  # estimate.Reading.damage of pictures left as the model makes them

StepProgress = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass(frozen=True)
class Adapted:
    """What --adapt did for one picture: the model that runs, the degradation its self-pairs were
    made with, and the self-pairs' L1 (0..255) before and after (None when it did not run)."""

    model: LoadedModel
    degradation: str
    before: float | None = None
    after: float | None = None
    skipped: str | None = None   # why it did not adapt (a picture too small), else None
    back_projected: bool = False  # its output is back-projected onto `degradation` (a blurred picture)

    def upscaler(self) -> Upscaler:
        """What upscales the picture: `model`, its output back-projected where `back_projected`;
        under --tta, averaged over the flips and turns that keep the blur it was adapted to (the
        others show it blurs it was not taught: on the eight blurred pictures of
        docs/adaptation.md all eight cost 0.21 dB against no --tta, these two gained 0.035)."""
        return Upscaler(self.model, self.degradation if self.back_projected else None,
                        kernel_symmetries(self.degradation) if self.tied_to_blur else TURNS_AND_FLIPS)

    @property
    def tied_to_blur(self) -> bool:
        """Its output holds to the direction of the blur read: the model was adapted to it, or
        the output is back-projected onto it."""
        return self.back_projected or (self.before is not None and not self.kept_start)

    @property
    def kept_start(self) -> bool:
        return self.before is not None and self.after is not None and self.after >= self.before

    def text(self) -> str:
        """"adapted to gauss2.3x0.9a28 (self-pair L1 6.12 -> 5.40)", or why not."""
        if self.skipped:
            return f"not adapted: {self.skipped}"
        then = ", its output back-projected onto the blur" if self.back_projected else ""
        if self.kept_start:
            return (f"adapting to {self.degradation} did not help (self-pair L1 {self.before:.2f} -> "
                    f"{self.after:.2f}): the model as it was{then}")
        return f"adapted to {self.degradation} (self-pair L1 {self.before:.2f} -> {self.after:.2f}){then}"


def check_steps(steps: int) -> None:
    if steps < 1:
        raise UsageError(f"--adapt-steps must be 1 or more, got {steps}")


def patch_side(height: int, width: int, scale: int) -> int:
    """The self-pairs' HR side: LARGEST_PATCH or the picture's shorter side, a multiple of the
    scale; 0 when the picture is smaller than 4 LR pixels of a self-pair."""
    side = min(LARGEST_PATCH, min(height, width)) // scale * scale
    return side if side >= 4 * scale else 0


def adapt_to_picture(model: LoadedModel, pixels: np.ndarray, jpeg_quality: int | None = None,
                     steps: int = DEFAULT_ADAPT_STEPS, seed: int = 0, on_step: StepProgress | None = None,
                     lossy: str | None = None, hr_pool: list[np.ndarray] | None = None) -> Adapted:
    """`model` adapted to one picture ((H, W, C) uint8/uint16, C = 1, 3 or 4; its file's JPEG
    quality if it is one, its lossy format's name if it is one) for `steps` steps: a new
    LoadedModel on the same device, or `model` itself when the picture is too small for a
    self-pair, noisy or compressed, blurred with noise the reading missed (loop_error), or
    adapting made its self-pairs worse; its output back-projected onto the blur read where the
    picture reads as blurred (Adapted.upscaler). `hr_pool`: clean HR images half of each step's
    pairs are cut from (None: shipped_pool(); []: the picture alone)."""
    check_steps(steps)
    if not model.arch.trainable or not model.has_dual:
        raise UsageError(f"--adapt trains the model on the picture's closed loop; {model.name} has no dual "
                         "blocks (our DRN .safetensors files have them)")
    image, scale = rgb_uint8(pixels), model.scale
    degradation = self_pair_degradation([image], [jpeg_quality], scale)[0]
    side = patch_side(*image.shape[:2], scale)
    if not side:
        return Adapted(model, degradation, skipped=f"the picture is smaller than {4 * scale}x{4 * scale} pixels")
    kind = parse_degradation(degradation)
    kernel, device, dtype = kind.kernel, model.device, model.dtype
    reading = read_damage(pixels, jpeg_quality, lossy)
    if reading.damage in NOT_ADAPTED or kind.damages:
        # On noisy and compressed pictures the closed loop L1(D(P(x)), x) is least where P(x)
        # carries x's grain and blocks: adapted copies put back what the photo model removed, on
        # every such real photo tried (docs/adaptation.md). The model runs as it is.
        found = reading.reason if reading.damage in NOT_ADAPTED else f"noise or JPEG read ({degradation})"
        return Adapted(model, degradation, skipped=f"{found}: on a noisy or compressed picture adapting "
                       "brings the noise back")
    hr_image = image
    if reading.strength == 1:
        # The self-pairs' HR of a picture --denoise auto calls blurred (or a drawing) is the picture
        # cleaned by the model itself (its output, downscaled back): a noisy real photo read as
        # blurred got its grain back when it was its own HR (docs/adaptation.md).
        sr = Upscaler(model).upscale_uint8(image)
        hr_image = _downscaled(sr, scale)
        error = loop_error(image, sr, kernel)
        if reading.damage == "blur" and error > LOOP_ERROR_LIMIT:
            return Adapted(model, degradation, skipped=f"the model's output taken back down with the blur read "
                           f"misses the picture by {error:.1f} grey levels (median; a blurred picture by under "
                           f"{LOOP_ERROR_LIMIT:g}): noise the reading does not see, which adapting would bring back")
    pool = shipped_pool() if hr_pool is None else hr_pool
    net = model.weights.trainable().to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    rng = np.random.default_rng(seed)
    fixed = [_crop(hr_image, side, np.random.default_rng([seed, 1, i]), augment=False) for i in range(VERDICT_CROPS)]
    verdict = _pairs(fixed, scale, degradation, kernel, device, seed=1 << 40)
    before = _pair_l1(net, verdict, device, dtype)
    # the loop's crops: as many LR pixels as a self-pair's HR has HR pixels would cost 16x at x4;
    # a self-pair's LR side keeps each loop crop at one self-pair's cost (and in the pairs' batch)
    loop_side = side // scale
    for step in range(steps):
        # half of the pairs from the picture, half from clean HR crops (the pool): the picture
        # as HR is blurred itself, and alone teaches the copy to sharpen towards a blurred picture
        own = BATCH // 2 if pool else BATCH
        hr = [_crop(hr_image, side, rng) for _ in range(own)]
        hr += [_crop(pool[rng.integers(len(pool))], side, rng) for _ in range(BATCH - own)]
        lr, pyramid = _pairs(hr, scale, degradation, kernel, device, seed=seed * 1_000_003 + step * 64)
        loop_input = _to_tensor([_crop(image, loop_side, rng) for _ in range(LOOP_SHARE)], device)
        with autocast(device, dtype):
            # one forward for the pairs and the loop's crops (the same LR size): half the weight
            # casts and the per-op overhead of a second small batch
            sr, sr2lr, loop = net(torch.cat([lr, loop_input]), with_loop=True)
            n = lr.shape[0]
            primal = sum(F.l1_loss(s[:n].float(), t) for s, t in zip(sr, pyramid))
            dual = sum(F.l1_loss(d[:n].float(), t) for d, t in zip(sr2lr, pyramid[:-1]))
            closed = F.l1_loss(loop[n:].float(), loop_input)
            # Eq. 1 on the self-pairs and Eq. 2's closed loop on the picture, weighted by their share.
            share = LOOP_SHARE / (BATCH + LOOP_SHARE)
            loss = (1 - share) * (primal + DUAL_WEIGHT * dual) + share * DUAL_WEIGHT * closed
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step + 1, steps)
    after = _pair_l1(net, verdict, device, dtype)
    if after < before:
        weights = replace(model.weights, primal=_host(net.primal.state_dict()),
                          dual=[_host(block.state_dict()) for block in net.dual])
        model = build(weights, f"{model.name}, adapted", str(model.device), model.precision)
    # The closed loop on the output itself (back_projection.py): on the blurred pictures of
    # docs/adaptation.md it adds what a minute of training does not; on clean pictures read as
    # slightly blurred it cost up to 0.18 dB, so only where --denoise auto reads blur.
    return Adapted(model, degradation, before, after, back_projected=reading.damage == "blur")


@functools.cache
def shipped_pool() -> list[np.ndarray]:
    """The clean HR crops of weights/adapt-pool.png ((POOL_SIDE, POOL_SIDE, 3) uint8 each: one of
    each of Kodak's kodim09..24, scripts/make_adapt_pool.py). With half of each step's pairs cut
    from them, the eight blurred pictures of docs/adaptation.md gained +0.294 dB over the default
    (the picture alone: +0.118)."""
    mosaic = read_rgb(package_weights_dir() / "adapt-pool.png")
    return [mosaic[y: y + POOL_SIDE, x: x + POOL_SIDE] for y in range(0, mosaic.shape[0], POOL_SIDE)
            for x in range(0, mosaic.shape[1], POOL_SIDE)]


def _host(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().to("cpu", copy=True).contiguous() for key, value in state.items()}


def cleaned(model: LoadedModel, image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 through `model` and back down to its own size (MATLAB bicubic): the
    picture as the model sees it, without the noise and JPEG blocks it removes."""
    return _downscaled(Upscaler(model).upscale_uint8(image), model.scale)


def _downscaled(sr: np.ndarray, scale: int) -> np.ndarray:
    """An output (0..255 float) back at its picture's size: MATLAB bicubic, rounded to uint8."""
    return quantize_uint8(downscale_bicubic(sr, scale))


def _crop(image: np.ndarray, side: int, rng: np.random.Generator, augment: bool = True) -> np.ndarray:
    """A random `side` x `side` crop of (H, W, 3), flipped and transposed at random if `augment`."""
    h, w = image.shape[:2]
    side_h, side_w = min(side, h), min(side, w)
    y, x = rng.integers(h - side_h + 1), rng.integers(w - side_w + 1)
    patch = image[y: y + side_h, x: x + side_w]
    if augment:
        flips = rng.integers(2, size=3)
        patch = patch[::-1] if flips[0] else patch
        patch = patch[:, ::-1] if flips[1] else patch
        patch = patch.transpose(1, 0, 2) if flips[2] and side_h == side_w else patch
    return np.ascontiguousarray(patch)


def _to_tensor(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """(h, w, 3) uint8 images of one size -> (B, 3, h, w) float 0..255 on `device`."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().to(device).contiguous(
        memory_format=torch.channels_last)


def _pairs(hr: list[np.ndarray], scale: int, degradation: str, kernel: str, device: torch.device,
           seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(network input, targets [LR_0, ..., HR]) of HR patches: the input with the whole
    degradation (noise and JPEG drawn from `seed`), the targets the kernel's clean pyramid."""
    lr = [degrade(patch, scale, degradation, seed + i) for i, patch in enumerate(hr)]
    levels = zip(*(lr_pyramid(patch, scale, kernel) for patch in hr))
    return _to_tensor(lr, device), [_to_tensor(list(level), device) for level in levels]


def _pair_l1(net: torch.nn.Module, pairs: tuple[torch.Tensor, list[torch.Tensor]], device: torch.device,
             dtype: torch.dtype) -> float:
    """The final output's L1 (0..255) against the self-pairs' HR."""
    lr, pyramid = pairs
    was_training = net.training
    net.eval()
    with torch.no_grad(), autocast(device, dtype):
        sr = net.primal(lr)[-1].float().clamp(0, 255)
    net.train(was_training)
    return float(F.l1_loss(sr, pyramid[-1]))
