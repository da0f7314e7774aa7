"""The losses of dual regression (paper Sec. 3), on the official 0..255 scale.

Paired data (Eq. 1): the primal output at every pyramid level against that level of the LR
pyramid, plus lambda times each dual block's output against the level below it:

    L = sum_k d(P(x)_k, y_k) + lambda * sum_i d(D_i(P(x)_{i+1}), y_i)

Unpaired data (Eq. 2, Algorithm 1): a real LR photo x has no HR, so it gets only the dual term,
the closed loop d(D(P(x)), x); paired samples in the same batch keep Eq. 1. `d` is L1 in the
paper; L2 is what PSNR measures, so a last short stage with it can trade L1's robustness for PSNR.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}
LOOPS = ("chain", "inner")  # how the loop closes at x4/x8 on an unpaired image (docs/adaptation.md)


def dual_regression_loss(sr: list[torch.Tensor], sr2lr: list[torch.Tensor],
                         pyramid: list[torch.Tensor], dual_weight: float,
                         dual_targets: list[torch.Tensor] | None = None, loss: str = "l1",
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(primal, dual) terms of Eq. 1 with the distance LOSSES[loss]. `sr` and `pyramid` are the
    levels [LR_0, ..., HR], (B, 3, h*2^k, w*2^k); `sr2lr[i]` = dual[i](sr[i+1]). The dual blocks'
    targets are the pyramid's levels below HR unless `dual_targets` says otherwise (under the
    realistic degradation the innermost one is the deterministic LR, data.Sample)."""
    distance = LOSSES[loss]
    primal = sum(distance(out.float(), target) for out, target in zip(sr, pyramid))
    targets = pyramid[:-1] if dual_targets is None else dual_targets
    dual = sum(distance(out.float(), target) for out, target in zip(sr2lr, targets))
    return primal, dual_weight * dual


def closed_loop(sr2lr: list[torch.Tensor], loop: torch.Tensor, x: torch.Tensor, how: str) -> torch.Tensor:
    """Eq. 2's unpaired term: L1 between the LR input x (B, 3, h, w) and its closed loop: the
    whole dual chain `loop` from the final output ("chain"), or only the innermost dual block's
    output sr2lr[0] ("inner"); see models.drn.DualRegression."""
    return F.l1_loss((sr2lr[0] if how == "inner" else loop).float(), x)
