"""Estimators that read how LR photos were made: for `finetune-unpaired --self-pairs auto` and
`drn upscale --denoise auto` (read_damage)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import gauss_name
from .classic import downscale_nearest
from .resize import cubic, downscale_bicubic, modcrop, quantize_uint8

_RESAMPLE = {"bicubic": downscale_bicubic, "nearest": downscale_nearest}


def radial_log_spectrum(image: np.ndarray, bands: int = 6) -> np.ndarray:
    """Mean log power of the (Hann-windowed) luminance in `bands` equal radial frequency bands
    from 0 to 0.5 cycles/pixel, less its mean: the spectrum's shape, free of contrast."""
    grey = image.astype(np.float64).mean(-1) if image.ndim == 3 else image.astype(np.float64)
    h, w = grey.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    band = np.minimum((radius / 0.5 * bands).astype(int), bands)  # corners beyond 0.5: dropped
    totals = np.bincount(band.ravel(), power.ravel(), bands + 1)[:bands]
    counts = np.bincount(band.ravel(), minlength=bands + 1)[:bands]
    shape = np.log(totals / np.maximum(counts, 1) + 1e-12)
    return shape - shape.mean()


def degradation_mismatch(photos: list[np.ndarray], factor: int = 2, crop: int = 512) -> dict[str, float]:
    """How badly bicubic and nearest-neighbour downscaling explain how `photos` (uint8 LR) were
    made, lower is better.

    Natural images look alike at every scale, so if the photos are HR downscaled by k, downscaling
    them again by k should leave their spectrum's shape unchanged (the ZSSR assumption). The score
    of k is the mean squared difference of radial_log_spectrum between each photo and its
    k-downscaled self, over the upper bands (above 0.25 cycles/pixel, where aliasing shows). The
    re-downscale is by `factor` (2 leaves enough pixels for a spectrum whatever the model's scale;
    bicubic and nearest compose across scales, so the factor need not be the photos' own). BD is
    left out: its blur is fixed in HR pixels, so it does not compose that way. Photos smaller than
    16 * factor pixels are skipped; larger ones are cut to their centre `crop` x `crop`.
    """
    scores = {kind: [] for kind in ("bicubic", "nearest")}
    for photo in photos:
        h, w = photo.shape[:2]
        y, x = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
        photo = modcrop(photo[y: y + crop, x: x + crop], factor)
        if min(photo.shape[:2]) < 16 * factor:
            continue
        own = radial_log_spectrum(photo)
        for kind, values in scores.items():
            diff = radial_log_spectrum(quantize_uint8(_RESAMPLE[kind](photo, factor))) - own
            values.append(float(np.mean(diff[3:] ** 2)))
    return {kind: float(np.mean(v)) if v else math.nan for kind, v in scores.items()}


def guess_degradation(photos: list[np.ndarray], margin: float = 0.7) -> str:
    """"nearest" if the photos look nearest-neighbour downscaled (degradation_mismatch under
    nearest below `margin` times bicubic's), else "bicubic": the degradation the model was
    trained on is the answer when in doubt. Smooth degradations (bicubic, BD) all read as bicubic.
    """
    scores = degradation_mismatch(photos)
    return "nearest" if scores["nearest"] < margin * scores["bicubic"] else "bicubic"


# ---------------------------------------------------------------------------- the blur kernel

# A natural image's power spectrum falls as |u|^-alpha at every scale and in every direction (the
# direction changes its level, not its slope). LR = (HR * k) downscaled by s then multiplies it by
# |K(u)|^2 and by the bicubic resampler's response B. For a Gaussian k of covariance Sigma (HR
# pixels), |K(u)|^2 = exp(-4 pi^2 u' C u) with C = Sigma / s^2 in LR pixels: a falloff that grows
# with |u|^2, which no power law and no direction-dependent level can mimic. Sampling the LR grid
# folds the HR frequencies u + m (m integer, cycles per LR pixel) onto u: the resampler passes
# some of them (B(0.6) is still 0.3), most near the LR Nyquist frequency and along the axes, so
# aliasing flattens the high band most where the blur is narrowest across an axis. So the model
# of an LR photo's log power spectrum at frequency u (cycles per LR pixel) is
#
#     log P(u) = log( sum_m exp(a + h(t_m) - alpha log|u + m| + log B(u + m) - 4 pi^2 (u + m)' C (u + m)) + exp(n) )
#
# over m in {-1, 0, 1}^2 (B is under 0.01 beyond), t_m the angle of u + m, with per photo a
# level a, direction harmonics h (cos/sin of 2t and 4t: content with a main direction), alpha and
# n (the noise floor), and C shared by the photos of a folder. Without the aliases a Gaussian of
# 2.4 x 0.8 HR px read 2.24 x 0.95 at 45 degrees but 2.40 x 0.73 along an axis; with them, 2.39 x
# 0.85 at every angle (synthetic 1/f pictures). alpha and the isotropic part of C trade against
# each other, so alpha is held near ALPHA_PRIOR, the median alpha of clean bicubic LR of 60 BSD200
# training images (experiments/kernel_estimate.py fits it; never the images it is measured on).
ALPHA_PRIOR = 2.40
_PRIOR_WEIGHT = 1.0     # of (alpha - ALPHA_PRIOR)^2 against the mean squared log residual per photo
_WINDOW = 32            # Welch window (LR pixels): small photos still give several windows
_BAND = (0.05, 0.5)     # radial band fitted, cycles per LR pixel
_ALIASES = [(mx, my) for my in (-1, 0, 1) for mx in (-1, 0, 1)]  # HR frequencies folded onto the LR band
MIN_BLUR = 0.8          # HR pixels: a major sigma below this reads as no blur (clean folders read up to 0.5, single clean pictures 0.6-1.1)


