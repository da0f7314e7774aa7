"""Reading and writing real-world images: alpha, grey, 16-bit, EXIF orientation, ICC, atomically.

The one module that touches image files: `find_images` lists them, `read_rgb` gives the plain
RGB of a training or benchmark image, and `read_image` / `write_image` carry everything a real
photo has through `drn upscale`.

`read_image` returns a `Picture`: integer pixels (uint8 or uint16) with 1 (grey) or 3 (RGB)
channels, an optional alpha plane and the metadata to carry over. Pixels stay integers end to
end so that a 67 MP output never needs a full-size float copy. `write_image`
writes through a temporary file in the target folder and renames it, so a crash or a full disk
never leaves a half-written image under the final name.
"""

from __future__ import annotations

import io as _io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

from .atomic import write_bytes_atomic
from .errors import ImageTooLarge, InputImageError, OutputError, reason_of

DEFAULT_MAX_PIXELS = 100_000_000
# Pillow's own bomb check would refuse big images with a vague message and ignore our limit;
# `read_image` checks the header's size against `max_pixels()` before decoding anything.
Image.MAX_IMAGE_PIXELS = None
FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tif": "TIFF",
           "tiff": "TIFF", "bmp": "BMP"}
FORMAT_NAMES = ("png", "jpg", "webp", "tiff", "bmp")  # what --format offers (jpeg and tif are aliases)
_EXIF_ORIENTATION = 0x0112
# The EXIF a picture carries to its output: IFD0's description of the photo (camera, date, author,
# resolution; not the orientation: the pixels are turned) and its Exif and GPS sub-IFDs. A TIFF's
# getexif() is its whole IFD0, structural tags (size, strips, compression) included: carried over,
# they describe the old file inside the new one, and Pillow 13 refuses to write them ("codec
# configuration error").
_EXIF_DESCRIPTIVE = {0x010E, 0x010F, 0x0110, 0x011A, 0x011B, 0x0128, 0x0131, 0x0132, 0x013B,
                     0x0213, 0x8298, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F}
_EXIF_SUB_IFDS = (0x8769, 0x8825)  # Exif, GPS
_EXIF_INTEROP = 0xA005  # an offset inside the Exif IFD into the old file: meaningless once rewritten
# EXIF orientation -> numpy ops on (H, W, ...) arrays, for images decoded without Pillow.
_ORIENT_OPS = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
               5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
               7: lambda a: np.rot90(a, 1)[::-1], 8: lambda a: np.rot90(a, 1)}


# Phones save HEIC (read through the optional pillow-heif, `pip install "drn-cli[heif]"`); the web
# serves AVIF (Pillow 11.3+ reads it). Neither is written: their outputs default to JPEG.
HEIF_SUFFIXES = {".heic", ".heif"}
PHOTO_ONLY_SUFFIXES = HEIF_SUFFIXES | {".avif"}  # read, never written
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"} | PHOTO_ONLY_SUFFIXES
IMAGE_KINDS = ", ".join(sorted(IMAGE_SUFFIXES))  # for messages that say what counts as an image
VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"}  # drn upscale's video inputs (video.py)


# What Pillow and its plugins raise for a damaged or hostile file, found by fuzzing (fuzz/): besides
# the usual OSError and SyntaxError, MemoryError and OverflowError from edited headers, IndexError
# from a truncated GIF's frames, TypeError and KeyError from a TIFF without its size tags,
# RuntimeError from the AVIF and HEIF decoders. Caught around decoder calls only.
UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError, struct.error, MemoryError,
              OverflowError, IndexError, KeyError, TypeError, RuntimeError, ZeroDivisionError)
