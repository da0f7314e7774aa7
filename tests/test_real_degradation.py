"""The realistic degradation family and the estimators that read photos (issue 13)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import photo
from PIL import Image

from drn_cli.degradations import degrade, parse_degradation
from drn_cli.degradations.estimate import jpeg_quality, noise_sigma
from drn_cli.degradations.real import RealDegradation, degrade_real_pair, jpeg, random_noise
from drn_cli.training.data import PairedPatches, PatchSpec, lr_pyramid


def _hr(h: int = 64, w: int = 64) -> np.ndarray:
    return photo(h, w, seed=7)


def test_the_pipeline_is_deterministic_under_a_seed_and_varies_between_seeds():
    hr = _hr()
    a = degrade_real_pair(hr, 4, np.random.default_rng(3))
    b = degrade_real_pair(hr, 4, np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    draws = {degrade(hr, 4, "real", seed).tobytes() for seed in range(6)}
    assert len(draws) == 6 and a[0].shape == (16, 16, 3) and a[0].dtype == np.uint8


def _blockiness(image: np.ndarray) -> float:
    """Mean jump across 8-pixel block borders over the mean jump elsewhere (1 = no blocks)."""
    grey = image.astype(float).mean(-1)
    jumps = np.abs(np.diff(grey, axis=1)).mean(axis=0)
    at_borders = jumps[7::8].mean()
    return float(at_borders / np.delete(jumps, np.s_[7::8]).mean())


def test_the_jpeg_stage_makes_8x8_blocks_a_simple_measure_finds():
    smooth = np.repeat(np.linspace(40, 220, 96)[None, :, None], 96, axis=0).repeat(3, axis=2)
    rng = np.random.default_rng(0)
    image = np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
    assert _blockiness(image) < 1.2
    assert _blockiness(jpeg(image, 30, subsampling=True)) > 1.5


@pytest.mark.parametrize("sigma", [4.0, 10.0])
def test_the_noise_stage_raises_flat_region_variance_by_the_requested_amount(sigma):
    flat = np.full((128, 128, 3), 128.0)
    spec = RealDegradation(noise_prob=1.0, poisson_prob=0.0, grey_noise_prob=0.0, gaussian_sigma=(sigma, sigma))
    noisy = random_noise(flat, np.random.default_rng(1), spec)
    assert abs(noisy.std() - sigma) < 0.05 * sigma
    assert abs(noise_sigma(noisy) - sigma) < 0.25 * sigma  # the estimator reads it back (it reads low)


def test_poisson_like_noise_grows_with_brightness():
    spec = RealDegradation(noise_prob=1.0, poisson_prob=1.0, grey_noise_prob=0.0, poisson_gain=(1.0, 1.0))
    dark = random_noise(np.full((64, 64, 3), 16.0), np.random.default_rng(2), spec).std()
    bright = random_noise(np.full((64, 64, 3), 196.0), np.random.default_rng(2), spec).std()
    assert abs(dark - 4.0) < 0.4 and abs(bright - 14.0) < 1.0  # sqrt(gain * intensity)


@pytest.mark.parametrize("quality", [25, 40, 60, 85, 95])
def test_jpeg_quality_is_read_from_the_files_own_tables(tmp_path, quality):
    path = tmp_path / "a.jpg"
    Image.fromarray(photo(40, 40)).save(path, quality=quality)
    assert jpeg_quality(path) == quality
    Image.fromarray(photo(40, 40)).save(tmp_path / "a.png")
    assert jpeg_quality(tmp_path / "a.png") is None


def test_fixed_stage_names_are_parsed_and_bad_ones_refused():
    staged = parse_degradation("bicubic+noise8+jpeg40")
    assert (staged.kernel, staged.sigma, staged.quality, staged.name) == ("bicubic", 8.0, 40, "bicubic+noise8+jpeg40")
    assert (parse_degradation("nearest").kernel, parse_degradation("nearest").name) == ("nearest", "nearest")
    assert parse_degradation("real").family and not parse_degradation("bd+jpeg30").family
    for bad in ("real+noise2", "bicubic+jpeg0", "lanczos", "bicubic+blur3"):
        with pytest.raises(ValueError, match="unknown degradation"):
            parse_degradation(bad)
    lr = degrade(_hr(), 4, "bicubic+jpeg40", seed=0)
    buffer = io.BytesIO()
    Image.fromarray(degrade(_hr(), 4, "bicubic")).save(buffer, format="JPEG", quality=40, subsampling=2)
    assert np.array_equal(lr, np.asarray(Image.open(buffer)))  # the same bytes a file at q40 would hold


def test_real_training_samples_keep_clean_targets_and_a_deterministic_dual_target():
    hr = _hr(96, 96)
    pyramids = [lr_pyramid(hr, 4)]
    real = PairedPatches(pyramids, PatchSpec(4, 32, seed=0, degradation="real"), length=8)
    bicubic = PairedPatches(pyramids, PatchSpec(4, 32, seed=0), length=8)
    for i in range(8):
        r, b = real[i], bicubic[i]
        assert all(x.equal(y) for x, y in zip(r.pyramid, b.pyramid))  # same crops, clean targets
        assert b.lr.equal(b.pyramid[0]) and b.dual_lr.equal(b.pyramid[0])
        assert r.lr.shape == r.dual_lr.shape == (3, 8, 8)
    assert any(not real[i].lr.equal(real[i].pyramid[0]) for i in range(8))
    assert real[3].lr.equal(PairedPatches(pyramids, real.spec, 8)[3].lr)  # a pure function of (seed, index)


@pytest.mark.parametrize("kind", ["bicubic+noise8+jpeg40", "nearest"])
def test_named_training_degradations_degrade_the_input_and_keep_clean_targets(kind):
    """`drn train --degradation bicubic+noise8+jpeg40`: the input is that degradation of the HR
    patch (noise drawn per sample), the primal targets the clean bicubic pyramid, the innermost
    dual target the kernel's LR of the patch."""
    hr = _hr(96, 96)
    pyramids = [lr_pyramid(hr, 4)]
    named = PairedPatches(pyramids, PatchSpec(4, 32, seed=0, degradation=kind), length=8)
    bicubic = PairedPatches(pyramids, PatchSpec(4, 32, seed=0), length=8)
    kernel = kind.split("+")[0]
    for i in range(4):
        n, b = named[i], bicubic[i]
        assert all(x.equal(y) for x, y in zip(n.pyramid, b.pyramid))
        patch = n.pyramid[-1].permute(1, 2, 0).byte().numpy()
        assert n.dual_lr.permute(1, 2, 0).byte().numpy().tolist() == degrade(patch, 4, kernel).tolist()
        assert n.lr.equal(n.dual_lr) == (kind == kernel)
    assert not named[0].lr.equal(named[1].lr) and named[2].lr.equal(PairedPatches(pyramids, named.spec, 8)[2].lr)


def test_training_draws_keep_a_share_of_clean_bicubic_lr_and_evaluation_draws_none():
    from drn_cli.degradations.real import DEFAULT, TRAINING

    hr = _hr()
    clean = degrade(hr, 4, "bicubic")
    training = [degrade_real_pair(hr, 4, np.random.default_rng(i), TRAINING)[0] for i in range(200)]
    share = np.mean([np.array_equal(lr, clean) for lr in training])
    assert abs(share - TRAINING.clean_prob) < 0.08 and DEFAULT.clean_prob == 0
    assert not any(np.array_equal(degrade(hr, 4, "real", i), clean) for i in range(50))
