import itertools

import numpy as np
import pytest
import torch
from conftest import photo, tiny_weights
from torch.nn import functional as F

from drn_cli.inference import make_upscaler
from drn_cli.tiling import plan_axis, upscale_tiled


@pytest.mark.parametrize("length,tile,overlap", [(100, 32, 8), (1000, 256, 16), (50, 64, 8), (257, 256, 16), (33, 32, 30)])
def test_plan_axis_is_balanced_and_covers(length, tile, overlap):
    spans = plan_axis(length, tile, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    sizes = {end - start for start, end in spans}
    assert len(sizes) == 1 and max(sizes) <= max(tile, 1) or len(spans) == 1
    for (_, e0), (s1, _) in itertools.pairwise(spans):
        assert s1 < e0 and e0 - s1 >= min(overlap, tile // 2)


def _assemble(image, fn, scale, tile, overlap):
    _, c, h, w = image.shape
    out = torch.full((c, h * scale, w * scale), float("nan"))
    rows_seen = []

    def emit(y, rows):
        out[:, y: y + rows.shape[1]] = rows
        rows_seen.append((y, rows.shape[1]))

    upscale_tiled(image, fn, scale, tile, overlap, emit)
    assert sum(n for _, n in rows_seen) == h * scale  # every row exactly once, in order
    assert [y for y, _ in rows_seen] == sorted(y for y, _ in rows_seen)
    return out


def test_pointwise_function_is_reproduced_exactly():
    image = torch.rand(1, 3, 37, 53)
    fn = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
    out = _assemble(image, fn, 2, tile=16, overlap=4)
    torch.testing.assert_close(out, fn(image)[0])


def test_tiled_drn_is_close_to_whole_image():
    weights = tiny_weights(seed=3)
    upscaler = make_upscaler(weights, "cpu", "fp32")
    image = photo(48, 64).astype(np.float32) / 255
    whole = upscaler.upscale_array(image, tile=0)
    tiled = upscaler.upscale_array(image, tile=24, overlap=8)
    mse = float(np.mean((whole - tiled) ** 2))
    assert 10 * np.log10(1 / mse) > 40


def test_out_of_memory_halves_the_tile(monkeypatch):
    upscaler = make_upscaler(tiny_weights(), "cpu", "fp32")
    real = upscaler.upscale_tile
    seen = []

    def limited(tile):
        seen.append(max(tile.shape[-2:]))
        if max(tile.shape[-2:]) > 32:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        return real(tile)

    monkeypatch.setattr(upscaler, "upscale_tile", limited)
    out = upscaler.upscale_array(photo(64, 64).astype(np.float32) / 255, tile=0, overlap=4)
    assert out.shape == (256, 256, 3) and seen[0] == 64 and max(seen[1:]) <= 32


def test_non_finite_reduced_precision_tile_is_redone_in_fp32(monkeypatch):
    upscaler = make_upscaler(tiny_weights(), "cpu", "bf16")
    real = upscaler.model._forward
    calls = []

    def flaky(lr, dtype):
        calls.append(dtype)
        out = real(lr, dtype)
        return [t * float("nan") for t in out] if dtype == torch.bfloat16 else out

    monkeypatch.setattr(upscaler.model, "_forward", flaky)
    out = upscaler.upscale_array(photo(16, 16).astype(np.float32) / 255, tile=0)
    assert calls == [torch.bfloat16, torch.float32] and np.isfinite(out).all()


@pytest.mark.parametrize("channels,bits", [(3, 8), (1, 8), (3, 16), (1, 16)])
def test_rows_rounded_where_they_are_match_the_host_rounding(channels, bits):
    """upscale_picture rounds finished rows on the model's device (inference.integer_rows); the
    result must be io.to_integers' (via to_pixels) on the same float rows, out-of-range and
    half-way values included."""
    from drn_cli.inference import float_rows, integer_rows
    from drn_cli.picture import to_pixels

    torch.manual_seed(0)
    rows = torch.rand(3, 7, 40) * 1.2 - 0.1
    maxval = 65535 if bits == 16 else 255
    rows[0, 0, :8] = (torch.arange(8) + 0.5) / maxval  # half-way between two integers
    got = integer_rows(channels, bits)(rows)
    want = to_pixels(float_rows(rows), channels, bits)
    assert got.dtype == want.dtype and got.shape == want.shape == (7, 40, channels)
    assert np.array_equal(got, want)
