"""Blind adaptation (docs/adaptation.md): the Gaussian kernel family, the blur read from LR alone,
self-pairs that carry it, and one picture adapted at upscale time (`drn upscale --adapt`)."""

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import photo
from PIL import Image
from typer.testing import CliRunner

from drn_cli import test_time
from drn_cli.cli import app
from drn_cli.degradations import degrade, gauss_name, kernel_symmetries, parse_degradation
from drn_cli.degradations.estimate import read_blur, self_pair_degradation
from drn_cli.errors import UsageError
from drn_cli.models.loaded import load
from drn_cli.request import UpscaleRequest


def natural(seed: int, side: int = 192, contrast: float = 40) -> np.ndarray:
    """An (side, side, 3) uint8 image whose power spectrum falls as |u|^-2.4, as a natural
    photo's does on average (estimate.ALPHA_PRIOR), with random phases (std `contrast`)."""
    rng = np.random.default_rng(seed)
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side), indexing="ij"))
    radius[0, 0] = 1
    planes = [np.real(np.fft.ifft2((rng.standard_normal((side, side)) + 1j * rng.standard_normal((side, side)))
                                   / radius ** 1.2)) for _ in range(3)]
    image = np.stack(planes, axis=2)
    return np.clip((image - image.mean()) / image.std() * contrast + 128, 0, 255).astype(np.uint8)


def blurred(seed: int, side: int) -> np.ndarray:
    """A (side, side, 3) blurred clean picture (natural() with the blind set's Gaussian, x4): what
    --adapt is for (natural() itself reads as noisy, which is left as the model makes it). Its
    contrast is lowered so that the tiny test models' closed-loop error through the blur read
    (back_projection.loop_error) stays under LOOP_ERROR_LIMIT (about 1.2-1.3 grey levels; at the
    contrast of natural() it is about 2: a bicubic-like model does not explain random texture)."""
    return degrade(natural(seed, 4 * side, contrast=25), 4, "gauss2.4x0.8a30")


def angle_error(a: float, b: float) -> float:
    return abs((a - b + 90) % 180 - 90)


def test_gauss_names_parse_and_make_the_blur_they_say():
    assert gauss_name(0.8, 2.4, 120) == "gauss2.4x0.8a30"       # the major axis first, the angle with it
    assert gauss_name(1.5, 1.5, 77) == "gauss1.5x1.5a0"         # a round kernel has no angle
    assert gauss_name(2.0, 0.0, 10) == "gauss2x0.2a10"          # narrower than 0.2 px reads as 0.2
    staged = parse_degradation("gauss2.4x0.8a30+noise5+jpeg60")
    assert staged.kernel == "gauss2.4x0.8a30" and staged.damages and not parse_degradation("gauss2x1a0").damages
    with pytest.raises(ValueError, match="gaussAxBaC"):
        parse_degradation("gauss2.4x0.8")
    # a horizontal kernel (angle 0) smooths along x: a vertical edge is softened, a horizontal one is not
    hr = np.zeros((64, 64, 3), np.uint8)
    hr[:, 32:] = 255
    across = degrade(hr, 4, "gauss3x0.3a0")[:, 6:10, 0].astype(int)
    along = degrade(hr.transpose(1, 0, 2).copy(), 4, "gauss3x0.3a0")[6:10, :, 0].astype(int)
    assert np.diff(across, axis=1).max() < np.diff(along, axis=0).max()


@pytest.mark.parametrize("kernel", [(2.4, 0.8, 30), (2.0, 1.0, 120), (1.6, 1.6, 0)])
def test_a_known_kernel_is_read_back_from_lr_alone(kernel):
    """The blur is read from eight LR images and nothing else. Tolerances: 0.25 HR px on the
    major sigma, 0.3 on the minor, 8 degrees on the angle of anisotropic kernels: what the
    estimator achieves on real training photos is within 0.12, 0.2 and 6 of the truth for a
    folder (docs/adaptation.md's accuracy table); these images are ideal, the bounds are not
    tight to the last digit so that a change of numerics does not fail them."""
    lrs = [degrade(natural(seed), 4, gauss_name(*kernel)) for seed in range(8)]
    reading = read_blur(lrs)
    major, minor = reading.hr_sigmas(4)
    assert abs(major - kernel[0]) < 0.25 and abs(minor - kernel[1]) < 0.3, reading
    if kernel[0] > 1.3 * kernel[1]:
        assert angle_error(reading.angle, kernel[2]) < 8, reading
    assert reading.degradation(4).startswith("gauss")


