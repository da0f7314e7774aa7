import pytest

from drn_cli.atomic import write_bytes_atomic
from drn_cli.errors import OutputError


def test_write_replaces_atomically_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "a[1].png"  # glob metacharacters in the name
    write_bytes_atomic(target, b"one")
    with pytest.raises(OutputError, match="already exists"):
        write_bytes_atomic(target, b"two")
    write_bytes_atomic(target, b"two", overwrite=True)
    assert target.read_bytes() == b"two" and sorted(p.name for p in tmp_path.iterdir()) == ["a[1].png"]


def test_temporary_files_of_a_killed_write_are_removed_by_the_next(tmp_path):
    target = tmp_path / "a[1].png"
    stale = tmp_path / ".a[1].png.0123abcd.part"  # what SIGKILL mid-write leaves behind
    other = tmp_path / ".b.png.0123abcd.part"     # another output's: not ours to remove
    stale.write_bytes(b"half")
    other.write_bytes(b"half")
    write_bytes_atomic(target, b"whole")
    assert target.read_bytes() == b"whole" and not stale.exists() and other.exists()
