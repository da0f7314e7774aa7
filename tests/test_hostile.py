"""Hostile files, one test per kind of defect the fuzz battery found (fuzz/, docs/reliability.md):
each gets one line naming it, no traceback, the batch goes on, and nothing is decoded before the
size check. The battery itself runs in tests/test_fuzz.py."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib

import pytest
from conftest import photo
from images import write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.errors import ImageTooLarge
from drn_cli.io import image_size
from fuzz.corpus import header_bomb, zero_png

runner = CliRunner()


def upscale(*args, model=None):
    extra = ["--model", str(model)] if model else []
    return runner.invoke(app, ["upscale", *[str(a) for a in args], *extra])


def _png_with_width(width: int, height: int = 1) -> bytes:
    """A small valid PNG whose IHDR was edited to say width x height, its CRC made right."""
    buffer = io.BytesIO()
    Image.fromarray(photo(1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _tiff_pages_cut_for(error: type[Exception]) -> bytes:
    """A two-page TIFF cut where Pillow's own decoder raises `error` (TypeError: "Missing
    dimensions", from the second page's cut tags)."""
    buffer = io.BytesIO()
    image = Image.fromarray(photo(20, 24))
    image.save(buffer, format="TIFF", save_all=True, append_images=[image.rotate(90, expand=True)])
    data = buffer.getvalue()
    for end in range(len(data) - 1, 0, -1):
        try:
            with Image.open(io.BytesIO(data[:end])) as img:
                img.seek(img.n_frames - 1)
                img.load()
        except error:
            return data[:end]
        except Exception:  # noqa: BLE001, S112 - another failure: cut elsewhere
            continue
    raise AssertionError(f"no cut of the TIFF raises {error.__name__} in this Pillow")