def test_the_reading_does_not_depend_on_the_kernels_angle():
    """Sampling the LR grid folds HR frequencies back, most along the axes; a model without those
    aliases read a 2.4 x 0.8 px kernel as 2.40 along an axis but 2.24 at 45 degrees. With them,
    each angle reads the same major sigma (within 0.08 px) and within 0.12 px of the truth."""
    majors = []
    for angle in (0, 30, 45):
        reading = read_blur([degrade(natural(seed, 384), 4, gauss_name(2.4, 0.8, angle)) for seed in range(8)])
        majors.append(reading.hr_sigmas(4)[0])
        assert abs(majors[-1] - 2.4) < 0.12 and (angle == 0 or angle_error(reading.angle, angle) < 3), reading
    assert max(majors) - min(majors) < 0.08, majors


def test_bicubic_lr_reads_as_no_blur_and_self_pairs_carry_the_blur_read():
    clean = [degrade(natural(seed), 4, "bicubic") for seed in range(8)]
    assert read_blur(clean).degradation(4) == "bicubic"
    assert self_pair_degradation(clean, [None] * 8, 4)[1]["kernel"] == "bicubic"  # (its texture reads as noise)
    blurred = [degrade(natural(seed), 4, "gauss2.4x0.8a30") for seed in range(8)]
    name, read = self_pair_degradation(blurred, [None] * 8, 4)
    assert name.startswith("gauss") and read["kernel"] == name and read["blur"].startswith("Gaussian, sigmas")
    # JPEG photos need a stronger blur to count (JPEG takes high frequencies too), and get their stage
    jpeg_name, _ = self_pair_degradation(blurred, [50] * 8, 4)
    assert jpeg_name.endswith("+jpeg50") and jpeg_name.startswith("gauss")


def test_one_picture_is_never_read_as_nearest():
    """Nearest-neighbour's spectral test needs a few photos: one picture read as nearest cost 2.4 dB."""
    lr = degrade(natural(3), 4, "nearest")
    assert self_pair_degradation([lr], [None], 4)[0].split("+")[0] != "nearest"


@pytest.fixture
def tiny_model(shipped_tiny):
    return load(str(shipped_tiny / "drn-s-x4-real.safetensors"), "cpu", "fp32")


def test_adapting_to_a_picture_trains_a_copy_and_leaves_the_shared_model(tiny_model):
    before = {k: v.clone() for k, v in tiny_model.network.state_dict().items()}
    steps = []
    adapted = test_time.adapt_to_picture(tiny_model, blurred(1, 96), steps=4, on_step=lambda d, t: steps.append((d, t)))
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(torch.equal(v, tiny_model.network.state_dict()[k]) for k, v in before.items())
    assert adapted.before is not None and adapted.after is not None
    if not adapted.kept_start:
        assert adapted.model is not tiny_model and adapted.model.name.endswith("adapted")
        assert not torch.equal(adapted.model.network.state_dict()["head.weight"], before["head.weight"])


def test_an_adaptation_that_got_worse_keeps_the_start(tiny_model, monkeypatch):
    """The verdict: the picture's own self-pairs scored before and after; a learning rate far too
    high makes them worse, and the model as it was runs."""
    monkeypatch.setattr(test_time, "LEARNING_RATE", 1.0)
    adapted = test_time.adapt_to_picture(tiny_model, blurred(2, 96), steps=3)
    assert adapted.kept_start and adapted.model is tiny_model
    assert "did not help" in adapted.text()


def test_grey_16_bit_and_tiny_pictures(tiny_model):
    grey16 = (blurred(4, 64)[:, :, :1].astype(np.uint16) * 257)
    assert test_time.adapt_to_picture(tiny_model, grey16, steps=1).degradation
    skipped = test_time.adapt_to_picture(tiny_model, photo(12, 12), steps=1)
    assert skipped.model is tiny_model and "smaller than 16x16" in skipped.text()