_HEIF_BRANDS = (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftypheim", b"ftyphevc")


def _heif_opener(path: Path) -> None:
    """Register pillow-heif's opener where it is installed, so HEIC is read by content whatever
    the file's suffix; without it, a .heic file (or HEIC content) gets a line saying how to get it."""
    try:
        import pillow_heif
    except ImportError:
        with open(path, "rb") as f:
            is_heif = f.read(12)[4:12] in _HEIF_BRANDS
        if is_heif or path.suffix.lower() in HEIF_SUFFIXES:
            raise InputImageError(f"{path}: HEIC/HEIF photos need the pillow-heif package: "
                                  "pip install 'drn-cli[heif]' (or save the photo as JPEG)") from None
        return
    pillow_heif.register_heif_opener()  # idempotent


@contextmanager
def open_image(path: str | os.PathLike) -> Iterator[Image.Image]:
    """The one way an image file is opened: by content (HEIC too, where pillow-heif is installed),
    the header's size checked against `max_pixels()` before any pixel is decoded, and whatever the
    decoder raises inside the block, while opening or decoding, turned into one InputImageError
    naming the file."""
    path = Path(path)
    _check_file(path)
    try:
        _heif_opener(path)
        with Image.open(path) as img:
            check_size(path, *img.size)
            yield img
    except InputImageError:
        raise
    except UNREADABLE as exc:
        raise _unreadable(path, exc) from None


def no_images(where: str | Path) -> str:
    """The message for a folder (or folders) where find_images found nothing."""
    return f"{where}: no images in it or its subfolders ({IMAGE_KINDS})"


def find_images(folder: str | Path) -> list[Path]:
    """Image files under `folder`, recursively, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputImageError(f"{folder}: not a folder of images")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (grey and palette images converted)."""
    with open_image(path) as img:
        return np.asarray(img.convert("RGB"))


class ReadImages(NamedTuple):
    """The decodable images of some folders (RGB uint8), their paths, and one line per file that
    could not be read (training and adaptation go on without them, and say so)."""

    images: list[np.ndarray]
    paths: list[Path]
    unreadable: list[str]

    def warning(self) -> str | None:
        """One line for the unreadable files, or None when there are none."""
        if not self.unreadable:
            return None
        return f"skipped {len(self.unreadable)} unreadable image(s), e.g. {self.unreadable[0]}"


def read_folders(folders: list[str | Path]) -> ReadImages:
    """Decode every image under `folders`; InputImageError if a folder has no images or none of
    them can be read."""
    read = ReadImages([], [], [])
    paths = [p for folder in folders for p in find_images(folder)]
    if not paths:
        raise InputImageError(no_images(', '.join(map(str, folders))))
    for path in paths:
        try:
            read.images.append(read_rgb(path))
            read.paths.append(path)
        except InputImageError as exc:
            read.unreadable.append(str(exc))
    if not read.images:
        raise InputImageError(f"none of the {len(paths)} images in {', '.join(map(str, folders))} "
                              f"can be read, e.g. {read.unreadable[0]}")
    return read


def image_pixels(path: str | os.PathLike) -> int:
    """Width x height from the file's header (nothing is decoded); 0 if it cannot be read or is
    over the pixel limit."""
    try:
        with open_image(path) as img:
            return img.size[0] * img.size[1]
    except InputImageError:
        return 0


ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}  # suffix -> a format that holds an animation


def frame_count(path: str | os.PathLike) -> int:
    """Frames of a GIF, WebP or PNG file, from its header: more than 1 for an animation; 1 for a
    still, another format, or a file that cannot be read (reading it says why)."""
    if Path(path).suffix.lower() not in ANIMATION_FORMATS:
        return 1
    try:
        with open_image(path) as img:  # by content: a multi-page TIFF named .webp is no animation
            return getattr(img, "n_frames", 1) if img.format in ANIMATION_FORMATS.values() else 1
    except InputImageError:
        return 1


