"""Builders for the awkward real-world image files the tests feed the tool."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from conftest import photo
from PIL import Image


def write_rgba_png(path: Path) -> None:
    rgba = np.dstack([photo(20, 28), np.linspace(0, 255, 20 * 28).reshape(20, 28).astype(np.uint8)])
    Image.fromarray(rgba).save(path)


def write_grey16_png(path: Path) -> None:
    # A dark 16-bit image (max well under 256 in 8-bit terms would fool a max>256 heuristic).
    grey = (photo(18, 22)[:, :, 0].astype(np.uint16) * 3 + 1000).astype(np.uint16)
    Image.fromarray(grey).save(path)


def write_rotated_jpeg(path: Path, icc: bytes | None = b"fake-icc") -> None:
    """A 16x24 (h x w) JPEG with EXIF orientation 6: displayed as 24x16 (rotated 90 CW)."""
    img = Image.fromarray(photo(16, 24))
    exif = img.getexif()
    exif[0x0112] = 6
    exif[0x010F] = "drn-test-camera"
    options = {"exif": exif.tobytes()}
    if icc:
        from PIL import ImageCms
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img.save(path, quality=95, **options)


def write_truncated_png(path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo(30, 30)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:200])


def write_photo(path: Path, h: int = 20, w: int = 26) -> None:
    Image.fromarray(photo(h, w)).save(path)


def scene(side: int, seed: int = 0) -> np.ndarray:
    """(side, side, 3) uint8: random flat-coloured discs and bars on a flat ground, the flat
    regions and sharp edges of a drawing (unlike `photo`, which has neither): the damage
    estimators read it as a drawing with hard pixel edges, and its bicubic LR as a clean drawing.
    For a clean photo, `textured`."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (side, side), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rng.integers(0, side, 2)
        r = int(rng.integers(side // 20, side // 4))
        box = (x - r, y - r, x + r, y + r) if rng.random() < 0.5 else (x - r, y - r // 3, x + r, y + r // 3)
        draw.ellipse(box, fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return np.asarray(img)


def textured(side: int, seed: int = 0) -> np.ndarray:
    """A (side, side, 3) uint8 colour picture whose luminance and colour both have a natural
    1/f^1.5 spectrum (like a photo's, with colour as fine as detail): for the readings of
    --denoise auto that need a photo's statistics rather than a drawing's."""
    rng = np.random.default_rng(seed)
    f = np.hypot(np.fft.fftfreq(side)[:, None], np.fft.fftfreq(side)[None, :])
    f[0, 0] = 1
    channels = []
    for _ in range(3):
        x = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(side, side))) / f ** 1.5))
        channels.append((x - x.mean()) / x.std())
    y, cb, cr = channels[0] * 40 + 128, channels[1] * 20, channels[2] * 20
    rgb = np.stack([y + 1.402 * cr, y - 0.344 * cb - 0.714 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)
