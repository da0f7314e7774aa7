"""Feed hostile inputs (corpus.py) through `drn upscale` in batches and through a live `drn serve`,
and record what each did: exit code or HTTP status, tracebacks, hangs, peak RSS, partial outputs
under final names, and whether any input file changed.

    python -m fuzz --cases 300            # what CI runs (tests/test_fuzz.py), a few minutes
    python -m fuzz --cases 2000 --long    # the long mode: more cases, each RSS peak attributed
    python -m fuzz --only 00042-header-png-rgb   # one case again

Each defect is one line: its kind, the case, what was seen. The exit code is 1 when any was found.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import VIDEO, Case, cases

DEFECTS = ("traceback", "valid-failed", "unnamed-error", "no-record", "hang", "bad-exit", "memory",
           "partial-output", "input-changed", "http-5xx", "server-traceback", "server-died", "raw-name",
           "library-noise", "sigterm")
# stderr lines that are no words of ours: Python warnings, libtiff, libpng, OpenCV
_NOISE = re.compile(r"Warning: |^TIFF\w*:|libpng|\[ WARN|^\s+warnings\.warn|^\w+\.(?:c|cpp):\d+")


@dataclass
class Defect:
    kind: str
    case: str
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.case}: {self.detail[:300]}"


@dataclass
class Report:
    cases: int = 0
    defects: list[Defect] = field(default_factory=list)
    peaks_mib: dict[str, float] = field(default_factory=dict)  # what ran -> its peak RSS
    seconds: float = 0.0
    heavy: list[str] = field(default_factory=list)  # cases left out: their header declares minutes of work

    def add(self, kind: str, case: str, detail: str) -> None:
        assert kind in DEFECTS, kind
        self.defects.append(Defect(kind, case, detail))

    def summary(self) -> str:
        counts = Counter(d.kind for d in self.defects)
        peak = max(self.peaks_mib.values(), default=0)
        kinds = ", ".join(f"{n} {k}" for k, n in counts.most_common()) or "no defects"
        left = f"; {len(self.heavy)} left out as heavy (over {HEAVY} LR pixels of work)" if self.heavy else ""
        return f"{self.cases} inputs in {self.seconds:.0f} s: {kinds}; highest peak RSS {peak:.0f} MiB{left}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


REPO = Path(__file__).resolve().parents[1]
# The pixel limit the battery runs under. An edited header can declare a legal but huge picture
# (an APNG of 3 frames of 18x1027525 decoded "fine" and would have been upscaled for hours, as a
# real one would, after the large-output warning); under 2 MP such headers meet the limit's check,
# which is what they exercise, and every run stays within minutes.
MAX_PIXELS = 2_000_000


def _env(workdir: Path) -> dict[str, str]:
    """The processes' environment: their own cache, and this checkout's drn_cli first on the path
    (they run from the inputs' folder, where an installed copy would win)."""
    env = dict(os.environ, DRN_CACHE_DIR=str(workdir / "cache"), PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               DRN_MAX_PIXELS=str(MAX_PIXELS))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.pop("DRN_DEBUG", None)
    return env


def run_process(args: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None) -> tuple[int | None, str, str, float]:
    """(exit code or None on timeout, stdout, stderr, peak RSS in MiB) of one process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        deadline, code = time.monotonic() + timeout, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = code if code is not None else -9
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(errors="replace"), err.read().decode(errors="replace"), usage.ru_maxrss / 1024


def _cli(files: list[str], outdir: Path, env: dict[str, str], timeout: float, cwd: Path):
    args = [sys.executable, "-m", "drn_cli", "upscale", *files, "-o", str(outdir), "--json", "--overwrite"]
    return run_process(args, env, timeout, cwd)


def baseline_peak(workdir: Path, env: dict[str, str]) -> float:
    """Peak RSS (MiB) of `drn upscale` on one 1x1 image: the start-up and model working set every
    run pays, which the memory bound adds to."""
    from PIL import Image

    folder = workdir / "baseline"
    folder.mkdir(exist_ok=True)
    Image.new("RGB", (1, 1)).save(folder / "one.png")
    code, _, err, peak = _cli(["one.png"], folder / "out", env, 120, folder)
    if code != 0:
        raise SystemExit(f"drn upscale fails on a 1x1 PNG: {err.strip()[-500:]}")
    return peak


def _check_outputs(outdir: Path, records: dict[str, dict], report: Report) -> None:
    """Every file under `outdir` must be the output of an input that succeeded."""
    made = {Path(r["output"]).name for r in records.values() if r.get("status") == "ok" and r.get("output")}
    for path in outdir.rglob("*") if outdir.exists() else []:
        if path.is_file() and path.name not in made:
            report.add("partial-output", path.name, f"{path} is under a final name but its input failed")


BYTES_PER_OUTPUT_PIXEL = 64  # docs/reliability.md: what a run may add per pixel it makes, beyond the margin


def declared(data: bytes) -> tuple[int, int]:
    """(pixels, frames) a file's header declares, as Pillow reads it; (0, 0) for what Pillow
    cannot open or what is over the battery's pixel limit (the tool refuses both)."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's words on the hostile files
            with Image.open(io.BytesIO(data)) as img:
                pixels, frames = img.size[0] * img.size[1], getattr(img, "n_frames", 1)
    except Exception:  # noqa: BLE001 - a hostile file the tool refuses: nothing declared
        return 0, 0
    return (0, 0) if pixels > MAX_PIXELS else (pixels, frames)


def allowance_mib(data: bytes, scale: int = 4) -> float:
    """What the stated bound lets an input add for the pixels it makes: BYTES_PER_OUTPUT_PIXEL per
    output pixel of every frame its header declares."""
    pixels, frames = declared(data)
    return pixels * scale * scale * frames * BYTES_PER_OUTPUT_PIXEL / 2**20


# Work, in LR pixels over all frames, beyond which a case is left out: an edited header can
# declare a legal picture that takes minutes to upscale on one thread (a decoder fills what the
# file lacks), which tells nothing about robustness and would pass for a hang.
HEAVY = 600_000


def fuzz_cli(batch_cases: list[Case], workdir: Path, report: Report, bound_mib: float, batch: int = 40,
             timeout: float = 300, attribute: bool = False) -> None:
    """Every case through `drn upscale DIR/a DIR/b ... -o OUT --json`, `batch` inputs a process."""
    env = _env(workdir)
    inputs = workdir / "in"
    inputs.mkdir(exist_ok=True)
    hashes = {}
    for case in batch_cases:
        (inputs / case.filename).write_bytes(case.data)
        hashes[case.filename] = _sha(inputs / case.filename)
    by_file = {case.filename: case for case in batch_cases}
    for start in range(0, len(batch_cases), batch):
        group = batch_cases[start:start + batch]
        outdir = workdir / f"out{start:05d}"
        code, stdout, stderr, peak = _cli([c.filename for c in group], outdir, env, timeout, inputs)
        label = f"batch {start}-{start + len(group) - 1}"
        report.peaks_mib[label] = peak
        _judge_batch(group, code, stdout, stderr, outdir, report, label)
        bound = bound_mib + max(allowance_mib(c.data) for c in group)
        if peak > bound:
            if attribute and len(group) > 1:
                for case in group:  # one by one, to name the input that raised it
                    _, _, _, alone = _cli([case.filename], workdir / "alone", env, timeout, inputs)
                    limit = bound_mib + allowance_mib(case.data)
                    if alone > limit:
                        report.add("memory", case.name, f"peak RSS {alone:.0f} MiB > bound {limit:.0f} MiB")
            else:
                report.add("memory", label, f"peak RSS {peak:.0f} MiB > bound {bound:.0f} MiB "
                                            f"({', '.join(c.name for c in group[:3])}...)")
    for name, digest in hashes.items():
        if _sha(inputs / name) != digest:
            report.add("input-changed", by_file[name].name, "the input file's bytes changed")
    report.cases += len(batch_cases)


def _judge_batch(group: list[Case], code: int | None, stdout: str, stderr: str, outdir: Path,
                 report: Report, label: str) -> None:
    if code is None:
        report.add("hang", label, f"no exit within the timeout ({', '.join(c.name for c in group[:3])}...)")
        return
    if "Traceback" in stderr:
        report.add("traceback", label, stderr[stderr.index("Traceback"):][-600:])
    if code not in (0, 1):
        report.add("bad-exit", label, f"exit {code}: {stderr.strip()[-300:]}")
    records = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[Path(record["input"]).name] = record
    for case in group:
        record = records.get(case.filename)
        if record is None:
            report.add("no-record", case.name, "no --json record for this input")
            continue
        if case.valid and record["status"] != "ok":
            report.add("valid-failed", case.name, str(record["error"]))
        if record["status"] == "error":
            lines = [line for line in stderr.splitlines() if case.filename in line]
            if not lines:
                report.add("unnamed-error", case.name, f"no stderr line names it: {record['error']}")
    if any(ord(ch) < 32 and ch not in "\n" for ch in stderr.replace("\x1b[", "")):
        report.add("raw-name", label, "a control character reached the terminal")
    noise = [line for line in stderr.splitlines() if _NOISE.search(line)]
    if noise:
        report.add("library-noise", label, f"{len(noise)} lines, e.g. {noise[0]}")
    _check_outputs(outdir, records, report)


# --- the server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`drn serve` as a process on a free loopback port, its stderr in a file."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.tmp = _free_port(), workdir / "serve-tmp"  # where it keeps its jobs' files
        self.tmp.mkdir(exist_ok=True)
        self.log_path = workdir / "serve.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - the server writes to it until stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "drn_cli", "serve", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=_env(workdir) | {"TMPDIR": str(self.tmp)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/models")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"drn serve did not start: {self.log_path.read_text()[-500:]}")

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                timeout: float = 60) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def upload(self, filename: str, data: bytes, fields: dict[str, str] | None = None) -> tuple[int, bytes]:
        boundary = "drnfuzzboundary7MA4YWxkTrZu0gW"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in (fields or {}).items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", "/api/jobs", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def wait(self, job_id: str, seconds: float = 120) -> dict | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            _, body = self.request("GET", f"/api/jobs/{job_id}")
            job = json.loads(body)
            if job.get("status") in ("done", "failed"):
                return job
            time.sleep(0.05)
        return None

    def reset_peak(self) -> None:
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")  # resets VmHWM (Linux)
        except OSError:
            pass

    def peak_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def stop(self) -> int | None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self.log.close()
        return code


