"""The `--self-pairs auto` degradation guess on LR made from benchmark HR and on real photos.

    python experiments/degradation_guess.py [--data ../shared/data]

Prints one Markdown row per photo set: mismatch under bicubic and nearest, and the guess
(docs/adaptation.md, "Guessing the degradation").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drn_cli.degradations import CLASSIC, degrade, modcrop
from drn_cli.degradations.estimate import degradation_mismatch, guess_degradation
from drn_cli.io import find_images, read_rgb


def row(name: str, photos: list) -> str:
    scores = degradation_mismatch(photos)
    return f"| {name} | {scores['bicubic']:.3f} | {scores['nearest']:.3f} | {guess_degradation(photos)} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--max-images", type=int, default=50)
    args = parser.parse_args()
    print("| photos | mismatch bicubic | mismatch nearest | guess |\n|---|---|---|---|")
    for bench in ("Set5", "Set14", "B100"):
        paths = find_images(args.data / "benchmarks" / bench / "HR")[: args.max_images]
        hrs = [modcrop(read_rgb(p), args.scale) for p in paths]
        for kind in CLASSIC:
            print(row(f"{bench} ({len(hrs)}) {kind}", [degrade(hr, args.scale, kind) for hr in hrs]))
    for folder in sorted(p for p in (args.data / "real_lr").iterdir() if p.is_dir()):
        print(row(f"real_lr/{folder.name}", [read_rgb(p) for p in find_images(folder)]))


if __name__ == "__main__":
    main()
