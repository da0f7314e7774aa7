"""Photos at x2: `drn upscale PHOTOS --scale 2` (the x2 photo model) against the path before it,
`drn upscale PHOTOS --outscale 2 --model drn-s-x4-real` (the x4 photo model, resized), as whole
commands in one run (benchmarks.commands).

    python3 -m benchmarks.photo_x2_speed ../shared/data/real_lr/RealSRSet --repeats 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands import compare

COMMANDS = {
    " (drn-s-x2-real)": ["--scale", "2", "--denoise", "1"],
    " (before)": ["--outscale", "2", "--model", "drn-s-x4-real"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="a folder of photos")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    compare(args.photos, COMMANDS, args.repeats)


if __name__ == "__main__":
    main()
