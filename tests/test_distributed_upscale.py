"""`drn upscale` under torchrun (issue 20): two CPU processes share the work and give the same
files as one; a killed rank's work is finished by a rerun with --skip-existing; a bad image on
one rank fails the whole run. Real processes, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import photo, tiny_weights
from images import write_truncated_png
from PIL import Image

from drn_cli.models.weights import save_weights
from drn_cli.plan import Job, Plan, shard


def _env() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("DRN_DEBUG", None)
    return env


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "drn_cli", *args]


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for i, (h, w) in enumerate([(20, 24), (32, 32), (16, 40), (24, 24), (36, 20), (12, 16)]):
        Image.fromarray(photo(h, w, seed=i)).save(images / f"im{i}.png")
    model = tmp_path / "tiny.safetensors"
    save_weights(model, tiny_weights())
    return images, model


def test_shards_are_balanced_by_pixels_and_cover_every_job_once(tmp_path):
    sizes = {"a": 100, "b": 60, "c": 50, "d": 40, "e": 10}
    plan = Plan([Job(Path(n), Path(n + "_x4")) for n in sizes])
    parts = [shard(plan, rank, 2, lambda job: sizes[str(job.input)]) for rank in range(2)]
    names = [sorted(str(j.input) for j in part.jobs) for part in parts]
    assert sorted(names[0] + names[1]) == sorted(sizes)
    loads = [sum(sizes[n] for n in part) for part in names]
    assert names == [["a", "d"], ["b", "c", "e"]] and loads == [140, 120]  # largest first, to the lighter rank


def test_two_processes_give_the_same_files_as_one(folder, tmp_path):
    images, model = folder
    one = subprocess.run([sys.executable, "-m", "drn_cli", "upscale", str(images), "-o", str(tmp_path / "one"),
                          "--model", str(model), "--device", "cpu"], env=_env(), capture_output=True, text=True, check=False)
    assert one.returncode == 0, one.stderr
    two = subprocess.run(_torchrun("upscale", str(images), "-o", str(tmp_path / "two"), "--model", str(model),
                                   "--device", "cpu", "--json"), env=_env(), capture_output=True, text=True, check=False)
    assert two.returncode == 0, two.stderr
    outputs = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert outputs == sorted(p.name for p in (tmp_path / "two").iterdir()) and len(outputs) == 6
    for name in outputs:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    records = [line for line in two.stdout.splitlines() if line.startswith("{")]
    assert len(records) == 6  # each rank's JSON lines arrive whole
    assert "all 2 ranks: 6 done, 0 failed" in two.stderr


def test_a_bad_image_on_one_rank_fails_the_run(folder, tmp_path):
    images, model = folder
    write_truncated_png(images / "broken.png")
    run = subprocess.run(_torchrun("upscale", str(images), "-o", str(tmp_path / "out"), "--model", str(model),
                                   "--device", "cpu"), env=_env(), capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert "broken.png" in run.stderr and "6 done, 1 failed" in run.stderr
    assert len(list((tmp_path / "out").iterdir())) == 6


def _ranks_of(parent: int) -> dict[int, int]:
    """{rank: pid} of torchrun's worker processes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().split()
        except OSError:
            continue
        if int(stat[3]) == parent:
            for item in environ:
                if item.startswith(b"RANK="):
                    found[int(item[5:])] = int(entry.name)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find torchrun's worker processes")
def test_a_killed_rank_is_finished_by_a_rerun_with_skip_existing(folder, tmp_path):
    images, model = folder
    for i in range(6, 14):
        Image.fromarray(photo(48, 48, seed=i)).save(images / f"im{i}.png")
    out = tmp_path / "out"
    args = ("upscale", str(images), "-o", str(out), "--model", str(model), "--device", "cpu", "--tile", "8")
    first = subprocess.Popen(_torchrun(*args), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.is_dir() and any(out.iterdir())):
        time.sleep(0.05)
    ranks = _ranks_of(first.pid)
    assert 1 in ranks, "torchrun's rank 1 not found"
    os.kill(ranks[1], signal.SIGKILL)
    first.communicate(timeout=120)
    assert first.returncode != 0
    done_before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if not p.name.startswith(".")}
    assert len(done_before) < 14
    rerun = subprocess.run(_torchrun(*args, "--skip-existing"), env=_env(), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert len([p for p in out.iterdir() if not p.name.startswith(".")]) == 14
    assert all((out / name).stat().st_mtime_ns == t for name, t in done_before.items())  # not redone
