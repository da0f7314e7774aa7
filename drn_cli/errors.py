"""Errors that users can cause. The CLI prints them as one line; anything else is a bug."""


class DrnError(Exception):
    """A mistake the user can fix: bad input file, wrong weights, bad option value."""


class UsageError(DrnError):
    """Options that contradict each other or name the wrong kind of thing (exit code 2)."""


class InputImageError(DrnError):
    """An input image could not be read (corrupt, truncated, not an image, too large)."""


class ImageTooLarge(InputImageError):
    """An input whose header says more pixels than the limit: refused before any pixel is decoded."""


class OutputError(DrnError):
    """An output could not be written (exists, not writable, disk full)."""


class WeightsError(DrnError):
    """A weights file is missing, unsafe, corrupt or for another architecture."""


class DatasetError(DrnError):
    """A dataset could not be found, downloaded, verified or extracted."""


def reason_of(exc: BaseException, limit: int = 160, with_type: bool = False) -> str:
    """The first line of a library exception's message, for a one-line DrnError: torch and PIL
    raise multi-line texts (the unpickler's hints) that would break the CLI's one line. The
    type name stands in for an empty message, and leads it with `with_type`."""
    lines = str(exc).strip().splitlines()
    name = type(exc).__name__
    if not lines:
        return name
    return (f"{name}: {lines[0]}" if with_type else lines[0])[:limit]
