"""Training data: random aligned patches with the bicubic LR pyramid (paper Sec. 3.1, Eq. 1).

Every pyramid level is made from the whole HR image directly with the MATLAB-compatible bicubic
(not cascaded), once, when the dataset is built; patches are then cropped at aligned positions
from the cached levels, so the cores go to the network, not to decoding or resizing.

With any other degradation (`degradation="real"`, the random realistic family of
degradations/real.py, or a named one such as "bd" or "bicubic+noise8+jpeg40") the network's input
is made from the HR patch instead, while the primal targets stay the clean bicubic pyramid: at
every level the network learns what the clean image looks like. The dual blocks' targets are
that pyramid too, except the innermost, which is the degradation's deterministic part (blur +
resize, before noise and JPEG): the closed loop learns the degradation that can be predicted
from an image, not its noise (docs/training.md).

Sample `i` is a pure function of (seed, i): the stream of batches is the same on every run and a
resumed run continues it without saving any data-loader state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch

from ..degradations import lr_pyramid, modcrop, parse_degradation
from ..errors import DrnError
from ..io import ReadImages, read_folders


@dataclass
class PatchSpec:
    scale: int
    patch_size: int  # HR pixels, a multiple of scale
    seed: int = 0
    degradation: str = "bicubic"  # "real", or any name degradations.degrade knows


class Sample(NamedTuple):
    """One paired training sample (or a batch of them, with a leading batch dimension).

    lr: (3, p, p) network input; pyramid: phases+1 targets (3, p*2**k, p*2**k), coarsest first,
    the last one HR; dual_targets: targets of dual[0..phases-1], i.e. [dual_lr, pyramid[1:-1]].
    All float in 0..255, p = patch_size // scale.
    """

    lr: torch.Tensor
    pyramid: list[torch.Tensor]
    dual_lr: torch.Tensor  # innermost dual block's target

    @property
    def dual_targets(self) -> list[torch.Tensor]:
        return [self.dual_lr, *self.pyramid[1:-1]]


class PairedPatches(torch.utils.data.Dataset):
    """Random aligned patch pyramids from HR images, with flips and transposes -> Sample.

    Bicubic: the input and both innermost targets are the pyramid's LR level. Real: the input is
    a random draw of the realistic family and the innermost dual target its deterministic part.
    A named degradation (kernel with optional noise and JPEG stages): the input is that
    degradation of the HR patch, noise drawn per sample, and the innermost dual target its
    kernel's LR. The virtual length is `length`.
    """

    def __init__(self, pyramids: list[list[np.ndarray]], spec: PatchSpec, length: int) -> None:
        if not pyramids:
            raise DrnError("no training images large enough for the patch size")
        self.pyramids, self.spec, self.length = pyramids, spec, length
        self.degradation = parse_degradation(spec.degradation)  # parsed once, not per sample

    def __len__(self) -> int:
        return self.length

    def locate(self, index: int) -> tuple[np.random.Generator, int, int, int, np.ndarray]:
        """Sample `index`'s draw: (its generator, for any further draws; image index; LR row and
        column of the patch; the three flips)."""
        rng = np.random.default_rng([self.spec.seed, index])
        image = int(rng.integers(len(self.pyramids)))
        lr_patch = self.spec.patch_size // self.spec.scale
        h, w = self.pyramids[image][0].shape[:2]
        y, x = int(rng.integers(h - lr_patch + 1)), int(rng.integers(w - lr_patch + 1))
        return rng, image, y, x, rng.integers(2, size=3)

    def __getitem__(self, index: int) -> Sample:
        rng, image, y, x, flips = self.locate(index)
        lr_patch = self.spec.patch_size // self.spec.scale
        crops = [level[window(y, x, lr_patch, k)] for k, level in enumerate(self.pyramids[image])]
        pyramid = [augmented_tensor(crop, flips) for crop in crops]
        if self.spec.degradation == "bicubic":  # the pyramid's own LR level
            return Sample(pyramid[0], pyramid, pyramid[0])
        if not self.degradation.flip_first:
            lr, det = self.degradation.pair(crops[-1], self.spec.scale, rng)
            return Sample(augmented_tensor(lr, flips), pyramid, augmented_tensor(det, flips))
        # Degrade the flipped patch: a fixed kernel such as nearest has a phase to keep.
        hr = np.ascontiguousarray(pyramid[-1].permute(1, 2, 0).byte().numpy())
        lr, det = self.degradation.pair(hr, self.spec.scale, rng)
        return Sample(augmented_tensor(lr, _NO_FLIPS), pyramid, augmented_tensor(det, _NO_FLIPS))


@contextlib.contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread inside, as it was after. Fork DataLoader workers inside it: each
    then runs OpenCV on one thread (torch already gives each worker one thread; a pool the size of
    the machine in every worker is N workers x N cores threads for 32-pixel patches), and none
    inherits the parent's thread pool. Setting the count in the child instead could hang for
    good: a pool copied by fork has no threads, and OpenCV, tearing it down, waits on them
    (seen once in the test suite, a forked worker stuck in pthread_cond_destroy)."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


class DevicePatches(PairedPatches):
    """The bicubic PairedPatches stream, cut where the model trains: every pyramid level is held
    once as uint8 on `device` (on the CPU, the arrays themselves), and a batch's crops, flips
    and transposes happen there, so no per-sample tensors cross from the host. `batch(indices)`
    equals the collated PairedPatches samples of those indices (the same draws)."""

    def __init__(self, pyramids: list[list[np.ndarray]], spec: PatchSpec, device: torch.device) -> None:
        if spec.degradation != "bicubic":
            raise ValueError("DevicePatches makes bicubic samples only")
        super().__init__(pyramids, spec, 1 << 62)
        # Decoded images can be read-only arrays, which torch will not wrap: copy those once.
        self.levels = [[torch.from_numpy(np.require(level, requirements="W")).to(device) for level in pyramid]
                       for pyramid in pyramids]

    def batch(self, indices: range) -> Sample:
        lr_patch = self.spec.patch_size // self.spec.scale
        crops = []
        for index in indices:
            _, image, y, x, (flip_v, flip_h, transpose) = self.locate(index)
            patches = []
            for k, level in enumerate(self.levels[image]):
                t = level[window(y, x, lr_patch, k)]
                t = t.flip(0) if flip_v else t
                t = t.flip(1) if flip_h else t
                patches.append(t.transpose(0, 1) if transpose else t)  # (h, w, 3) as augmented_tensor
            crops.append(patches)
        pyramid = [torch.stack(level).permute(0, 3, 1, 2).float() for level in zip(*crops)]
        return Sample(pyramid[0], pyramid, pyramid[0])


_NO_FLIPS = np.zeros(3, dtype=int)


def window(y: int, x: int, lr_patch: int, level: int) -> tuple[slice, slice]:
    """Rows and columns of pyramid `level` (0 = LR) under the LR patch at (y, x)."""
    f = 2 ** level
    return slice(y * f, (y + lr_patch) * f), slice(x * f, (x + lr_patch) * f)


def augmented_tensor(patch: np.ndarray, flips: np.ndarray) -> torch.Tensor:
    """(h, w, 3) uint8 patch, flipped vertically / horizontally / transposed as the three 0/1
    `flips` say -> (3, h', w') float tensor in 0..255."""
    flip_v, flip_h, transpose = flips
    patch = patch[::-1] if flip_v else patch
    patch = patch[:, ::-1] if flip_h else patch
    patch = patch.transpose(1, 0, 2) if transpose else patch
    return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1))).float()


def build_pyramids(folders: list[str | Path], spec: PatchSpec) -> tuple[list[list[np.ndarray]], list[Path], ReadImages]:
    """Decode and pyramid every image in `folders`: (pyramids, the paths skipped as smaller than
    the patch, what was read: its `unreadable` were skipped too)."""
    read = read_folders(folders)
    pyramids, too_small = [], []
    for path, image in zip(read.paths, read.images):
        hr = modcrop(image, spec.scale)
        if min(hr.shape[:2]) < spec.patch_size:
            too_small.append(path)
            continue
        pyramids.append(lr_pyramid(hr, spec.scale))
    return pyramids, too_small, read
