"""One upscale request for every front door (the CLI, the Python API, later ones).

`UpscaleRequest` holds what a caller asked for and checks every rule between options once, when
it is made, so that each front door refuses the same things with the same words (UsageError,
exit code 2 in the CLI) before any model loads. It splits into how the model runs (`RunOptions`:
tile, overlap, TTA) and what is made of its output (`OutputSpec`: final size, extra levels,
confidence map); `check_model` adds the rules that need the loaded model. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .device import backend_option, check_options
from .errors import DrnError, UsageError
from .io import VIDEO_SUFFIXES, image_size
from .models.presets import (
    PRESETS,
    SCALES,
    auto_models,
    denoise_pair,
    model_file,
    model_for_outscale,
    upscale_choice,
)

DEFAULT_OVERLAP = 16        # LR pixels; see docs/tiling.md for the tiled-vs-whole PSNR
MAX_FINAL_FACTOR = 16       # --outscale's limit, and the most --width/--height may enlarge an input


@dataclass(frozen=True)
class RunOptions:
    """How the model runs on one picture. tile: LR pixels, None = from free memory, 0 = whole
    image; overlap: LR pixels; tta: average the 8 flips and rotations (8x the compute;
    the upscaler's own under --adapt: Upscaler.ensemble)."""

    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    tta: bool = False


@dataclass(frozen=True)
class OutputSpec:
    """What is made of the model's output. outscale: the final scale, reached by an antialiased
    resize (None = the model's own); width/height: a final size instead, aspect kept (both: the
    largest size inside them); all_levels: also the intermediate pyramid levels; confidence: also
    the closed-loop error map (levels.py)."""

    outscale: float | None = None
    width: int | None = None
    height: int | None = None
    all_levels: bool = False
    confidence: bool = False

    @property
    def sized(self) -> bool:
        return self.width is not None or self.height is not None

    def final_only(self) -> OutputSpec:
        """This spec without the extra outputs: what a video's or an animation's frames are made
        with (the extras are for images; computing them per frame would be thrown away)."""
        return replace(self, all_levels=False, confidence=False)

    def final_size(self, width: int, height: int, scale: int) -> tuple[int, int]:
        """(width, height) of the output for a `width` x `height` input and a x`scale` model: the
        model's size, times outscale / scale, or self.width / self.height with the aspect ratio
        kept (with both, the side that binds is exact and the other rounded). A DrnError when
        that enlarges the input more than MAX_FINAL_FACTOR times."""
        if not self.sized:
            factor = scale if self.outscale is None else self.outscale
            return max(1, round(width * factor)), max(1, round(height * factor))
        fx = self.width / width if self.width else float("inf")
        fy = self.height / height if self.height else float("inf")
        if min(fx, fy) > MAX_FINAL_FACTOR:
            asked = f"--width {self.width}" if fx <= fy else f"--height {self.height}"
            raise DrnError(f"{asked} would enlarge this {width}x{height} image {min(fx, fy):.0f} times; "
                           f"at most {MAX_FINAL_FACTOR} (upscale it in two runs, or ask for less)")
        if fx <= fy:
            return self.width, max(1, round(height * fx))
        return max(1, round(width * fy)), self.height

    def tag_for(self, path: Path) -> str:
        """The size part of `path`'s output name when both --width and --height are given: the
        real size, read from the image's header ("1000x500" would lie for a square input that
        becomes 500x500); the box asked for when the header cannot be read (that input fails
        when it is decoded)."""
        try:
            return "{}x{}".format(*self.final_size(*image_size(path), 1))
        except DrnError:
            return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class OutputOptions:
    """How outputs are written: format (None = as the input), JPEG/WebP quality, and what to do
    when an output exists (error, overwrite or skip)."""

    fmt: str | None = None
    quality: int = 95
    overwrite: bool = False
    skip_existing: bool = False

    def __post_init__(self) -> None:
        if self.skip_existing and self.overwrite:
            raise UsageError("--skip-existing and --overwrite exclude each other")


# --codec: (FFmpeg encoder, default CRF); the CRFs give about the same quality on each
CODECS = {"h264": ("libx264", 18), "h265": ("libx265", 20), "vp9": ("libvpx-vp9", 31), "av1": ("libsvtav1", 30)}
_WEBM_CODECS = {"vp9", "av1"}  # what a .webm file can hold; other codecs go into .mkv


@dataclass(frozen=True)
class VideoOptions:
    """How video outputs are encoded: --codec and --crf (None: the codec's default; 0 with
    h264: lossless, in 4:4:4). `--format` keeps meaning image formats."""

    codec: str = "h264"
    crf: int | None = None

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise UsageError(f"unknown --codec {self.codec!r}; choose from {', '.join(CODECS)}")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UsageError(f"--crf must be between 0 and 63, got {self.crf}")

    @property
    def encoder(self) -> str:
        return CODECS[self.codec][0]

    @property
    def quality(self) -> int:
        return CODECS[self.codec][1] if self.crf is None else self.crf

    @property
    def pixel_format(self) -> str:
        """yuv420p, as players expect; yuv444p for lossless h264 (4:2:0 would lose chroma)."""
        return "yuv444p" if self.codec == "h264" and self.quality == 0 else "yuv420p"

    def suffix(self, path: Path) -> str:
        """The output container: the input's where it can hold the codec, else .mkv."""
        suffix = path.suffix.lower()
        if suffix == ".webm" and self.codec not in _WEBM_CODECS:
            return ".mkv"
        return suffix if suffix in VIDEO_SUFFIXES else ".mp4"


PLAIN_RUN = RunOptions()      # tiles from free memory, no TTA
PLAIN_OUTPUT = OutputSpec()   # the model's own scale, no extra outputs
PLAIN_WRITE = OutputOptions()  # the input's format, quality 95, existing outputs refused
PLAIN_VIDEO = VideoOptions()  # h264, CRF 18, yuv420p


AUTO = "auto"  # --denoise auto: each picture's strength read from its damage (degradations.estimate)

Strength = float | str | None  # S in [0, 1], AUTO, or None (nothing blended)


def parse_denoise(text: str | float | None) -> Strength:
    """--denoise's value: a strength S in [0, 1], or AUTO; UsageError otherwise."""
    if text is None or text == AUTO:
        return text
    try:
        strength = float(text)
    except ValueError:
        raise UsageError(f"--denoise takes auto or a number from 0 to 1, got {text!r}") from None
    if not 0 <= strength <= 1:
        raise UsageError(f"--denoise must be auto or between 0 and 1, got {strength:g}")
    return strength


def check_denoise(denoise: Strength, model: str | None) -> None:
    """--denoise blends the clean and the photo model of the scale: `model` must have a partner."""
    if denoise is not None and model is not None and denoise_pair(model) is None:
        raise UsageError(f"--denoise blends a clean and a photo model of one scale; {model} has no partner "
                         "(use it without --model, or with drn-s-x4 or drn-s-x4-real)")


def check_scale(scale: int | None, option: str = "--scale") -> None:
    if scale is not None and scale not in SCALES:
        raise UsageError(f"{option} must be 2, 4 or 8, got {scale}")


DEFAULT_ADAPT_STEPS = 60  # --adapt: under a minute for a 0.1 MP picture on 2 CPU cores (docs/performance.md)


@dataclass(frozen=True)
class UpscaleRequest:
    """Everything a caller may ask of one upscale; invalid combinations raise UsageError here.

    model: a preset name or weights file, None = the default photo model answering scale or
    outscale (presets.upscale_choice). denoise: S in [0, 1] blends the clean (0) and the photo
    (1) model's outputs; AUTO (the default without a model) reads S from each picture."""

    model: str | None = None
    scale: int | None = None
    outscale: float | None = None
    width: int | None = None
    height: int | None = None
    tta: bool = False
    all_levels: bool = False
    confidence: bool = False
    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    device: str = "auto"
    precision: str = "auto"
    denoise: Strength = None
    backend: str | None = None  # auto, torch or openvino; None: DRN_BACKEND, else auto (device.resolve_backend)
    adapt_steps: int = 0        # --adapt: steps of test-time adaptation per picture (test_time.py); 0: none

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", backend_option(self.backend))
        sized = self.width is not None or self.height is not None
        denoise = parse_denoise(self.denoise)
        object.__setattr__(self, "denoise", AUTO if denoise is None and self.model is None else denoise)
        check_denoise(self.denoise, self.model)
        if self.tile is not None and self.tile < 0:
            raise UsageError("--tile must be 0 (whole image) or a positive size")
        if self.overlap < 0:
            raise UsageError(f"--tile-overlap must be 0 or more, got {self.overlap}")
        if any(side is not None and side < 1 for side in (self.width, self.height)):
            raise UsageError(f"--width and --height are pixels, 1 or more; got {self.width} and {self.height}")
        if self.outscale is not None and not 0 < self.outscale <= MAX_FINAL_FACTOR:
            raise UsageError(f"--outscale must be above 0 and at most {MAX_FINAL_FACTOR}, got {self.outscale:g}")
        if self.outscale is not None and self.scale is not None:
            raise UsageError("--outscale and --scale exclude each other; --outscale picks the model's scale itself")
        if self.tta and (self.all_levels or self.confidence):
            raise UsageError("--tta cannot be combined with --all-levels or --confidence")
        if sized and (self.outscale is not None or self.scale is not None or self.all_levels):
            raise UsageError("--width/--height set the final size themselves; they exclude --scale, "
                             "--outscale and --all-levels")
        check_scale(self.scale)
        if self.all_levels and self.resize_to is not None:
            raise UsageError("--all-levels writes the model's own scales; it cannot be combined with --outscale"
                             + (f", nor with --scale {self.scale} without --model (no photo model is "
                                f"x{self.scale}: name one, e.g. --model drn-s-x{self.scale})"
                                if self.outscale is None else ""))
        check_options(self.device, self.precision, self.backend)
        if self.backend == "openvino" and (self.all_levels or self.confidence):
            raise UsageError("--all-levels and --confidence run on the torch backend (they need DRN's pyramid and "
                             "dual blocks, which the OpenVINO model leaves out); use --backend torch or auto")
        if self.adapt_steps < 0:
            raise UsageError(f"--adapt-steps must be 1 or more, got {self.adapt_steps}")
        if self.adapt_steps and isinstance(self.denoise, float) and 0 < self.denoise < 1:
            raise UsageError(f"--adapt trains one model on the picture; --denoise {self.denoise:g} blends two: "
                             "use --denoise 0, 1 or auto with --adapt")
        if self.adapt_steps and self.backend == "openvino":
            raise UsageError("--adapt trains the model, which runs on the torch backend; use --backend torch or auto")
        if self.model is not None:
            model_file(self.model)  # a name that is no preset, file or run folder: a usage error, now

    @property
    def model_name(self) -> str:
        """The preset or file that runs."""
        return upscale_choice(self.model, self.scale, self.outscale)[0]

    @property
    def resize_to(self) -> float | None:
        """The final scale when it differs from the model's (the resize after it), else None."""
        return upscale_choice(self.model, self.scale, self.outscale)[1]

    @property
    def known_scale(self) -> int | None:
        """The model's scale when its name says it (a preset), before anything loads."""
        name = self.model_name
        return PRESETS[name].scale if name in PRESETS else None

    @property
    def model_backend(self) -> str:
        """The backend models load with: torch where the outputs asked for need it (levels, the
        closed loop) or the model trains (--adapt), else `backend`."""
        return "torch" if self.all_levels or self.confidence or self.adapt_steps else self.backend

    @property
    def run(self) -> RunOptions:
        return RunOptions(self.tile, self.overlap, self.tta)

    @property
    def output(self) -> OutputSpec:
        return OutputSpec(self.resize_to, self.width, self.height, self.all_levels, self.confidence)

    def model_for(self, width: int, height: int) -> str:
        """The model for a `width` x `height` picture: `model_name`, except for --width/--height
        without --model, where the photo model whose scale fits the picture's own factor runs
        (x2 for a factor of 2 or less, where a x2 photo model is installed)."""
        if self.model is not None or not self.output.sized:
            return self.model_name
        try:
            w, h = self.output.final_size(width, height, 1)
        except DrnError:  # too large a factor: the job fails on it, naming the input
            return self.model_name
        return model_for_outscale(max(w / width, h / height))

    @property
    def model_words(self) -> str:
        """What runs, for a person: "drn-s-x4", or "drn-s-x4 or drn-s-x4-real, per picture
        (--denoise auto)", or "drn-s-x4 + drn-s-x4-real, --denoise 0.5"."""
        name = self.model_name
        strength, pair = self.strength_for(name), denoise_pair(name)
        if strength is None or pair is None:
            return name
        if strength == AUTO:
            *others, last = auto_models(name)
            return f"{', '.join(others)} or {last}, per picture (--denoise auto)"
        return f"{pair[0]} + {pair[1]}, --denoise {strength:g}"

    def strength_for(self, name: str) -> Strength:
        """The --denoise strength for model `name` (AUTO: the picture's own); None when nothing is
        blended (none asked, or no clean/photo pair of `name` installed, as at x8)."""
        return None if self.denoise is None or denoise_pair(name) is None else self.denoise

    def check_model(self, model) -> None:
        """The rules that need the loaded model (models.LoadedModel or BlendedModel): its scale,
        whether it has dual blocks, and the outputs of its pass (LoadedModel.level_scales)."""
        scale, name = model.scale, model.name
        if self.model is not None and self.scale is not None and self.scale != scale:
            raise UsageError(f"--model {self.model} is a x{scale} model, but --scale {self.scale} was given")
        if self.confidence and not model.has_dual:
            raise UsageError(f"--confidence needs a model with dual blocks (the closed loop); {name} has none "
                             "(our DRN .safetensors files have them; official primal-only checkpoints and "
                             "other architectures do not)")
        if self.adapt_steps and not model.has_dual:
            raise UsageError(f"--adapt trains the model on the picture's closed loop; {name} has no dual blocks "
                             "(our DRN .safetensors files have them)")
        if self.all_levels and len(model.level_scales) < 2:
            raise UsageError(f"--all-levels writes the pyramid levels a DRN makes in one pass; {name} makes "
                             f"its x{scale} output alone")
