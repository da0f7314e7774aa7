"""`--tta` under `--adapt` (docs/adaptation.md): the picture path's self-ensemble of each picture's
adapted weights (saved by `experiments/adapt_single.py --save DIR`), over all eight flips and
turns (as it ran before) and over those that keep the blur it was adapted to (Upscaler.ensemble,
degradations.kernel_symmetries), each pass back-projected as --adapt does; the default with and
without --tta beside. Y-PSNR gains over the default, per picture and the mean.

    python experiments/adapt_single.py runs/blind/gauss2.4x0.8a30 --save runs/adapted/A
    python experiments/adapt_tta.py runs/blind/gauss2.4x0.8a30 runs/adapted/A
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from drn_cli.degradations import TURNS_AND_FLIPS, modcrop
from drn_cli.degradations.estimate import read_damage
from drn_cli.evaluate import score_image
from drn_cli.inference import Upscaler, load_upscaler, self_ensemble
from drn_cli.io import find_images, read_rgb


def upscaled(upscaler: Upscaler, image: np.ndarray, tta: bool) -> np.ndarray:
    """(H, W, 3) in [0, 1] -> its output, averaged over upscaler.ensemble under `tta` (picture.py's way)."""
    def one(x: np.ndarray) -> np.ndarray:
        return upscaler.upscale_array(x, tile=0)
    return self_ensemble(one, image, upscaler.ensemble) if tta else one(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="a set of experiments/blind_sets.sh (its single/HR and single_lr)")
    parser.add_argument("adapted", type=Path, help="the folder experiments/adapt_single.py --save wrote")
    args = parser.parse_args()
    defaults = {name: load_upscaler(name) for name in ("drn-s-x4", "drn-s-x4-real")}
    rows = []
    for hr_path in find_images(args.set / "single" / "HR"):
        weights = args.adapted / f"{hr_path.stem}.safetensors"
        if not weights.exists():
            continue
        hr = modcrop(read_rgb(hr_path), 4)
        lr = read_rgb(next(p for p in find_images(args.set / "single_lr") if p.stem == hr_path.stem))
        saved = json.loads((args.adapted / f"{hr_path.stem}.json").read_text())
        default = defaults["drn-s-x4-real" if read_damage(lr, None).strength >= 0.5 else "drn-s-x4"]
        adapted = Upscaler(load_upscaler(str(weights)).model, saved["back_projection"],
                           tuple(tuple(t) for t in saved["ensemble"]))
        every = Upscaler(adapted.model, adapted.back_projection, TURNS_AND_FLIPS)
        runs = {"default": (default, False), "default --tta": (default, True), "--adapt": (adapted, False),
                "--adapt --tta, all eight": (every, True), "--adapt --tta": (adapted, True)}
        row = {name: score_image(upscaled(upscaler, lr / 255.0, tta) * 255, hr, 4)[0]
               for name, (upscaler, tta) in runs.items()}
        rows.append(row)
        print(f"{hr_path.stem} {saved['back_projection']} ({len(adapted.ensemble)} turns kept): "
              + "  ".join(f"{k} {v - row['default']:+.3f}" for k, v in row.items() if k != "default"), flush=True)
    print("mean over the default: " + "  ".join(f"{k} {np.mean([r[k] - r['default'] for r in rows]):+.3f}"
                                             for k in rows[0] if k != "default"))


if __name__ == "__main__":
    main()
