"""`--denoise S`: a clean model and a photo model of one architecture and scale, their outputs
blended as (1 - S) * clean + S * photo.

drn-s-x4 keeps fine texture but sharpens noise and JPEG blocks; drn-s-x4-real removes them and
smooths texture. Their outputs, not their weights, are blended: drn-s-x4-real was fine-tuned from
an earlier drn-s-x4 than the shipped one, so the two files do not share the basin that weight
interpolation needs. S = 0 runs the clean model alone and S = 1 the photo model alone (their
outputs exactly); between them both run, so a blend costs two passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .loaded import LoadedModel


@dataclass(eq=False)
class BlendedModel:
    """The LoadedModel interface over two models of one scale (see the module doc)."""

    clean: LoadedModel
    photo: LoadedModel
    strength: float   # S in [0, 1]: 0 = the clean model, 1 = the photo model
    reason: str | None = None  # why this S, where --denoise auto chose it (estimate.Reading)
    # the photo model's, as LoadedModel has them (the two share scale, device and precision)
    scale: int = field(init=False)
    device: torch.device = field(init=False)
    dtype: torch.dtype = field(init=False)
    precision: str = field(init=False)
    has_dual: bool = field(init=False)
    level_scales: tuple[int, ...] = field(init=False)
    context: int = field(init=False)

    def __post_init__(self) -> None:
        if self.clean.scale != self.photo.scale:
            raise ValueError(f"cannot blend a x{self.clean.scale} and a x{self.photo.scale} model")
        p = self.photo
        self.scale, self.device, self.dtype, self.precision, self.has_dual = p.scale, p.device, p.dtype, p.precision, p.has_dual
        self.level_scales, self.context = p.level_scales, max(p.context, self.clean.context)

    def bytes_per_lr_pixel(self, device_type: str) -> int:
        return self.photo.bytes_per_lr_pixel(device_type)

    @property
    def name(self) -> str:
        if self.strength in (0, 1):
            return (self.clean if self.strength == 0 else self.photo).name
        return f"{self.clean.name}+{self.photo.name}"

    def levels(self, lr: torch.Tensor) -> list[torch.Tensor]:
        """Every level above the input, each the blend of the two models' (LoadedModel.levels)."""
        if self.strength == 0:
            return self.clean.levels(lr)
        if self.strength == 1:
            return self.photo.levels(lr)
        s = self.strength
        return [torch.lerp(a, b, s) for a, b in zip(self.clean.levels(lr), self.photo.levels(lr))]

    def __call__(self, lr: torch.Tensor) -> torch.Tensor:
        return self.levels(lr)[-1]

    def loop_error(self, lr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """The closed loop through the photo model's dual blocks (the clean one's at S = 0)."""
        return (self.clean if self.strength == 0 else self.photo).loop_error(lr, sr)
