"""Pack training images for a GPU lease: lossless WebP copies under a byte budget.

    python scripts/pack_training_data.py ../shared/data/train/T91 ../shared/data/train/Kodak24 \
        ../shared/data/train/BSD200 ../shared/data/train/SunHays80 -o .gpu/train --budget-mib 40

The device machine sees only the checkout, and a lease carries at most 64 MiB, so the shared
training images travel as a git-ignored folder (`carry: [".gpu"]`), re-encoded losslessly
(pixels identical; WebP lossless is about a quarter smaller than PNG). Folders are taken in the
order given, each image while the budget allows; what is left out is printed and written to
PACKED.txt beside the images.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from drn_cli.io import find_images, read_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--budget-mib", type=float, default=40.0)
    args = parser.parse_args()
    budget, used, kept, left = args.budget_mib * 2 ** 20, 0, [], []
    for folder in args.folders:
        target = args.output / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for path in find_images(folder):
            pixels = read_rgb(path)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="WEBP", lossless=True, quality=80, method=4)
            data = buffer.getvalue()
            if used + len(data) > budget:
                left.append(f"{folder.name}/{path.name}")
                continue
            out = target / f"{path.stem}.webp"
            out.write_bytes(data)
            if not np.array_equal(np.asarray(Image.open(out).convert("RGB")), pixels):
                raise SystemExit(f"{out}: not lossless")
            used += len(data)
            kept.append(f"{folder.name}/{path.name}")
    summary = f"{len(kept)} images, {used / 2**20:.1f} MiB; left out {len(left)}: {', '.join(left) or 'none'}"
    (args.output / "PACKED.txt").write_text(summary + "\n")
    print(summary)


if __name__ == "__main__":
    main()