def welch_spectrum(image: np.ndarray, window: int = _WINDOW, crop: int = 512) -> np.ndarray:
    """(window, window) mean power spectrum of Hann-windowed, half-overlapping tiles of the
    luminance of an (H, W[, C]) 0..255 image's centre `crop` x `crop` (DC at [0, 0])."""
    luma = _centre(_luma_float(image), crop)
    h, w = luma.shape
    hann = np.outer(np.hanning(window), np.hanning(window))
    tiles = [luma[y: y + window, x: x + window] for y in range(0, h - window + 1, window // 2)
             for x in range(0, w - window + 1, window // 2)]
    if not tiles:
        raise ValueError(f"an image of {w}x{h} is smaller than the {window}-pixel window")
    power = [np.abs(np.fft.fft2((t - t.mean()) * hann)) ** 2 for t in tiles]
    return np.mean(power, axis=0)


def _luma_float(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 luminance (BT.601 weights) of an (H, W[, C]) image, C = 1 or 3."""
    data = image.astype(np.float64)
    return data @ np.array([0.299, 0.587, 0.114]) if data.ndim == 3 and data.shape[2] == 3 else data.reshape(data.shape[:2])


def _cubic_response(f: np.ndarray) -> np.ndarray:
    """The frequency response of MATLAB's antialiased bicubic downscale along one axis, in LR
    cycles per pixel: the Fourier transform of the Keys kernel (its width is 4 LR pixels at any scale)."""
    x = np.arange(-2, 2, 1 / 256) + 1 / 512
    return (cubic(x)[None, :] * np.cos(2 * np.pi * np.outer(f, x))).sum(axis=1) / 256


@dataclass(frozen=True)
class KernelReading:
    """The Gaussian blur read from LR photos (fit_blur), in LR pixels: scale by s for HR pixels."""

    sigma_major: float   # LR pixels, along the major axis
    sigma_minor: float   # LR pixels, across it
    angle: float         # degrees of the major axis, counter-clockwise from the x axis on screen, [0, 180)
    photos: int          # how many photos it was read from
    alpha: float         # the photos' median spectral slope (ALPHA_PRIOR for clean bicubic LR)

    def hr_sigmas(self, scale: int) -> tuple[float, float]:
        return self.sigma_major * scale, self.sigma_minor * scale

    def degradation(self, scale: int, min_blur: float = MIN_BLUR) -> str:
        """The degradation name this reading means at `scale`: "bicubic" when the blur is under
        `min_blur` HR pixels, else "gaussAxBaC" (sigmas in HR pixels)."""
        major, minor = self.hr_sigmas(scale)
        return "bicubic" if major < min_blur else gauss_name(major, minor, self.angle)

    def text(self, scale: int, min_blur: float = MIN_BLUR) -> str:
        major, minor = self.hr_sigmas(scale)
        if major < min_blur:
            return f"none beyond bicubic (sigma {major:.2f} HR px)"
        return f"Gaussian, sigmas {major:.2f} x {minor:.2f} HR px at {self.angle:.0f} degrees"


def fit_blur(spectra: list[np.ndarray], iterations: int = 40, prior_weight: float = _PRIOR_WEIGHT) -> KernelReading:
    """The Gaussian blur shared by photos, from their Welch spectra (welch_spectrum, one window
    size): the model in the comment above, fitted to the log spectra over _BAND by
    Levenberg-Marquardt; C = L L' keeps the covariance positive semi-definite."""
    window = spectra[0].shape[0]
    fy, fx = np.meshgrid(np.fft.fftfreq(window), np.fft.fftfreq(window), indexing="ij")
    radius = np.hypot(fx, fy)
    band = (radius >= _BAND[0]) & (radius <= _BAND[1])
    # Per alias m (A of them) and band frequency (M): the HR frequency u + m, its resampler
    # response, and the per-photo design: a, four direction harmonics, alpha (as its coefficient
    # -log|u + m|).
    ux = np.stack([fx[band] + mx for mx, _ in _ALIASES])                   # (A, M)
    uy = np.stack([fy[band] + my for _, my in _ALIASES])
    theta = np.arctan2(uy, ux)
    log_b = np.log(np.maximum((_cubic_response(ux.ravel()) * _cubic_response(uy.ravel())) ** 2, 1e-30)).reshape(ux.shape)
    design = np.stack([np.ones_like(ux), np.cos(2 * theta), np.sin(2 * theta), np.cos(4 * theta),
                       np.sin(4 * theta), -np.log(np.hypot(ux, uy))], axis=2)  # (A, M, k)
    observed = np.stack([np.log(s[band] + 1e-9) for s in spectra])       # (photos, M)
    photos, m, k = len(spectra), band.sum(), design.shape[2]
    hann_power = (np.hanning(window) ** 2).sum() ** 2
    # Start: each photo's least-squares level, alpha at the prior, quantisation noise (1/12) as floor.
    per = np.zeros((photos, k + 1))
    per[:, 0], per[:, k - 1], per[:, k] = observed.mean(axis=1), ALPHA_PRIOR, np.log(hann_power / 12)
    chol = np.array([0.3, 0.0, 0.3])
    prior = math.sqrt(prior_weight * m)

    def residuals(per: np.ndarray, chol: np.ndarray):
        """(log residuals (photos, M), signal, the prior's residuals, each alias's share of the signal (photos, A, M))."""
        l1, l2, l3 = chol
        q = l1 * l1 * ux * ux + 2 * l1 * l2 * ux * uy + (l2 * l2 + l3 * l3) * uy * uy
        parts = np.einsum("pk,amk->pam", per[:, :k], design) + log_b - 4 * np.pi ** 2 * q
        top = parts.max(axis=1, keepdims=True)
        shares = np.exp(parts - top)
        total = shares.sum(axis=1)
        signal = top[:, 0] + np.log(total)                                  # log of the sum over aliases
        model = np.logaddexp(signal, per[:, k:k + 1])
        return model - observed, signal, (per[:, k - 1] - ALPHA_PRIOR) * prior, shares / total[:, None]

    damping = 1e-3
    res, signal, prior_res, shares = residuals(per, chol)
    cost = (res ** 2).sum() + (prior_res ** 2).sum()
    for _ in range(iterations):
        share = 1 / (1 + np.exp(per[:, k:k + 1] - signal))                      # d model / d signal
        l1, l2, l3 = chol
        dq = np.stack([2 * l1 * ux * ux + 2 * l2 * ux * uy, 2 * l1 * ux * uy + 2 * l2 * uy * uy, 2 * l3 * uy * uy])
        # d signal / d parameter: each alias's derivative weighted by its share of the signal
        d_per = np.einsum("pam,amk->pmk", shares, design)
        d_chol = np.einsum("pam,cam->pmc", shares, dq) * -4 * np.pi ** 2
        jac = np.zeros((photos * m + photos, photos * (k + 1) + 3))
        for i in range(photos):
            rows = slice(i * m, (i + 1) * m)
            jac[rows, i * (k + 1): i * (k + 1) + k] = share[i][:, None] * d_per[i]
            jac[rows, i * (k + 1) + k] = 1 - share[i]
            jac[rows, -3:] = share[i][:, None] * d_chol[i]
            jac[photos * m + i, i * (k + 1) + k - 1] = prior
        vector = np.concatenate([res.ravel(), prior_res])
        normal, gradient = jac.T @ jac, jac.T @ vector
        while True:
            step = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-9), -gradient)
            new_per = per + step[:-3].reshape(photos, k + 1)
            new_chol = chol + step[-3:]
            new = residuals(new_per, new_chol)
            new_cost = (new[0] ** 2).sum() + (new[2] ** 2).sum()
            if new_cost < cost or damping > 1e8:
                break
            damping *= 10
        if new_cost >= cost:
            break
        converged = cost - new_cost < 1e-7 * cost
        per, chol, (res, signal, prior_res, shares), cost = new_per, new_chol, new, new_cost
        damping = max(damping / 10, 1e-7)
        if converged:
            break
    l1, l2, l3 = chol
    covariance = np.array([[l1 * l1, l1 * l2], [l1 * l2, l2 * l2 + l3 * l3]])
    values, vectors = np.linalg.eigh(covariance)
    major = vectors[:, 1]
    angle = math.degrees(math.atan2(-major[1], major[0])) % 180  # y points down on screen
    return KernelReading(math.sqrt(max(values[1], 0.0)), math.sqrt(max(values[0], 0.0)), angle, photos,
                         float(np.median(per[:, k - 1])))


def read_blur(photos: list[np.ndarray], window: int = _WINDOW) -> KernelReading | None:
    """The Gaussian blur shared by LR photos ((H, W[, C]) 0..255), or None when none is large
    enough for one window (photos smaller than `window` pixels are left out)."""
    spectra = [welch_spectrum(p, window) for p in photos if min(p.shape[:2]) >= window]
    return fit_blur(spectra) if spectra else None


# ---------------------------------------------------------------------------- JPEG quality and noise

# The luminance quantization table of the JPEG standard (Annex K), which libjpeg scales by quality.
_STANDARD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])


