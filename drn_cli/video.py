"""Video: every frame through the same picture path as images, the other streams copied.

Needs PyAV (`pip install "drn-cli[video]"`), whose wheels carry FFmpeg with x264, x265, libvpx
and SVT-AV1. One video is three threads in a pipeline: a reader demuxes and decodes ahead, the
caller's thread runs the model on each frame (picture.upscale_picture, so tiling, TTA, outscale
and width/height behave as for images), and a writer encodes and muxes. Audio, subtitle and
other streams are copied packet by packet, never re-encoded; frames keep their timestamps (a
variable frame rate stays variable) and the display rotation is carried over. The output is
written to a hidden temporary file beside it and renamed when complete: a killed run leaves
nothing under the final name.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import atomic
from .errors import DrnError, InputImageError, OutputError, reason_of
from .inference import TileProgress, Upscaler
from .io import Picture, check_size
from .picture import upscale_batch
from .request import PLAIN_VIDEO, OutputSpec, RunOptions, VideoOptions

_AHEAD = 8  # decoded frames (and finished ones) waiting at most between the threads
FRAMES_PER_GPU_PASS = 4  # frames batched into one forward on a GPU, when each fits in one tile


def _av():
    try:
        import av
    except ImportError:
        raise DrnError('video needs PyAV: pip install "drn-cli[video]"') from None
    return av


class VideoInfo(NamedTuple):
    """The first video stream of a file."""

    width: int
    height: int
    frames: int        # from the container, or duration x rate where it does not say
    rate: float        # average frames per second


def probe(path: Path) -> VideoInfo:
    """The first video stream's size, frame count and rate, from the container; InputImageError
    naming the file when it is no readable video."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputImageError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context is None:  # a cut or damaged file: FFmpeg found no decoder set-up for it
                raise InputImageError(f"{path}: not a readable video (its video stream cannot be decoded)")
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            frames = stream.frames or (round(float(stream.duration * stream.time_base) * rate) if stream.duration else 0)
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, ValueError, OverflowError, ZeroDivisionError, TypeError, UnicodeDecodeError) as exc:
        raise InputImageError(f"{path}: not a readable video ({reason_of(exc)})") from None
    check_size(path, width, height)  # before a frame is decoded, as for images
    return VideoInfo(width, height, frames, rate)


def _can_hold(av, container_format: str, stream) -> bool:
    """Whether an output of `container_format` can carry a copy of `stream`. FFmpeg's codec tables
    say yes to pairs that its muxer then refuses when the header is written (Opus in .mov), and
    then the whole video would fail: so a header with that stream alone is written to memory."""
    try:
        with av.open(io.BytesIO(), "w", format=container_format) as trial:
            trial.add_stream_from_template(stream)
            trial.start_encoding()
        return True
    except (av.FFmpegError, ValueError):
        return False


def _even(pixels: np.ndarray) -> np.ndarray:
    """Crop a row or column so both sides are even: 4:2:0 chroma needs it."""
    h, w = pixels.shape[:2]
    return np.ascontiguousarray(pixels[: h - h % 2, : w - w % 2])


