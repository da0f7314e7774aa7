import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.errors import UsageError
from drn_cli.models.weights import resolve_model
from drn_cli.training.losses import dual_regression_loss
from drn_cli.training.run_folder import resume_run, start_run
from drn_cli.training.schedule import lr_at as schedule_lr_at
from drn_cli.training.trainer import TrainConfig


def lr_at(step, config, elapsed=0.0):
    return schedule_lr_at(step, config.lr, config.min_lr, config.warmup, config.steps, config.minutes, elapsed)

TINY = ["--scale", "4", "--n-blocks", "1", "--n-feats", "8", "--batch-size", "2",
        "--patch-size", "32", "--precision", "fp32", "--device", "cpu"]


@pytest.fixture
def hr_folder(tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo(48, 56, seed=i)).save(folder / f"img{i}.png")
    Image.fromarray(photo(12, 12)).save(folder / "too_small.png")
    return folder


def test_train_writes_run_folder_and_loadable_weights(hr_folder, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "4",
                                      "--save-every", "2", "--log-every", "1", "--val", str(hr_folder),
                                      "--val-every", "2", *TINY])
    assert result.exit_code == 0, result.output
    assert "skipped 1 image" in result.stderr
    assert re.search(r"^step 2/4  loss [\d.]+ .* ETA \d+ min$", result.stderr, re.MULTILINE), result.stderr  # a log, no bar
    config = json.loads((out / "config.json").read_text())
    assert config["steps"] == 4 and config["model"] == {"scale": 4, "n_blocks": 1, "n_feats": 8}
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert all({"loss", "loss_primal", "loss_dual", "lr", "patches_per_s"} <= r.keys() for r in steps)
    assert any("val_psnr" in r for r in records)
    weights = resolve_model(out / "model.safetensors")
    assert weights.provenance["steps"] == 4 and len(weights.dual) == 2
    assert (out / "best.safetensors").is_file() and (out / "checkpoint.pt").is_file()
    # The weights work with the other commands.
    Image.fromarray(photo(10, 12)).save(tmp_path / "x.png")
    up = CliRunner().invoke(app, ["upscale", str(tmp_path / "x.png"), "--model", str(out / "model.safetensors")])
    assert up.exit_code == 0, up.output


def test_unreadable_training_images_are_skipped_and_named(hr_folder, tmp_path):
    (hr_folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "1", *TINY])
    assert result.exit_code == 0, result.output
    assert "skipped 1 unreadable image(s)" in result.stderr and "broken.png" in result.stderr
    assert resolve_model(out / "model.safetensors").provenance["steps"] == 1


def test_a_folder_of_unreadable_images_is_one_line(tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        (folder / name).write_bytes(b"not an image")
    result = CliRunner().invoke(app, ["train", "--data", str(folder), "--out", str(tmp_path / "run"), "--steps", "1", *TINY])
    assert result.exit_code == 1 and "none of the 2 images" in result.output and "a.png" in result.output
    assert "Traceback" not in result.output



@pytest.mark.parametrize("command", ["train", "finetune-unpaired"])
def test_a_folder_without_images_says_what_counts_as_one(tmp_path, tiny_model_file, command):
    folder = tmp_path / "pictures"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "notes.txt").write_text("not a picture")
    args = (["--data", str(folder), *TINY] if command == "train"
            else [str(folder), "--model", str(tiny_model_file), "--batch-size", "4", "--device", "cpu"])
    result = CliRunner().invoke(app, [command, *args, "--out", str(tmp_path / "run"), "--steps", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line, = result.stderr.strip().splitlines()
    assert str(folder) in line and "subfolders" in line and ".png" in line and ".jpg" in line
    assert not (tmp_path / "run").exists()

def test_data_that_cannot_train_leaves_no_run_folder(hr_folder, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "1",
                                      *TINY, "--patch-size", "256"])  # the last --patch-size counts
    assert result.exit_code == 1 and "no training image is at least 256x256 pixels (4 smaller)" in result.stderr
    assert not out.exists()  # so the same command with a smaller patch starts afresh
    again = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "1", *TINY])
    assert again.exit_code == 0, again.output
    assert "3 training images" in again.stderr


