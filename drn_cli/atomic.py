"""Atomic file writes: a temporary file in the target folder, fsync, then rename."""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError, UsageError

NAME_MAX, PATH_MAX = 255, 4095  # bytes: Linux's limits for one file or folder name, and a whole path


def name_problem(path: str | os.PathLike) -> str | None:
    """Why the OS would refuse `path` as a name (a file or folder name over NAME_MAX bytes, a
    path over PATH_MAX), before anything asks it: Python raises 'File name too long' from places
    as plain as Path.exists(). None when it is fine."""
    text = os.fsencode(path)
    longest = max((len(part) for part in text.split(b"/")), default=0)
    if longest > NAME_MAX:
        return f"a name in it is {longest} bytes long; at most {NAME_MAX} per file or folder name"
    if len(text) > PATH_MAX:
        return f"the path is {len(text)} bytes long; at most {PATH_MAX}"
    return None


def make_folder(folder: str | os.PathLike) -> None:
    """Create `folder` and its parents if missing; OutputError naming what is in the way."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file" if blocker else exc.strerror
        raise OutputError(f"{folder}: cannot create this folder ({reason})") from None


def check_new(path: str | os.PathLike) -> None:
    """Refuse, before any work, to replace an existing file named by -o (commands that make one file)."""
    if Path(path).exists():
        raise UsageError(f"{path}: exists; choose another -o")


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """A hidden temporary path beside `path` for any writer (an encoder, a muxer, a download).
    When the block ends without an error the file is synced to disk and renamed to `path` (readers
    see the old file or the whole new one, never a part), then temporary files of `path` left by
    a killed earlier write (SIGKILL, power loss) are removed; on any error it is removed and
    `path` is untouched. Its name ends in `path`'s suffix (`.a.mp4.1f2e3d4c.part.mp4`), for
    writers that choose the format by suffix. The one place in the package that renames a file
    into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.part*"):
            stale.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def writing_folder(path: str | os.PathLike) -> Iterator[Path]:
    """`writing` for a folder of files made together (a converted model's .xml and .bin): a
    hidden folder beside `path`, renamed into place when the block ends without an error (an
    existing `path` is replaced), removed otherwise."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write `data` to `path` through `writing`; a failure (disk full, permissions) raises
    OutputError, and an existing `path` is refused unless `overwrite`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: already exists; use --overwrite or --skip-existing")
    try:
        with writing(path) as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