def _peak_mib(code: str) -> float:
    """Peak RSS of a fresh Python running `code`, in MiB: its VmHWM (getrusage's maxrss would
    count the parent's memory, from before the exec, as Linux does)."""
    script = (f"{code}\nfrom pathlib import Path\n"
              "print(next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-2]) / 1024


def test_a_valid_bomb_is_refused_from_its_header_without_decoding(tmp_path):
    """16000x16000 zeros (256 MP, 256 MB decoded) in a ~250 KB PNG: image_size (the dry run, the
    large-output warning, every server upload) once decoded it whole through getexif()."""
    (tmp_path / "bomb.png").write_bytes(zero_png(16_000, 16_000))
    with pytest.raises(ImageTooLarge, match="safety limit"):
        image_size(tmp_path / "bomb.png")
    code = (f"from drn_cli.io import image_size\ntry:\n    image_size({str(tmp_path / 'bomb.png')!r})\n"
            "except Exception:\n    pass")
    baseline = _peak_mib("import drn_cli.io")
    assert _peak_mib(code) - baseline < 100  # the decoded image alone would be 244 MiB


def test_edited_headers_and_decoder_failures_are_one_line_each_and_the_batch_goes_on(tmp_path, tiny_model_file):
    """Each file here made a decoder raise something other than OSError (OverflowError, MemoryError,
    IndexError, TypeError, KeyError) and killed the whole batch with a traceback."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_photo(folder / "good.png")
    (folder / "wide.png").write_bytes(_png_with_width(0x7FFFFFFF))
    (folder / "huge.png").write_bytes(header_bomb(100_000, 100_000))
    frames = [Image.fromarray(photo(16, 16, seed=s)) for s in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    (folder / "cut.gif").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
    (folder / "cut.tif").write_bytes(_tiff_pages_cut_for(TypeError))
    result = upscale(folder, "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for name in ("wide.png", "huge.png", "cut.tif"):
        assert sum(name in line for line in result.stderr.splitlines()) == 1, (name, result.stderr)
    assert "above the 100 MP safety limit" in result.stderr
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "good_x4.png" in made and not any(p.startswith((".", "wide", "huge", "cut.")) for p in made)


def test_over_long_names_are_one_line_not_a_traceback(tmp_path, tiny_model_file):
    write_photo(tmp_path / "good.png")
    long = "L" * 300
    batch = upscale(tmp_path / "good.png", tmp_path / f"{long}.png", "-o", tmp_path / "out", model=tiny_model_file)
    assert batch.exit_code == 1 and "at most 255" in batch.stderr and "Traceback" not in batch.output
    assert (tmp_path / "out" / "good_x4.png").is_file()  # the batch went on
    for args in ([tmp_path / "good.png", "-o", tmp_path / long], [tmp_path / "good.png", "-o", tmp_path / f"{long}.png"]):
        result = upscale(*args, model=tiny_model_file)
        assert result.exit_code == 2 and "at most 255" in result.stderr, result.output
    result = upscale(tmp_path / "good.png", model="m" * 300)
    assert result.exit_code == 2 and "no such model file" in result.stderr and "Traceback" not in result.output
    write_photo(tmp_path / f"{'s' * 250}.png")  # a legal name whose output name would not be
    result = upscale(tmp_path / f"{'s' * 250}.png", model=tiny_model_file)
    assert result.exit_code == 1 and "its output name" in result.stderr and "-o FILE" in result.stderr


def test_pipes_devices_and_broken_links_in_a_folder_are_named(tmp_path, tiny_model_file):
    write_photo(tmp_path / "good.png")
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "device.png").symlink_to("/dev/zero")
    result = upscale(tmp_path, "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "left out 3 entries" in said and "pipe.png (not a regular file" in said and "broken.jpg (a link to nothing)" in said
    named = upscale(tmp_path / "pipe.png", model=tiny_model_file)
    assert named.exit_code == 1 and "pipe.png: not a regular file" in named.stderr


def _drn(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drn_cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={k: v for k, v in os.environ.items() if k != "DRN_DEBUG"}, timeout=300,
                          check=False)


def test_names_reach_the_terminal_escaped_and_decoders_say_nothing(tmp_path, tiny_model_file):
    """The `drn` process itself: a name's escape sequence or newline is shown as \\xNN, not sent,
    and Pillow's warnings and libtiff's messages on a damaged TIFF never reach stderr."""
    write_photo(tmp_path / "clear\x1b[2Jscreen.png")
    write_photo(tmp_path / "two\nlines.png")
    buffer = io.BytesIO()
    Image.fromarray(photo(12, 12)).save(buffer, format="TIFF", compression="tiff_lzw")
    data = bytearray(buffer.getvalue())
    data[-40:] = bytes(40)  # the tags' tail: Pillow warns ("Corrupt EXIF data"), libtiff prints its own
    (tmp_path / "damaged.tif").write_bytes(bytes(data))
    result = _drn("upscale", tmp_path, "-o", tmp_path / "out", "--model", tiny_model_file, cwd=tmp_path)
    assert "\x1b[2J" not in result.stderr and "two\nlines" not in result.stderr
    assert "clear\\x1b[2Jscreen" in result.stderr and "two\\x0alines" in result.stderr
    assert "Warning" not in result.stderr and "TIFF" not in result.stderr.replace("damaged.tif", ""), result.stderr
    assert "Traceback" not in result.stderr


def test_heic_is_read_by_its_content_whatever_its_name(tmp_path, tiny_model_file):
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIC needs pillow-heif (the [test] extra installs it)")
    pillow_heif.register_heif_opener()
    Image.fromarray(photo(16, 20)).save(tmp_path / "phone.jpg", format="HEIF")  # a phone's HEIC, renamed
    result = _drn("upscale", tmp_path / "phone.jpg", "--model", tiny_model_file, cwd=tmp_path)  # a fresh process
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "phone_x4.jpg").size == (80, 64)


def test_an_output_format_too_small_for_the_picture_is_said_before_the_model_runs(tmp_path, tiny_model_file):
    write_photo(tmp_path / "wide.png", 4, 4200)  # x4: 16800 wide, over WebP's 16383
    result = upscale(tmp_path / "wide.png", "--format", "webp", model=tiny_model_file)
    assert result.exit_code == 1 and "too large for WEBP" in result.stderr and "wide.png" in result.stderr
    assert not (tmp_path / "wide_x4.webp").exists()


def test_a_cut_video_without_a_decodable_stream_is_one_line(tmp_path, tiny_model_file):
    """A video cut so short that FFmpeg sets up no decoder for its stream (found by the long fuzz
    run): probe read the missing codec context and the batch died with an AttributeError."""
    av = pytest.importorskip("av", reason="videos need PyAV (the [video] extra; the test extra installs it)")
    from test_video import make_clip

    make_clip(tmp_path / "full.mp4", frames=3, size=(32, 24), audio=False)
    data = (tmp_path / "full.mp4").read_bytes()
    cut = next(end for end in range(len(data) - 1, 0, -1) if _no_codec_context(av, data[:end]))
    (tmp_path / "cut.mp4").write_bytes(data[:cut])
    write_photo(tmp_path / "good.png")
    result = upscale(tmp_path / "cut.mp4", tmp_path / "good.png", "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 1 and "cut.mp4: not a readable video" in result.stderr, result.output
    assert "Traceback" not in result.output and (tmp_path / "out" / "good_x4.png").is_file()


def _no_codec_context(av, data: bytes) -> bool:
    try:
        with av.open(io.BytesIO(data)) as container:
            return bool(container.streams.video) and container.streams.video[0].codec_context is None
    except Exception:  # noqa: BLE001 - unreadable another way: not the cut looked for
        return False


def test_a_multi_page_tiff_under_an_animations_name_is_a_still(tmp_path, tiny_model_file):
    """A two-page TIFF (pages of different sizes) named .webp or .gif was taken for an animation
    by its suffix, and the WebP/GIF encoder's refusal of unequal frames ended the batch."""
    buffer = io.BytesIO()
    page = Image.fromarray(photo(12, 16))
    page.save(buffer, format="TIFF", save_all=True, append_images=[page.rotate(90, expand=True)])
    for name in ("pages.webp", "pages.gif"):
        (tmp_path / name).write_bytes(buffer.getvalue())
    result = upscale(tmp_path / "pages.webp", tmp_path / "pages.gif", "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert Image.open(tmp_path / "out" / "pages_x4.webp").size == (64, 48)
    assert "the first of its 2 frames only" in " ".join(result.stderr.split())


def test_metadata_an_output_format_cannot_hold_is_left_out_not_fatal(tmp_path, tiny_model_file):
    """A 70 KB EXIF block carried from a PNG into a JPEG (whose EXIF is at most 64 KB) made the
    encoder raise ValueError, a traceback; now the picture is written without it."""
    image = Image.fromarray(photo(12, 16))
    exif = image.getexif()
    exif[0x010F] = "m" * 70_000
    image.save(tmp_path / "big.png", exif=exif.tobytes())
    Image.fromarray(photo(12, 16)).save(tmp_path / "odd.jpg", exif=b"Exif\x00\x00" + bytes(40),
                                        icc_profile=b"not a profile")
    result = upscale(tmp_path / "big.png", tmp_path / "odd.jpg", "-o", tmp_path / "out", "--format", "jpg",
                     model=tiny_model_file)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert Image.open(tmp_path / "out" / "big_x4.jpg").size == (64, 48)
