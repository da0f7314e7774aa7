"""The words of a run's progress: each event of `Trainer.emit` as one line of text.

Front ends (the CLI's display, a log file) draw these; the library itself never prints.
Events are dicts with a "type": "step" (losses, lr, patches/s, seconds_per_step, and on a CPU the cores
busy elsewhere, the rate expected alone and the threads (pace.py); with
"val_psnr" on validation steps), "skip", "save", "info" and "warning" (a "message").
"""

from __future__ import annotations

import math


def step_stats(event: dict, last_val: float | None = None) -> str:
    """"loss 1.500 (primal 1.250, dual 0.250)  lr 1.00e-04  3.5 patches/s  skipped 0  val 31.25 dB"."""
    return (f"loss {event['loss']:.3f} (primal {event['loss_primal']:.3f}, dual {event['loss_dual']:.3f})  "
            f"lr {event['lr']:.2e}  {event['patches_per_s']:.1f} patches/s{pace_note(event)}  skipped {event['skipped']}"
            + (f"  val {last_val:.2f} dB" if last_val is not None else ""))


def step_line(event: dict, last_val: float | None = None) -> str:
    """"step 10/100  loss ...  ETA 3 min": a logged step as one line, for logs without a live bar;
    the ETA from the last interval's seconds per step, or the --minutes left where sooner."""
    minutes = (event["steps"] - event["step"]) * event["seconds_per_step"] / 60 if "seconds_per_step" in event else math.inf
    minutes = min(minutes, event.get("minutes_left", math.inf))
    eta = f"  ETA {minutes:.0f} min" if minutes < math.inf else ""
    return f"step {event['step']}/{event['steps']}  {step_stats(event, last_val)}{eta}"


def event_line(event: dict) -> tuple[str, str] | None:
    """(level, text) of a non-step event or a validation step, None for plain steps and saves.
    The level says how a front end shows it: "info", "warning" or "alert" (a notice in colour)."""
    kind = event["type"]
    if kind in ("info", "warning"):
        return kind, event["message"]
    if kind == "skip":
        return "alert", f"step {event['step']}: loss exploded, batch skipped"
    if kind == "step" and "val_psnr" in event:
        return "info", f"step {event['step']}: validation PSNR {event['val_psnr']:.3f} dB (best {event['best_psnr']:.3f})"
    return None


def pace_note(event: dict) -> str:
    """"" when the interval had the CPU to itself, else e.g. " (11.2 with the CPU to itself;
    1.0 core busy elsewhere, 1 thread)"."""
    busy = event.get("busy_elsewhere", 0.0)
    if busy < 0.5:
        return ""
    expected = event.get("expected_patches_per_s")
    alone = f"{expected:.1f} with the CPU to itself; " if expected else ""
    threads = event.get("threads")
    on = f", {threads} thread{'s' * (threads != 1)}" if threads else ""
    return f" ({alone}{busy:.1f} core{'s' * (round(busy, 1) != 1)} busy elsewhere{on})"
