"""Verified downloads: one file from a pinned URL into the user cache, its SHA-256 (and size, where
known) checked before it lands by atomic rename, so a file in the cache is a verified one.

Transient HTTP errors (a cut transfer, 408/429/5xx) are retried a bounded number of times with
back-off; a host that cannot be reached at all is said at once, with what to do offline. Used by
the benchmark datasets (datasets.py) and the third-party models (models/weights.py).
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from .atomic import make_folder, writing
from .errors import DrnError, reason_of

ProgressFn = Callable[[int], None]  # bytes just received; negative: a retry takes them back
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 30  # seconds: an unreachable host is said at once


def cache_root() -> Path:
    """The user cache of drn: DRN_CACHE_DIR, else the platform's (platformdirs)."""
    override = os.environ.get("DRN_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("drn"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def fetch_verified(url: str, target: Path, sha256: str, size: int | None, what: str, offline: str,
                   error: type[DrnError] = DrnError, progress: ProgressFn | None = None,
                   attempts: int = 4, backoff: float = 1.0, on_give_up: Callable[[], None] | None = None) -> Path:
    """Download `url` to `target` (through a hidden .part file beside it), verified against
    `sha256` and `size` (None: not known, the hash alone decides). `what` names the file in
    messages, `offline` says what to do without a network; failures raise `error`, and a file
    that is not the pinned one is deleted (atomic.writing). `on_give_up` runs when no more tries
    will be made."""
    try:
        make_folder(target.parent)
    except DrnError as exc:
        raise error(str(exc)) from None
    with writing(target) as part:
        _fetch(url, part, what, offline, error, progress, attempts, backoff, on_give_up)
        got_size, digest = part.stat().st_size, sha256_file(part)
        if (size is not None and got_size != size) or digest != sha256:
            expected = f"{size} bytes, " if size is not None else ""
            raise error(f"{what}: the download from {url} is not the pinned file (got {got_size} bytes, sha256 "
                        f"{digest[:12]}..., expected {expected}{sha256[:12]}...); it was deleted")
    return target


def _fetch(url: str, part: Path, what: str, offline: str, error: type[DrnError], progress: ProgressFn | None,
           attempts: int, backoff: float, on_give_up: Callable[[], None] | None) -> None:
    """`url` into `part`, with fetch_verified's retries and messages."""
    import requests

    for attempt in range(attempts):
        received = 0

        def count(n: int) -> None:
            nonlocal received
            received += n
            if progress:
                progress(n)

        try:
            _get(url, part, count)
            break
        except requests.RequestException as exc:
            part.unlink(missing_ok=True)
            if progress and received:
                progress(-received)  # the bar goes back: those bytes come again
            last = _unreachable(exc) or not _is_transient(exc) or attempt + 1 == attempts
            if last and on_give_up:
                on_give_up()
            if _unreachable(exc):
                host = urllib.parse.urlsplit(url).netloc
                raise error(f"{what}: could not reach {host} to download it ({type(exc).__name__}); {offline}") from None
            if last:
                raise error(f"{what}: download from {url} failed ({reason_of(exc, with_type=True)}); "
                            "run the command again to resume") from None
            time.sleep(backoff * 2 ** attempt)
