"""Degradations: how LR images are made from HR ones, and how to read that from LR photos.

- `resize`: MATLAB-compatible bicubic (the paper's LR), rounding, modcrop.
- `classic`: the paper's unseen degradations, nearest-neighbour and blur-downscale (BD).
- `real`: the realistic family (blur, resize, noise, JPEG) for training and `eval --degradation real`.
- `blur` (here): random anisotropic Gaussian blur and bicubic, the blur model's training family.
- `estimate`: estimators that read the degradation from LR photos (finetune-unpaired).

A name is parsed once (`parse_degradation`) into a `Degradation` object that makes LR images
(`lr`, for evaluation and self-pairs) and training pairs (`pair`: the network's input and the
innermost dual block's target). A new degradation is one class here and one line in REGISTRY;
the CLI's help lists the registry (`describe`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .classic import anisotropic_kernel, downscale_bd, downscale_gauss, downscale_nearest
from .real import TRAINING, degrade_real, degrade_real_pair, jpeg
from .resize import downscale_bicubic, imresize, modcrop, quantize_uint8

__all__ = [
    "CLASSIC",
    "DEGRADATIONS",
    "TURNS_AND_FLIPS",
    "Blur",
    "Degradation",
    "degrade",
    "describe",
    "gauss_name",
    "imresize",
    "kernel_symmetries",
    "lr_pyramid",
    "modcrop",
    "parse_degradation",
    "quantize_uint8",
    "turned",
]

Image = np.ndarray  # (H, W, 3) uint8 unless said otherwise


class Degradation:
    """A parsed degradation name. `kernel`: the deterministic kernel whose pyramid is the clean
    target in training and self-pairs ("bicubic" for the realistic family); `flip_first`: a
    training patch is flipped before it is degraded (a kernel such as nearest has a phase to
    keep), else the degraded patch is flipped with its pyramid. A subclass defines `lr` or
    `saved` (each is the other's default)."""

    name: str
    kernel: str
    flip_first: bool = True
    family: bool = False  # a random family (its own blur and resize), not a kernel with stages
    damages: bool = False  # noise or JPEG after the kernel: LR that carries damage an HR image should not

    def lr(self, hr: Image, scale: int, seed: int = 0) -> Image:
        """(H/s, W/s, 3) uint8 LR of a modcropped HR image; `seed` picks the random draws."""
        return self.saved(hr, scale, seed)[0]

    def saved(self, hr: Image, scale: int, seed: int = 0) -> tuple[Image, int | None]:
        """The LR of `lr` and the JPEG quality of the file it would be saved as: the quality of
        its last JPEG stage, None where it has none (a lossless file, such as PNG). What
        `--denoise auto` reads from a real file's quantization tables."""
        return self.lr(hr, scale, seed), None

    def pair(self, hr: Image, scale: int, rng: np.random.Generator) -> tuple[Image, Image]:
        """(network input, innermost dual target) of an HR training patch, both uint8 LR."""
        lr = self.lr(hr, scale, int(rng.integers(1 << 62)))
        return lr, lr


@dataclass(frozen=True)
class Kernel(Degradation):
    """A deterministic downscale (float64 LR from `fn`, rounded as MATLAB does)."""

    name: str
    fn: Callable[[Image, int], np.ndarray]
    help: str

    @property
    def kernel(self) -> str:
        return self.name

    def lr(self, hr: Image, scale: int, seed: int = 0) -> Image:
        return quantize_uint8(self.fn(hr, scale))


@dataclass(frozen=True)
class Staged(Degradation):
    """A kernel followed by fixed stages: Gaussian colour noise of `sigma` (0..255 scale), drawn
    from the seed, then JPEG at `quality` with 4:2:0 chroma, e.g. "bicubic+noise8+jpeg40"."""

    base: Kernel
    sigma: float = 0.0
    quality: int | None = None

    @property
    def name(self) -> str:
        return self.base.name + (f"+noise{self.sigma:g}" if self.sigma else "") + (
            f"+jpeg{self.quality}" if self.quality is not None else "")

    @property
    def kernel(self) -> str:
        return self.base.name

    @property
    def damages(self) -> bool:
        return bool(self.sigma) or self.quality is not None

    def lr(self, hr: Image, scale: int, seed: int = 0) -> Image:
        lr = self.base.fn(hr, scale)
        if self.sigma:
            lr = lr + self.sigma * np.random.default_rng(seed).standard_normal(lr.shape)
        lr = quantize_uint8(lr)
        return lr if self.quality is None else jpeg(lr, self.quality, subsampling=True)

    def saved(self, hr: Image, scale: int, seed: int = 0) -> tuple[Image, int | None]:
        return self.lr(hr, scale, seed), self.quality

    def pair(self, hr: Image, scale: int, rng: np.random.Generator) -> tuple[Image, Image]:
        """The staged LR (noise drawn per sample) and its kernel's clean LR: noise and JPEG cannot
        be predicted from HR, so the dual block learns the deterministic part."""
        return self.lr(hr, scale, int(rng.integers(1 << 62))), self.base.lr(hr, scale)


@dataclass(frozen=True)
class Real(Degradation):
    """The realistic family (real.py): blur, resize, noise and JPEG drawn per image; training
    draws from real.TRAINING (a fifth of the patches clean)."""

    name: str = "real"
    kernel: str = "bicubic"
    flip_first: bool = False
    family: bool = True
    help: str = "random blur, resize, noise and JPEG (docs/training.md)"

    def saved(self, hr: Image, scale: int, seed: int = 0) -> tuple[Image, int | None]:
        return degrade_real(hr, scale, seed)

    def pair(self, hr: Image, scale: int, rng: np.random.Generator) -> tuple[Image, Image]:
        return degrade_real_pair(hr, scale, rng, TRAINING)


@dataclass(frozen=True)
class Blur(Degradation):
    """Blurred pictures without damage: per image an anisotropic Gaussian (major sigma drawn from
    `major` HR pixels at x4, scaled with the factor; minor from 0.2 of that scale up to the major;
    any angle), then MATLAB bicubic, and with probability `noise_prob` faint Gaussian colour noise
    (sigma drawn from `noise_sigma`, 0..255 scale: what --denoise auto still reads as noiseless, so
    that the blur model does not sharpen it). What the blur model is trained on: the pictures
    `drn upscale` reads as blurred but not noisy or compressed (estimate.read_damage)."""

    name: str = "blur"
    kernel: str = "bicubic"
    flip_first: bool = False
    family: bool = True
    help: str = "random anisotropic Gaussian blur, then bicubic and faint noise: drn-s-x4-blur's LR"
    major: tuple[float, float] = (0.6, 3.2)
    noise_prob: float = 0.5
    noise_sigma: tuple[float, float] = (0.0, 4.0)

    def lr(self, hr: Image, scale: int, seed: int = 0) -> Image:
        return self.pair(hr, scale, np.random.default_rng(seed))[0]

    def pair(self, hr: Image, scale: int, rng: np.random.Generator) -> tuple[Image, Image]:
        """The noisy LR and its noiseless blurred LR (the innermost dual target: noise cannot be
        predicted from HR, the blur can)."""
        factor = scale / 4
        major = rng.uniform(*self.major) * factor
        minor = rng.uniform(0.2 * factor, major)
        blurred = downscale_gauss(hr, scale, major, minor, rng.uniform(0.0, 180.0))
        noisy = blurred
        if rng.random() < self.noise_prob:
            noisy = blurred + rng.uniform(*self.noise_sigma) * rng.standard_normal(blurred.shape)
        return quantize_uint8(noisy), quantize_uint8(blurred)


REGISTRY: dict[str, Degradation] = {d.name: d for d in (
    Kernel("bicubic", downscale_bicubic, "the paper's: MATLAB imresize"),
    Kernel("nearest", downscale_nearest, "nearest-neighbour decimation"),
    Kernel("bd", downscale_bd, "7x7 Gaussian blur, sigma 1.6, then decimation"),
    Real(),
    Blur(),
)}
CLASSIC = tuple(name for name, d in REGISTRY.items() if isinstance(d, Kernel))  # kernels that take stages
DEGRADATIONS = tuple(REGISTRY)

_STAGE = re.compile(r"(noise)(\d+(?:\.\d+)?)|(jpeg)(\d+)")
_NUMBER = r"(\d+(?:\.\d+)?)"
_GAUSS = re.compile(rf"gauss{_NUMBER}x{_NUMBER}a{_NUMBER}")


def gauss_name(sigma_major: float, sigma_minor: float, angle_deg: float) -> str:
    """The degradation name of an anisotropic Gaussian kernel: "gauss2.4x0.8a30" is sigmas 2.4 and
    0.8 HR pixels, the major axis 30 degrees counter-clockwise from the x axis, then bicubic.
    Sigmas are rounded to 0.01 pixel (at least 0.2: narrower is a line, which the estimate cannot
    tell from 0.2) and the angle to a whole degree in [0, 180)."""
    sigma_major, sigma_minor = max(sigma_major, 0.2), max(sigma_minor, 0.2)
    if sigma_major < sigma_minor:
        sigma_major, sigma_minor, angle_deg = sigma_minor, sigma_major, angle_deg + 90
    angle = round(angle_deg) % 180 if round(sigma_major, 2) != round(sigma_minor, 2) else 0
    return f"gauss{round(sigma_major, 2):g}x{round(sigma_minor, 2):g}a{angle}"


def gauss_sigmas(name: str) -> tuple[float, float, float] | None:
    """(major, minor, angle) of a valid "gaussAxBaC" name (sigmas in HR pixels, degrees), or None
    for other names (stages included)."""
    match = _GAUSS.fullmatch(name)
    if not match:
        return None
    major, minor, angle = (float(v) for v in match.groups())
    return (major, minor, angle) if 0 < minor and 0 < major <= 20 and angle < 360 else None


# The eight flips and turns of an image (the x8 self-ensemble): np.rot90 by `turns` quarter
# turns, then a left-right flip where `flip`.
TURNS_AND_FLIPS: tuple[tuple[int, bool], ...] = tuple((turns, flip) for turns in range(4) for flip in (False, True))


def turned(image: np.ndarray, turns: int, flip: bool) -> np.ndarray:
    """(H, W, ...) `image` turned by `turns` quarter turns (np.rot90), then flipped left-right
    where `flip` (a view)."""
    image = np.rot90(image, turns)
    return image[:, ::-1] if flip else image


@functools.lru_cache(maxsize=64)
def kernel_symmetries(name: str, tolerance: float = 0.1) -> tuple[tuple[int, bool], ...]:
    """The TURNS_AND_FLIPS that leave the blur of degradation `name` as it is: all eight for
    bicubic and the other named kernels, for a "gaussAxBaC" kernel those that map its ellipse
    onto itself or nearly (all eight for a round one, four for one along an axis or a diagonal,
    else the identity and the half turn). A picture blurred by an anisotropic kernel and then
    turned a quarter or flipped is blurred by another kernel, which a model adapted to the first
    (--adapt) was not taught. `tolerance`: how far from the kernel, as a share of its peak, a
    turned kernel still counts as the same blur."""
    sigmas = gauss_sigmas(parse_degradation(name).kernel)
    if sigmas is None:
        return TURNS_AND_FLIPS
    kernel = anisotropic_kernel(*sigmas)
    # a tenth: on the blurred pictures of docs/adaptation.md a hundredth kept two turns of nearly
    # round kernels (1.67 x 1.49) and gave less (the milder kernel's set: +0.032 dB over --adapt
    # alone against +0.041); a fifth let slanted ones through (the second 2.4 x 0.8 set: -0.006
    # against +0.031; experiments/adapt_tta.py --tolerances)
    return tuple(t for t in TURNS_AND_FLIPS
                 if np.abs(turned(kernel, *t) - kernel).max() <= tolerance * kernel.max())


@functools.lru_cache(maxsize=64)
def _gauss_kernel(name: str) -> Kernel | None:
    """The Kernel a "gaussAxBaC" name means, or None for other names."""
    sigmas = gauss_sigmas(name)
    if sigmas is None:
        return None
    major, minor, angle = sigmas
    return Kernel(name, functools.partial(downscale_gauss, sigma_major=major, sigma_minor=minor, angle_deg=angle),
                  f"Gaussian blur sigmas {major:g} and {minor:g} HR px at {angle:g} degrees, then bicubic")


def describe() -> str:
    """The registry for a help text: "bicubic (the paper's: ...), nearest (...), ...", and stages."""
    named = ", ".join(f"{name} ({d.help})" for name, d in REGISTRY.items())
    return (f"{named}, gaussAxBaC (anisotropic Gaussian blur, sigmas A and B HR pixels, major axis at C "
            "degrees, then bicubic), or a kernel with fixed noise and JPEG stages such as bicubic+noise8+jpeg40")


@functools.lru_cache(maxsize=64)
def parse_degradation(name: str) -> Degradation:
    """The Degradation a name means: a REGISTRY name or a Gaussian kernel ("gauss2.4x0.8a30"),
    either followed by fixed stages such as "bicubic+noise8+jpeg40". ValueError if unknown."""
    base, *stages = name.split("+")
    gauss = _gauss_kernel(base)
    sigma, quality = 0.0, None
    ok = gauss is not None or (base in REGISTRY and (base in CLASSIC or not stages))
    for stage in stages:
        match = _STAGE.fullmatch(stage)
        ok = ok and match is not None
        if match and match[1]:
            sigma = float(match[2])
        elif match:
            quality = int(match[4])
            ok = ok and 1 <= quality <= 100
    if not ok:
        raise ValueError(f"unknown degradation {name!r}; choose from {', '.join(DEGRADATIONS)}, gaussAxBaC "
                         "(e.g. gauss2.4x0.8a30), or a kernel with fixed noise and JPEG stages such as "
                         "bicubic+noise8+jpeg40")
    kernel = gauss or REGISTRY[base]
    return kernel if not stages else Staged(kernel, sigma, quality)


def lr_pyramid(hr: Image, scale: int, kind: str = "bicubic") -> list[Image]:
    """[LR_0, ..., LR_{phases-1}, HR] of a modcropped (H, W, 3) uint8 image, coarsest first; each
    LR level made from HR directly with the named degradation, rounded to uint8."""
    phases = int(math.log2(scale))
    return [degrade(hr, 2 ** (phases - k), kind) for k in range(phases)] + [hr]


def degrade(hr: Image, scale: int, kind: str = "bicubic", seed: int = 0) -> Image:
    """(H, W, 3) uint8 LR of a modcropped HR array with the named degradation, rounded as MATLAB
    does; `seed` picks the draw of the random "real" family and of fixed-stage noise."""
    return parse_degradation(kind).lr(hr, scale, seed)
