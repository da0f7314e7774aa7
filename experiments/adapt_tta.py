"""`--tta` under `--adapt` (docs/adaptation.md): the picture path's self-ensemble of each picture's
adapted weights (saved by `experiments/adapt_single.py --save DIR`), over all eight flips and
turns (as it ran before) and over those that keep the blur it was adapted to (Upscaler.ensemble,
degradations.kernel_symmetries), each pass back-projected as --adapt does; the default with and
without --tta beside. Y-PSNR gains over the default, per picture and the mean; with
--tolerances, the mean gain of --adapt --tta over --adapt alone for each tolerance of
kernel_symmetries (how far a turned kernel may be from the one read and count as the same blur).

    python experiments/adapt_single.py runs/blind/gauss2.4x0.8a30 --save runs/adapted/A
    python experiments/adapt_tta.py runs/blind/gauss2.4x0.8a30 runs/adapted/A --tolerances 0.01,0.1,0.2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from drn_cli.degradations import TURNS_AND_FLIPS, kernel_symmetries, modcrop
from drn_cli.evaluate import score_image
from drn_cli.inference import Upscaler, load_upscaler, self_ensemble, upscaler_for_picture
from drn_cli.io import Picture, find_images, read_rgb
from drn_cli.request import UpscaleRequest


def passes(upscaler: Upscaler, image: np.ndarray) -> dict[tuple[int, bool], np.ndarray]:
    """(H, W, 3) in [0, 1] -> its output under each of the eight flips and turns, turned back
    (picture.py's TTA passes, each back-projected where the upscaler back-projects)."""
    def one(x: np.ndarray) -> np.ndarray:
        return upscaler.upscale_array(x, tile=0)
    return {t: self_ensemble(one, image, (t,)) for t in TURNS_AND_FLIPS}


def score(outputs: dict[tuple[int, bool], np.ndarray], kept: tuple[tuple[int, bool], ...], hr: np.ndarray) -> float:
    """Y-PSNR against `hr` of the mean of the `kept` passes."""
    return score_image(np.mean([outputs[t] for t in kept], axis=0) * 255, hr, 4)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path, help="a set of experiments/blind_sets.sh (its single/HR and single_lr)")
    parser.add_argument("adapted", type=Path, help="the folder experiments/adapt_single.py --save wrote")
    parser.add_argument("--tolerances", default="", help="comma-separated tolerances of kernel_symmetries to compare")
    args = parser.parse_args()
    tolerances = [float(t) for t in args.tolerances.split(",") if t]
    rows = []
    for hr_path in find_images(args.set / "single" / "HR"):
        weights = args.adapted / f"{hr_path.stem}.safetensors"
        if not weights.exists():
            continue
        hr = modcrop(read_rgb(hr_path), 4)
        picture = read_rgb(next(p for p in find_images(args.set / "single_lr") if p.stem == hr_path.stem))
        lr = picture / 255.0
        saved = json.loads((args.adapted / f"{hr_path.stem}.json").read_text())
        default = upscaler_for_picture(UpscaleRequest(), picture.shape[1::-1], Picture(picture, None, "PNG"))
        ensemble = tuple(tuple(t) for t in saved["ensemble"])
        adapted = passes(Upscaler(load_upscaler(str(weights)).model, saved["back_projection"]), lr)
        plain = passes(default, lr)
        row = {"default": score(plain, TURNS_AND_FLIPS[:1], hr), "default --tta": score(plain, TURNS_AND_FLIPS, hr),
               "--adapt": score(adapted, TURNS_AND_FLIPS[:1], hr),
               "--adapt --tta, all eight": score(adapted, TURNS_AND_FLIPS, hr), "--adapt --tta": score(adapted, ensemble, hr)}
        for tolerance in tolerances:  # a picture --adapt left as the model makes it keeps all eight
            kept = kernel_symmetries(saved["degradation"], tolerance) if saved["tied"] else TURNS_AND_FLIPS
            row[f"tolerance {tolerance:g}"] = score(adapted, kept, hr)
        rows.append(row)
        print(f"{hr_path.stem} {saved['degradation']} ({len(ensemble)} turns kept): "
              + "  ".join(f"{k} {v - row['default']:+.3f}" for k, v in row.items() if k != "default"), flush=True)
    print("mean over the default: " + "  ".join(f"{k} {np.mean([r[k] - r['default'] for r in rows]):+.3f}"
                                             for k in rows[0] if k != "default"))


if __name__ == "__main__":
    main()
