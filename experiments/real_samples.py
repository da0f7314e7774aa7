"""Figure of sample LR patches from the realistic degradation family (docs/training.md).

    python experiments/real_samples.py ../shared/data/train/Kodak24 -o docs/images/real_lr_samples.png

Top row: the clean MATLAB-bicubic LR of one HR patch; the rows below: draws of `--degradation
real` from the same patch (seeds 0, 1, ...), each shown at 3x with nearest-neighbour so that
blocks and noise stay visible.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from drn_cli.degradations import degrade, modcrop
from drn_cli.degradations.real import degrade_real_pair
from drn_cli.io import find_images, read_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--patch", type=int, default=192, help="HR patch side (x4: LR is a quarter)")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--draws", type=int, default=4)
    args = parser.parse_args()
    paths = find_images(args.folder)[: args.images]
    columns = []
    for index, path in enumerate(paths):
        hr = modcrop(read_rgb(path), 4)
        y, x = (hr.shape[0] - args.patch) // 2, (hr.shape[1] - args.patch) // 2
        patch = hr[y: y + args.patch, x: x + args.patch]
        tiles = [degrade(patch, 4)]
        tiles += [degrade_real_pair(patch, 4, np.random.default_rng([index, d]))[0] for d in range(args.draws)]
        columns.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles]))
    grid = np.concatenate(columns, axis=1)
    image = Image.fromarray(grid)
    image = image.resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output)
    print(f"wrote {args.output}: {len(paths)} patches x (bicubic + {args.draws} real draws)")


if __name__ == "__main__":
    main()
