"""Benchmark datasets: a pinned per-file registry, a verified download into the user cache, and
local copies.

`datasets.tsv` (shipped in the package) gives, for every image of Set5, Set14, B100, Urban100 and
Manga109, a download URL pinned to a fixed commit, its size in bytes and its SHA-256. `fetch`
downloads what is missing into the cache (DRN_CACHE_DIR, else the platform's user cache), checks
each file's size and SHA-256 before it lands by atomic rename (so a file in the cache is a
verified one, and an interrupted run resumes with only the missing files), retries transient
HTTP errors a bounded number of times with back-off, and needs no network once the set is
cached. `--data-dir DIR` uses a local copy laid out as DIR/<Name>/HR/*.png instead.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from .atomic import make_folder
from .errors import DatasetError, reason_of
from .io import find_images, no_images

ProgressFn = Callable[[int], None]  # bytes just received (the total is DatasetInfo.bytes)
RESEARCH = "research and education use only; cite the dataset's paper"
TERMS = {
    "Set5": RESEARCH, "Set14": RESEARCH, "B100": RESEARCH + " (BSDS300, Berkeley)", "Urban100": RESEARCH,
    "Manga109": RESEARCH + "; any other use needs the permission of the copyright holders (manga109.org)",
}
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 30  # seconds: an unreachable host is said at once


@dataclass(frozen=True)
class RemoteFile:
    """One registry row: a file of a dataset, where to get it and what it must be."""

    dataset: str
    name: str
    size: int
    sha256: str
    url: str


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    files: tuple[RemoteFile, ...]
    terms: str

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def safe_file_name(name: str, dataset: str) -> str:
    """`name` if it is a plain file name that cannot leave the dataset's folder; else DatasetError."""
    plain = PurePosixPath(name).name == name and "\\" not in name and "\0" not in name and ":" not in name
    if not plain or name in ("", ".", "..") or name.startswith(".") or len(name) > 255:
        raise DatasetError(f"registry row of {dataset} has an unsafe file name {name!r}; refusing it")
    return name


def parse_registry(text: str) -> dict[str, DatasetInfo]:
    """The registry table (tab-separated: dataset, file, bytes, sha256, url) -> datasets by name."""
    rows: dict[str, list[RemoteFile]] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        name = safe_file_name(row["file"], row["dataset"])
        sha = row["sha256"].lower()
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise DatasetError(f"registry row {row['dataset']}/{name} has a malformed sha256")
        rows.setdefault(row["dataset"], []).append(
            RemoteFile(row["dataset"], name, int(row["bytes"]), sha, row["url"]))
    return {name: DatasetInfo(name, tuple(files), TERMS.get(name, RESEARCH)) for name, files in rows.items()}


def registry() -> dict[str, DatasetInfo]:
    """The registry shipped with the package."""
    return parse_registry(resources.files(__package__).joinpath("datasets.tsv").read_text())


def cache_dir() -> Path:
    """Dataset cache: DRN_CACHE_DIR, else the platform's user cache folder for drn."""
    override = os.environ.get("DRN_CACHE_DIR")
    if override:
        return Path(override) / "datasets"
    import platformdirs

    return Path(platformdirs.user_cache_dir("drn")) / "datasets"


def hr_folder(name: str) -> Path:
    """Where the cached HR images of dataset `name` live."""
    return cache_dir() / name / "HR"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def missing_files(info: DatasetInfo) -> list[RemoteFile]:
    """Files of `info` not in the cache. Files land only after verification, so presence with the
    right size is enough here (no hashing on every use)."""
    folder = hr_folder(info.name)
    return [f for f in info.files if not ((folder / f.name).is_file() and (folder / f.name).stat().st_size == f.size)]


def _get(url: str, dest: Path, progress: ProgressFn | None) -> None:
    """Stream `url` into `dest`; requests' errors propagate."""
    import requests

    with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
        response.raise_for_status()
        with open(dest, "wb") as out:
            for chunk in response.iter_content(1 << 16):
                out.write(chunk)
                if progress:
                    progress(len(chunk))


def _is_transient(exc: Exception) -> bool:
    """A failure worth another try: a retryable HTTP status or a transfer cut short. A host that
    cannot be reached at all (no network, a name that does not resolve, a refused or timed-out
    connection) is not: the user is told at once."""
    import requests

    if isinstance(exc, requests.HTTPError):
        return exc.response is not None and exc.response.status_code in RETRYABLE_STATUS
    return isinstance(exc, (requests.ConnectionError, requests.Timeout)) and not _unreachable(exc)