class _Pipe:
    """A bounded queue between two threads that also carries the first error across, and a
    stop flag for the producer when the consumer gives up."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=_AHEAD)
        self.error: BaseException | None = None
        self.stopped = False

    def put(self, item) -> None:
        self.queue.put(item)

    def __iter__(self) -> Iterator:
        while (item := self.queue.get()) is not None:
            yield item
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        """The consumer stops early: tell the producer, and take what it waits to put."""
        self.stopped = True
        while True:
            try:
                if self.queue.get(timeout=1) is None:
                    return
            except queue.Empty:
                return


def _read(container, video_stream, pipe: _Pipe) -> None:
    """Demux everything: decoded frames of the video stream, packets of the others; then None."""
    try:
        for packet in container.demux():
            if pipe.stopped:
                break
            if packet.stream is video_stream:
                for frame in packet.decode():
                    pipe.put(("frame", frame))
            elif packet.dts is not None:  # the demuxer's flush packets carry nothing
                pipe.put(("packet", packet))
    except BaseException as exc:  # noqa: BLE001 - carried to the model's thread, which raises it
        pipe.error = exc
    finally:
        pipe.put(None)


def _write(out, video_out, copies: dict, pipe: _Pipe) -> None:
    """Encode finished frames and mux copied packets in the order they come; then flush."""
    try:
        for kind, item in pipe:
            if kind == "frame":
                for packet in video_out.encode(item):
                    out.mux(packet)
            elif item.stream.index in copies:
                item.stream = copies[item.stream.index]
                out.mux(item)
        for packet in video_out.encode():
            out.mux(packet)
    except BaseException as exc:  # noqa: BLE001 - carried to the model's thread, which raises it
        pipe.error = exc
        while pipe.queue.get() is not None:  # take what the model's thread still sends
            pass


def upscale_video(source: Path, target: Path, upscaler: Upscaler, run: RunOptions, spec: OutputSpec,
                  options: VideoOptions = PLAIN_VIDEO, on_frame: TileProgress | None = None,
                  frames_per_pass: int | None = None) -> tuple[tuple[int, int], tuple[int, int], int]:
    """Upscale every frame of `source` into `target` (written whole or not at all): ((width,
    height) in, (width, height) out, frames). `on_frame(done, total)` after each model pass
    (total: the container's count, 0 where it does not say). `frames_per_pass`: frames batched
    into one model pass where they fit in one tile; default FRAMES_PER_GPU_PASS on a GPU, 1 on
    the CPU (where a batch is no faster and only delays the pipeline)."""
    av = _av()
    if frames_per_pass is None:
        frames_per_pass = FRAMES_PER_GPU_PASS if upscaler.device.type == "cuda" else 1
    info = probe(source)
    size = spec.final_size(info.width, info.height, upscaler.scale)
    size = (size[0] - size[0] % 2, size[1] - size[1] % 2)
    done = 0
    try:
        with atomic.writing(target) as part:
            with av.open(str(source)) as inp, av.open(str(part), "w") as out:
                video_in = inp.streams.video[0]
                video_out = out.add_stream(options.encoder, rate=video_in.average_rate or video_in.guessed_rate)
                video_out.width, video_out.height, video_out.pix_fmt = size[0], size[1], options.pixel_format
                video_out.codec_context.time_base = video_in.time_base  # every timestamp kept as it was
                video_out.options = {"crf": str(options.quality)}
                copies = {}
                for stream in inp.streams:
                    if stream is not video_in and _can_hold(av, out.format.name, stream):
                        copies[stream.index] = out.add_stream_from_template(stream)  # others are left out
                reading, writing = _Pipe(), _Pipe()
                reader = threading.Thread(target=_read, args=(inp, video_in, reading), daemon=True)
                writer = threading.Thread(target=_write, args=(out, video_out, copies, writing), daemon=True)
                reader.start()
                started, batch = False, []

                def flush() -> None:  # the frames waiting for the model, in one pass where they can
                    nonlocal done
                    for frame in _upscale_frames(av, batch, upscaler, run, spec, size):
                        writing.put(("frame", frame))
                    done += len(batch)
                    batch.clear()
                    if on_frame:
                        on_frame(done, info.frames)

                try:
                    for kind, item in reading:
                        if not started:
                            if kind == "frame" and item.rotation:
                                video_out.set_display_rotation(item.rotation)
                            writer.start()
                            started = True
                        if kind == "packet":  # the muxer interleaves the streams by their timestamps
                            writing.put(("packet", item))
                            continue
                        batch.append(item)
                        if len(batch) == frames_per_pass:
                            flush()
                    if batch:
                        flush()
                except BaseException:
                    reading.abandon()
                    raise
                finally:
                    if started:
                        writing.put(None)
                        writer.join()
                    reader.join(timeout=5)
                if writing.error is not None:
                    raise writing.error
            if done == 0:
                raise InputImageError(f"{source}: no frame could be decoded")
    except av.FFmpegError as exc:
        raise InputImageError(f"{source}: the video could not be read or written ({reason_of(exc)})") from None
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return (info.width, info.height), size, done


def _upscale_frames(av, frames: list, upscaler: Upscaler, run: RunOptions, spec: OutputSpec,
                    size: tuple[int, int]) -> list:
    """Decoded frames through the picture path (picture.upscale_batch: one pass for a batch where
    it fits), as RGB frames with their input timestamps."""
    pictures = [Picture(frame.to_ndarray(format="rgb24"), None, "PNG") for frame in frames]
    out = []
    for frame, picture in zip(frames, upscale_batch(pictures, upscaler, run, spec)):
        made = av.VideoFrame.from_ndarray(_even(picture.pixels)[: size[1], : size[0]], format="rgb24")
        made.pts, made.time_base = frame.pts, frame.time_base
        out.append(made)
    return out


def video_pixels(path: Path) -> int:
    """Input pixels of a whole video, frames x width x height, for sharing videos between
    torchrun ranks by work (0 when it cannot be read; the run says why)."""
    try:
        info = probe(path)
    except DrnError:
        return 0
    return info.frames * info.width * info.height