def test_half_the_pairs_come_from_the_shipped_clean_crops(tiny_model):
    """weights/adapt-pool.png holds sixteen clean 192x192 crops; adapting with them trains on other
    pairs than the picture alone does (so the copies differ), and both are the picture's own."""
    pool = test_time.shipped_pool()
    assert len(pool) == 16 and all(crop.shape == (192, 192, 3) and crop.dtype == np.uint8 for crop in pool)
    picture = blurred(11, 96)
    with_pool = test_time.adapt_to_picture(tiny_model, picture, steps=2)
    alone = test_time.adapt_to_picture(tiny_model, picture, steps=2, hr_pool=[])
    assert not with_pool.kept_start and not alone.kept_start, (with_pool.text(), alone.text())
    assert not torch.equal(with_pool.model.network.state_dict()["head.weight"],
                           alone.model.network.state_dict()["head.weight"])


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float() / 255


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def test_back_projection_takes_the_output_down_as_the_lr_was_made():
    """models.back_projected's torch down operator is degradations' own (Gaussian blur, MATLAB
    bicubic) to float32 rounding, an HR that explains its LR exactly is left as it is, and onto the
    true kernel back-projection recovers more of a blurred picture than onto plain bicubic."""
    from drn_cli.back_projection import back_project, downscale
    from drn_cli.degradations.classic import downscale_gauss
    from drn_cli.degradations.resize import downscale_bicubic, imresize
    from drn_cli.inference import Upscaler

    hr = natural(3, 96).astype(np.float64)
    for name, made in (("gauss2.4x0.8a30", downscale_gauss(hr, 4, 2.4, 0.8, 30)), ("bicubic", downscale_bicubic(hr, 4))):
        ours = downscale(_tensor(hr) * 255, name, 4)[0].permute(1, 2, 0).numpy()
        assert np.abs(ours - made).max() < 1e-3, name
    exact = downscale_gauss(hr, 4, 2.4, 0.8, 30) / 255
    still = back_project(_tensor(hr), torch.from_numpy(exact.transpose(2, 0, 1))[None].float(), "gauss2.4x0.8a30")
    assert (still[0].permute(1, 2, 0).numpy() * 255 - hr).__abs__().max() < 0.05
    lr = degrade(hr.astype(np.uint8), 4, "gauss2.4x0.8a30")
    start = np.clip(imresize(lr, 4), 0, 255)
    scores = {name: _psnr(back_project(_tensor(start), _tensor(lr), name)[0].permute(1, 2, 0).numpy() * 255, hr)
              for name in ("gauss2.4x0.8a30", "bicubic")}
    assert scores["gauss2.4x0.8a30"] > scores["bicubic"] + 0.3 and scores["bicubic"] > _psnr(start, hr) + 0.2, scores
    for name in ("gauss2.4x0.8a30+noise5", "bicubic+jpeg40", "nearest"):  # it would put the noise back
        with pytest.raises(ValueError, match="back-projection needs"):
            Upscaler(None, back_projection=name)


def test_kernel_symmetries_are_the_flips_and_turns_the_blur_commutes_with():
    """A flip or turn is kept for a degradation when blurring and downscaling the turned picture
    gives the turned LR (the same blur): all eight for bicubic and a round Gaussian, four along an
    axis or a diagonal, two (the identity and the half turn) at any other angle; a nearly round
    kernel keeps all eight, its turns' LR a little off the turned LR."""
    from drn_cli.degradations import TURNS_AND_FLIPS, gauss_sigmas, turned
    from drn_cli.degradations.classic import downscale_gauss
    from drn_cli.degradations.resize import downscale_bicubic

    hr = natural(3, 64).astype(np.float64)
    expected = {"bicubic": 8, "gauss2x2a0": 8, "gauss2.4x0.8a0": 4, "gauss2.4x0.8a45": 4, "gauss2.4x0.8a30": 2,
                "gauss1.6x1.2a120": 2}
    for name, count in expected.items():
        sigmas = gauss_sigmas(name)
        down = functools.partial(downscale_gauss, scale=4, sigma_major=sigmas[0], sigma_minor=sigmas[1],
                                 angle_deg=sigmas[2]) if sigmas else functools.partial(downscale_bicubic, scale=4)
        lr = down(hr)
        commuting = {t for t in TURNS_AND_FLIPS
                     if np.abs(down(np.ascontiguousarray(turned(hr, *t))) - turned(lr, *t)).max() < 0.1}
        assert set(kernel_symmetries(name)) == commuting and len(commuting) == count, name
    assert kernel_symmetries("bicubic+noise10+jpeg50") == TURNS_AND_FLIPS
    near, slanted = (functools.partial(downscale_gauss, scale=4, sigma_major=major, sigma_minor=minor, angle_deg=132)
                     for major, minor in ((1.67, 1.49), (2.4, 0.8)))
    quarter = np.ascontiguousarray(turned(hr, 1, False))
    off = {name: np.abs(down(quarter) - turned(down(hr), 1, False)).mean() for name, down in
           (("near", near), ("slanted", slanted))}
    assert kernel_symmetries("gauss1.67x1.49a132") == TURNS_AND_FLIPS and off["near"] < off["slanted"] / 4, off


