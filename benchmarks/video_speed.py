"""Video frames/s of `drn upscale clip.mp4` against the same frames upscaled one by one as images.

A clip of --frames frames of --size input (moving texture, with an AAC track) is made in a
temporary folder; each model then upscales it whole (video.upscale_video: decode ahead, model,
encode, pipelined) and, as the baseline in the same run, frame by frame through the picture path
alone (no decoding, encoding or muxing). The ratio shows what the video path costs around the model.

    python3 -m benchmarks.video_speed --models drn-s-x2,drn-s-x4-real --size 320x240 --frames 10
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from drn_cli.inference import load_upscaler
from drn_cli.io import Picture
from drn_cli.picture import upscale_picture
from drn_cli.request import OutputSpec, RunOptions
from drn_cli.video import upscale_video


def make_clip(path: Path, frames: int, width: int, height: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = (rng.random((height, width + frames, 3)) * 255).astype(np.uint8)
    pictures = []
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=16000)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(base[:, i: i + width]), format="rgb24")
            frame.pts = i
            pictures.append(frame.to_ndarray(format="rgb24"))
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        samples = np.zeros((1, 16000 * frames // 25), np.float32)
        chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 16000, 0
        for packet in [*sound.encode(chunk), *sound.encode()]:
            out.mux(packet)
    return pictures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="drn-s-x2,drn-s-x4-real")
    parser.add_argument("--size", default="320x240", help="input WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        frames = make_clip(clip, args.frames, width, height)
        print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
              f"PyAV {av.__version__}; {args.frames} frames of {width}x{height}")
        print("| model | scale | frames one by one (picture path) fps | drn upscale clip.mp4 fps | ratio |")
        print("|---|---|---|---|---|")
        for name in args.models.split(","):
            upscaler = load_upscaler(name, args.device)
            run, spec = RunOptions(), OutputSpec()
            upscale_picture(Picture(frames[0], None, "PNG"), upscaler, run, spec)  # warm-up
            tic = time.perf_counter()
            for pixels in frames:
                upscale_picture(Picture(pixels, None, "PNG"), upscaler, run, spec)
            alone = len(frames) / (time.perf_counter() - tic)
            tic = time.perf_counter()
            upscale_video(clip, Path(tmp) / f"out_{name}.mp4", upscaler, run, spec)
            whole = len(frames) / (time.perf_counter() - tic)
            print(f"| {name} | x{upscaler.scale} | {alone:.3f} | {whole:.3f} | {whole / alone:.2f} |", flush=True)


if __name__ == "__main__":
    main()