def libjpeg_luma_table(quality: int) -> np.ndarray:
    """The 64 luminance quantizers libjpeg (and Pillow, OpenCV, most cameras' encoders) writes
    for `quality` 1..100 (IJG scaling of the standard table)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip((_STANDARD_LUMA * scale + 50) // 100, 1, 255)


_TABLES = np.array([libjpeg_luma_table(q) for q in range(1, 101)])  # (100, 64): quality 1..100
_TABLE_SUMS = _TABLES.sum(axis=1)


def jpeg_quality(path: str | Path) -> int | None:
    """The libjpeg quality (1..100) `path` was saved with, read from the file's own quantization
    tables (image_jpeg_quality); None for files that are not JPEG."""
    try:
        with Image.open(path) as img:
            return image_jpeg_quality(img)
    except (OSError, ValueError):
        return None


def image_jpeg_quality(img: Image.Image) -> int | None:
    """The libjpeg quality of an opened Pillow image's JPEG file, from its own quantization tables
    (quality_of_tables); None for other formats."""
    tables = getattr(img, "quantization", None) if img.format == "JPEG" else None
    return quality_of_tables(tables) if tables else None


def quality_of_tables(tables: dict[int, list[int]]) -> int:
    """The libjpeg quality (1..100) whose luminance table is closest to a JPEG file's own
    (Pillow's `Image.quantization`: table id -> 64 quantizers; the lowest id is luminance).

    Tables compare by their sum, which the IJG scaling makes monotonic in quality and which does
    not depend on the order the file stores them in. Encoders with their own tables (some phones)
    get the libjpeg quality of the same overall coarseness.
    """
    total = float(np.sum(tables[min(tables)]))
    return int(np.argmin(np.abs(_TABLE_SUMS - total))) + 1


def noise_sigma(image: np.ndarray, block: int = 8, percentile: float = 5) -> float:
    """Standard deviation (0..255 scale) of white noise in an (H, W[, C]) image, measured where
    the image is flat; the mean over channels.

    Immerkær's fast estimator (1996): the Laplacian-difference mask N = [[1, -2, 1], [-2, 4, -2],
    [1, -2, 1]] cancels smooth image content, and sigma = sqrt(pi / 2) * mean|I * N| / 6 for white
    noise. Edges and texture raise it, so it is taken per `block` x `block` tile and the
    `percentile` of the tiles is kept: the flattest part of the picture.
    """
    data = image.astype(np.float64)
    data = data[:, :, None] if data.ndim == 2 else data
    h, w = data.shape[:2]
    if h < block + 2 or w < block + 2:
        return 0.0
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
    residual = np.abs(sum(mask[dy, dx] * data[dy: h - 2 + dy, dx: w - 2 + dx]
                          for dy in range(3) for dx in range(3)))
    bh, bw = residual.shape[0] // block, residual.shape[1] // block
    tiles = residual[: bh * block, : bw * block].reshape(bh, block, bw, block, -1).mean(axis=(1, 3))
    return float(math.sqrt(math.pi / 2) / 6 * np.percentile(tiles, percentile, axis=(0, 1)).mean())


MIN_BLUR_JPEG = 1.0      # HR pixels: JPEG's quantisation takes high frequencies too, so JPEG photos need more


def self_pair_degradation(photos: list[np.ndarray], jpeg_qualities: list[int | None], scale: int) -> tuple[str, dict]:
    """The degradation to make self-pairs with at `scale`, read from the photos themselves, and
    what was read: the resampling kernel (guess_degradation's spectrum test, from 3 photos: nearest, else the
    Gaussian blur read_blur finds on top of bicubic), the median noise level of the photos
    (noise_sigma) and the median JPEG quality of those that went through JPEG
    (picture_jpeg_quality: each file's own, `jpeg_qualities`, None for other files, else the
    ghost of a JPEG saved again losslessly: the reading `drn upscale` makes). The
    answer is a degradation name for `degradations.degrade`, e.g. "gauss2.3x0.9a28+jpeg40".
    Noise under 5 is left out: clean nearest-neighbour LR of textured images reads up to about 4
    (its aliasing looks like noise to this estimator), and JPEG wipes noise out of flat regions, so
    noisy JPEG photos often read low. JPEG quality of 90 or more is left out too (nothing to learn
    there). JPEG's quantisation also removes high frequencies, mostly along the axes, which reads
    as blur of up to about 0.8 HR pixels on unblurred LR (experiments/kernel_estimate.py): JPEG
    photos need a blur of MIN_BLUR_JPEG to count."""
    sigma = float(np.median([noise_sigma(p) for p in photos])) if photos else 0.0
    read = (picture_jpeg_quality(_centre(p, 512), q)[0] for p, q in zip(photos, jpeg_qualities, strict=True))
    qualities = [q for q in read if q is not None]
    quality = int(np.median(qualities)) if qualities else None
    jpeg_stage = quality is not None and quality < 90
    # One picture's spectrum is too little to tell nearest from bicubic (a Kodak photo read as
    # nearest, and adapting to it cost 2.4 dB): the nearest test needs a few photos.
    kernel, read = (guess_degradation(photos) if len(photos) >= 3 else "bicubic"), {}
    if kernel == "bicubic":
        blur = read_blur(photos)
        if blur is not None:
            min_blur = MIN_BLUR_JPEG if jpeg_stage else MIN_BLUR
            kernel, read = blur.degradation(scale, min_blur), {"blur": blur.text(scale, min_blur)}
    name = kernel + (f"+noise{round(sigma)}" if sigma >= 5 else "") + (f"+jpeg{quality}" if jpeg_stage else "")
    return name, {"kernel": kernel, **read, "noise_sigma": round(sigma, 2), "jpeg_quality": quality,
                  "jpegs": len(qualities), "photos": len(photos)}


def blockiness(image: np.ndarray, block: int = 8) -> float:
    """How much JPEG's 8x8 grid shows in an (H, W[, C]) 0..255 image, from its pixels alone: the
    mean absolute luminance step across block boundaries over the mean step elsewhere, along both
    axes. About 1 for images that were never JPEG-compressed; above it as blocks appear (1.3 and
    more at quality 30)."""
    y = _luma_float(image)
    steps = []
    for diff in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        if diff.shape[1] < 2 * block:
            continue
        at_edge = (np.arange(diff.shape[1]) % block) == block - 1
        steps.append((diff[:, at_edge].mean() + 1e-3) / (diff[:, ~at_edge].mean() + 1e-3))
    return float(np.mean(steps)) if steps else 1.0


def sharpness(image: np.ndarray) -> float:
    """Log power of the highest of six radial frequency bands over the middle ones (radial_log_spectrum):
    lower for blurred images."""
    bands = radial_log_spectrum(image)
    return float(bands[-1] - bands[2:4].mean())


@dataclass(frozen=True)
class Damage:
    """What an LR image's pixels say of its damage."""

    blockiness: float   # JPEG grid, ~1 for none (blockiness)
    noise: float        # noise sigma on the 0..255 scale, in flat regions (noise_sigma)
    sharpness: float    # high over middle frequencies, log power (sharpness)


