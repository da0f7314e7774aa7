"""TIFF inputs of every common kind upscale to TIFF, their description carried and not their layout.

Pillow 13 (what a fresh install gets) refuses to write a TIFF's own structural tags back as
EXIF ("codec configuration error"): every TIFF input failed before the EXIF was cut to what
describes the photo."""

import numpy as np
import pytest
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.io import read_image

runner = CliRunner()


def _tiffs(folder):
    """name -> (mode of the output, size of the input) for each kind of TIFF written into folder."""
    rgb = photo(20, 24)
    Image.fromarray(rgb).save(folder / "rgb.tif")
    Image.fromarray(rgb[:, :, 0]).save(folder / "grey.tif")
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257).save(folder / "grey16.tif")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.tif")
    Image.fromarray(rgb).save(folder / "lzw.tif", compression="tiff_lzw")
    Image.fromarray(rgb).save(folder / "deflate.tif", compression="tiff_adobe_deflate")
    Image.fromarray(np.dstack([rgb, rgb[:, :, 1]])).save(folder / "rgba.tif")
    Image.fromarray(rgb[:1, :1]).save(folder / "one.tif")
    pages = [Image.fromarray(np.roll(rgb, i, axis=1)) for i in range(3)]
    pages[0].save(folder / "pages.tif", save_all=True, append_images=pages[1:])
    return {"rgb": "RGB", "grey": "L", "grey16": "I;16", "cmyk": "RGB", "lzw": "RGB", "deflate": "RGB",
            "rgba": "RGBA", "one": "RGB", "pages": "RGB"}


def test_every_kind_of_tiff_upscales_to_tiff(tmp_path, tiny_model_file):
    modes = _tiffs(tmp_path)
    result = runner.invoke(app, ["upscale", str(tmp_path), "-o", str(tmp_path / "out"), "--model",
                                 str(tiny_model_file)])
    assert result.exit_code == 0, result.output
    for name, mode in modes.items():
        with Image.open(tmp_path / f"{name}.tif") as src, Image.open(tmp_path / "out" / f"{name}_x4.tif") as out:
            assert out.format == "TIFF" and out.mode.startswith(mode[:3]), (name, out.mode)
            assert out.size == (src.size[0] * 4, src.size[1] * 4), name


def test_a_tiffs_description_is_carried_and_its_layout_is_not(tmp_path, tiny_model_file):
    image = Image.fromarray(photo(16, 20))
    exif = image.getexif()
    exif[0x010F] = "drn-test-camera"
    exif[0x8769] = {0x9003: "2026:12:05 10:00:00"}
    image.save(tmp_path / "cam.tif", exif=exif.tobytes())
    carried = Image.Exif()
    carried.load(read_image(tmp_path / "cam.tif").exif)
    assert carried[0x010F] == "drn-test-camera" and carried.get_ifd(0x8769)[0x9003] == "2026:12:05 10:00:00"
    assert not {256, 257, 259, 273, 279} & set(carried)  # width, height, compression, strips

    result = runner.invoke(app, ["upscale", str(tmp_path / "cam.tif"), "-o", str(tmp_path / "big.png"),
                                 "--model", str(tiny_model_file)])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "big.png") as out:
        assert out.size == (80, 64) and out.getexif()[0x010F] == "drn-test-camera"


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_a_tiff_becomes_any_format(tmp_path, tiny_model_file, fmt):
    Image.fromarray(photo(12, 14)).save(tmp_path / "a.tif")
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.tif"), "--format", fmt, "--model", str(tiny_model_file)])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / f"a_x4.{fmt}").size == (56, 48)
