"""The words of `drn upscale`: a line for each Result, the plan's notes and the batch's summary.

Each line is a (level, text) pair: "info", "note" (worth less attention), "warning" or "error";
a front end styles the level and shows the text. The library never prints; these give every
front end the same words (the CLI today).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .io import ANIMATION_FORMATS
from .plan import Plan, Result, large_outputs
from .request import OutputSpec

Line = tuple[str, str]  # (level, text)


def duration(seconds: float) -> str:
    """"about 12 s", "about 4 min", "about 2.5 h", "under 1 s": the resolution an estimate deserves."""
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def plan_notes(plan: Plan) -> list[Line]:
    """What the plan left out: our own earlier outputs (plan.is_own_output), subfolders without
    -r, inputs listed twice."""
    ignored = [] if not plan.ignored else [
        ("note", f"left out {len(plan.ignored)} earlier output(s) of these inputs, e.g. {plan.ignored[0]}")]
    return ignored + [("note", note) for note in plan.notes]


def large_output_warnings(plan: Plan, scale: int, spec: OutputSpec) -> list[Line]:
    """A warning per output over plan.LARGE_OUTPUT pixels, read from the headers before any work."""
    advice = "slow on a CPU; --width or --outscale make a smaller output"
    return [("warning", f"{path} -> {w}x{h}, {w * h / 1e6:.0f} megapixels: {advice}")
            for path, (w, h) in large_outputs(plan, scale, spec)]


def openvino_note(request, device) -> list[Line]:
    """A note when the OpenVINO backend will first convert a model (a wait of seconds with nothing
    else to show); [] otherwise. `device`: the torch.device the run resolved."""
    from .device import resolve_backend
    from .models.presets import denoise_pair

    if resolve_backend(request.model_backend, device, request.precision) != "openvino":
        return []
    from .models.openvino_model import unconverted

    name = request.model_name
    names = list(denoise_pair(name) or [name]) if request.denoise is not None else [name]
    pending = unconverted(names)
    return [("note", f"OpenVINO: preparing {', '.join(pending)} once (about 10 s each; cached for later runs)")] if pending else []


def result_line(result: Result) -> Line | None:
    """The line of one finished input; None for an output that exists (the summary names those)."""
    if result.exists:
        return None
    if result.status == "error":
        return "error", result.error
    if result.status == "skipped":
        return "note", f"skipped {result.input}: {result.output} exists"
    extra = f"  loop error {result.loop_error:.2f}" if result.loop_error is not None else ""
    why = f": {result.denoise_reason}" if result.denoise_reason else ""
    if result.model:  # a named model too (an adapted run's file, say): the line says which ran
        extra += f"  {result.model}" + (f" (denoise {result.denoise:g}{why})" if result.denoise is not None else "")
    extra += f"  {result.frames} frames, {result.frames / max(result.seconds, 1e-3):.2f} frames/s" if result.frames else ""
    extra += f"; {result.adapted}" if result.adapted else ""
    line = f"{result.sizes(with_extras=True)}  {result.seconds:.1f} s{extra}"
    if result.animated:  # a still of an animation (written as JPEG, say) is worth a warning, and the way out
        keep = " (-f png or -f webp keeps them all)" if Path(result.input).suffix.lower() in ANIMATION_FORMATS else ""
        return "warning", f"{line}; the first of its {result.animated} frames only{keep}"
    return "info", line


@dataclass
class Tally:
    """Counts a batch's Results and says the summary: "3 done, 1 skipped (outputs exist), 1 failed"."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    exist: list[str] = field(default_factory=list)  # outputs not written because they exist

    def add(self, result: Result) -> None:
        self.failed += result.status == "error"
        self.skipped += result.status == "skipped"
        self.done += result.status == "ok"
        if result.exists:
            self.exist.append(result.output)

    @property
    def count(self) -> int:
        return self.done + self.skipped + self.failed

    def summary(self, counts: bool = True) -> list[Line]:
        """The closing line; with `counts` False (a lone input that failed before any work, or one
        rank's share under torchrun) only the error of an output that exists, if one did."""
        exist = self._exist_words()
        if not counts:
            return [("error", exist)] if exist else []
        text = f"{self.done} done" + (f", {self.skipped} skipped (outputs exist)" if self.skipped else "")
        return [("info", f"{text}, {self.failed} failed" + (f": {exist}" if exist else ""))]

    def _exist_words(self) -> str:
        """What to say of the outputs that exist, naming the two options; "" when none did."""
        if len(self.exist) == 1:
            return (f"{self.exist[0]} exists; --overwrite replaces it, --skip-existing skips it, --suffix NAME "
                    "writes another beside it (to compare settings)")
        if self.exist:
            return (f"{len(self.exist)} outputs exist already (e.g. {self.exist[0]}); --overwrite replaces them, "
                    "--skip-existing skips them, --suffix NAME writes others beside them (to compare settings)")
        return ""


def ranks_summary(failures: list[int], total: int) -> Line:
    """The closing line of a batch split over torchrun ranks (`failures`: each rank's count)."""
    per_rank = ", ".join(f"rank {r}: {n}" for r, n in enumerate(failures))
    return "info", f"all {len(failures)} ranks: {total - sum(failures)} done, {sum(failures)} failed ({per_rank})"


def preview_line(result: Result) -> Line:
    """The line of one input of `drn upscale --dry-run` (batch.dry_run)."""
    if result.status == "error":
        return "error", result.error
    if result.status == "skipped":
        return "note", f"would skip {result.input}: {result.output} exists"
    frames = f"{result.frames} frames, " if result.frames else ""
    tiles = f"{result.tiles} tile{'s' if result.tiles > 1 else ''}"
    return "info", f"{result.sizes(with_extras=True)}  {frames}{tiles}, {duration(result.seconds)}"


def preview_summary(results: list[Result], side: int, model_words: str, device: str, precision: str) -> list[Line]:
    """The closing lines of a dry run: what would happen, and the model time timed on one `side`px tile."""
    planned = [result for result in results if result.status == "planned"]
    pixels = sum(result.size_out[0] * result.size_out[1] for result in planned)
    skipped = sum(result.status == "skipped" for result in results)
    failed = sum(result.status == "error" for result in results)
    counts = f"{len(planned)} to upscale ({pixels / 1e6:.1f} MP out), {skipped} to skip, {failed} failed"
    lines = [("info", f"dry run with {model_words}: {counts}; nothing written")]
    if side:
        seconds = duration(sum(result.seconds for result in planned))
        timed = f"from one timed {side}px tile; decoding and encoding add to it"
        lines.append(("info", f"model time {seconds} on {device} ({precision}), {timed}"))
    return lines