def test_refuses_existing_run_folder(hr_folder, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "file").write_text("x")
    result = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(tmp_path / "run"), *TINY])
    assert result.exit_code == 1 and "--resume" in result.stderr


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_continues_exactly(hr_folder, tmp_path, ema):
    """Training 6 steps straight equals 3 steps, a fresh Trainer from the checkpoint, then 3 more
    (with --ema, the saved moving average too)."""
    base = {"data": [str(hr_folder)], "model": {"scale": 4, "n_blocks": 1, "n_feats": 8}, "steps": 6,
            "batch_size": 2, "patch_size": 32, "save_every": 3, "precision": "fp32", "device": "cpu", "ema": ema}
    straight = start_run(TrainConfig(out=str(tmp_path / "a"), **base))
    straight.run()
    split = start_run(TrainConfig(out=str(tmp_path / "b"), **base))
    split.run(until=3)
    resumed = resume_run(tmp_path / "b")
    assert resumed.step == 3
    resumed.run()
    for key, value in straight.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[key], value, msg=key)
    saved = [resolve_model(tmp_path / run / "model.safetensors").primal for run in ("a", "b")]
    for key, value in saved[0].items():
        torch.testing.assert_close(saved[1][key], value, msg=key)


def test_ema_is_what_is_validated_and_saved(hr_folder, tmp_path):
    """--ema: the saved model is the moving average, not the last step's weights, which training
    keeps; the average moves by 1 - min(decay, (1 + step) / (10 + step)) per step."""
    config = TrainConfig(data=[str(hr_folder)], out=str(tmp_path / "run"), model={"scale": 4, "n_blocks": 1, "n_feats": 8},
                         steps=4, batch_size=2, patch_size=32, precision="fp32", device="cpu", ema=0.9,
                         val=[str(p) for p in sorted(hr_folder.glob("img*.png"))], val_every=4)
    trainer = start_run(config)
    trainer.run()
    raw = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    saved = resolve_model(tmp_path / "run" / "model.safetensors").primal
    checkpoint = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    weight, name = "primal.head.weight", "head.weight"  # a trained tensor
    torch.testing.assert_close(saved[name], trainer.ema.values[weight])
    assert not torch.equal(saved[name], raw[weight])  # the average, not the last weights
    torch.testing.assert_close(checkpoint["net"][weight], raw[weight])  # training goes on from its own
    assert (tmp_path / "run" / "best.safetensors").is_file()
    with trainer.averaged():
        torch.testing.assert_close(trainer.net.state_dict()[weight], trainer.ema.values[weight])
    torch.testing.assert_close(trainer.net.state_dict()[weight], raw[weight])  # put back after the block

    for step, moved in ((0, 0.9), (1000, 0.1)):
        trainer.ema.values = {k: torch.zeros_like(v) for k, v in trainer.ema.values.items()}
        trainer.ema.update(step)
        torch.testing.assert_close(trainer.ema.values[weight], moved * raw[weight])


def test_a_logged_step_says_its_eta_from_the_step_time_or_the_minutes_left():
    from drn_cli.training.events import step_line

    event = {"type": "step", "step": 10, "steps": 100, "loss": 1.0, "loss_primal": 0.9, "loss_dual": 1.0,
             "lr": 1e-4, "patches_per_s": 3.0, "skipped": 0, "seconds_per_step": 6.0}
    assert step_line(event).endswith("ETA 9 min") and step_line(event).startswith("step 10/100  loss 1.000")
    assert step_line({**event, "minutes_left": 2.0}).endswith("ETA 2 min")
    assert "ETA" not in step_line({k: v for k, v in event.items() if k != "seconds_per_step"})


def test_a_slow_interval_says_the_cores_busy_elsewhere_and_the_rate_alone():
    from drn_cli.training.events import step_stats

    event = {"type": "step", "step": 10, "steps": 100, "loss": 1.0, "loss_primal": 0.9, "loss_dual": 1.0,
             "lr": 1e-4, "patches_per_s": 3.0, "skipped": 0}
    assert "busy" not in step_stats({**event, "busy_elsewhere": 0.2})
    assert "3.0 patches/s (11.5 with the CPU to itself; 1.0 core busy elsewhere, 1 thread)" in step_stats(
        {**event, "busy_elsewhere": 1.0, "expected_patches_per_s": 11.5, "threads": 1})
    assert "3.0 patches/s (1.6 cores busy elsewhere, 2 threads)" in step_stats({**event, "busy_elsewhere": 1.6, "threads": 2})


