"""The closed loop imposed on the output itself: iterative back-projection onto the degradation
read from the picture.

DRN's dual regression asks that the SR output, taken back down, give the LR input again
(D(P(x)) = x, paper Sec. 3.1, Eq. 1). Where the degradation is known, a Gaussian blur then
MATLAB's bicubic downscale (degradations.classic.downscale_gauss, read by --adapt from the picture),
the output can be moved towards that constraint directly: sr <- sr + step * up(lr - down(sr)),
a few times, `up` being bicubic upscaling (iterative back-projection, Irani and Peleg 1991). It is
cheap (a blur and four small matrix products per iteration) and adds what the network's weights
did not learn in a minute of adaptation: on the eight blurred Kodak pictures of
docs/adaptation.md, +0.06 dB after --adapt's 60 steps (and +0.27 on the default's output, without
adapting). It runs only on pictures --adapt adapts and --denoise auto reads as blurred:
back-projecting onto a noisy picture puts its noise back, as the closed loop does. Three
iterations: on those pictures 5, 10 and 20 gained no more on average (+0.073, +0.072, +0.048
against +0.063), and where the blur was read too wide (kodim04, 2.9 px for 2.4) or the picture's
blur is not Gaussian (a real photo, docs/adaptation.md) more iterations ring at edges.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.nn import functional as F

from .degradations import gauss_sigmas
from .degradations.classic import anisotropic_kernel
from .degradations.resize import resize_matrix

ITERATIONS = 3
STEP = 0.5
# grey levels (0..255): loop_error above which a picture read as blurred holds what the reading
# does not describe (--adapt leaves it as the model makes it; --denoise auto gives it the photo
# model, not the blur model). Clean blurred pictures read 0.3-1.4 (the eight Kodak ones of
# docs/adaptation.md; 29 SunHays80 and 49 BSD200 ones under three kernels: all but one under 1.4,
# one 1.9); with white noise of sigma 2 added 1.0-1.3, of sigma 4 2.2-2.6 (from 5 the noise reading
# sees it); real photos read as blurred whose noise came back when adapted: RealSRSet's building
# 5.1 (blotchy colour noise), RNI15's Movie 1.9 (film grain).
LOOP_ERROR_LIMIT = 1.6


def check(degradation: str) -> None:
    """ValueError unless back-projection can use `degradation`: "gaussAxBaC" or "bicubic", without
    noise or JPEG stages (which it would put back)."""
    _sigmas(degradation)


def back_project(sr: torch.Tensor, lr: torch.Tensor, degradation: str, iterations: int = ITERATIONS,
                 step: float = STEP) -> torch.Tensor:
    """(B, 3, h*s, w*s) SR and its (B, 3, h, w) LR, float in [0, 1] on one device -> the SR moved
    `iterations` times by `step` times the bicubic upscale of lr - down(sr), clamped to [0, 1];
    down is `degradation` ("gaussAxBaC" or "bicubic") unrounded, as degradations.degrade makes LR."""
    scale = sr.shape[-1] // lr.shape[-1]
    x, target = sr.float(), lr.float()
    for _ in range(iterations):
        residual = target - downscale(x, degradation, scale)
        x = x + step * resize(residual, x.shape[-2:])
    return x.clamp_(0.0, 1.0)


def downscale(hr: torch.Tensor, degradation: str, scale: int) -> torch.Tensor:
    """(B, C, H, W) float -> (B, C, H/s, W/s): the Gaussian blur of a "gaussAxBaC" name (none for
    "bicubic") with mirrored borders, then MATLAB's bicubic downscale: degradations.classic's
    downscale_gauss and resize.downscale_bicubic in torch (the same weights, float32)."""
    sigmas = _sigmas(degradation)
    if sigmas[0] > 0:
        kernel = torch.from_numpy(_kernel(*sigmas)).to(hr.device, torch.float32)
        pad, channels = kernel.shape[-1] // 2, hr.shape[1]
        # mirrored as cv2's BORDER_REFLECT_101; an image narrower than the kernel repeats its edge
        mode = "reflect" if pad < min(hr.shape[-2:]) else "replicate"
        hr = F.conv2d(F.pad(hr, (pad, pad, pad, pad), mode=mode), kernel.expand(channels, 1, *kernel.shape),
                      groups=channels)
    h, w = hr.shape[-2:]
    return resize(hr, (h // scale, w // scale))


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) float resized to `size` (H', W') with MATLAB's bicubic weights
    (resize.imresize: antialiased when shrinking, mirrored borders)."""
    (h, w), (out_h, out_w) = image.shape[-2:], size
    rows = _matrix(h, out_h, image.device)
    cols = _matrix(w, out_w, image.device)
    return rows @ image @ cols.T


@functools.lru_cache(maxsize=16)
def _matrix(in_len: int, out_len: int, device: torch.device) -> torch.Tensor:
    """resize.resize_matrix on `device`, kept: every iteration of every tile of a size asks for it."""
    return torch.from_numpy(resize_matrix(in_len, out_len, out_len / in_len)).to(device, torch.float32)


def _sigmas(degradation: str) -> tuple[float, float, float]:
    """(major, minor, angle) of a "gaussAxBaC" name; (0, 0, 0) for "bicubic"; ValueError for
    anything else (another kernel, or noise and JPEG stages, which back-projection would put back)."""
    sigmas = (0.0, 0.0, 0.0) if degradation == "bicubic" else gauss_sigmas(degradation)
    if sigmas is None:
        raise ValueError(f"back-projection needs a Gaussian blur or bicubic without stages, got {degradation!r}")
    return sigmas


@functools.lru_cache(maxsize=16)
def _kernel(major: float, minor: float, angle: float) -> np.ndarray:
    """degradations.classic.anisotropic_blur's kernel, float32."""
    return anisotropic_kernel(major, minor, angle).astype(np.float32)


def loop_error(image: np.ndarray, sr: np.ndarray, kernel: str) -> float:
    """The median |image - down(sr)| (0..255) of an (H, W, 3) uint8 picture and its (sH, sW, 3)
    output on the 0..255 scale, down being `kernel` ("bicubic" or "gaussAxBaC", unrounded): the
    closed loop of paper Eq. 2 with the degradation read from the picture as D. The photo model
    removes noise, so noise the reading missed is what stays in it."""
    scale = sr.shape[0] // image.shape[0]
    down = downscale(torch.from_numpy(np.ascontiguousarray(sr.transpose(2, 0, 1)))[None].float(), kernel, scale)
    return float(np.median(np.abs(image - down[0].permute(1, 2, 0).numpy())))
