"""Write the LR images of a folder of HR images, as `drn eval --degradation NAME` makes them.

    python scripts/make_lr.py HR_DIR OUT_DIR bicubic+noise8+jpeg40 [--scale 4]

Each image's draw is seeded from its name (evaluate.make_lr). A degradation with a JPEG stage is
written as a real .jpg file at that quality (4:2:0): it decodes to exactly the pixels `drn eval`
scores, and it carries the quantization tables that `finetune-unpaired --self-pairs auto` reads.
Other degradations are written as .png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from drn_cli.degradations import degrade, modcrop, parse_degradation
from drn_cli.degradations.real import seed_for_name
from drn_cli.evaluate import make_lr
from drn_cli.io import find_images, read_rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hr_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("degradation")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    quality = getattr(parse_degradation(args.degradation), "quality", None)  # a JPEG stage's
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in find_images(args.hr_dir):
        hr = modcrop(read_rgb(path), args.scale)
        lr = make_lr(hr, args.scale, args.degradation, path.stem)
        if quality is None:
            Image.fromarray(lr).save(args.out_dir / f"{path.stem}.png")
            continue
        before_jpeg = args.degradation.rsplit("+jpeg", 1)[0]
        pixels = degrade(hr, args.scale, before_jpeg, seed_for_name(path.stem))
        out = args.out_dir / f"{path.stem}.jpg"
        Image.fromarray(pixels).save(out, quality=quality, subsampling=2)
        if not np.array_equal(np.asarray(Image.open(out).convert("RGB")), lr):
            raise SystemExit(f"{out}: the file does not decode to the evaluated LR")
    print(f"wrote {len(find_images(args.out_dir))} LR images ({args.degradation}, x{args.scale}) to {args.out_dir}")


if __name__ == "__main__":
    main()
