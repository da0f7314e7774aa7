"""Bad inputs, output problems and faults: each gets one clear line and nothing is lost."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import photo
from images import write_photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.io import read_image

runner = CliRunner()


def upscale(*args, model):
    return runner.invoke(app, ["upscale", *[str(a) for a in args], "--model", str(model), "--json"])


def records(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_empty_file_and_folder_named_like_an_image(tmp_path, tiny_model_file):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "dir.png").mkdir()
    result = upscale(tmp_path / "empty.png", tmp_path / "dir.png", model=tiny_model_file)
    assert result.exit_code == 1
    assert "empty.png" in result.stderr and "dir.png" in result.stderr and "folder" in result.stderr
    assert "Traceback" not in result.output


def test_truncated_jpeg(tmp_path, tiny_model_file):
    Image.fromarray(photo(40, 40)).save(tmp_path / "a.jpg")
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "a.jpg").write_bytes(data[: len(data) // 2])
    result = upscale(tmp_path / "a.jpg", model=tiny_model_file)
    assert result.exit_code == 1 and "a.jpg" in result.stderr
    assert not (tmp_path / "a_x4.jpg").exists()


def test_unusual_modes_and_sizes(tmp_path, tiny_model_file):
    Image.fromarray(photo(12, 12)).convert("CMYK").save(tmp_path / "cmyk.jpg")
    pal = Image.fromarray(photo(12, 12)).convert("P")
    pal.info["transparency"] = 0
    pal.save(tmp_path / "palette.png", transparency=0)
    Image.fromarray(photo(1, 1)).save(tmp_path / "one.png")
    frames = [Image.fromarray(photo(10, 10, seed=s)) for s in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    (tmp_path / "sp ace é").mkdir()
    write_photo(tmp_path / "sp ace é" / "ünï cödé.png")
    result = upscale(tmp_path / "cmyk.jpg", tmp_path / "palette.png", tmp_path / "one.png", tmp_path / "anim.gif",
                     tmp_path / "sp ace é" / "ünï cödé.png", model=tiny_model_file)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "cmyk_x4.jpg").mode == "RGB"
    assert Image.open(tmp_path / "palette_x4.png").mode == "RGBA"
    assert Image.open(tmp_path / "one_x4.png").size == (4, 4)
    assert Image.open(tmp_path / "anim_x4.gif").n_frames == 3  # every frame (tests/test_animation.py)
    assert (tmp_path / "sp ace é" / "ünï cödé_x4.png").is_file()


def test_unsupported_format(tmp_path, tiny_model_file):
    (tmp_path / "a.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    result = upscale(tmp_path / "a.svg", model=tiny_model_file)
    assert result.exit_code == 1 and "a.svg" in result.stderr and "not a readable image" in result.stderr


def test_phone_heic_and_web_avif_photos_are_read_and_written_as_jpeg(tmp_path, tiny_model_file):
    """iPhones save HEIC (through pillow-heif), the web serves AVIF (Pillow): a folder of them is
    upscaled to JPEG, rotation applied and EXIF carried over."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="HEIC needs pillow-heif (the [test] extra installs it)")
    from PIL import features

    pillow_heif.register_heif_opener()
    folder = tmp_path / "phone"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "drn-test-phone"  # Make
    exif[0x0112] = 6                 # rotate 90 degrees clockwise to display
    Image.fromarray(photo(24, 32)).save(folder / "IMG_0001.HEIC", exif=exif.tobytes(), quality=90)
    suffixes = [".HEIC"]
    if features.check("avif"):
        Image.fromarray(photo(24, 32)).save(folder / "web.avif", quality=90)
        suffixes.append(".avif")
    result = upscale(folder, "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 0, result.output
    heic = Image.open(tmp_path / "out" / "IMG_0001_x4.jpg")
    assert heic.format == "JPEG" and heic.size == (24 * 4, 32 * 4)  # portrait: the rotation applied once
    assert heic.getexif().get(0x010F) == "drn-test-phone" and heic.getexif().get(0x0112) is None
    if ".avif" in suffixes:
        assert Image.open(tmp_path / "out" / "web_x4.jpg").size == (32 * 4, 24 * 4)


def test_heic_without_pillow_heif_says_how_to_get_it(tmp_path, monkeypatch, tiny_model_file):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif now raises ImportError
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "IMG_0002.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))
    write_photo(tmp_path / "in" / "a.png")
    result = upscale(tmp_path / "in", "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 1
    said = "".join(result.stderr.split())  # the console wraps long lines (also at hyphens)
    assert "IMG_0002.heic:HEIC/HEIFphotosneedthepillow-heifpackage:pipinstall'drn-cli[heif]'" in said
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_x4.png"]  # the batch went on


def test_file_names_with_brackets_are_printed_as_they_are(tmp_path, tiny_model_file):
    """The console's markup must not eat "[draft]" from a file name (nor "[heif]" from a hint)."""
    write_photo(tmp_path / "[draft] a.png")
    (tmp_path / "[bad] b.png").write_text("not an image")
    result = upscale(tmp_path / "[draft] a.png", tmp_path / "[bad] b.png", model=tiny_model_file)
    assert result.exit_code == 1
    said = "".join(result.stderr.split())  # the console wraps long lines
    assert "[draft]a_x4.png" in said and "[bad]b.png:notareadableimage" in said
    assert (tmp_path / "[draft] a_x4.png").exists()


def test_decompression_bomb_is_refused_with_a_hint(tmp_path, monkeypatch, tiny_model_file):
    write_photo(tmp_path / "big.png", 60, 60)
    monkeypatch.setenv("DRN_MAX_PIXELS", "1000")
    result = upscale(tmp_path / "big.png", model=tiny_model_file)
    assert result.exit_code == 1 and "DRN_MAX_PIXELS" in result.stderr
    monkeypatch.setenv("DRN_MAX_PIXELS", "4000")
    assert upscale(tmp_path / "big.png", model=tiny_model_file).exit_code == 0


def test_header_claiming_huge_dimensions(tmp_path):
    # A valid PNG header that claims 100000 x 100000 pixels, followed by nothing.
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data += struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(Exception, match="safety limit"):
        read_image(tmp_path / "bomb.png")


def test_output_folder_under_a_file_names_the_file_in_the_way(tmp_path, tiny_model_file):
    Image.fromarray(photo(20, 20)).save(tmp_path / "a.png")
    (tmp_path / "notes").write_text("a file, not a folder")
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "notes" / "big" / "a.png"),
                                 "--model", str(tiny_model_file)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{tmp_path / 'notes' / 'big'}: cannot create this folder ({tmp_path / 'notes'} is a file)" in result.stderr


@pytest.mark.parametrize("command", ["train", "eval", "finetune-unpaired"])
def test_run_and_save_folders_under_a_file_are_one_line(tmp_path, tiny_model_file, command):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        Image.fromarray(photo(40, 40, seed=i)).save(images / f"{i}.png")
    (tmp_path / "notes").write_text("a file, not a folder")
    target = str(tmp_path / "notes" / "run")
    args = {"train": ["--data", str(images), "--out", target, "--n-blocks", "1", "--n-feats", "8", "--scale", "4",
                      "--steps", "1", "--batch-size", "2", "--patch-size", "32"],
            "eval": ["--dataset", str(images), "--model", str(tiny_model_file), "--save-dir", target],
            "finetune-unpaired": [str(images), "--model", str(tiny_model_file), "--out", target, "--steps", "1",
                                  "--batch-size", "2", "--patch-size", "32"]}[command]
    result = runner.invoke(app, [command, *args, "--device", "cpu"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{target}: cannot create this folder ({tmp_path / 'notes'} is a file)" in result.stderr


def test_export_into_a_missing_folder_is_one_line(tmp_path, tiny_model_file):
    result = runner.invoke(app, ["export", str(tiny_model_file), "-o", str(tmp_path / "nowhere" / "m.onnx")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_two_inputs_with_the_same_output_name(tmp_path, tiny_model_file):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_photo(tmp_path / "a" / "x.png")
    write_photo(tmp_path / "b" / "x.png")
    result = upscale(tmp_path / "a" / "x.png", tmp_path / "b" / "x.png", "-o", tmp_path / "out", model=tiny_model_file)
    assert result.exit_code == 1 and "would overwrite" in result.stderr
    assert [r["status"] for r in records(result)] == ["error", "ok"]


def test_disk_full_leaves_no_partial_file_and_batch_goes_on(tmp_path, monkeypatch, tiny_model_file):
    write_photo(tmp_path / "a.png")
    write_photo(tmp_path / "b.png")
    real_fsync = os.fsync

    def full_disk(fd):  # the disk fills while a's output is written (outputs are written in threads)
        if "a_x4" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    result = upscale(tmp_path / "a.png", tmp_path / "b.png", model=tiny_model_file)
    assert result.exit_code == 1 and "No space left" in result.stderr
    assert not (tmp_path / "a_x4.png").exists() and (tmp_path / "b_x4.png").is_file()
    assert not list(tmp_path.glob(".*part"))


def test_sigkill_during_a_batch_leaves_only_complete_outputs(tmp_path, tiny_model_file):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(30):
        write_photo(folder / f"p{i:02d}.png", 64, 64)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "drn_cli", "upscale", str(folder), "-o", str(out), "--model", str(tiny_model_file),
           "--precision", "fp32", "--skip-existing"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(out.glob("*.png"))
    assert 3 <= len(finished) < 30, "the kill should land mid-batch"
    for path in finished:
        Image.open(path).load()  # every visible output is a complete image
    rerun = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    statuses = {Path(r["output"]).name: r["status"] for r in map(json.loads, rerun.stdout.splitlines())}
    assert all(statuses[path.name] == "skipped" for path in finished), (sorted(p.name for p in finished), statuses)
    assert "ok" in statuses.values()
    assert len(list(out.glob("*.png"))) == 30 and not list(out.glob(".*"))


def test_debug_variable_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("DRN_WEIGHTS_DIR", str(tmp_path))
    write_photo(tmp_path / "a.png")
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png")])
    assert result.exit_code == 1 and result.exception is not None  # SystemExit, no traceback printed
    monkeypatch.setenv("DRN_DEBUG", "1")
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png")])
    assert type(result.exception).__name__ == "WeightsError"