def _unreachable(exc: Exception) -> bool:
    """True when no connection could be made: a timed-out or refused connection, an unknown host."""
    import requests
    from urllib3.exceptions import NewConnectionError  # NameResolutionError is one too

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def download_file(remote: RemoteFile, folder: Path, progress: ProgressFn | None = None,
                  attempts: int = 4, backoff: float = 1.0) -> Path:
    """Download one registry file into `folder`, verified, by atomic rename. Transient errors
    (connection, timeout, 408/429/5xx) are retried up to `attempts` times, waiting backoff x 2^k
    seconds; a size or SHA-256 mismatch deletes the file and raises DatasetError."""
    import requests

    target = folder / safe_file_name(remote.name, remote.dataset)
    part = folder / f".{remote.name}.part"
    make_folder(folder)
    for attempt in range(attempts):
        received = 0

        def count(n: int) -> None:
            nonlocal received
            received += n
            if progress:
                progress(n)

        try:
            _get(remote.url, part, count)
            break
        except requests.RequestException as exc:
            part.unlink(missing_ok=True)
            if progress and received:
                progress(-received)  # the bar goes back: those bytes come again
            if _unreachable(exc) or not _is_transient(exc) or attempt + 1 == attempts:
                _remove_if_empty(folder)
            if _unreachable(exc):
                host = urllib.parse.urlsplit(remote.url).netloc
                raise DatasetError(f"{remote.dataset}: could not reach {host} to download it ({type(exc).__name__}); "
                                   f"offline, put a copy in DIR/{remote.dataset}/HR/*.png and pass --data-dir DIR") from None
            if not _is_transient(exc) or attempt + 1 == attempts:
                raise DatasetError(f"{remote.dataset}/{remote.name}: download from {remote.url} failed "
                                   f"({reason_of(exc, with_type=True)}); run the command again to resume") from None
            time.sleep(backoff * 2 ** attempt)
    size, digest = part.stat().st_size, sha256_file(part)
    if size != remote.size or digest != remote.sha256:
        part.unlink()
        raise DatasetError(f"{remote.dataset}/{remote.name}: the download from {remote.url} is not the "
                           f"pinned file (got {size} bytes, sha256 {digest[:12]}..., expected {remote.size} "
                           f"bytes, {remote.sha256[:12]}...); it was deleted")
    os.replace(part, target)
    return target


def _remove_if_empty(folder: Path) -> None:
    """Remove `folder` (the set's HR folder) and its set folder when nothing landed in them, so a
    failed first download leaves no empty cache behind."""
    for path in (folder, folder.parent):
        try:
            path.rmdir()  # only when empty
        except OSError:
            return


def fetch(info: DatasetInfo, progress: ProgressFn | None = None, backoff: float = 1.0) -> Path:
    """The cached HR folder of `info`, downloading only the files that are missing."""
    folder = hr_folder(info.name)
    for remote in missing_files(info):
        download_file(remote, folder, progress, backoff=backoff)
    return folder


def find_dataset(name: str, datasets: dict[str, DatasetInfo]) -> DatasetInfo | None:
    """The dataset called `name`, matched case-insensitively, or None."""
    return next((info for key, info in datasets.items() if key.lower() == name.lower()), None)


def resolve_dataset(name: str, data_dir: str | Path | None = None, progress: ProgressFn | None = None,
                    datasets: dict[str, DatasetInfo] | None = None) -> list[Path]:
    """HR image paths of a registry dataset (a local copy under `data_dir`, else the cache,
    downloading what is missing) or of a folder of images."""
    info = find_dataset(name, registry() if datasets is None else datasets)
    if info is None:
        folder = Path(name)
        if not folder.is_dir():
            known = ", ".join(registry() if datasets is None else datasets)
            raise DatasetError(f"{name}: neither a known dataset ({known}) nor a folder")
    elif data_dir is not None:
        folder = Path(data_dir) / info.name / "HR"
        if not folder.is_dir():
            raise DatasetError(f"{folder}: not found; --data-dir must hold {info.name}/HR/*.png")
    else:
        folder = fetch(info, progress)
    paths = find_images(folder)
    if not paths:
        raise DatasetError(no_images(folder))
    return paths


def catalogue() -> list[dict]:
    """Every registry set: name, images, bytes, how many are cached, its cache folder, its terms."""
    rows = []
    for info in registry().values():
        rows.append({"name": info.name, "images": len(info.files), "bytes": info.bytes,
                     "cached": len(info.files) - len(missing_files(info)),
                     "folder": str(hr_folder(info.name)), "terms": info.terms})
    return rows
