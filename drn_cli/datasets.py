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
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from .download import ProgressFn, cache_root, fetch_verified
from .errors import DatasetError
from .io import find_images, no_images

RESEARCH = "research and education use only; cite the dataset's paper"
TERMS = {
    "Set5": RESEARCH, "Set14": RESEARCH, "B100": RESEARCH + " (BSDS300, Berkeley)", "Urban100": RESEARCH,
    "Manga109": RESEARCH + "; any other use needs the permission of the copyright holders (manga109.org)",
}


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
    return cache_root() / "datasets"


def hr_folder(name: str) -> Path:
    """Where the cached HR images of dataset `name` live."""
    return cache_dir() / name / "HR"


def missing_files(info: DatasetInfo) -> list[RemoteFile]:
    """Files of `info` not in the cache. Files land only after verification, so presence with the
    right size is enough here (no hashing on every use)."""
    folder = hr_folder(info.name)
    return [f for f in info.files if not ((folder / f.name).is_file() and (folder / f.name).stat().st_size == f.size)]


def download_file(remote: RemoteFile, folder: Path, progress: ProgressFn | None = None,
                  attempts: int = 4, backoff: float = 1.0) -> Path:
    """Download one registry file into `folder`, verified (download.fetch_verified): transient
    errors retried, a size or SHA-256 mismatch deletes the file and raises DatasetError, and a
    failed first download leaves no empty cache folder."""
    return fetch_verified(remote.url, folder / safe_file_name(remote.name, remote.dataset), remote.sha256,
                          remote.size, f"{remote.dataset}/{remote.name}",
                          f"offline, put a copy in DIR/{remote.dataset}/HR/*.png and pass --data-dir DIR",
                          DatasetError, progress, attempts, backoff, on_give_up=lambda: _remove_if_empty(folder))


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
