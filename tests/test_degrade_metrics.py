import numpy as np
import pytest
from conftest import photo, shared_path

from drn_cli.degradations import degrade
from drn_cli.degradations.classic import downscale_nearest, gaussian_kernel
from drn_cli.degradations.estimate import degradation_mismatch, guess_degradation, radial_log_spectrum
from drn_cli.degradations.resize import cubic, downscale_bicubic, imresize, modcrop, quantize_uint8
from drn_cli.io import read_rgb
from drn_cli.metrics import psnr_y, rgb_to_y, ssim_y


def test_cubic_kernel_known_values():
    # Keys kernel, a = -0.5: 1 at 0, 0 at integers, 0.5625 at 0.5, -0.0625 at 1.5.
    np.testing.assert_allclose(cubic(np.array([0, 0.5, 1, 1.5, 2, 3])), [1, 0.5625, 0, -0.0625, 0, 0])


def test_constant_image_stays_constant():
    img = np.full((13, 17, 3), 77.0)
    np.testing.assert_allclose(imresize(img, 0.25, out_shape=(3, 4)), 77.0)
    np.testing.assert_allclose(imresize(img, 4), 77.0)


def test_upscale_by_2_known_values():
    # MATLAB: imresize([0 0 255 255], 2, 'bicubic') on a row -> interpolation at +-0.25 offsets.
    row = np.array([[0.0, 0.0, 255.0, 255.0]])
    out = imresize(row, 2)[0]
    w = cubic(np.array([1.25, 0.25, 0.75, 1.75]))  # taps of output 4 (1-based), centre 2.25
    assert out.shape == (8,)
    assert out[3] == pytest.approx(float(np.dot(w / w.sum(), [0, 0, 255, 255])))
    np.testing.assert_allclose(out[::-1], 255 - out, atol=1e-9)  # symmetric


def test_downscale_bicubic_antialiases_a_checkerboard():
    board = (np.indices((16, 16)).sum(0) % 2 * 255.0)
    assert np.ptp(downscale_bicubic(board, 4)[1:-1, 1:-1]) < 1.0  # averages out to grey


def test_nearest_and_shapes():
    img = np.arange(64, dtype=np.float64).reshape(8, 8)
    assert downscale_nearest(img, 4).shape == (2, 2)
    assert downscale_nearest(img, 2)[0, 0] == img[1, 1]
    assert degrade(photo(16, 24), 4, "bd").shape == (4, 6, 3)
    assert gaussian_kernel().sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(photo(8, 8), 2, "jpeg")


def test_quantize_and_modcrop():
    assert quantize_uint8(np.array([-3, 0.5, 1.49, 254.5, 300])).tolist() == [0, 1, 1, 255, 255]
    assert modcrop(np.zeros((10, 13, 3)), 4).shape == (8, 12, 3)


def test_psnr_known_value():
    a = np.full((20, 20, 3), 100, np.uint8)
    b = a.copy()
    b[..., :] = 110  # Y differs by 10 * (65.481 + 128.553 + 24.966) / 255 = 8.588 everywhere
    expected = 10 * np.log10(255 ** 2 / (10 * 219 / 255) ** 2)
    assert psnr_y(b, a, shave=4) == pytest.approx(expected)
    assert psnr_y(a, a, shave=0) == float("inf")


def test_ssim_identity_and_shape_check():
    img = photo(40, 40)
    assert ssim_y(img, img, 4) == pytest.approx(1.0)
    assert ssim_y(img, 255 - img, 4) < 0.5
    with pytest.raises(ValueError, match="same shape"):
        ssim_y(img, img[:-1], 4)
    assert rgb_to_y(np.zeros((1, 1, 3)))[0, 0] == pytest.approx(16.0)
    assert np.isnan(ssim_y(img[:18, :18], img[:18, :18], 4))  # 10x10 after shaving


def test_radial_log_spectrum_is_contrast_free_and_sees_aliasing():
    img = photo(64, 64, seed=1).astype(np.float64)
    np.testing.assert_allclose(radial_log_spectrum(img * 0.5 + 20), radial_log_spectrum(img), atol=1e-9)
    smooth = radial_log_spectrum(downscale_bicubic(modcrop(photo(128, 128, seed=2), 4), 4))
    aliased = radial_log_spectrum(downscale_nearest(modcrop(photo(128, 128, seed=2), 4), 4))
    assert smooth.shape == (6,) and aliased[-1] > smooth[-1] + 1.0  # folded noise fills the top band


@pytest.mark.parametrize(("kind", "guess"), [("nearest", "nearest"), ("bicubic", "bicubic"), ("bd", "bicubic")])
def test_guess_degradation_on_natural_photos(kind, guess):
    """Bicubic and BD are not told apart (docs/adaptation.md), so both read as bicubic."""
    hrs = [modcrop(read_rgb(p), 4) for p in sorted(shared_path("data", "benchmarks", "Set14", "HR").glob("*.png"))]
    photos = [degrade(hr, 4, kind) for hr in hrs]
    scores = degradation_mismatch(photos)
    assert guess_degradation(photos) == guess
    assert (scores["nearest"] < scores["bicubic"]) == (kind == "nearest")
