"""How often --denoise auto picks the better of the clean and the photo model, on a labelled set of
LR pictures built from training images (Kodak24 and SunHays80's first 40; never a benchmark)
degraded in known ways, and how much it loses when it picks the worse one.

Every kind is x4 of the whole picture, each LR as the file a user would have (its JPEG quality
when it is a JPEG file, lossless otherwise):

- clean: MATLAB bicubic (the paper's LR);
- blurred: a Gaussian blur (2.4 x 0.8 at 30 degrees, or 1.6 x 1.2 at 120) then bicubic;
- noisy: bicubic, then Gaussian noise of sigma 5-15;
- JPEG as PNG: bicubic, a JPEG of quality 40-90, saved losslessly and cut 0-7 pixels off its grid;
- resized JPEG: bicubic to 1.1-1.7x the LR size, a JPEG of quality 40-90, then shrunk to the LR
  size (area or bicubic) and saved losslessly: the block grid blurred and off the 8-pixel lattice;
- realistic: the realistic family (degradations/real.py), as its draw saves it;
- palette: bicubic, then 256 colours with Floyd-Steinberg dithering (a photo saved as a GIF);
- graphics: hard-edged synthetic drawings (flat shapes, lines, text in DejaVu fonts) at HR,
  rendered at LR by area averaging (antialiased, as a screen renders them), lossless;
- graphics, palette: the same in at most 256 colours (a GIF of a drawing);
- graphics, bicubic: the same drawings downscaled by MATLAB bicubic (a drawing resized in an editor);
- graphics, hard edges: the same drawings sampled without antialiasing (nearest: pixel art, charts);
- JPEG 95-98 as PNG: bicubic, a JPEG of quality 95-98 saved losslessly (a fine web photo).

Each LR goes through both models once (Y-PSNR against its HR); --cache keeps the LR and the
scores, so a second run only reads. The table per kind: the two models' means, auto's mean, how
often auto picks the better model, and its mean loss on the pictures where it picks the worse.

    python experiments/auto_choice.py --cache /tmp/auto_choice.pkl

With --blur-model NAME, the pictures auto reads as blurred also go through that model (a preset or
a file; cached by name), and a second table shows auto as it is now: the blur model running where
the reading says "blur" and the blur read explains the picture (inference.blur_explains).
"""

from __future__ import annotations

import argparse
import io
import pickle
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from drn_cli.degradations import degrade, modcrop
from drn_cli.degradations.real import degrade_real_saved
from drn_cli.degradations.resize import imresize, quantize_uint8
from drn_cli.evaluate import score_image
from drn_cli.io import find_images, read_rgb

KINDS = ("clean", "blurred", "noisy", "jpeg as png", "resized jpeg", "realistic", "palette",
         "graphics", "graphics, palette", "graphics, bicubic", "graphics, hard edges", "jpeg 95-98 as png")
FONTS = sorted(Path("/usr/share/fonts/truetype/dejavu").glob("DejaVu*.ttf"))


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(buffer).convert("RGB"))


def palette(pixels: np.ndarray) -> np.ndarray:
    """At most 256 colours, Floyd-Steinberg dithered, as a GIF keeps them."""
    return np.asarray(Image.fromarray(pixels).quantize(256, dither=Image.Dither.FLOYDSTEINBERG).convert("RGB"))


def drawing(rng: np.random.Generator, size: tuple[int, int] = (768, 512)) -> np.ndarray:
    """A hard-edged synthetic HR drawing: flat background, shapes, lines and text."""
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(6)] + [(0, 0, 0), (255, 255, 255)]
    img = Image.new("RGB", size, colours[rng.integers(len(colours))])
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(rng.integers(4, 10)):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2))
        fill = colours[rng.integers(len(colours))]
        [draw.rectangle, draw.ellipse, draw.rounded_rectangle][rng.integers(3)]((x0, y0, x1, y1), fill=fill)
    for _ in range(rng.integers(2, 6)):
        points = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
        draw.line(points, fill=colours[rng.integers(len(colours))], width=int(rng.integers(4, 16)))
    for _ in range(rng.integers(3, 8)):
        font = ImageFont.truetype(str(FONTS[rng.integers(len(FONTS))]), int(rng.integers(28, 90)))
        text = "".join(rng.choice(list("ABCDEFGHKLMNOPRSTUVWXYZabcdefghkmnoprstuvwxyz0123456789 "), rng.integers(3, 14)))
        draw.text((int(rng.integers(0, w - 100)), int(rng.integers(0, h - 60))), text, font=font,
                  fill=colours[rng.integers(len(colours))])
    return np.asarray(img)