def test_a_run_beside_a_busy_process_sees_it_and_trains_on_the_free_core(hr_folder, tmp_path, monkeypatch):
    """Another process keeps a core busy: each logged step says so, the run drops to one thread
    per free core (two threads on two cores, one shared, ran up to 10x slower), gives the threads
    back at its end, and its last line says where its time went."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores to leave one out")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    events = []
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        trainer = start_run(TrainConfig(data=[str(hr_folder)], out=str(tmp_path / "run"), steps=6, log_every=2,
                                        model={"scale": 4, "n_blocks": 1, "n_feats": 8}, batch_size=2,
                                        patch_size=32, precision="fp32", device="cpu"), events.append)
        trainer.train()
    finally:
        hog.kill()
        hog.wait()
    steps = [e for e in events if e["type"] == "step"]
    assert all(e["busy_elsewhere"] >= 0.5 for e in steps), steps
    assert all(e["threads"] <= (os.cpu_count() or 1) - 1 for e in steps), steps
    assert torch.get_num_threads() == before
    said = [e["message"] for e in events if e["type"] == "info"]
    assert re.search(r"^time: preparing the data \d+ s, the held-out measure \d+ s, training \d+ s "
                     r"\(\d+% of training waiting for batches\)$", said[-2], re.MULTILINE), said


def test_cpu_share_counts_other_processes_not_this_one():
    """This process busy on a core adds nothing to the cores busy elsewhere (whatever else runs)."""
    from drn_cli.device import CpuShare, busy_cores

    others = busy_cores(0.4)  # measured with this process asleep
    share = CpuShare()
    end = time.perf_counter() + 0.4
    while time.perf_counter() < end:  # this process busy on one core
        pass
    assert share.elsewhere() < others + 0.6


def test_a_runs_quiet_rate_is_remembered_for_the_next_run_of_its_kind(tmp_path):
    """A run slowed from its first step still says what to expect: the rate an earlier run of the
    same workload made with the CPU to itself (kept in the user cache; a damaged file is ignored)."""
    from drn_cli.download import cache_root
    from drn_cli.training.pace import Pace

    cpu = torch.device("cpu")
    with Pace(cpu, follow_free_cores=False, workload="drn x4 batch 8") as first:
        first.quiet_rates.extend([4.0, 5.0, 6.0])  # three intervals with the CPU to itself
    assert Pace(cpu, False, "drn x4 batch 8").expected() == 5.0
    assert Pace(cpu, False, "drn x4 batch 16").expected() is None and Pace(cpu, False).expected() is None
    (cache_root() / "pace.json").write_text("{not json")
    assert Pace(cpu, False, "drn x4 batch 8").expected() is None


def test_ema_decay_must_be_below_one():
    with pytest.raises(UsageError, match="--ema"):
        TrainConfig(data=[], out="", ema=1.0)


def test_loss_l2_squares_the_distances_of_eq_1():
    lr, hr = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 4, 4), 10.0)
    sr, sr2lr = [lr + 1, hr - 3], [lr - 2]      # off by 1 and 3 (primal), 2 (dual)
    assert [float(v) for v in dual_regression_loss(sr, sr2lr, [lr, hr], 0.5)] == [1 + 3, 0.5 * 2]
    assert [float(v) for v in dual_regression_loss(sr, sr2lr, [lr, hr], 0.5, loss="l2")] == [1 + 9, 0.5 * 4]
    with pytest.raises(UsageError, match="--loss must be one of l1, l2"):
        TrainConfig(data=[], out="", loss="l3")


def test_train_with_loss_l2_records_it(hr_folder, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "2",
                                      "--loss", "l2", *TINY])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["loss"] == "l2"


def test_lr_schedule_warms_up_and_decays():
    config = TrainConfig(data=[], out="", steps=100, lr=1e-3, min_lr=1e-6, warmup=10)
    assert lr_at(0, config) == pytest.approx(1e-4)
    assert lr_at(10, config) == pytest.approx(1e-3)
    assert lr_at(100, config) == pytest.approx(1e-6)
    assert lr_at(55, config) == pytest.approx((1e-3 + 1e-6) / 2)


def test_lr_schedule_follows_the_minutes_when_they_run_out_first():
    config = TrainConfig(data=[], out="", steps=100, lr=1e-3, min_lr=1e-6, minutes=1.0)
    middle = (1e-3 + 1e-6) / 2
    assert lr_at(10, config, elapsed=30.0) == pytest.approx(middle)   # half the time, a tenth of the steps
    assert lr_at(50, config, elapsed=6.0) == pytest.approx(middle)    # half the steps, a tenth of the time
    assert lr_at(10, config, elapsed=90.0) == pytest.approx(1e-6)


def test_minutes_end_the_run_then_resume_extends_them(hr_folder, tmp_path):
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "100000",
                                     "--minutes", "0.003", "--log-every", "2", "--save-every", "1000",
                                     "--val", str(hr_folder), "--val-every", "1000", *TINY])
    assert first.exit_code == 0, first.output
    assert "or 0.003 minutes of training" in first.stderr
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    stopped = state["step"]
    assert 2 <= stopped < 100000 and stopped % 2 == 0 and state["elapsed"] >= 0.18
    assert resolve_model(out / "model.safetensors").provenance["steps"] == stopped
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == stopped and "val_psnr" in records[-1]  # the last step is validated
    spent = CliRunner().invoke(app, ["train", "--resume", str(out)])
    assert spent.exit_code == 1 and "pass a larger --minutes" in spent.stderr
    budget = round(state["elapsed"] / 60 + 0.003, 4)  # however long the first part took on this machine
    more = CliRunner().invoke(app, ["train", "--resume", str(out), "--minutes", str(budget)])
    assert more.exit_code == 0, more.output
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] > stopped
    assert json.loads((out / "config.json").read_text())["minutes"] == budget


def _drn(*args, env=None):
    return [sys.executable, "-m", "drn_cli", *args]


def test_a_damaged_checkpoint_is_one_line_that_says_how_to_go_on(hr_folder, tmp_path):
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "2",
                                     "--save-every", "1", *TINY])
    assert first.exit_code == 0, first.output
    checkpoint = out / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])  # cut short, as by a broken copy
    result = CliRunner().invoke(app, ["train", "--resume", str(out), "--steps", "4"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "checkpoint.pt: cannot be read" in result.stderr and f"--init {out / 'model.safetensors'}" in result.stderr


def test_resume_drops_the_metrics_logged_after_the_checkpoint(hr_folder, tmp_path):
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["train", "--data", str(hr_folder), "--out", str(out), "--steps", "4",
                                     "--save-every", "2", "--log-every", "1", *TINY])
    assert first.exit_code == 0, first.output
    metrics = out / "metrics.jsonl"
    # what a run killed after step 4's save would have left: steps 5 and 6 logged, the last line cut
    with metrics.open("a") as f:
        f.write(json.dumps({"step": 5, "loss": 1.0}) + "\n" + json.dumps({"step": 6, "loss": 1.0})[:9])
    more = CliRunner().invoke(app, ["train", "--resume", str(out), "--steps", "6"])
    assert more.exit_code == 0, more.output
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[4]["loss"] != 1.0  # step 5 is the resumed run's record

def test_kill_9_then_resume(hr_folder, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_drn("train", "--data", str(hr_folder), "--out", str(out), "--steps", "400",
                                 "--save-every", "5", *TINY), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint.pt").exists(), "no checkpoint was written before the kill"
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    killed_at = state["step"]
    assert 5 <= killed_at < 400
    done = subprocess.run(_drn("train", "--resume", str(out), "--steps", str(killed_at + 3)),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f"from step {killed_at} to {killed_at + 3}" in done.stderr
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == killed_at + 3
    assert json.loads((out / "config.json").read_text())["steps"] == killed_at + 3


def test_ddp_two_cpu_processes(hr_folder, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "drn_cli", "train", "--data", str(hr_folder), "--out", str(out), "--steps", "3",
           "--save-every", "3", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["step"] for line in lines})  # only rank 0 wrote
    assert json.loads(lines[-1])["patches_per_s"] > 0


def test_ddp_ranks_stop_together_on_minutes(hr_folder, tmp_path):
    """With --minutes each rank has its own clock; they agree every --log-every steps, so both
    stop at the same step and the run ends (a rank stopping alone would hang the other)."""
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29518",
           "-m", "drn_cli", "train", "--data", str(hr_folder), "--out", str(out), "--steps", "100000",
           "--minutes", "0.005", "--log-every", "2", "--save-every", "1000", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert 2 <= state["step"] < 100000 and state["step"] % 2 == 0 and state["elapsed"] >= 0.3


def _step_event(step: int, **extra) -> dict:
    return {"type": "step", "step": step, "steps": 10, "loss": 1.5, "loss_primal": 1.25,
            "loss_dual": 0.25, "lr": 1e-4, "patches_per_s": 3.5, "skipped": 0, **extra}


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_display_shows_step_losses_speed_and_validation(monkeypatch, terminal):
    """A live bar on a terminal, plain lines in a log file; both carry the same facts."""
    import io

    from rich.console import Console

    from drn_cli.cli import train, ui

    buffer = io.StringIO()
    monkeypatch.setattr(ui, "err", Console(file=buffer, force_terminal=terminal, width=200, color_system=None))
    with train.TrainDisplay() as display:
        display(_step_event(4))
        display(_step_event(5, val_psnr=31.25, best_psnr=31.25))
        display(_step_event(5))
    text = buffer.getvalue()
    assert "5/10" in text and "loss 1.500 (primal 1.250, dual 0.250)" in text
    assert "3.5 patches/s" in text and "val 31.25 dB" in text
    assert ("━" in text) == terminal  # the bar is drawn only on a terminal


@pytest.mark.parametrize("scale", [2, 4])
def test_device_patches_cut_the_same_samples_as_the_dataset(scale):
    """The bicubic batches cut from pyramids held on the device (data.DevicePatches) are the
    DataLoader's collated PairedPatches samples, draw for draw, flips and transposes included."""
    from drn_cli.training.data import DevicePatches, PairedPatches, PatchSpec, lr_pyramid

    pyramids = [lr_pyramid(photo(h, w, seed=h), scale) for h, w in ((48, 64), (64, 40), (72, 72))]
    spec = PatchSpec(scale, 8 * scale, seed=3)
    pyramids[0][-1].flags.writeable = False  # as decoded images can be
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on read-only arrays; users must not see it
        device = DevicePatches(pyramids, spec, torch.device("cpu"))
    dataset = PairedPatches(pyramids, spec, 1 << 20)
    indices = range(40, 72)
    batch = device.batch(indices)
    loaded = next(iter(torch.utils.data.DataLoader(dataset, batch_size=len(indices), sampler=indices)))
    assert len({tuple(dataset.locate(i)[4]) for i in indices}) > 4  # several flip patterns were drawn
    for got, want in zip(batch.pyramid, loaded.pyramid, strict=True):
        assert torch.equal(got, want)
    assert batch.lr is batch.pyramid[0] and torch.equal(loaded.lr, batch.lr)


