import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest
from conftest import photo, shared_path
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.datasets import DatasetSpec, resolve_dataset, safe_extract
from drn_cli.errors import DatasetError

runner = CliRunner()


@pytest.fixture
def hr_folder(tmp_path):
    folder = tmp_path / "Mine" / "HR"
    folder.mkdir(parents=True)
    for i in range(2):
        Image.fromarray(photo(48, 40, seed=i)).save(folder / f"im{i}.png")
    return folder


def test_eval_bicubic_json_and_saves(hr_folder, tmp_path):
    result = runner.invoke(app, ["eval", "--dataset", str(hr_folder), "--model", "bicubic", "--scale", "2",
                                 "--json", "--per-image", "--save-lr", str(tmp_path / "lr"),
                                 "--save-dir", str(tmp_path / "sr")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["model"] == "bicubic" and report["scale"] == 2 and len(report["images"]) == 2
    assert 20 < report["psnr"] < 60 and 0 < report["ssim"] <= 1
    assert Image.open(tmp_path / "lr" / "im0_x2.png").size == (20, 24)
    assert Image.open(tmp_path / "sr" / "im0_x2.png").size == (40, 48)
    assert "border shave = scale" in result.stderr


def test_eval_model_and_data_dir_layout(hr_folder, tmp_path, tiny_model_file):
    result = runner.invoke(app, ["eval", "--dataset", "Set5", "--data-dir", str(tmp_path), "--model",
                                 str(tiny_model_file), "--json"])
    assert result.exit_code == 1 and "Set5/HR" in result.stderr
    (tmp_path / "Set5").symlink_to(hr_folder.parent)
    for extra in ([], ["--self-ensemble"], ["--degradation", "nearest"]):
        result = runner.invoke(app, ["eval", "--dataset", "Set5", "--data-dir", str(tmp_path), "--model",
                                     str(tiny_model_file), "--json", *extra])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["scale"] == 4 and report["psnr"] > 15


@pytest.mark.parametrize("dataset,scale,psnr,ssim", [("Set5", 4, 28.42, 0.810), ("Set5", 8, 24.40, None)])
def test_bicubic_matches_the_paper(dataset, scale, psnr, ssim):
    data_dir = shared_path("data", "benchmarks")
    result = runner.invoke(app, ["eval", "--dataset", dataset, "--data-dir", str(data_dir), "--model", "bicubic",
                                 "--scale", str(scale), "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert abs(report["psnr"] - psnr) <= 0.02
    if ssim is not None:
        assert abs(report["ssim"] - ssim) <= 0.005


# ---------------------------------------------------------------------- downloads and archives

@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _zip_with_images(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(2):
            buffer = io.BytesIO()
            Image.fromarray(photo(32, 32, seed=i)).save(buffer, format="PNG")
            zf.writestr(f"Tiny/HR/t{i}.png", buffer.getvalue())


def test_download_verify_extract_and_cache(server, tmp_path):
    root, url = server
    _zip_with_images(root / "tiny.zip")
    digest = hashlib.sha256((root / "tiny.zip").read_bytes()).hexdigest()
    registry = {"Tiny": DatasetSpec("Tiny", f"{url}/tiny.zip", digest, "Tiny/HR")}
    calls = []
    paths = resolve_dataset("Tiny", registry=registry, progress=lambda done, total: calls.append(done))
    assert [p.name for p in paths] == ["t0.png", "t1.png"] and calls
    (root / "tiny.zip").unlink()  # second call is served from the cache
    assert len(resolve_dataset("Tiny", registry=registry)) == 2


def test_checksum_mismatch_deletes_the_download(server, tmp_path):
    root, url = server
    _zip_with_images(root / "tiny.zip")
    registry = {"Tiny": DatasetSpec("Tiny", f"{url}/tiny.zip", "0" * 64, "Tiny/HR")}
    with pytest.raises(DatasetError, match="sha256 mismatch"):
        resolve_dataset("Tiny", registry=registry)
    from drn_cli.datasets import cache_dir
    assert not [p for p in cache_dir().rglob("*") if p.is_file()]


def test_unknown_checksum_is_not_downloaded():
    with pytest.raises(DatasetError, match="--data-dir"):
        resolve_dataset("Urban100")


def test_archive_with_parent_paths_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.txt", "x")
    with pytest.raises(DatasetError, match="outside the target"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_tar_with_symlink_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("data/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(DatasetError, match="is a link"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "data" / "link").exists()