def labelled_lrs(paths: list[Path], seed: int = 0):
    """(kind, index, HR, LR, JPEG quality of the LR's file or None) for every picture and kind,
    the same on every run (seeded)."""
    rng = np.random.default_rng(seed)
    for k, path in enumerate(paths):
        hr = modcrop(read_rgb(path), 4)
        h, w = hr.shape[0] // 4, hr.shape[1] // 4
        clean = degrade(hr, 4, "bicubic")
        yield "clean", k, hr, clean, None
        yield "blurred", k, hr, degrade(hr, 4, ("gauss2.4x0.8a30", "gauss1.6x1.2a120")[k % 2]), None
        yield "noisy", k, hr, quantize_uint8(clean + rng.normal(0, rng.uniform(5, 15), clean.shape)), None
        dy, dx = (int(v) for v in rng.integers(0, 8, 2))
        yield "jpeg as png", k, hr[4 * dy:, 4 * dx:], jpeg(clean, rng.integers(40, 91))[dy:, dx:], None
        factor = rng.uniform(1.1, 1.7)
        big = quantize_uint8(imresize(hr, factor / 4, out_shape=(round(h * factor), round(w * factor))))
        shrink = (cv2.INTER_AREA, cv2.INTER_CUBIC)[k % 2]
        yield "resized jpeg", k, hr, cv2.resize(jpeg(big, rng.integers(40, 91)), (w, h), interpolation=shrink), None
        lr, _, quality = degrade_real_saved(hr, 4, np.random.default_rng(seed * 1000 + k))
        yield "realistic", k, hr, lr, quality
        yield "palette", k, hr, palette(clean), None
        art = drawing(rng, (w * 4, h * 4))
        art_lr = cv2.resize(art, (w, h), interpolation=cv2.INTER_AREA)
        yield "graphics", k, art, art_lr, None
        yield "graphics, palette", k, art, palette(art_lr), None
        yield "graphics, bicubic", k, art, degrade(art, 4, "bicubic"), None
        yield "graphics, hard edges", k, art, cv2.resize(art, (w, h), interpolation=cv2.INTER_NEAREST), None
        yield "jpeg 95-98 as png", k, hr, jpeg(clean, 95 + k % 4), None


def collect(paths: list[Path], rows: list[dict]) -> list[dict]:
    """`rows` with every picture of the labelled set that it lacks scored by both models."""
    from drn_cli.inference import load_upscaler

    clean, photo = load_upscaler("drn-s-x4"), load_upscaler("drn-s-x4-real")
    have = {(r["kind"], r["index"]) for r in rows}
    for kind, k, hr, lr, quality in labelled_lrs(paths):
        if (kind, k) in have:
            continue
        rows.append({"kind": kind, "index": k, "lr": lr, "quality": quality,
                     "clean": score_image(clean.upscale_uint8(lr), hr, 4)[0],
                     "photo": score_image(photo.upscale_uint8(lr), hr, 4)[0]})
        if len(rows) % 50 == 0:
            print(f"{len(rows)} pictures", flush=True)
    return rows


def table(rows: list[dict], picks: list[float]) -> list[str]:
    """Markdown rows: per kind and in all, each model's mean, auto's, how often auto picks the
    better model and its mean loss where it picks the worse."""
    lines = ["| LR (x4) | clean model | photo model | auto | auto's photo-model share | picks the better | mean loss when not (dB) |",
             "|---|---|---|---|---|---|---|"]
    for kind in (*KINDS, "all"):
        part = [(r, s) for r, s in zip(rows, picks) if kind in ("all", r["kind"])]
        c = np.array([r["clean"] for r, _ in part])
        p = np.array([r["photo"] for r, _ in part])
        s = np.array([s for _, s in part])
        auto = np.where(s >= 0.5, p, c)
        wrong = auto < np.maximum(c, p) - 1e-9
        loss = float(np.mean((np.maximum(c, p) - auto)[wrong])) if wrong.any() else 0.0
        lines.append(f"| {kind} ({len(part)}) | {c.mean():.3f} | {p.mean():.3f} | {auto.mean():.3f} | "
                     f"{np.mean(s >= 0.5):.0%} | {1 - wrong.mean():.0%} | {loss:.2f} |")
    return lines