@dataclass
class Picture:
    """pixels (H, W, C) uint8 or uint16, C = 1 or 3; alpha (H, W) of the same dtype, or None."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    format: str
    icc: bytes | None = None
    exif: bytes | None = None
    text: dict[str, str] | None = None  # PNG text chunks to write (e.g. what a colour map means)
    jpeg_quality: int | None = None  # a JPEG file's quality read from its tables (None: not JPEG)
    lossy: str | None = None  # the format's name where its file was compressed with loss: JPEG, lossy WEBP, AVIF, HEIF
    frames: int = 1  # an animated GIF, WebP or PNG's (or a multi-page TIFF's) frame count; the pixels are the first

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def bits(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def max_pixels() -> int:
    """Decompression-bomb limit in pixels (DRN_MAX_PIXELS overrides the default)."""
    return int(os.environ.get("DRN_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _is_16bit_colour(img: Image.Image, path: Path) -> bool:
    """Pillow decodes 16-bit RGB(A) PNG/TIFF as 8-bit: detect them from the file header."""
    if img.mode not in ("RGB", "RGBA"):
        return False
    if img.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)
        return len(header) >= 25 and header[24] == 16
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, (8,))
        return (bits[0] if isinstance(bits, tuple) else bits) == 16
    return False


def _split(data: np.ndarray, has_alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if data.ndim == 2:
        data = data[:, :, None]
    if has_alpha:
        return np.ascontiguousarray(data[:, :, :-1]), np.ascontiguousarray(data[:, :, -1])
    return data, None


def _decode_16bit_colour(path: Path, orientation: int) -> tuple[np.ndarray, np.ndarray | None]:
    import cv2  # only needed for 16-bit colour, which Pillow cannot decode

    array = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.ndim != 3:
        raise InputImageError(f"{path}: cannot decode this 16-bit colour image")
    array = array[:, :, [2, 1, 0, 3][: array.shape[2]]]  # BGR(A) -> RGB(A)
    array = _ORIENT_OPS.get(orientation, lambda a: a)(array)
    return _split(array, array.shape[2] == 4)


def _decode_pillow(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels of an (already EXIF-transposed) Pillow image -> (pixels, alpha)."""
    mode = img.mode
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA" if ("transparency" in img.info or mode == "PA") else "RGB")
    elif mode in ("I;16", "I;16B", "I;16L", "I"):
        return _split(np.clip(np.asarray(img), 0, 65535).astype(np.uint16), False)
    elif mode == "1":
        img = img.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "F":
        return _split(to_integers(np.clip(np.asarray(img, dtype=np.float32), 0, 1), 16), False)
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA")
    return _split(np.asarray(img), img.mode in ("LA", "RGBA"))


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise InputImageError(f"{path}: is a folder, not an image")


def check_size(path: Path, width: int, height: int) -> None:
    """The decompression-bomb check, from the header's size, before anything is decoded."""
    limit = max_pixels()
    if width * height > limit:
        raise ImageTooLarge(f"{path}: {width}x{height} is {width * height / 1e6:.0f} MP, above the "
                              f"{limit / 1e6:.0f} MP safety limit; set DRN_MAX_PIXELS to raise it")


def _unreadable(path: Path, exc: BaseException) -> InputImageError:
    return InputImageError(f"{path}: not a readable image ({reason_of(exc)})")


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1..8) from what the header holds. A PNG's getexif() decodes the whole
    image to look for an eXIf chunk after the pixels, so a PNG's comes from one before them (where
    the PNG specification puts it)."""
    if img.format == "PNG":
        if "exif" not in img.info:
            return 1
        exif = Image.Exif()
        exif.load(img.info["exif"])
        return exif.get(_EXIF_ORIENTATION, 1)
    return img.getexif().get(_EXIF_ORIENTATION, 1)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as `read_image` will return it (EXIF orientation applied), from the header
    alone: the same checks but nothing decoded, so damage past the header is not seen."""
    with open_image(path) as img:
        width, height = img.size
        orientation = _orientation(img)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def read_image(path: str | os.PathLike) -> Picture:
    """Decode an image file with EXIF orientation applied; raise InputImageError if unusable."""
    from .degradations.estimate import image_jpeg_quality  # its package loads OpenCV: not at import

    path = Path(path)
    with open_image(path) as img:
        frames = getattr(img, "n_frames", 1)
        if frames > 1:
            img.seek(0)  # animated: the first frame
        icc = img.info.get("icc_profile")
        orientation = _orientation(img)
        fmt = img.format or "PNG"
        quality = image_jpeg_quality(img)
        lossy = fmt if fmt in ("JPEG", "AVIF", "HEIF") or (fmt == "WEBP" and _webp_is_lossy(path)) else None
        if _is_16bit_colour(img, path):
            pixels, alpha = _decode_16bit_colour(path, orientation)
        else:
            img.load()
            pixels, alpha = _decode_pillow(ImageOps.exif_transpose(img))
        exif = img.getexif()  # after load: a PNG's is known now without a second decode
    return Picture(pixels, alpha, fmt, icc, _carried_exif(exif), jpeg_quality=quality, lossy=lossy,
                   frames=frames)