def test_realistic_batches_are_the_same_from_loader_processes(hr_folder):
    """`--workers N` only moves the realistic samples' making into N processes (each with OpenCV on
    one thread): the batches are those made in this process, draw for draw."""
    import cv2

    from drn_cli.training.data import single_threaded_opencv
    from drn_cli.training.paired import PairedTask
    from drn_cli.training.trainer import Trainer

    def batches(workers: int) -> list:
        config = TrainConfig(data=[str(hr_folder)], out="", model={"scale": 4, "n_blocks": 1, "n_feats": 8},
                             batch_size=2, patch_size=32, steps=3, degradation="real", device="cpu",
                             precision="fp32", workers=workers)
        return list(Trainer(config, PairedTask).task.batches(0, 3))

    here, spawned = batches(0), batches(2)
    assert len(here) == len(spawned) == 3
    for a, b in zip(here, spawned, strict=True):
        assert torch.equal(a.lr, b.lr) and torch.equal(a.dual_lr, b.dual_lr)
        assert all(torch.equal(x, y) for x, y in zip(a.pyramid, b.pyramid, strict=True))
    # Workers forked inside single_threaded_opencv run OpenCV on one thread; this process gets
    # its own count back.
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        cv2.resize(np.zeros((512, 512, 3), np.uint8), (256, 256), interpolation=cv2.INTER_AREA)  # a live pool
        loader = torch.utils.data.DataLoader(_OpenCvThreads(), batch_size=1, num_workers=2)
        with single_threaded_opencv():
            stream = iter(loader)
        assert cv2.getNumThreads() == 2
        assert [int(x) for x in stream] == [1, 1, 1, 1]
    finally:
        cv2.setNumThreads(threads)


class _OpenCvThreads(torch.utils.data.Dataset):
    """Four items: the OpenCV thread count of the process that makes each."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        import cv2

        return cv2.getNumThreads()