def fuzz_server(server_cases: list[Case], workdir: Path, report: Report, bound_mib: float) -> None:
    """Every case uploaded to a live `drn serve`, its job followed to the end, then the malformed
    requests (http_cases); the server must answer each below 500 and stay up."""
    server = Server(workdir)
    try:
        server.upload("warm.png", server_cases[0].data if server_cases else b"")
        for case in server_cases:
            server.reset_peak()
            try:
                status, body = server.upload(case.filename, case.data)
            except OSError as exc:
                report.add("server-died", case.name, f"upload: {exc}")
                break
            if status >= 500:
                report.add("http-5xx", case.name, f"{status} {body[:200]!r}")
            elif status == 201:
                job = server.wait(json.loads(body)["id"])
                if job is None:
                    report.add("hang", case.name, "the server's job did not finish")
                elif case.valid and case.suffix not in VIDEO and job["status"] != "done":
                    report.add("valid-failed", case.name, f"server: {job['error']}")
            elif case.valid and case.suffix not in VIDEO:
                report.add("valid-failed", case.name, f"server answered {status}: {body[:200]!r}")
            peak = server.peak_mib()
            report.peaks_mib[f"serve {case.name}"] = peak
            limit = bound_mib + allowance_mib(case.data)
            if peak > limit:
                report.add("memory", case.name, f"server peak RSS {peak:.0f} MiB > bound {limit:.0f} MiB")
        for name, send in http_cases(server):
            try:
                status = send()
            except OSError:
                status = 0  # the server closed a malformed request: fine, as long as it stays up
            if status >= 500:
                report.add("http-5xx", name, f"answered {status}")
            try:
                server.request("GET", "/api/models", timeout=10)
            except OSError as exc:
                report.add("server-died", name, str(exc))
                break
        report.cases += len(server_cases)
    finally:
        code = server.stop()
        log = server.log_path.read_text(errors="replace")
        if "Traceback" in log or "terminate called" in log or "Exception in ASGI" in log:
            report.add("server-traceback", "drn serve", log[-800:])
        if code != 0:
            report.add("bad-exit", "drn serve", f"SIGTERM ended it with {code}")