def damage(image: np.ndarray, crop: int = 512) -> Damage:
    """The Damage of an (H, W[, C]) 0..255 image (C = 1 or 3), read from its centre `crop` x `crop`."""
    centre = _centre(image, crop)
    return Damage(blockiness(centre), noise_sigma(centre), sharpness(centre))


def _centre(image: np.ndarray, crop: int) -> np.ndarray:
    """The centre `crop` x `crop` of an image, its corner on JPEG's 8-pixel grid."""
    h, w = image.shape[:2]
    y, x = max(0, (h - crop) // 2) // 8 * 8, max(0, (w - crop) // 2) // 8 * 8
    return image[y: y + crop, x: x + crop]


def _luma(image: np.ndarray) -> Image.Image:
    """The 8-bit luminance of an (H, W[, C]) uint8 picture (C = 1 or 3), as JPEG computes it."""
    grey = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    return Image.fromarray(grey).convert("L") if grey.ndim == 3 else Image.fromarray(grey)


def ghost_quality(image: np.ndarray, crop: int = 256, qualities: range = range(30, 99)) -> tuple[int, float]:
    """(quality, rise): the JPEG quality an (H, W[, C]) uint8 picture was most likely compressed at
    before it was saved losslessly, and how sure: the "JPEG ghost" (Farid, 2009).

    Its luminance (centre `crop`, on the 8-pixel grid) is compressed again at each quality and
    the mean absolute change d(q) measured. A never-compressed picture changes less the higher
    the quality, smoothly; one that went through JPEG at q0 barely changes at q0 (its DCT
    coefficients already sit on q0's quantiser) and more just above it. `rise` is the largest
    d(q + 1) / d(q): about 1 for clean pictures (at most 1.26 over 120 clean training crops,
    1.04 over the clean benchmark LR), 2 to 25 for compressed ones; `quality` is that q. The
    blocks must sit where JPEG put them (grid_offset finds them after a crop); a picture resized
    after compression shows no ghost.
    """
    luma = _luma(_centre(image, crop))
    if min(luma.size) < 16:
        return qualities[-1], 1.0
    pixels = np.asarray(luma, dtype=np.float64)
    changes = []
    for quality in qualities:
        buffer = io.BytesIO()
        luma.save(buffer, format="JPEG", quality=quality)
        with Image.open(buffer) as again:
            changes.append(np.abs(np.asarray(again, dtype=np.float64) - pixels).mean())
    changes = np.array(changes)
    rises = changes[1:] / np.maximum(changes[:-1], 0.05)  # 0.05: a flat picture's tiny changes are not a ghost
    k = int(np.argmax(rises))
    return qualities[k], float(rises[k])


_DCT8 = np.sqrt(2 / 8) * np.cos(np.pi * (2 * np.arange(8)[None, :] + 1) * np.arange(8)[:, None] / 16)
_DCT8[0] /= np.sqrt(2)  # the orthonormal 8-point DCT-II, JPEG's transform
_HIGH = (np.arange(8)[:, None] + np.arange(8)[None, :]) >= 6  # the frequencies JPEG quantises hardest


def grid_offset(image: np.ndarray, side: int = 256) -> tuple[int, int]:
    """(dy, dx): where JPEG's 8x8 grid starts in an (H, W[, C]) uint8 picture that was cropped
    after compression, so that image[dy:, dx:] puts the blocks back at the origin; (0, 0) for
    one that was not (or never compressed: then any answer is as good).

    JPEG rounds each block's high-frequency DCT coefficients to coarse steps, most of them to 0;
    cut on the blocks JPEG used they stay small, cut anywhere else a block straddles four and
    its edges show as high frequencies. So the offset is the one of the 64 whose 8x8 blocks (of
    the centre `side` x `side` luminance) carry the least high-frequency energy. With it the
    ghost finds 248 of the fit's 254 compressed training LR cut at a random offset after
    compression (experiments/denoise_fit.py)."""
    luma = np.asarray(_luma(image), dtype=np.float64)
    h, w = luma.shape
    side = min(side, (h - 8) // 8 * 8, (w - 8) // 8 * 8)
    if side < 16:
        return 0, 0
    y0, x0 = (h - side - 8) // 2 // 8 * 8, (w - side - 8) // 2 // 8 * 8
    energy = np.empty((8, 8))
    for dy in range(8):
        for dx in range(8):
            blocks = luma[y0 + dy: y0 + dy + side, x0 + dx: x0 + dx + side].reshape(side // 8, 8, side // 8, 8)
            coefficients = _DCT8 @ blocks.transpose(0, 2, 1, 3) @ _DCT8.T
            energy[dy, dx] = np.abs(coefficients[..., _HIGH]).mean()
    dy, dx = np.unravel_index(np.argmin(energy), energy.shape)
    return int(dy), int(dx)


_COMB_FREQUENCIES = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1))  # (vertical, horizontal)


def block_quality(image: np.ndarray, side: int = 512) -> tuple[float, int | None]:
    """(comb, quality): how plainly an (H, W[, C]) uint8 picture's 8x8 DCT coefficients sit on a
    JPEG quantiser's steps, and the libjpeg quality whose table is nearest those steps. The
    picture's blocks must start at its corner (a cropped one: image[dy:, dx:] of grid_offset).

    A JPEG decoder hands back pixels whose blocks' coefficients are multiples of the file's
    quantisers, give or take the rounding to 8-bit pixels; a picture that never went through JPEG
    has coefficients spread evenly. For each of seven low frequencies (in the centre `side` x
    `side` luminance, its corner kept on the grid), the step q of 2..40 whose comb fits best is
    found by the mean of cos(2 pi c / q) over the coefficients c at least q/2 from 0 (about 0 for
    spread ones, near 1 on a comb; the largest q within 90% of the best, as q/2 fits a comb of q
    too); `comb` is the median of the seven fits. Unlike the ghost it needs no libjpeg table: an
    old scan saved by an encoder with its own tables (RealSRSet's Lincoln: steps 6 and 19 where
    libjpeg has one ratio) shows 0.99. Over the labelled set of experiments/auto_choice.py, never-
    compressed pictures read at most 0.25 (drawings), JPEGs saved again as PNG 0.79 and more for 90%.
    (0.0, None) for pictures under 32x32 pixels."""
    luma = np.asarray(_luma(_centre(image, side)), dtype=np.float64)
    h, w = luma.shape[0] // 8 * 8, luma.shape[1] // 8 * 8
    if h < 32 or w < 32:
        return 0.0, None
    blocks = (luma[:h, :w] - 128).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    coefficients = _DCT8 @ blocks @ _DCT8.T
    fits, steps = [], []
    for u, v in _COMB_FREQUENCIES:
        c = coefficients[..., u, v].ravel()
        scores = {}
        for q in range(2, 41):
            far = c[np.abs(c) >= q / 2]
            if len(far) >= 30:
                scores[q] = float(np.mean(np.cos(2 * np.pi * far / q)))
        if scores:
            best = max(scores.values())
            q = max(k for k, score in scores.items() if score >= best - 0.1 * abs(best))
            fits.append(scores[q])
            steps.append((8 * u + v, q))
    if len(fits) < 3:
        return 0.0, None
    where, found = (np.array(x) for x in zip(*steps, strict=True))
    mismatch = np.abs(np.log(_TABLES[:, where] / found)).sum(axis=1)
    return float(np.median(fits)), int(np.argmin(mismatch)) + 1


def chroma_softness(image: np.ndarray, side: int = 256) -> float | None:
    """How much softer an (H, W, 3) uint8 picture's colour is than its detail: log10 of the
    chroma's high-over-middle band power (0.35-0.5 over 0.1-0.2 cycles per pixel, Hann-windowed
    centre `side` x `side`) over the luminance's. About -0.2 for bicubic LR of photos; well below
    for a picture whose colour was stored at lower resolution than its detail, as JPEG's 4:2:0
    subsampling stores it, and then shrunk by less than 2x (its blocks gone, its colour still
    soft): -1.0 for half of such pictures in the labelled set. None for grey pictures and for
    pictures under 64x64 pixels (too few frequencies to tell)."""
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 64:
        return None
    x = _centre(image, side).astype(np.float64)
    y = _luma_float(x)
    h, w = y.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    middle, high = (radius >= 0.1) & (radius < 0.2), (radius >= 0.35) & (radius <= 0.5)

    def bands(channel: np.ndarray) -> tuple[float, float]:
        power = np.abs(np.fft.fft2((channel - channel.mean()) * window)) ** 2
        return float(power[middle].mean()), float(power[high].mean())

    luma_middle, luma_high = bands(y)
    (b_middle, b_high), (r_middle, r_high) = bands(x[..., 2] - y), bands(x[..., 0] - y)
    if b_middle + r_middle < 1e-3 * luma_middle or luma_high <= 0:
        return None  # grey (or as good as): no colour to judge
    return float(np.log10((b_high + r_high) / (b_middle + r_middle) / (luma_high / luma_middle)))


def flat_share(image: np.ndarray, side: int = 512) -> float:
    """The share of an (H, W[, C]) picture's pixels (centre `side` x `side`) equal to their right
    and lower neighbours in every channel: 0.5 and more for drawings, screenshots and charts
    (flat colours), at most 0.22 for photos in the labelled set (a clipped sky)."""
    a = _centre(image, side)
    a = a[..., None] if a.ndim == 2 else a
    if min(a.shape[:2]) < 2:
        return 0.0
    same = (a[:-1, :-1] == a[1:, :-1]).all(axis=-1) & (a[:-1, :-1] == a[:-1, 1:]).all(axis=-1)
    return float(same.mean())


def edge_softness(image: np.ndarray, side: int = 512, tolerance: int = 16, strong: int = 96) -> float:
    """How many pixels an (H, W[, C]) uint8 picture's edges spend between colours (centre `side` x
    `side`): the pixels unlike all four neighbours (by more than `tolerance` in some channel) per
    strong step (`strong` or more between neighbours). About 0 where flat colours meet in one-pixel
    steps (a drawing sampled without antialiasing: pixel art, a thresholded chart; noise within
    `tolerance` does not count); 0.3 and more where a resampler smoothed them (area, bicubic: one
    or two pixels between the colours, whatever the strokes' width); inf without strong steps."""
    a = _centre(image, side).astype(np.int16)
    a = a[..., None] if a.ndim == 2 else a
    if min(a.shape[:2]) < 3:
        return math.inf
    centre = a[1:-1, 1:-1]
    neighbours = (a[:-2, 1:-1], a[2:, 1:-1], a[1:-1, :-2], a[1:-1, 2:])
    alike = np.zeros(centre.shape[:2], dtype=bool)
    for n in neighbours:
        alike |= (np.abs(centre - n) <= tolerance).all(axis=-1)
    steps = sum(int((np.abs(np.diff(a, axis=k)).max(axis=-1) >= strong).sum()) for k in (0, 1))
    return float((~alike).sum() / steps) if steps else math.inf


# --denoise auto's thresholds, fitted on training images with known damage (Kodak24 and BSD200
# crops as clean, JPEG-saved and realistic LR; never the benchmarks): experiments/denoise_fit.py,
# docs/real-photos.md.
AUTO_MAX_QUALITY = 94     # a JPEG file saved at this quality or lower has blocks worth cleaning
AUTO_NOISE_SIGMA = 5.0    # noise sigma (0..255) in flat regions from which noise is worth cleaning
AUTO_SHARPNESS = -3.5     # sharpness below which the picture is blurred
AUTO_BLUR_SIGMA = 0.40    # LR pixels (1.6 HR px at x4): read_blur's major sigma from which a picture is blurred
AUTO_GHOST_RISE = 1.5     # ghost_quality's rise from which a lossless picture was once a JPEG
AUTO_BLOCK_COMB = 0.5     # block_quality's comb from which it was (never-compressed pictures read at most 0.25)
AUTO_FLAT_SHARE = 0.4     # flat_share from which a picture is a drawing (photos at most 0.22, drawings 0.5 and more)
AUTO_EDGE_SOFTNESS = 0.25  # edge_softness under which its edges are hard pixel steps (nearest at most 0.17, smoothed 0.27 and more)
AUTO_CHROMA_SOFTNESS = -0.65  # chroma_softness under which colour is softer than detail: a resized JPEG


def picture_jpeg_quality(pixels: np.ndarray, file_quality: int | None) -> tuple[int | None, str]:
    """(quality, how it was read) of the JPEG compression an (H, W, C) uint8 picture went through:
    its file's own (`file_quality`, from the tables: (q, "")), else the quality its JPEG ghost
    shows where the picture was a JPEG saved again losslessly ((q, ", from its ghost"), after
    grid_offset puts a cropped one back on its blocks), else the quantiser steps its blocks'
    coefficients sit on (block_quality: (q, ", from its blocks"), for encoders whose tables are
    not libjpeg's), else (None, ""). One reading for
    `drn upscale`'s choice (read_damage) and adaptation's self-pairs (self_pair_degradation).
    A picture of 256 colours or fewer (a GIF, a palette PNG) is read as no JPEG: quantising to a
    palette moves pixels by whole steps much as JPEG's quantiser does, and the ghost took a GIF
    that was never a JPEG for "quality 51"."""
    if file_quality is not None:
        return file_quality, ""
    if is_palette(pixels):
        return None, ""
    dy, dx = grid_offset(pixels)
    quality, rise = ghost_quality(pixels[dy:, dx:])
    if rise >= AUTO_GHOST_RISE:
        return quality, ", from its ghost"
    comb, quality = block_quality(pixels[dy:, dx:])  # an encoder with its own tables leaves no libjpeg ghost
    return (quality, ", from its blocks") if comb >= AUTO_BLOCK_COMB else (None, "")


def is_palette(pixels: np.ndarray, colours: int = 256, greys: int = 64) -> bool:
    """True for an (H, W, C) uint8 picture of at most `colours` distinct colours (a GIF, a palette
    PNG, a drawing), or, when grey, at most `greys` distinct levels (a black and white chart; a
    grey photo, and any grey JPEG, has a hundred and more)."""
    grey = pixels.ndim == 2 or pixels.shape[2] == 1 or (
        (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())
    if grey:
        return len(np.unique(pixels if pixels.ndim == 2 else pixels[..., 0])) <= greys
    packed = (pixels[..., 0].astype(np.uint32) << 16) | (pixels[..., 1].astype(np.uint32) << 8) | pixels[..., 2]
    return len(np.unique(packed)) <= colours


@dataclass(frozen=True)
class Reading:
    """What --denoise auto read of one picture: its strength S and why, in words."""

    strength: float   # 1: the photo model, 0: the clean model
    reason: str       # "JPEG quality 75", "JPEG quality 80, from its ghost", "lossy WEBP", "noise 6.2", "blurred", "clean"
    damage: str       # what was read: "compressed", "noise", "drawing", "blur" or "clean"


def read_damage(pixels: np.ndarray, jpeg_quality: int | None, lossy: str | None = None) -> Reading:
    """--denoise auto's reading of a picture: S = 1 (the photo model) when it went through JPEG
    at quality AUTO_MAX_QUALITY or lower (picture_jpeg_quality: its file's own tables, or for a
    lossless file its JPEG ghost or its blocks' quantiser steps), it is a `lossy` file (its
    format's name) whose quality cannot be read (lossy WebP, AVIF, HEIC: treated as the JPEGs of
    quality 60-95 in the fit, for which the photo model won), or its (H, W, C) pixels (C = 1 or
    3; uint8 or uint16; the centre 512 x 512) show noise, blur, colour softer than detail (a
    resized JPEG) or, in a drawing (flat colours), hard one-pixel edges; S = 0 (the clean model)
    otherwise. A choice, not a blend: one model runs (intermediate S moved the fitted scores by
    at most 0.04 dB and would run both). Blur is read twice: the spectrum's high-band drop
    (sharpness) and the Gaussian read_blur fits (anisotropic blur leaves one direction sharp,
    which the radial measure averages away). Measured on a labelled set of training images
    degraded in known ways: experiments/auto_choice.py, docs/real-photos.md."""
    if lossy and jpeg_quality is None:
        return Reading(1.0, f"lossy {lossy}", "compressed")
    centre = _centre(pixels, 512)
    centre = (centre // 257).astype(np.uint8) if centre.dtype == np.uint16 else centre
    jpeg_quality, source = picture_jpeg_quality(centre, jpeg_quality)
    if jpeg_quality is not None and jpeg_quality <= AUTO_MAX_QUALITY:
        return Reading(1.0, f"JPEG quality {jpeg_quality}{source}", "compressed")
    noise = noise_sigma(centre)
    if noise >= AUTO_NOISE_SIGMA:
        return Reading(1.0, f"noise {noise:.1f}", "noise")
    known = f", JPEG quality {jpeg_quality}{source}" if jpeg_quality is not None else ""
    if flat_share(centre) >= AUTO_FLAT_SHARE:
        # A drawing: its few edges between flat colours make the spectrum no measure of blur (a
        # flat GIF read as "blurred (sigma 0.86)"). Flat colours meeting in one-pixel steps (pixel
        # art, a thresholded chart) the clean model notches and the photo model draws whole; one
        # downscaled smoothly (bicubic) the clean model draws 1.0 dB better (experiments/auto_choice.py).
        if edge_softness(centre) < AUTO_EDGE_SOFTNESS:
            return Reading(1.0, "a drawing with hard pixel edges", "drawing")
        return Reading(0.0, "clean, a drawing" + known, "drawing")
    softness = chroma_softness(centre) if jpeg_quality is None else None  # a JPEG's own 4:2:0 is no resize
    if softness is not None and softness < AUTO_CHROMA_SOFTNESS:
        # colour stored at lower resolution than detail (JPEG's 4:2:0), then shrunk by under 2x:
        # the blocks are gone, the softness stays; the lowest threshold that sends at most 2% of
        # clean training pictures to the photo model (experiments/auto_choice.py). Read before the
        # blur: a resized JPEG often reads as blurred too, and the blur model that blurred pictures
        # get keeps its JPEG remnants (0.33 dB under the photo model, docs/real-photos.md)
        return Reading(1.0, "colour softer than detail (a resized JPEG)", "compressed")
    if sharpness(centre) < AUTO_SHARPNESS:
        return Reading(1.0, "blurred", "blur")
    blur = read_blur([centre]) if min(centre.shape[:2]) >= 2 * _WINDOW else None  # 9 windows at least
    if blur is not None and blur.sigma_major >= AUTO_BLUR_SIGMA:
        # a Gaussian blur beyond bicubic (docs/real-photos.md: blurred LR scored 0.3-0.4 dB higher
        # with the photo model); the lowest threshold that sends at most 2% of clean training pictures
        # to the photo model (experiments/blur_choice.py)
        return Reading(1.0, f"blurred (sigma {blur.sigma_major:.2f} LR px)", "blur")
    return Reading(0.0, "clean" + known, "clean")
