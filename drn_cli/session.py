"""The one front door: what every way in (the `drn upscale` batch, the Python API, `drn serve`)
does with a request and a picture, in one place.

A `Session` holds a checked `UpscaleRequest` and gives, per picture, the upscaler it gets (the
model for its size, --denoise auto's strength from its damage: inference.upscaler_for_picture),
checked against the rules that need the loaded model (request.check_model), and under --adapt
that model adapted to the picture (test_time.adapt_to_picture); `upscale` runs the picture path
with it and hands the heap back afterwards. A new front door (a desktop wrapper, a node in
another app) is a Session and a loop over its pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

from .inference import TileProgress, Upscaler, upscaler_for_picture
from .io import Picture
from .picture import Upscaled, upscale_picture
from .request import UpscaleRequest
from .test_time import StepProgress, adapt_to_picture


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

    def adapt(self, upscaler: Upscaler, picture: Picture, on_step: StepProgress | None = None) -> tuple[Upscaler, str | None]:
        """`upscaler`'s model adapted to `picture` under --adapt (its blend's one model: --denoise
        is 0, 1 or auto's choice), and what adapting did, in words; `upscaler` and None without
        --adapt. Nothing shared changes: the adapted model is the picture's own."""
        if not self.request.adapt_steps:
            return upscaler, None
        model = upscaler.model
        if getattr(model, "strength", None) is not None:  # a --denoise pair at S = 0 or 1: one model runs
            model = model.photo if model.strength >= 0.5 else model.clean
        adapted = adapt_to_picture(model, picture.pixels, picture.jpeg_quality, self.request.adapt_steps,
                                   on_step=on_step, lossy=picture.lossy)
        return adapted.upscaler(), adapted.text()

    def upscale(self, picture: Picture, on_tile: TileProgress | None = None,
                on_step: StepProgress | None = None) -> tuple[Upscaled, Upscaler, str | None]:
        """`picture` through its upscaler (adapted to it under --adapt, `on_step` after each
        step) and the picture path (request.run, request.output): the result, the upscaler
        that made it (its model's name, strength and reason) and what adapting did (None without
        --adapt)."""
        upscaler, adapted = self.adapt(self.upscaler(picture.size, picture), picture, on_step)
        try:
            return upscale_picture(picture, upscaler, self.request.run, self.request.output, on_tile), upscaler, adapted
        finally:
            upscaler.return_freed_memory()
