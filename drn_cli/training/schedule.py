"""The learning-rate schedule and the weights' moving average."""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn


def lr_at(step: int, lr: float, min_lr: float, warmup: int, steps: int, minutes: float | None = None,
          elapsed: float = 0.0) -> float:
    """Learning rate at `step` after `elapsed` seconds of training: linear warm-up, then cosine
    from lr down to min_lr, along `steps` or along `minutes` of training, whichever is further
    (a run on a machine lent for a fixed time still ends with its rate decayed)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    if minutes is not None:
        progress = max(progress, elapsed / (60 * minutes))
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


class MovingAverage:
    """fp32 moving averages of every floating tensor of `net` (`--ema`), started from its
    weights as they are. The decay is warmed up as min(decay, (1 + step) / (10 + step))
    (TensorFlow's ExponentialMovingAverage with num_updates), so a short run's average is not
    held back by its starting weights."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        self.net, self.decay = net, decay
        self.values = {k: v.detach().clone() for k, v in net.state_dict().items() if v.is_floating_point()}

    def update(self, step: int) -> None:
        """Move the averages toward the weights just stepped."""
        decay = min(self.decay, (1 + step) / (10 + step))
        current = self.net.state_dict()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.values.values()), [current[k] for k in self.values], 1 - decay)

    @contextlib.contextmanager
    def applied(self):
        """The network holds the averages inside this block (for validation and saving)."""
        raw = {k: v.clone() for k, v in self.net.state_dict().items()}
        self.net.load_state_dict(self.values, strict=False)
        try:
            yield
        finally:
            self.net.load_state_dict(raw)
