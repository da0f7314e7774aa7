"""Benchmark datasets: a registry with download URLs and sha256 sums, a verified download into
the user cache, and safe extraction (no member outside the target, no links).

`--data-dir DIR` uses a local copy laid out as DIR/<Name>/HR/*.png instead of downloading.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import DatasetError
from .io import find_images

ProgressFn = Callable[[int, int | None], None]  # (bytes so far, total or None)


@dataclass(frozen=True)
class DatasetSpec:
    """Where a benchmark comes from; `member` is the HR folder inside the archive."""

    name: str
    url: str
    sha256: str | None
    member: str


# EDSR's benchmark.tar is the usual source for the four classic sets. Its sha256 has not been
# recorded here yet (this project's machines have no internet): until it is, a download is
# refused rather than trusted, and --data-dir is the way in.
_EDSR = "https://cv.snu.ac.kr/research/EDSR/benchmark.tar"
REGISTRY: dict[str, DatasetSpec] = {
    "Set5": DatasetSpec("Set5", _EDSR, None, "benchmark/Set5/HR"),
    "Set14": DatasetSpec("Set14", _EDSR, None, "benchmark/Set14/HR"),
    "B100": DatasetSpec("B100", _EDSR, None, "benchmark/B100/HR"),
    "Urban100": DatasetSpec("Urban100", _EDSR, None, "benchmark/Urban100/HR"),
    "Manga109": DatasetSpec("Manga109", "http://www.manga109.org/", None, "Manga109/HR"),
}


def cache_dir() -> Path:
    """Dataset cache: DRN_CACHE_DIR, else the platform's user cache folder for drn."""
    override = os.environ.get("DRN_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("drn")) / "datasets"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str, progress: ProgressFn | None = None) -> Path:
    """Stream `url` to `dest` and verify it; a mismatch deletes the file and raises."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with requests.get(url, stream=True, timeout=30) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            done = 0
            with open(tmp, "wb") as f:
                for chunk in response.iter_content(1 << 16):
                    f.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    except (requests.RequestException, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise DatasetError(f"download of {url} failed: {exc}") from None
    actual = sha256_file(tmp)
    if actual != sha256:
        tmp.unlink()
        raise DatasetError(f"{url}: sha256 mismatch (expected {sha256}, got {actual}); "
                           "the file was deleted")
    os.replace(tmp, dest)
    return dest


def _check_member(name: str, is_link: bool, archive: Path) -> None:
    path = PurePosixPath(name)
    if is_link:
        raise DatasetError(f"{archive}: refused: member {name!r} is a link")
    if path.is_absolute() or ".." in path.parts or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise DatasetError(f"{archive}: refused: member {name!r} would land outside the target")


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a .zip or tar archive into `target`, refusing links and escaping paths."""
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
                _check_member(info.filename, is_link, archive)
            zf.extractall(target)
        return
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _check_member(m.name, m.issym() or m.islnk() or not (m.isfile() or m.isdir()), archive)
            tf.extractall(target, members=members, filter="data")
    except tarfile.TarError as exc:
        raise DatasetError(f"{archive}: not a readable zip or tar archive ({exc})") from None


def fetch(spec: DatasetSpec, progress: ProgressFn | None = None) -> Path:
    """HR folder of a registry dataset, downloading and extracting it into the cache once."""
    root = cache_dir() / spec.name
    hr = root / spec.member
    if hr.is_dir() and find_images(hr):
        return hr
    if spec.sha256 is None:
        raise DatasetError(f"{spec.name}: no checksum is recorded for its download, so it is not "
                           f"fetched automatically; get {spec.url} yourself and pass "
                           f"--data-dir DIR with DIR/{spec.name}/HR/*.png")
    archive = cache_dir() / "downloads" / f"{spec.sha256[:16]}-{Path(spec.url).name or 'archive'}"
    if not (archive.is_file() and sha256_file(archive) == spec.sha256):
        download(spec.url, archive, spec.sha256, progress)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache_dir()))
    try:
        safe_extract(archive, staging)
        if root.exists():
            shutil.rmtree(root)
        os.replace(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not hr.is_dir():
        raise DatasetError(f"{spec.name}: the archive has no {spec.member} folder")
    return hr


def resolve_dataset(name: str, data_dir: str | Path | None = None,
                    progress: ProgressFn | None = None,
                    registry: dict[str, DatasetSpec] | None = None) -> list[Path]:
    """HR image paths for a registry name (local copy or cached download) or a folder."""
    registry = REGISTRY if registry is None else registry
    if name in registry:
        if data_dir is not None:
            folder = Path(data_dir) / name / "HR"
            if not folder.is_dir():
                raise DatasetError(f"{folder}: not found; --data-dir must hold {name}/HR/*.png")
        else:
            folder = fetch(registry[name], progress)
    else:
        folder = Path(name)
        if not folder.is_dir():
            raise DatasetError(f"{name}: neither a known dataset ({', '.join(registry)}) nor a folder")
    paths = find_images(folder)
    if not paths:
        raise DatasetError(f"{folder}: no images found")
    return paths
