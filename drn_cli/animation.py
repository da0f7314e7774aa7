"""Animated GIF, WebP and PNG: every frame through the picture path, written as an animation again.

Pillow hands out each frame whole (earlier frames and transparency already composited), so a
frame is an ordinary picture: tiles, TTA, --outscale and --width/--height behave as for images.
The output keeps each frame's duration, the loop count and the ICC profile (not in GIF, which
has none). A GIF holds at most 256 colours per frame (each frame gets its own palette), WebP is
written at --quality, PNG as APNG. Pillow's encoders take all frames at once, so the output's
frames are held in memory (MAX_BYTES). Written to a hidden file beside the target and renamed
when complete (atomic.writing): a killed run leaves nothing under the final name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import writing
from .errors import InputImageError, OutputError, reason_of
from .inference import TileProgress, Upscaler
from .io import ANIMATION_FORMATS, animation_frames, animation_header, check_encodable, to_pillow
from .picture import upscale_picture
from .request import OutputSpec, RunOptions

MAX_BYTES = 6 << 30  # the output's frames, held for the encoder (RGBA); larger: convert to a video


def upscale_animation(source: Path, target: Path, upscaler: Upscaler, run: RunOptions, spec: OutputSpec,
                      quality: int = 95, on_frame: TileProgress | None = None) -> tuple[tuple[int, int], tuple[int, int], int]:
    """Upscale every frame of the animation `source` into `target` (its suffix: GIF, WebP or PNG;
    written whole or not at all): ((width, height) in, (width, height) out, frames).
    `on_frame(done, total)` after each frame."""
    fmt = ANIMATION_FORMATS[target.suffix.lower()]
    total, size_in, loop, icc = animation_header(source)
    size_out = spec.final_size(*size_in, upscaler.scale)
    check_encodable(fmt, *size_out, source)
    if (need := total * size_out[0] * size_out[1] * 4) > MAX_BYTES:
        raise InputImageError(f"{source}: {total} frames of {size_out[0]}x{size_out[1]} need {need / 2**30:.0f} GiB "
                              f"to encode as one animation; convert it to a video (ffmpeg -i {source.name} "
                              f"{source.stem}.mp4) and upscale that, or ask for a smaller --outscale")
    frames, durations = [], []
    for k, (picture, duration) in enumerate(animation_frames(source)):
        frame = to_pillow(upscale_picture(picture, upscaler, run, spec).final)
        frames.append(_gif_frame(frame) if fmt == "GIF" else frame)
        durations.append(duration)  # ms, as the file says
        if on_frame:
            on_frame(k + 1, total)
    options = {"loop": loop} if loop is not None else {}
    options |= {"disposal": 2} if fmt == "GIF" else {}  # each frame whole: none builds on the last
    options |= {"quality": quality} if fmt == "WEBP" else {}
    options |= {"icc_profile": icc} if icc and fmt != "GIF" else {}  # colours as the input meant them
    try:
        with writing(target) as part:
            frames[0].save(part, format=fmt, save_all=True, append_images=frames[1:], duration=durations, **options)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except (ValueError, RuntimeError) as exc:  # the encoder's own refusal (Pillow's WebP, GIF)
        raise OutputError(f"{target}: cannot encode this animation ({reason_of(exc)})") from None
    return size_in, size_out, len(frames)


def _gif_frame(frame: Image.Image) -> Image.Image:
    """An L, LA, RGB or RGBA frame as a GIF frame: its colours in a palette of its own (median
    cut), and where it has pixels under half opacity, those on index 255, GIF's one transparent
    colour. (Pillow's own RGBA conversion lost the transparency of some frames.)"""
    alpha = np.asarray(frame.getchannel("A")) if frame.mode in ("LA", "RGBA") else None
    clear = None if alpha is None else alpha < 128
    if clear is None or not clear.any():
        return frame.convert("RGB").quantize(256)
    quantised = frame.convert("RGB").quantize(255)
    indices = np.asarray(quantised).copy()
    indices[clear] = 255
    out = Image.fromarray(indices, "P")
    palette = quantised.getpalette()[: 255 * 3]
    out.putpalette(palette + [0] * (768 - len(palette)))
    out.info["transparency"] = 255
    return out