def blur_table(rows: list[dict], readings: list, name: str) -> list[str]:
    """Markdown rows: per kind and in all, auto with the clean and photo models alone against auto
    with the blur model `name` on the pictures read as blurred, and how many those are."""
    lines = [("| LR (x4) | auto, clean or photo model | auto with the blur model | read as blurred | "
              "of those, the blur explains | blur model against the photo model there (dB) |"), "|---|---|---|---|---|---|"]
    for kind in (*KINDS, "all"):
        part = [(r, g) for r, g in zip(rows, readings) if kind in ("all", r["kind"])]
        before = np.array([r["photo"] if g.strength >= 0.5 else r["clean"] for r, g in part])
        blurred = np.array([g.damage == "blur" for _, g in part])
        runs = np.array([g.damage == "blur" and r["explains"] for r, g in part])
        after = np.where(runs, [r.get(f"blur:{name}", 0.0) for r, _ in part], before)
        gain = f"{np.mean((after - before)[runs]):+.3f}" if runs.any() else ""
        lines.append(f"| {kind} ({len(part)}) | {before.mean():.3f} | {after.mean():.3f} | {blurred.sum()} | "
                     f"{runs.sum()} | {gain} |")
    return lines


def score_blur_model(rows: list[dict], readings: list, name: str, train: Path) -> bool:
    """Score blur model `name` on the rows read as blurred that lack its score, and record whether
    the blur read explains each (inference.blur_explains, with the photo model: where auto runs
    the blur model); True if any row changed."""
    from drn_cli.inference import blur_explains, load_upscaler
    from drn_cli.io import Picture

    missing = [r for r, g in zip(rows, readings) if g.damage == "blur" and not {f"blur:{name}", "explains"} <= set(r)]
    if missing:
        model, photo = load_upscaler(name), load_upscaler("drn-s-x4-real")
        hrs = dict(hr_of(find_images(train / "Kodak24") + find_images(train / "SunHays80")[:40]))
        for r in missing:
            if f"blur:{name}" not in r:
                r[f"blur:{name}"] = score_image(model.upscale_uint8(r["lr"]), hrs[(r["kind"], r["index"])], 4)[0]
            r["explains"] = blur_explains(Picture(r["lr"], None, "PNG", jpeg_quality=r["quality"]), photo)
    return bool(missing)


def hr_of(paths: list[Path]):
    """((kind, index), HR) of every labelled picture, as labelled_lrs makes them."""
    for kind, k, hr, _lr, _quality in labelled_lrs(paths):
        yield (kind, k), hr


def chroma_threshold(train: Path) -> list[str]:
    """estimate.AUTO_CHROMA_SOFTNESS's evidence: the share of clean bicubic LR of every training
    image (T91, BSD200, Kodak24, SunHays80) under each candidate threshold, and of the labelled
    resized JPEGs above it. The rule, as for the blur threshold: send at most 2% of clean
    pictures to the photo model."""
    from drn_cli.degradations.estimate import chroma_softness

    clean = []
    for folder in ("T91", "BSD200", "Kodak24", "SunHays80"):
        for path in find_images(train / folder):
            softness = chroma_softness(degrade(modcrop(read_rgb(path), 4), 4, "bicubic"))
            if softness is not None:
                clean.append(softness)
    clean = np.array(clean)
    head = (f"chroma softness of {len(clean)} clean training LR: 1st percentile {np.percentile(clean, 1):.2f}, "
            f"2nd {np.percentile(clean, 2):.2f}, median {np.median(clean):.2f}")
    lines = [head, "| threshold | clean training LR under it |", "|---|---|"]
    lines += [f"| {t:g} | {np.mean(clean < t):.1%} |" for t in (-0.5, -0.55, -0.6, -0.65, -0.7, -0.75)]
    return lines


def main() -> None:
    from drn_cli.degradations.estimate import read_damage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    parser.add_argument("--cache", type=Path, help="keep the LR and both models' scores here")
    parser.add_argument("--reasons", action="store_true", help="also list auto's reason for each picture")
    parser.add_argument("--blur-model", help="also score this model on the pictures read as blurred (a second table)")
    args = parser.parse_args()
    rows = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else []
    count = len(rows)
    rows = collect(find_images(args.train / "Kodak24") + find_images(args.train / "SunHays80")[:40], rows)
    if args.cache and len(rows) > count:
        args.cache.write_bytes(pickle.dumps(rows))
    print("\n".join(chroma_threshold(args.train)) + "\n")
    readings = [read_damage(r["lr"], r["quality"], "JPEG" if r["quality"] else None) for r in rows]
    print("\n".join(table(rows, [reading.strength for reading in readings])))
    if args.blur_model:
        if score_blur_model(rows, readings, args.blur_model, args.train) and args.cache:
            args.cache.write_bytes(pickle.dumps(rows))
        print("\n" + "\n".join(blur_table(rows, readings, args.blur_model)))
    if args.reasons:
        for r, reading in zip(rows, readings):
            better = "photo" if r["photo"] > r["clean"] else "clean"
            print(f"{r['kind']:18s} {r['index']:3d} {better:5s} {r['photo'] - r['clean']:+.2f}  {reading.reason}")


if __name__ == "__main__":
    main()
