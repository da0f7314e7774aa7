"""Video (`drn upscale clip.mp4`): clips made here with PyAV, the real CLI, a tiny real model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import photo
from typer.testing import CliRunner

from drn_cli.cli import app

av = pytest.importorskip("av", reason="video needs PyAV: pip install 'drn-cli[video]'")
runner = CliRunner()
RATE = 10


def make_clip(path, frames: int = 30, size: tuple[int, int] = (64, 48), audio: bool = True, pts=None,
              rotation: int = 0) -> None:
    """`frames` frames of moving smooth texture at RATE fps (or at the timestamps `pts`, in
    1/1000 s), with a mono 440 Hz AAC track as long as the video."""
    w, h = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=RATE)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"crf": "10"}
        if pts is not None:
            video.codec_context.time_base = __import__("fractions").Fraction(1, 1000)
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=16000) if audio else None
        base = photo(h, w + frames, seed=3)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, i: i + w]), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], __import__("fractions").Fraction(1, 1000)
            else:
                frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            t = np.arange(int(16000 * frames / RATE)) / 16000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for k in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, k: k + 1024]), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, k
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)


def frames_of(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / mse)


def test_a_clip_keeps_its_frames_rate_and_sound_and_each_frame_is_the_image_path(tmp_path, tiny_model_file):
    clip = tmp_path / "clip.mp4"
    make_clip(clip)
    result = runner.invoke(app, ["upscale", str(clip), "--model", str(tiny_model_file), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "clip_x4.mp4"
    assert '"frames": 30' in result.stdout and out.is_file()
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]
    with av.open(str(out)) as container, av.open(str(clip)) as source:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (256, 192)
        assert video.average_rate == RATE and sound.codec_context.name == "aac"
        src_sound = source.streams.audio[0]
        assert abs(float(sound.duration * sound.time_base) - float(src_sound.duration * src_sound.time_base)) <= 1 / RATE
    got = frames_of(out)
    assert len(got) == 30
    # The same decoded input frame through drn upscale as an image: within the encoder's loss.
    from PIL import Image

    frame = frames_of(clip)[7]
    Image.fromarray(frame).save(tmp_path / "f.png")
    assert runner.invoke(app, ["upscale", str(tmp_path / "f.png"), "--model", str(tiny_model_file), "--device", "cpu"]).exit_code == 0
    still = np.asarray(Image.open(tmp_path / "f_x4.png"))
    assert psnr(got[7], still) >= 30
    lossless = runner.invoke(app, ["upscale", str(clip), "--model", str(tiny_model_file), "--device", "cpu",
                                   "--crf", "0", "-o", str(tmp_path / "lossless")])
    assert lossless.exit_code == 0, lossless.output
    assert psnr(frames_of(tmp_path / "lossless" / "clip_x4.mp4")[7], still) >= 45


def test_timestamps_and_rotation_are_kept(tmp_path, tiny_model_file):
    pts = [0, 100, 150, 400, 420, 700, 1000, 1010]  # variable frame rate, in ms
    clip = tmp_path / "vfr.mkv"
    make_clip(clip, frames=len(pts), audio=False, pts=pts, rotation=90)
    result = runner.invoke(app, ["upscale", str(clip), "--model", str(tiny_model_file), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    with av.open(str(tmp_path / "vfr_x4.mkv")) as container:
        frames = list(container.decode(video=0))
        seconds = [float(f.pts * f.time_base) for f in frames]
        assert seconds == pytest.approx([p / 1000 for p in pts], abs=1e-3)
        assert frames[0].rotation == 90


def test_a_broken_video_is_one_line_and_the_batch_goes_on(tmp_path, tiny_model_file):
    (tmp_path / "x.mp4").write_text("not a video at all\n")
    make_clip(tmp_path / "ok.mp4", frames=4, audio=False)
    result = runner.invoke(app, ["upscale", str(tmp_path / "x.mp4"), str(tmp_path / "ok.mp4"),
                                 "--model", str(tiny_model_file), "--device", "cpu"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "x.mp4" in line]
    assert len(errors) == 1 and "not a readable video" in errors[0] and "Traceback" not in result.output
    assert (tmp_path / "ok_x4.mp4").is_file() and not (tmp_path / "x_x4.mp4").exists()


def test_a_video_is_recognised_by_content_and_dry_run_counts_frames(tmp_path, tiny_model_file):
    make_clip(tmp_path / "clip.mp4", frames=6, audio=False)
    os.replace(tmp_path / "clip.mp4", tmp_path / "clip.bin")  # no video suffix: read by content
    result = runner.invoke(app, ["upscale", str(tmp_path / "clip.bin"), "--model", str(tiny_model_file),
                                 "--device", "cpu", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "clip_x4.mp4" in result.stderr and "6 frames" in result.stderr and "256x192" in result.stderr
    assert not (tmp_path / "clip_x4.mp4").exists()


def test_a_run_killed_part_way_leaves_nothing_under_the_final_name(tmp_path, tiny_model_file):
    clip = tmp_path / "long.mp4"
    make_clip(clip, frames=400, size=(96, 64), audio=False)
    process = subprocess.Popen([sys.executable, "-m", "drn_cli", "upscale", str(clip), "--model", str(tiny_model_file),
                                "--device", "cpu", "--tta"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".long_x4.mp4.*.part.mp4")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)  # atomic.writing's hidden part file beside the output
    assert list(tmp_path.glob(".long_x4.mp4.*.part.mp4")), "the run never started writing"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "long_x4.mp4").exists()


def test_frames_batched_in_one_pass_match_frames_one_by_one(tmp_path, tiny_model_file):
    """A GPU runs FRAMES_PER_GPU_PASS frames per forward (picture.upscale_batch); forced here on
    the CPU, the video is the one-frame-at-a-time video (a level of rounding apart at most)."""
    from drn_cli.inference import load_upscaler
    from drn_cli.request import OutputSpec, RunOptions, VideoOptions
    from drn_cli.video import upscale_video

    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=6, audio=False)
    upscaler = load_upscaler(str(tiny_model_file), "cpu", "fp32")
    for n in (1, 4):
        upscale_video(clip, tmp_path / f"b{n}.mkv", upscaler, RunOptions(), OutputSpec(),
                      VideoOptions(crf=0), frames_per_pass=n)
    one, batched = frames_of(tmp_path / "b1.mkv"), frames_of(tmp_path / "b4.mkv")
    assert len(one) == len(batched) == 6
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(one, batched))


def test_without_a_model_a_video_gets_the_photo_model(tmp_path, shipped_tiny):
    """--denoise auto reads no JPEG tables in a video; its codec's blocks are the photo model's work."""
    make_clip(tmp_path / "clip.mp4", frames=3, audio=False)
    result = runner.invoke(app, ["upscale", str(tmp_path / "clip.mp4"), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["model"], record["denoise"], record["denoise_reason"], record["frames"]) == ("drn-s-x4-real", 1, "a video", 3)