class AnimationHeader(NamedTuple):
    frames: int
    size: tuple[int, int]  # (width, height)
    loop: int | None       # the loop count the file asks for (None: not said)
    icc: bytes | None


def animation_header(path: str | os.PathLike) -> AnimationHeader:
    """An animated GIF, WebP or PNG's frame count, size, loop count and ICC profile, checked as
    every input is (open_image)."""
    with open_image(path) as img:
        return AnimationHeader(getattr(img, "n_frames", 1), img.size, img.info.get("loop"), img.info.get("icc_profile"))


def animation_frames(path: str | os.PathLike) -> Iterator[tuple[Picture, int]]:
    """Each frame of an animation, whole (Pillow composites earlier frames and transparency), as
    a Picture with its duration in ms. A frame of another size than the first, which was checked
    against the pixel limit (a damaged GIF may say so), is refused; what the decoder raises is one
    InputImageError naming the file (the consumer's own errors are its own: a generator is not run
    inside the loop's body)."""
    path = Path(path)
    with open_image(path) as img:
        first = img.size
        for k in range(getattr(img, "n_frames", 1)):
            img.seek(k)
            if img.size != first:  # Pillow composites frames on one canvas: a file that changes it is damaged
                raise InputImageError(f"{path}: frame {k + 1} is {img.size[0]}x{img.size[1]}, the first "
                                      f"{first[0]}x{first[1]}: not a readable animation")
            img.load()
            pixels, alpha = _decode_pillow(img)
            yield Picture(pixels, alpha, img.format or "PNG"), int(img.info.get("duration", 100))


def _carried_exif(exif: Image.Exif) -> bytes | None:
    """The EXIF block to write into the output (see _EXIF_DESCRIPTIVE); None when nothing is left.
    A damaged EXIF block is dropped, not fatal: the pixels are what the user asked for."""
    kept = Image.Exif()
    try:
        for tag in _EXIF_DESCRIPTIVE & set(exif):
            kept[tag] = exif[tag]
        for tag in _EXIF_SUB_IFDS:
            ifd = {k: v for k, v in exif.get_ifd(tag).items() if k != _EXIF_INTEROP} if tag in exif else {}
            if ifd:
                kept[tag] = ifd
        return kept.tobytes() if len(kept) else None
    except (*UNREADABLE, KeyError, TypeError, struct.error):
        return None