def test_adapt_back_projects_the_output_of_blurred_pictures_only(tiny_model):
    """--denoise auto reads blur: the adapted model's output is back-projected onto the blur read
    (its line says so); a clean picture's is not."""
    from drn_cli.back_projection import back_project

    picture = blurred(12, 64)
    adapted = test_time.adapt_to_picture(tiny_model, picture, steps=2)
    assert adapted.back_projected and "back-projected onto the blur" in adapted.text()
    upscaler = adapted.upscaler()
    assert upscaler.model is adapted.model and upscaler.back_projection == adapted.degradation
    # --tta averages only the flips and turns that keep the blur the copy was adapted to
    assert upscaler.ensemble == kernel_symmetries(adapted.degradation) and len(upscaler.ensemble) < 8
    plain = test_time.Upscaler(adapted.model).upscale_array(picture / 255.0, tile=0)
    expected = back_project(torch.from_numpy(plain.transpose(2, 0, 1))[None], _tensor(picture), adapted.degradation)
    got = upscaler.upscale_array(picture / 255.0, tile=0)
    assert np.abs(got - expected[0].permute(1, 2, 0).numpy()).max() < 1e-5 and np.abs(got - plain).max() > 0.01
    # --all-levels and --confidence make their final image from the same pass: back-projected too
    from drn_cli.levels import upscale_extras

    extras = upscale_extras(upscaler, picture / 255.0, tile=0, overlap=16, loop=True)
    assert np.abs(extras[-2] - got).max() < 1e-5
    clean = test_time.adapt_to_picture(tiny_model, degrade(natural(13, 256), 4, "bicubic"), steps=1)
    assert not clean.back_projected and clean.upscaler().back_projection is None
    assert clean.kept_start or clean.upscaler().ensemble == kernel_symmetries(clean.degradation)


def test_a_blurred_picture_with_noise_the_reading_misses_is_not_adapted():
    """Blotchy colour noise (three-pixel blotches: the noise reading looks for fine grain in flat
    regions; stronger ones read as a resized JPEG's soft colour) on a blurred photo: the photo model removes it, so its output taken back down with
    the blur read misses the picture by more than LOOP_ERROR_LIMIT grey levels, and the picture
    is upscaled as the model makes it. The same photo without the blotches is adapted and
    back-projected. The photo is four of the shipped Kodak crops, blurred with the blind set's kernel."""
    from drn_cli.degradations.estimate import read_damage
    from drn_cli.degradations.resize import imresize

    model = load("drn-s-x4-real", "cpu", "fp32")
    crops = test_time.shipped_pool()[:4]
    photo_hr = np.concatenate([np.concatenate(crops[:2], axis=1), np.concatenate(crops[2:], axis=1)], axis=0)
    clean = degrade(photo_hr, 4, "gauss2.4x0.8a30")
    blotches = imresize(np.random.default_rng(0).normal(0, 14, (32, 32, 3)), 3)
    noisy = np.clip(clean + blotches, 0, 255).round().astype(np.uint8)
    assert read_damage(noisy, None).damage == read_damage(clean, None).damage == "blur"
    skipped = test_time.adapt_to_picture(model, noisy, steps=1)
    assert "misses the picture by" in skipped.text() and skipped.upscaler().model is model
    adapted = test_time.adapt_to_picture(model, clean, steps=1)
    assert not adapted.skipped and adapted.back_projected, adapted.text()


