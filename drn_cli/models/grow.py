"""Growing a trained DRN into one of twice its scale (`drn train --grow-from`).

A DRN-S x8 holds a DRN-S x4's shapes below its finest level (model.nested_prefixes), at the same
resolutions. Copying the x4's levels in starts the x8 from the x4's learned LR->4x mapping; what
the copied levels cannot use as they are is their input: the x4 fed them its own head's features
of the 4x-bicubic input, the x8 feeds them its head and first down block's features of the
8x-bicubic input. `fit_stem` fits those two small layers to make the x4 head's features, so the
copied levels see what they were trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.nn import functional as F

from .drn import DRN, nested_prefixes
from .weights import Weights


def copy_inner_levels(outer: DRN, inner: Weights) -> int:
    """Copy `inner`'s primal tensors into `outer`'s nested levels; returns how many were copied.
    Raises ValueError when the two architectures do not nest."""
    pairs = nested_prefixes(inner.config, outer.config)
    state = outer.state_dict()
    copied = 0
    for name, tensor in inner.primal.items():
        prefix = next((p for p in pairs if name.startswith(p)), None)
        if prefix is not None:
            state[pairs[prefix] + name[len(prefix):]] = tensor.float()
            copied += 1
    outer.load_state_dict(state)
    return copied


def stem_features(model: DRN, lr: torch.Tensor, depth: int) -> torch.Tensor:
    """The features `model` hands its level `depth` below the finest: (B, 3, h, w) 0..255 LR ->
    (B, C, h * scale / 2**depth, ...), as in DRN.forward (bicubic, mean shift, head, down blocks)."""
    x = F.interpolate(lr, scale_factor=model.config.scale, mode="bicubic", align_corners=False)
    x = model.head(model.sub_mean(x))
    for down in model.down[:depth]:
        x = down(x)
    return x


def fit_stem(outer: DRN, inner: DRN, lr_batches: Iterable[torch.Tensor], rate: float = 1e-3) -> float:
    """Fit `outer`'s head and first down block (Adam, MSE, fp32) so that on each LR batch (B, 3, h, w)
    in 0..255 they make the features `inner`'s head makes; returns the last batch's error relative
    to the target's energy (0 = exact)."""
    params = [*outer.head.parameters(), *outer.down[0].parameters()]
    opt = torch.optim.Adam(params, lr=rate)
    relative = float("nan")
    for lr in lr_batches:
        lr = lr.float()
        with torch.no_grad():
            target = stem_features(inner, lr, 0)
        loss = F.mse_loss(stem_features(outer, lr, 1), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        relative = loss.item() / max(target.square().mean().item(), 1e-12)
    return relative
