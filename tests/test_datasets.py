"""Dataset registry and downloads, against a real HTTP server on 127.0.0.1 (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading

import pytest
from conftest import photo, shared_path
from PIL import Image
from typer.testing import CliRunner

from drn_cli import datasets
from drn_cli.cli import app
from drn_cli.datasets import fetch, hr_folder, parse_registry, registry, resolve_dataset
from drn_cli.errors import DatasetError


class Server:
    """Serves `files` (path -> bytes); `fail[path]` is a list of HTTP statuses to answer first;
    `body[path]` overrides what is sent (a corrupted or truncated copy). Counts requests."""

    def __init__(self) -> None:
        self.files, self.fail, self.body, self.requests = {}, {}, {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                pending = server.fail.get(self.path)
                if pending:
                    self.send_error(pending.pop(0))
                    return
                data = server.body.get(self.path, server.files.get(self.path))
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def table(self, dataset: str = "Tiny", names: dict[str, str] | None = None) -> str:
        """A registry table for the served files (optionally under other file names)."""
        lines = ["dataset\tfile\tbytes\tsha256\turl"]
        for path, data in self.files.items():
            name = (names or {}).get(path, path.rsplit("/", 1)[-1])
            lines.append(f"{dataset}\t{name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\t{self.url}{path}")
        return "\n".join(lines) + "\n"


@pytest.fixture
def server():
    s = Server()
    for i in range(3):
        buffer = io.BytesIO()
        Image.fromarray(photo(24, 20, seed=i)).save(buffer, format="PNG")
        s.files[f"/sets/t{i}.png"] = buffer.getvalue()
    yield s
    s.httpd.shutdown()


def test_first_download_verifies_every_file_and_reports_bytes(server):
    info = parse_registry(server.table())["Tiny"]
    seen = []
    folder = fetch(info, seen.append, backoff=0)
    assert sorted(p.name for p in folder.iterdir()) == ["t0.png", "t1.png", "t2.png"]
    assert sum(seen) == info.bytes
    assert all((folder / f.name).read_bytes() == server.files[f"/sets/{f.name}"] for f in info.files)


@pytest.mark.parametrize("damage", ["corrupted", "truncated"])
def test_a_file_that_is_not_the_pinned_one_is_deleted_and_reported(server, damage):
    data = server.files["/sets/t1.png"]
    server.body["/sets/t1.png"] = data[:-1] + bytes([data[-1] ^ 1]) if damage == "corrupted" else data[:50]
    info = parse_registry(server.table())["Tiny"]
    with pytest.raises(DatasetError, match="t1.png.*not the pinned file"):
        fetch(info, backoff=0)
    folder = hr_folder("Tiny")
    assert sorted(p.name for p in folder.iterdir()) == ["t0.png"]  # nothing half-written, no .part left


def test_an_interrupted_run_resumes_with_only_the_missing_files(server):
    info = parse_registry(server.table())["Tiny"]
    server.fail["/sets/t2.png"] = [404]  # not transient: the first run stops there
    with pytest.raises(DatasetError, match="run the command again to resume"):
        fetch(info, backoff=0)
    server.requests.clear()
    fetch(info, backoff=0)
    assert server.requests == ["/sets/t2.png"]


def test_transient_server_errors_are_retried_a_bounded_number_of_times(server):
    info = parse_registry(server.table())["Tiny"]
    server.fail["/sets/t0.png"] = [503, 502]
    fetch(info, backoff=0)
    assert server.requests.count("/sets/t0.png") == 3
    server.fail["/sets/t1.png"] = [503] * 10
    (hr_folder("Tiny") / "t1.png").unlink()
    with pytest.raises(DatasetError, match="503"):
        fetch(info, backoff=0)
    assert server.requests.count("/sets/t1.png") == 1 + 4  # the first run's success, then 4 attempts


def test_a_cached_set_needs_no_network(server):
    datasets_ = parse_registry(server.table())
    resolve_dataset("Tiny", datasets=datasets_)
    server.httpd.shutdown()
    server.httpd.server_close()
    assert [p.name for p in resolve_dataset("tiny", datasets=datasets_)] == ["t0.png", "t1.png", "t2.png"]


@pytest.mark.parametrize("name", ["../escape.png", "sub/dir.png", "..", ".hidden.png", "C:evil.png", "a\\b.png"])
def test_a_hostile_file_name_in_the_registry_is_refused(server, name, tmp_path):
    table = server.table(names={"/sets/t0.png": name})
    with pytest.raises(DatasetError, match="unsafe file name"):
        parse_registry(table)
    assert not (tmp_path / "escape.png").exists()


def test_shipped_registry_matches_the_local_benchmark_copies():
    shipped = registry()
    assert {k: len(v.files) for k, v in shipped.items()} == {"Set5": 5, "Set14": 14, "B100": 100,
                                                             "Urban100": 100, "Manga109": 109}
    folder = shared_path("data", "benchmarks", "Set5", "HR")
    for remote in shipped["Set5"].files:
        data = (folder / remote.name).read_bytes()
        assert len(data) == remote.size and hashlib.sha256(data).hexdigest() == remote.sha256


def test_eval_downloads_states_the_terms_and_lists_the_set(server, monkeypatch):
    table = parse_registry(server.table())
    monkeypatch.setattr(datasets, "registry", lambda: table)  # the served table instead of the shipped one
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--dataset", "tiny", "--model", "bicubic", "--scale", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert "terms of use: research" in result.stderr and json.loads(result.stdout)["dataset"] == "Tiny"
    listed = [json.loads(line) for line in runner.invoke(app, ["datasets", "--json"]).stdout.splitlines()]
    assert listed == [{"name": "Tiny", "images": 3, "bytes": table["Tiny"].bytes, "cached": 3,
                       "folder": str(hr_folder("Tiny")), "terms": table["Tiny"].terms}]