def test_noisy_and_compressed_pictures_are_not_adapted(shipped_tiny, tmp_path):
    """The closed loop on a noisy or compressed picture rewards putting its noise back: such a
    picture is upscaled by the model as it is, and its line says why."""
    rng = np.random.default_rng(0)
    noisy = np.clip(natural(9, 96) + rng.normal(0, 12, (96, 96, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    Image.fromarray(natural(10, 96)).save(tmp_path / "old.jpg", quality=30)
    args = [str(tmp_path / "noisy.png"), str(tmp_path / "old.jpg"), "--device", "cpu", "--precision", "fp32"]
    adapted = CliRunner().invoke(app, ["upscale", *args, "-o", str(tmp_path / "adapted"), "--adapt-steps", "3"])
    plain = CliRunner().invoke(app, ["upscale", *args, "-o", str(tmp_path / "plain")])
    assert adapted.exit_code == 0 and plain.exit_code == 0, adapted.output + plain.output
    assert "not adapted: noise" in adapted.stderr and "not adapted: JPEG quality 30" in adapted.stderr
    for name in ("noisy_x4.png", "old_x4.jpg"):
        assert (tmp_path / "adapted" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_adapt_options_are_checked_like_the_others():
    with pytest.raises(UsageError, match="--denoise 0.5 blends two"):
        UpscaleRequest(denoise=0.5, adapt_steps=10)
    with pytest.raises(UsageError, match="--adapt trains the model"):
        UpscaleRequest(backend="openvino", adapt_steps=10)
    assert UpscaleRequest(adapt_steps=10, backend="auto").model_backend == "torch"


def test_drn_upscale_adapt_on_tiny_and_grey_images(shipped_tiny, tmp_path):
    Image.fromarray(blurred(5, 48)).save(tmp_path / "small.png")
    Image.fromarray(blurred(6, 40)[:, :, 0]).save(tmp_path / "grey.png")
    Image.fromarray(photo(10, 10)).save(tmp_path / "micro.png")
    result = CliRunner().invoke(app, ["upscale", str(tmp_path / "small.png"), str(tmp_path / "grey.png"),
                                      str(tmp_path / "micro.png"), "-o", str(tmp_path / "out"), "--adapt-steps", "2",
                                      "--device", "cpu", "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out" / "small_x4.png").size == (192, 192)
    assert Image.open(tmp_path / "out" / "grey_x4.png").mode == "L"
    assert "not adapted: the picture is smaller than 16x16 pixels" in result.stderr
    assert result.stderr.count("self-pair L1") == 2


def test_the_api_adapts_too(shipped_tiny):
    from drn_cli import upscale

    out = upscale(blurred(7, 40), adapt=2, device="cpu", precision="fp32")
    assert out.shape == (160, 160, 3)


def test_adapt_with_tta_averages_the_turns_that_keep_the_blur(shipped_tiny):
    """--adapt --tta on a picture blurred at a slant runs two passes, the identity and the half
    turn (the turns its blur allows), not eight, and averages them."""
    from drn_cli.inference import self_ensemble
    from drn_cli.io import Picture
    from drn_cli.session import Session

    pixels = blurred(7, 40)
    totals = []
    session = Session(UpscaleRequest(tta=True, device="cpu", precision="fp32", adapt_steps=2))
    upscaled, upscaler, said = session.upscale(Picture(pixels, None, "PNG"), lambda done, total: totals.append(total))
    assert "adapted to gauss" in said and upscaler.ensemble == ((0, False), (2, False)), said
    assert set(totals) == {2}  # one tile a pass
    expected = self_ensemble(lambda x: upscaler.upscale_array(x, tile=0), pixels / 255.0, upscaler.ensemble) * 255
    assert np.abs(upscaled.final.pixels.astype(float) - expected).max() <= 0.5 + 1e-3


def test_ctrl_c_while_adapting_leaves_nothing(shipped_tiny, tmp_path):
    """SIGINT during the adaptation of the first picture: exit 130, no output, no partial file."""
    work = tmp_path / "work"
    work.mkdir()
    Image.fromarray(blurred(8, 160)).save(work / "photo.png")
    env = {**os.environ, "DRN_WEIGHTS_DIR": str(shipped_tiny), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "drn_cli", "upscale", str(work / "photo.png"), "-o",
                             str(work / "out"), "--adapt-steps", "100000", "--device", "cpu"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(8)  # torch loaded, the model too: adapting for good (100000 steps)
    assert proc.poll() is None, proc.communicate()[1].decode()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert sorted(p.name for p in work.rglob("*")) in (["photo.png"], ["out", "photo.png"])
    assert "Traceback" not in err.decode()


def test_finetune_unpaired_reads_the_blur_and_records_it_in_the_run(tmp_path, tiny_model_file):
    import json

    from drn_cli.training.adapt import AdaptConfig
    from drn_cli.training.run_folder import start_run

    folder = tmp_path / "blurred"
    folder.mkdir()
    for seed in range(6):
        Image.fromarray(degrade(natural(seed), 4, "gauss2.4x0.8a30")).save(folder / f"p{seed}.png")
    run = start_run(AdaptConfig(data=[], out=str(tmp_path / "run"), model={"scale": 4, "n_blocks": 1, "n_feats": 8},
                                steps=1, batch_size=4, patch_size=32, precision="fp32", device="cpu",
                                init=str(tiny_model_file), lr_dir=str(folder)))
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["self_pairs"].startswith("gauss") and saved["inferred"]["kernel"] == saved["self_pairs"]
    assert run.task.describe(run.task.measure())[0].startswith("read from the photos: kernel gauss")
    run.train()


def test_noisy_photos_give_self_pairs_cleaned_by_the_start_model(tmp_path, tiny_model_file):
    """Noise or JPEG read from the photos: the self-pairs' HR is each photo through the starting
    model and back down (test_time.cleaned), not the photo with its noise."""
    from drn_cli.training.adapt import AdaptConfig
    from drn_cli.training.run_folder import start_run

    folder = tmp_path / "noisy"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(photo(48, 48, seed=seed)).save(folder / f"p{seed}.jpg", quality=40)
    run = start_run(AdaptConfig(data=[], out=str(tmp_path / "run"), model={"scale": 4, "n_blocks": 1, "n_feats": 8},
                                steps=1, batch_size=4, patch_size=32, precision="fp32", device="cpu",
                                init=str(tiny_model_file), lr_dir=str(folder), holdout=0))
    assert run.config.self_pairs.endswith("+jpeg40")
    start = load(str(tiny_model_file), "cpu", "fp32")
    expected = [test_time.cleaned(start, p) for p in run.task.photos]
    assert all(np.array_equal(a, b) for a, b in zip(run.task.pair_sources, expected))
    assert not np.array_equal(run.task.pair_sources[0], run.task.photos[0])


def test_the_blur_family_draws_a_gaussian_per_image_and_keeps_its_noise_out_of_the_dual_target():
    """degradations.Blur: the blur model's training pairs. The network's input is the blurred LR,
    with faint noise in about half the draws; the dual target is the same LR without the noise."""
    from drn_cli.degradations import Blur
    from drn_cli.degradations.resize import downscale_bicubic

    hr = natural(0, 128)
    family = parse_degradation("blur")
    assert family.family and family.kernel == "bicubic" and isinstance(family, Blur)
    noisy = 0
    for seed in range(12):
        lr, target = family.pair(hr, 4, np.random.default_rng(seed))
        assert lr.shape == target.shape == (32, 32, 3)
        residual = lr.astype(float) - target
        assert residual.std() <= family.noise_sigma[1] + 0.5
        noisy += residual.std() > 0.3
        # blurred beyond bicubic: the target is smoother than the bicubic LR of the same HR
        bicubic = downscale_bicubic(hr, 4)
        assert np.abs(np.diff(target.astype(float), axis=1)).mean() < np.abs(np.diff(bicubic, axis=1)).mean()
    assert 2 <= noisy <= 10
    assert (family.lr(hr, 4, seed=3) == family.lr(hr, 4, seed=3)).all()
    assert (family.lr(hr, 4, seed=3) != family.lr(hr, 4, seed=4)).any()
    quiet = Blur(noise_prob=0.0).pair(hr, 4, np.random.default_rng(0))
    assert (quiet[0] == quiet[1]).all()


@pytest.fixture
def shipped_with_blur(shipped_tiny):
    """shipped_tiny with a tiny drn-s-x4-blur beside its clean and photo models."""
    from conftest import tiny_weights

    from drn_cli.models.weights import save_weights

    save_weights(shipped_tiny / "drn-s-x4-blur.safetensors", tiny_weights(seed=2))
    return shipped_tiny


def test_auto_runs_the_blur_model_on_blurred_pictures_and_adapts_it(shipped_with_blur, tmp_path):
    """--denoise auto: a picture read as blurred gets drn-s-x4-blur (S = 1, the reading as the
    reason); a clean one the clean model, a noisy JPEG the photo model; a named strength or
    model, and a scale without a blur model, never the blur model; --adapt adapts the blur model."""
    from images import textured

    Image.fromarray(blurred(3, 64)).save(tmp_path / "blurred.png")
    Image.fromarray(degrade(textured(256), 4, "bicubic")).save(tmp_path / "clean.png")
    Image.fromarray(degrade(textured(256), 4, "bicubic+noise10")).save(tmp_path / "noisy.jpg", quality=30)
    common = ["-o", str(tmp_path / "out"), "--json", "--device", "cpu", "--precision", "fp32", "--overwrite"]

    def records(*options) -> dict:
        result = CliRunner().invoke(app, ["upscale", *(str(tmp_path / n) for n in ("blurred.png", "clean.png", "noisy.jpg")),
                                          *common, *options])
        assert result.exit_code == 0, result.output
        return {Path(r["input"]).stem: r for r in map(json.loads, result.stdout.splitlines())}

    auto = records()
    assert auto["blurred"]["model"] == "drn-s-x4-blur" and auto["blurred"]["denoise"] == 1
    assert auto["blurred"]["denoise_reason"].startswith("blurred")
    assert (auto["clean"]["model"], auto["noisy"]["model"]) == ("drn-s-x4", "drn-s-x4-real")
    assert records("--denoise", "1")["blurred"]["model"] == "drn-s-x4-real"
    assert records("--model", "drn-s-x4-real")["blurred"]["model"] == "drn-s-x4-real"
    dry = CliRunner().invoke(app, ["upscale", str(tmp_path / "clean.png"), "--dry-run", "--device", "cpu"])
    assert "drn-s-x4, drn-s-x4-real or drn-s-x4-blur, per picture (--denoise auto)" in dry.stderr, dry.output

    from drn_cli.io import Picture
    from drn_cli.session import Session

    session = Session(UpscaleRequest(device="cpu", precision="fp32", adapt_steps=2))
    picture = Picture(blurred(3, 64), None, "PNG")
    start = session.upscaler(picture.size, picture)
    adapted, said = session.adapt(start, picture)
    assert start.model.name == "drn-s-x4-blur" and "adapted to gauss" in said
    blur_start = load("drn-s-x4-blur", "cpu", "fp32").weights.primal
    changed = adapted.model.weights.primal
    assert any(not torch.equal(changed[k], blur_start[k]) for k in blur_start)

    (shipped_with_blur / "drn-s-x4-blur.safetensors").unlink()
    assert records()["blurred"]["model"] == "drn-s-x4-real"  # not installed: the photo model, as before


def test_the_blur_model_runs_only_where_the_blur_read_explains_the_picture():
    """Auto gives a blurred picture the blur model only where the photo model's output, taken back
    down with the blur read, explains it (inference.blur_explains): the blur model keeps grain the
    photo model removes. The blotchy photo of the test above gets the photo model, and says why;
    the same photo without the blotches gets the blur model. The shipped models."""
    from drn_cli.degradations.resize import imresize
    from drn_cli.inference import blur_explains, load_upscaler, upscaler_for_picture
    from drn_cli.io import Picture

    crops = test_time.shipped_pool()[:4]
    photo_hr = np.concatenate([np.concatenate(crops[:2], axis=1), np.concatenate(crops[2:], axis=1)], axis=0)
    clean = degrade(photo_hr, 4, "gauss2.4x0.8a30")
    blotches = imresize(np.random.default_rng(0).normal(0, 14, (32, 32, 3)), 3)
    noisy = np.clip(clean + blotches, 0, 255).round().astype(np.uint8)
    photo = load_upscaler("drn-s-x4-real", "cpu", "fp32")
    assert blur_explains(Picture(clean, None, "PNG"), photo)
    assert not blur_explains(Picture(noisy, None, "PNG"), photo)
    request = UpscaleRequest(device="cpu", precision="fp32")
    chosen = {name: upscaler_for_picture(request, (96, 96), Picture(pixels, None, "PNG")).model
              for name, pixels in (("clean", clean), ("noisy", noisy))}
    assert chosen["clean"].name == "drn-s-x4-blur" and chosen["clean"].reason.startswith("blurred")
    assert chosen["noisy"].name == "drn-s-x4-real" and chosen["noisy"].reason.endswith("with grain the blur does not explain")
