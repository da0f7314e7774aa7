"""The one front door: what every way in (the `drn upscale` batch, the Python API, `drn serve`)
does with a request and a picture, in one place.

A `Session` holds a checked `UpscaleRequest` and gives, per picture, the upscaler it gets (the
model for its size, --denoise auto's strength from its damage: inference.upscaler_for_picture),
checked against the rules that need the loaded model (request.check_model); `upscale` runs the
picture path with it and hands the heap back afterwards. A new front door (a desktop wrapper, a
node in another app) is a Session and a loop over its pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

from .inference import TileProgress, Upscaler, upscaler_for_picture
from .io import Picture
from .picture import Upscaled, upscale_picture
from .request import UpscaleRequest


@dataclass(frozen=True)
class Session:
    """`request`'s upscaling on `device` (None: the request's own), `compile` through torch.compile."""

    request: UpscaleRequest
    device: str | None = None
    compile: bool = False

    def upscaler(self, size: tuple[int, int] | None = None, picture: Picture | None = None) -> Upscaler:
        """The checked Upscaler for a picture of (width, height) `size` (read for its damage under
        --denoise auto); without a size, the request's own model (before any picture is read,
        and for videos)."""
        upscaler = upscaler_for_picture(self.request, size, picture, self.device, self.compile)
        self.request.check_model(upscaler.model)
        return upscaler

    def upscale(self, picture: Picture, on_tile: TileProgress | None = None) -> tuple[Upscaled, Upscaler]:
        """`picture` through its upscaler and the picture path (request.run, request.output):
        the result and the upscaler that made it (its model's name, strength and reason)."""
        upscaler = self.upscaler(picture.size, picture)
        try:
            return upscale_picture(picture, upscaler, self.request.run, self.request.output, on_tile), upscaler
        finally:
            upscaler.return_freed_memory()