def _raw(server: Server, payload: bytes, read: bool = True) -> int:
    """Send `payload` as it is on a fresh connection; the status line's code (0 if none came)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.sendall(payload)
        if not read:
            return 0
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def http_cases(server: Server):
    """(name, a callable that sends one malformed request and returns the status) pairs."""
    png = (Path(__file__).resolve().parents[1] / "docs" / "images" / "sample.png").read_bytes()
    boundary = "b0undary"
    head = (f"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n")

    def cut_body() -> int:  # Content-Length promises more than comes, then the client leaves
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'.encode() + png[:500]
        return _raw(server, (head + f"Content-Length: {len(png) + 400}\r\n\r\n").encode() + body, read=False)

    def fields(**values: str):
        return lambda: server.upload("a.png", png, values)[0]

    return [
        ("http-cut-body", cut_body),
        ("http-bad-boundary", lambda: server.request("POST", "/api/jobs", b"--zzz\r\n\r\n",
                                                     {"Content-Type": "multipart/form-data; boundary=qqq"})[0]),
        ("http-no-content-type", lambda: server.request("POST", "/api/jobs", png)[0]),
        ("http-json-body", lambda: server.request("POST", "/api/jobs", b"{}", {"Content-Type": "application/json"})[0]),
        ("http-negative-length", lambda: _raw(server, (head + "Content-Length: -5\r\n\r\n").encode())),
        ("http-text-length", lambda: _raw(server, (head + "Content-Length: lots\r\n\r\n").encode())),
        ("http-huge-header", lambda: _raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")),
        ("http-garbage", lambda: _raw(server, os.urandom(2000))),
        ("http-model-passwd", fields(model="/etc/passwd")),
        ("http-model-proc", fields(model="/proc/self/environ")),
        ("http-model-long", fields(model="m" * 5000)),
        ("http-model-traversal", fields(model="../../weights/drn-s-x4.safetensors")),
        ("http-scale-text", fields(scale="four")),
        ("http-scale-huge", fields(scale="9" * 400)),
        ("http-denoise-nan", fields(denoise="nan")),
        ("http-denoise-big", fields(denoise="1e400")),
        ("http-long-filename", lambda: server.upload("x" * 5000 + ".png", png)[0]),
        ("http-escape-filename", lambda: server.upload("\x1b[31mred\x1b[0m\n.png", png)[0]),
        ("http-job-traversal", lambda: server.request("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd")[0]),
        ("http-job-long", lambda: server.request("GET", "/api/jobs/" + "a" * 10_000)[0]),
        ("http-zip-many", lambda: server.request("GET", "/api/results.zip?ids=" + ",".join(["a"] * 20_000))[0]),
        ("http-static-traversal", lambda: server.request("GET", "/static/../../etc/passwd")[0]),
    ]


def sigterm_during_a_job(workdir: Path, report: Report) -> None:
    """SIGTERM while `drn serve` runs a job: the job is cancelled, its files removed, exit 0."""
    import io

    import numpy as np
    from PIL import Image

    (workdir / "sigterm").mkdir()
    server = Server(workdir / "sigterm")
    buffer = io.BytesIO()
    pixels = np.random.default_rng(1).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    status, body = server.upload("big.png", buffer.getvalue())
    running = False
    if status == 201:
        job_id, deadline = json.loads(body)["id"], time.monotonic() + 60
        while time.monotonic() < deadline and not running:
            job = json.loads(server.request("GET", f"/api/jobs/{job_id}")[1])
            running = job["status"] == "running" and job["progress"] > 0
            time.sleep(0.02)
    code = server.stop()
    report.cases += 1
    left = list(server.tmp.iterdir())
    log = server.log_path.read_text(errors="replace")
    if not running:
        report.add("sigterm", "sigterm-during-job", f"the job never ran ({status} {body[:100]!r})")
    elif code != 0 or left or "Traceback" in log or "terminate called" in log:
        report.add("sigterm", "sigterm-during-job", f"exit {code}, left {[p.name for p in left]}, log {log[-300:]!r}")


# --- names and special files -------------------------------------------------------------------

def fuzz_names(workdir: Path, report: Report) -> None:
    """Hostile names and non-files: a 300-character input, output, folder and --model; escape
    sequences and a newline in names; a FIFO, a broken link and a link to a device in a folder.
    Each gets one line naming it, no traceback, and the rest of the batch goes on."""
    from PIL import Image

    env = _env(workdir)
    folder = workdir / "names"
    folder.mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(folder / "good.png")
    Image.new("RGB", (8, 8)).save(folder / "esc\x1b[2Jape.png")
    Image.new("RGB", (8, 8)).save(folder / "new\nline.png")
    os.mkfifo(folder / "pipe.png")
    (folder / "broken.png").symlink_to(folder / "nowhere.png")
    (folder / "device.png").symlink_to("/dev/zero")
    long = "L" * 300
    runs = {
        "names-folder": ([str(folder)], folder / "out"),
        "names-long-input": ([str(folder / "good.png"), str(folder / f"{long}.png")], folder / "out2"),
        "names-long-output": ([str(folder / "good.png")], folder / f"{long}"),
        "names-long-output-file": ([str(folder / "good.png")], folder / f"{long}.png"),
        "names-long-folder": ([str(folder / long / "x.png")], folder / "out3"),
    }
    for name, (inputs, out) in runs.items():
        code, _, stderr, _ = run_process([sys.executable, "-m", "drn_cli", "upscale", *inputs, "-o", str(out)],
                                         env, 120)
        report.cases += 1
        _judge_names(name, code, stderr, report)
    code, _, stderr, _ = run_process([sys.executable, "-m", "drn_cli", "upscale", str(folder / "good.png"), "-o",
                                      str(folder / "out4"), "--model", "m" * 300], env, 120)
    report.cases += 1
    _judge_names("names-long-model", code, stderr, report)
    if code != 2:
        report.add("bad-exit", "names-long-model", f"an over-long --model is a usage error (2), got {code}")


def _judge_names(name: str, code: int | None, stderr: str, report: Report) -> None:
    if code is None:
        report.add("hang", name, "no exit within the timeout")
    elif "Traceback" in stderr:
        report.add("traceback", name, stderr[stderr.index("Traceback"):][-600:])
    elif code not in (0, 1, 2):
        report.add("bad-exit", name, f"exit {code}")
    if "\x1b[2J" in stderr or "new\nline" in stderr:
        report.add("raw-name", name, "a name's control characters reached the terminal as they are")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300, help="inputs to generate (CLI and server each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--long", action="store_true", help="attribute each peak RSS over the bound to its input")
    parser.add_argument("--only", help="one case by name")
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--margin", type=float, default=MEMORY_MARGIN_MIB,
                        help="MiB over a 1x1 image's peak that any input may add (the stated bound)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", type=Path, help="write the defects here as JSON")
    args = parser.parse_args(argv)
    report = battery(args.cases, args.seed, args.only, not args.no_server, args.long, args.margin, args.keep)
    for defect in report.defects:
        print(defect.line())
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps([d.__dict__ for d in report.defects], indent=1))
    return 1 if report.defects else 0


MEMORY_MARGIN_MIB = 600  # docs/reliability.md: the stated bound over a 1x1 image's run


def battery(n: int, seed: int = 0, only: str | None = None, server: bool = True, long: bool = False,
            margin: float = MEMORY_MARGIN_MIB, keep: Path | None = None) -> Report:
    """The whole battery; a Report of what it found."""
    tic = time.monotonic()
    all_cases = cases(n, seed)
    if only:
        all_cases = [c for c in all_cases if c.name == only]
    report = Report()
    heavy = [c for c in all_cases if math.prod(declared(c.data)) > HEAVY]
    all_cases = [c for c in all_cases if c not in heavy]
    report.heavy = [c.name for c in heavy]
    with tempfile.TemporaryDirectory(prefix="drn-fuzz-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        env = _env(workdir)
        bound = baseline_peak(workdir, env) + margin
        report.peaks_mib["baseline"] = bound - margin
        (workdir / "cli").mkdir()
        fuzz_cli(all_cases, workdir / "cli", report, bound, attribute=long)
        if not only:
            fuzz_names(workdir, report)
        if server:
            fuzz_server(all_cases, workdir, report, bound)
            if not only:
                sigterm_during_a_job(workdir, report)
    report.seconds = time.monotonic() - tic
    return report