def _webp_is_lossy(path: Path) -> bool:
    """True when a WebP file's image is VP8 (lossy), False for VP8L (lossless) or an animation:
    the first of those chunks in its RIFF container decides."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    at = 12  # past "RIFF", the size and "WEBP"
    while at + 8 <= len(data):
        kind, size = data[at: at + 4], int.from_bytes(data[at + 4: at + 8], "little")
        if kind in (b"VP8 ", b"VP8L", b"ANIM"):
            return kind == b"VP8 "
        at += 8 + size + (size & 1)
    return False


def rgb_uint8(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 or uint16, C = 1, 3 or 4 -> (H, W, 3) uint8: grey repeated, alpha dropped."""
    data = (pixels // 257).astype(np.uint8) if pixels.dtype == np.uint16 else pixels.astype(np.uint8)
    data = data[:, :, None] if data.ndim == 2 else data
    return np.ascontiguousarray(np.repeat(data, 3, axis=2) if data.shape[2] == 1 else data[:, :, :3])


def to_integers(data: np.ndarray, bits: int) -> np.ndarray:
    """Float in [0, 1] -> rounded uint8 (bits=8) or uint16 (bits=16)."""
    maxval = np.float32(65535.0 if bits == 16 else 255.0)
    out = np.clip(data * maxval + np.float32(0.5), 0, maxval)
    return out.astype(np.uint16 if bits == 16 else np.uint8)


def _to_8bit(data: np.ndarray) -> np.ndarray:
    return (data >> 8).astype(np.uint8) if data.dtype == np.uint16 else data


def _planes(picture: Picture, fmt: str) -> np.ndarray:
    """(H, W, C) of what `fmt` stores: 8 bits but for PNG and TIFF, alpha appended, or dropped
    (on white) for JPEG and BMP, 16-bit grey + alpha as RGBA."""
    pixels, alpha = picture.pixels, picture.alpha
    if fmt not in ("PNG", "TIFF"):
        pixels, alpha = _to_8bit(pixels), (None if alpha is None else _to_8bit(alpha))
    if alpha is not None and fmt in ("JPEG", "BMP"):
        a = alpha[:, :, None].astype(np.float32) / 255.0
        pixels, alpha = to_integers(pixels / np.float32(255.0) * a + (1 - a), 8), None
    array = pixels if alpha is None else np.concatenate([pixels, alpha[:, :, None]], axis=2)
    return array[:, :, [0, 0, 0, 1]] if array.dtype == np.uint16 and array.shape[2] == 2 else array


def to_pillow(picture: Picture) -> Image.Image:
    """A picture as an 8-bit Pillow image, alpha kept (L, LA, RGB or RGBA): an animation's frame."""
    array = _planes(picture, "GIF")  # what GIF and WebP frames hold: 8 bits, alpha kept
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


MAX_SIDE = {"WEBP": 16383, "JPEG": 65535, "GIF": 65535}  # pixels a side each format can hold


def check_encodable(fmt: str, width: int, height: int, path: str | os.PathLike) -> None:
    """OutputError naming `path` (the input) when a `fmt` file cannot hold its `width` x `height`
    output: said before the model runs, not by the encoder after it."""
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(width, height) > limit:
        raise OutputError(f"{path}: its output, {width}x{height}, is too large for {fmt} (at most {limit} pixels "
                          "a side); use --format png or tif, or a smaller --outscale")


def encode_image(picture: Picture, fmt: str, quality: int = 95) -> bytes:
    """Encode `picture` as `fmt` (a FORMATS value); alpha is dropped (on white) for JPEG/BMP."""
    check_encodable(fmt, *picture.size, "a picture")
    array = _planes(picture, fmt)
    if array.dtype == np.uint16 and array.shape[2] > 1:
        import cv2  # Pillow cannot encode 16-bit colour

        ok, buf = cv2.imencode(".png" if fmt == "PNG" else ".tiff", array[:, :, [2, 1, 0, 3][: array.shape[2]]])
        if not ok:
            raise OutputError(f"cannot encode a 16-bit {fmt} image")
        return buf.tobytes()
    image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if picture.icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["icc_profile"] = picture.icc
    if picture.exif and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        options["exif"] = picture.exif
    if picture.text and fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in picture.text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    buffer = _io.BytesIO()
    try:
        image.save(buffer, format=fmt, **options)
    except ValueError:  # metadata the format cannot hold (JPEG's EXIF is at most 64 KB): the pixels matter
        buffer = _io.BytesIO()
        image.save(buffer, format=fmt, **{k: v for k, v in options.items() if k not in ("exif", "icc_profile")})
    return buffer.getvalue()


def write_image(path: str | os.PathLike, picture: Picture, fmt: str | None = None,
                quality: int = 95, overwrite: bool = False) -> None:
    """Encode and atomically write `picture`; `fmt` defaults to the file extension's format."""
    path = Path(path)
    fmt = fmt or FORMATS.get(path.suffix.lower().lstrip("."))
    if fmt is None:
        raise OutputError(f"{path}: unknown output format; use one of {', '.join(sorted(FORMATS))}")
    write_bytes_atomic(path, encode_image(picture, fmt, quality), overwrite)


def looks_like_video(path: str | os.PathLike) -> bool:
    """True when FFmpeg (PyAV, the [video] extra) opens `path` and finds a video stream that is
    not a still image: how a file whose suffix is neither an image's nor a video's is recognised
    by content. False without PyAV."""
    try:
        import av
    except ImportError:
        return False
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video) and not container.format.name.endswith(("_pipe", "image2"))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return False
