"""Seeded hostile inputs for `drn upscale` and `drn serve`: valid seeds of every format we read,
and mutations of them (bit flips, truncation, edited header fields, wrong suffixes, bombs,
splices, odd modes).

`cases(n, seed)` is deterministic for the same `n`, `seed` and library versions: the same case
list every run, so a failure found once can be made again (`python -m fuzz --only NAME`).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Case:
    """One input file: `name` (unique, says the seed and mutation), its bytes and suffix; `valid`
    when it is an unmodified seed that must upscale."""

    name: str
    data: bytes
    suffix: str
    valid: bool = False

    @property
    def filename(self) -> str:
        return f"{self.name}{self.suffix}"


def _photo(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / 5 + c) * np.cos(yy / 7 - c) for c in range(3)], axis=2)
    return np.clip(127.5 + 100 * base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _frames(rng: np.random.Generator, n: int = 3, h: int = 14, w: int = 18) -> list[Image.Image]:
    return [Image.fromarray(_photo(h, w, rng)).convert("RGBA") for _ in range(n)]


def _heic(rgb: np.ndarray) -> bytes | None:
    try:
        import pillow_heif
    except ImportError:
        return None
    pillow_heif.register_heif_opener()
    return _save(Image.fromarray(rgb), "HEIF", quality=80)


def _mp4(rng: np.random.Generator) -> bytes | None:
    try:
        import av
    except ImportError:
        return None
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(_photo(24, 32, rng), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def _webm_with_opus(rng: np.random.Generator) -> bytes | None:
    """A VP8 + Opus WebM: named .mov, its sound is a stream a .mov output cannot hold."""
    try:
        import av
    except ImportError:
        return None
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as container:
        video = container.add_stream("libvpx", rate=8)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        sound = container.add_stream("libopus", rate=48000)
        for _ in range(3):
            container.mux(video.encode(av.VideoFrame.from_ndarray(_photo(24, 32, rng), format="rgb24")))
        for k in range(8):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format="flt", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, k * 960
            container.mux(sound.encode(chunk))
        container.mux(video.encode())
        container.mux(sound.encode())
    return buffer.getvalue()


def seeds(rng: np.random.Generator) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, suffix) of small valid files: every format and mode we read."""
    rgb = _photo(20, 24, rng)
    grey = rgb[:, :, 0]
    alpha = np.linspace(0, 255, 20 * 24).reshape(20, 24).astype(np.uint8)
    image = Image.fromarray(rgb)
    palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    out = {
        "png-rgb": (_save(image, "PNG"), ".png"),
        "png-rgba": (_save(Image.fromarray(np.dstack([rgb, alpha])), "PNG"), ".png"),
        "png-la": (_save(Image.fromarray(np.dstack([grey, alpha])), "PNG"), ".png"),
        "png-palette": (_save(palette, "PNG", transparency=0), ".png"),
        "png-grey16": (_save(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"), ".png"),
        "png-1bit": (_save(Image.fromarray(grey > 128), "PNG"), ".png"),
        "png-1x1": (_save(Image.fromarray(rgb[:1, :1]), "PNG"), ".png"),
        "png-40x1": (_save(Image.fromarray(rgb[:1, :]), "PNG"), ".png"),
        "png-interlaced": (_save(image, "PNG", interlace=1), ".png"),
        "apng": (_save(_frames(rng)[0], "PNG", save_all=True, append_images=_frames(rng)[1:], duration=80), ".png"),
        "jpeg": (_save(image, "JPEG", quality=80), ".jpg"),
        "jpeg-progressive": (_save(image, "JPEG", quality=60, progressive=True), ".jpg"),
        "jpeg-grey": (_save(Image.fromarray(grey), "JPEG"), ".jpeg"),
        "jpeg-cmyk": (_save(image.convert("CMYK"), "JPEG"), ".jpg"),
        "webp-lossy": (_save(image, "WEBP", quality=70), ".webp"),
        "webp-lossless": (_save(image, "WEBP", lossless=True), ".webp"),
        "webp-anim": (_save(_frames(rng)[0], "WEBP", save_all=True, append_images=_frames(rng)[1:], duration=80),
                      ".webp"),
        "gif": (_save(palette, "GIF"), ".gif"),
        "gif-anim": (_save(_frames(rng)[0], "GIF", save_all=True, append_images=_frames(rng)[1:], duration=80,
                           loop=0), ".gif"),
        "tiff-rgb": (_save(image, "TIFF"), ".tif"),
        "tiff-lzw": (_save(image, "TIFF", compression="tiff_lzw"), ".tiff"),
        "tiff-grey16": (_save(Image.fromarray(grey.astype(np.uint16) * 257), "TIFF"), ".tif"),
        "tiff-float": (_save(Image.fromarray(grey.astype(np.float32) / 255), "TIFF"), ".tif"),
        "tiff-cmyk": (_save(image.convert("CMYK"), "TIFF"), ".tif"),
        "tiff-pages": (_save(image, "TIFF", save_all=True, append_images=[image.rotate(90, expand=True)]), ".tif"),
        "bmp": (_save(image, "BMP"), ".bmp"),
        "bmp-palette": (_save(palette, "BMP"), ".bmp"),
    }
    exif = image.getexif()
    exif[0x010F] = "m" * 70_000  # a 70 KB EXIF block: more than a JPEG output can hold
    out["png-big-exif"] = (_save(image, "PNG", exif=exif.tobytes()), ".png")
    exif = Image.Exif()
    exif[0x0112] = 9  # no such orientation
    out["jpeg-odd-exif"] = (_save(image, "JPEG", exif=exif.tobytes(), icc_profile=b"not a profile" * 4), ".jpg")
    try:
        out["avif"] = (_save(image, "AVIF", quality=70), ".avif")
    except (KeyError, OSError, ValueError):
        pass  # a Pillow without libavif writes no AVIF
    if (heic := _heic(rgb)) is not None:
        out["heic"] = (heic, ".heic")
    if (mp4 := _mp4(rng)) is not None:
        out["mp4"] = (mp4, ".mp4")
    if (webm := _webm_with_opus(rng)) is not None:
        out["webm-opus-as-mov"] = (webm, ".mov")
    return out


def _png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, type, body) of each chunk of a PNG."""
    chunks, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((at, kind, data[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def _png_with_ihdr(data: bytes, rng: random.Random) -> bytes:
    """One IHDR field (width, height, bit depth, colour type, interlace) set to an odd value, the
    CRC made right again so that decoders get past it."""
    out = bytearray(data)
    field = rng.choice(["width", "height", "both", "depth", "colour", "interlace"])
    big = rng.choice([0, 1, 40, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1, 1 << 20)])
    if field in ("width", "both"):
        out[16:20] = struct.pack(">I", big)
    if field in ("height", "both"):
        out[20:24] = struct.pack(">I", rng.choice([big, 1, rng.randrange(1, 1 << 16)]))
    if field == "depth":
        out[24] = rng.choice([0, 1, 2, 3, 4, 7, 8, 16, 32, 255])
    if field == "colour":
        out[25] = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 255])
    if field == "interlace":
        out[28] = rng.choice([1, 2, 255])
    out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    return bytes(out)


def _generic_header(data: bytes, rng: random.Random) -> bytes:
    """A 2- or 4-byte field in the first 64 bytes (where every format keeps its size) set to an
    extreme value."""
    out = bytearray(data)
    width = rng.choice([2, 4])
    at = rng.randrange(0, max(1, min(64, len(out) - width)))
    value = rng.choice([0, 1, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]) & ((1 << (8 * width)) - 1)
    out[at:at + width] = value.to_bytes(width, rng.choice(["big", "little"]))
    return bytes(out)


def _bitflips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 2, 4, 8, 32])):
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncated(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(0, len(data))]


def header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height and whose data holds one row: a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + min(width, 1 << 16)))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zero_png(width: int, height: int) -> bytes:
    """A valid grey PNG of zeros: width x height pixels in a file of about width*height/1000 bytes,
    a real decompression bomb."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


VIDEO = (".mp4", ".mov")  # the seeds' video suffixes: `drn serve` takes images only
Mutation = Callable[[str, bytes, random.Random], bytes]


def _header(name: str, data: bytes, rng: random.Random) -> bytes:
    return _png_with_ihdr(data, rng) if data.startswith(b"\x89PNG") else _generic_header(data, rng)


MUTATIONS: dict[str, Mutation] = {
    "bitflip": lambda name, data, rng: _bitflips(data, rng),
    "truncate": lambda name, data, rng: _truncated(data, rng),
    "header": _header,
    "splice": lambda name, data, rng: data[:len(data) // 2] + rng.randbytes(rng.randrange(0, 64)),
}


def cases(n: int, seed: int = 0) -> list[Case]:
    """`n` cases: every seed once as it is, a few fixed hostile files (bombs, empty, garbage), then
    mutations of random seeds until there are `n`."""
    rng = random.Random(seed)
    base = seeds(np.random.default_rng(seed))
    names = sorted(base)
    out = [Case(f"valid-{name}", data, suffix, valid=True) for name, (data, suffix) in base.items()]
    out += [
        Case("bomb-header-100000x100000", header_bomb(100_000, 100_000), ".png"),
        Case("bomb-header-65535x65535", header_bomb(65_535, 65_535), ".png"),
        Case("bomb-header-1x200000000", header_bomb(1, 200_000_000), ".png"),
        Case("empty", b"", ".png"),
        Case("garbage", rng.randbytes(300), ".jpg"),
        Case("text-named-png", b"not an image at all\n" * 4, ".png"),
    ]
    while len(out) < n:
        name = rng.choice(names)
        data, suffix = base[name]
        kind = rng.choice([*MUTATIONS, "suffix"])
        if kind == "suffix":  # an image under another image's suffix is still an image: read by content
            other = base[rng.choice(names)][1]
            still_valid = suffix not in VIDEO and other not in VIDEO
            out.append(Case(f"{len(out):05d}-suffix-{name}-as{other}", data, other, valid=still_valid))
            continue
        mutated = MUTATIONS[kind](name, data, rng)
        out.append(Case(f"{len(out):05d}-{kind}-{name}", mutated, suffix))
    return out[:n]
