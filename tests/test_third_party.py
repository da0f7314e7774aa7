"""Users' own Real-ESRGAN / ESRGAN files through the same door (#46): a real release checkpoint, RRDBNet
in both key layouts, each against a reference forward written here from the architecture's
definition with plain functional ops; the features a one-output model lacks; the third-party
catalogue downloaded from a local HTTP server (never the network)."""

from __future__ import annotations

import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch
from conftest import photo, shared_path
from PIL import Image
from torch.nn import functional as F
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.models.weights import resolve_model

runner = CliRunner()


def srvgg_reference(state: dict, x: torch.Tensor, scale: int) -> torch.Tensor:
    """SRVGGNetCompact by its definition: conv, PReLU pairs, a last conv to 3*s*s channels, pixel
    shuffle, plus the nearest-upsampled input."""
    n = len({k.split(".")[1] for k in state})
    y = x
    for i in range(0, n, 2):
        y = F.conv2d(y, state[f"body.{i}.weight"], state[f"body.{i}.bias"], padding=1)
        if i + 1 < n:
            y = F.prelu(y, state[f"body.{i + 1}.weight"])
    return F.pixel_shuffle(y, scale) + F.interpolate(x, scale_factor=scale, mode="nearest")


def rrdb_reference(state: dict, x: torch.Tensor, blocks: int, unshuffle: int = 1) -> torch.Tensor:
    """RRDBNet by its definition (BasicSR key names), LeakyReLU 0.2, residual scale 0.2."""
    def conv(name, y):
        return F.conv2d(y, state[f"{name}.weight"], state[f"{name}.bias"], padding=1)

    def lrelu(y):
        return F.leaky_relu(y, 0.2)

    if unshuffle > 1:
        x = F.pixel_unshuffle(x, unshuffle)
    feat = conv("conv_first", x)
    trunk = feat
    for b in range(blocks):
        block_in = trunk
        for r in (1, 2, 3):
            parts = [trunk]
            for c in range(1, 5):
                parts.append(lrelu(conv(f"body.{b}.rdb{r}.conv{c}", torch.cat(parts, 1))))
            trunk = conv(f"body.{b}.rdb{r}.conv5", torch.cat(parts, 1)) * 0.2 + trunk
        trunk = trunk * 0.2 + block_in
    feat = feat + conv("conv_body", trunk)
    k = 1
    while f"conv_up{k}.weight" in state:
        feat = lrelu(conv(f"conv_up{k}", F.interpolate(feat, scale_factor=2, mode="nearest")))
        k += 1
    return conv("conv_last", lrelu(conv("conv_hr", feat)))


def rrdb_state(blocks: int = 2, nf: int = 8, gc: int = 4, upsamples: int = 2, in_ch: int = 3, seed: int = 0) -> dict:
    """Random RRDBNet weights in BasicSR's layout (small: a test's own)."""
    g = torch.Generator().manual_seed(seed)

    def conv(cin, cout):
        return torch.randn(cout, cin, 3, 3, generator=g) * (0.5 / (cin * 9) ** 0.5), torch.randn(cout, generator=g) * 0.01

    state = {}
    for name, (cin, cout) in {"conv_first": (in_ch, nf), "conv_body": (nf, nf), "conv_hr": (nf, nf),
                              "conv_last": (nf, 3), **{f"conv_up{k}": (nf, nf) for k in range(1, upsamples + 1)}}.items():
        state[f"{name}.weight"], state[f"{name}.bias"] = conv(cin, cout)
    for b in range(blocks):
        for r in (1, 2, 3):
            for c in range(1, 6):
                state[f"body.{b}.rdb{r}.conv{c}.weight"], state[f"body.{b}.rdb{r}.conv{c}.bias"] = conv(
                    nf + (c - 1) * gc, gc if c < 5 else nf)
    return state


def esrgan_layout(state: dict, blocks: int, upsamples: int) -> dict:
    """The same weights under the original ESRGAN repository's keys (model.0, model.1.sub.N.RDBk.convj.0, ...)."""
    index = {"conv_first": 0, **{f"conv_up{k}": 3 * k for k in range(1, upsamples + 1)}}
    index |= {"conv_hr": 3 * upsamples + 2, "conv_last": 3 * upsamples + 4}
    out = {}
    for key, value in state.items():
        name, kind = key.rsplit(".", 1)
        if name in index:
            out[f"model.{index[name]}.{kind}"] = value
        elif name == "conv_body":
            out[f"model.1.sub.{blocks}.{kind}"] = value
        else:
            _, b, rdb, conv = name.split(".")
            out[f"model.1.sub.{b}.RDB{rdb[-1]}.{conv}.0.{kind}"] = value
    return out


def _upscale(src, out, model, *extra):
    return runner.invoke(app, ["upscale", str(src), "-o", str(out), "--model", str(model), "--precision", "fp32", *extra])


def _expected(reference, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = reference(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return (y * 255 + 0.5).astype(np.uint8)


def _check_outputs(tmp_path, model, reference, scale, size=(20, 28), tiles=("0",)):
    """The CLI's output of a photo equals the reference within 1 level, whole and with each of
    `tiles` (a tile whose overlap can exceed twice the model's receptive radius, so that tiling
    changes nothing: tiling.effective_overlap)."""
    image = photo(*size)
    Image.fromarray(image).save(tmp_path / "in.png")
    expected = _expected(reference, image)
    for tile in tiles:
        result = _upscale(tmp_path / "in.png", tmp_path / f"out{tile}.png", model, "--tile", tile)
        assert result.exit_code == 0, result.output
        got = np.asarray(Image.open(tmp_path / f"out{tile}.png")).astype(int)
        assert got.shape == (size[0] * scale, size[1] * scale, 3)
        assert np.abs(got - expected).max() <= 1, (tile, np.abs(got - expected).max())


def test_a_real_esrgan_release_file_gives_its_architectures_output(tmp_path):
    path = shared_path("fixtures", "third-party", "realesr-animevideov3.pth")
    weights = resolve_model(path)
    assert (weights.architecture, weights.config.scale, weights.config.num_conv) == ("srvgg", 4, 16)
    state = torch.load(path, map_location="cpu", weights_only=True)["params"]
    _check_outputs(tmp_path, path, lambda x: srvgg_reference(state, x, 4), 4, (48, 170), ("0", "160"))


@pytest.mark.parametrize("layout", ["basicsr", "esrgan"])
def test_rrdbnet_in_either_key_layout_gives_its_architectures_output(tmp_path, layout):
    state = rrdb_state(blocks=1)
    saved = {"params_ema": state, "params": {k: v * 0 for k, v in state.items()}} if layout == "basicsr" else \
        esrgan_layout(state, blocks=1, upsamples=2)
    torch.save(saved, tmp_path / "model.pth")
    weights = resolve_model(tmp_path / "model.pth")
    assert (weights.architecture, weights.config.scale, weights.config.num_block) == ("rrdb", 4, 1)
    _check_outputs(tmp_path, tmp_path / "model.pth", lambda x: rrdb_reference(state, x, 1), 4, (40, 170),
                   ("0", "160"))


def test_a_real_esrgan_x2_model_unshuffles_its_input_and_takes_odd_sizes(tmp_path):
    state = rrdb_state(in_ch=12, seed=3)  # Real-ESRGAN x2: the input folded by 2 into 12 channels
    torch.save({"params_ema": state}, tmp_path / "x2.pth")
    assert resolve_model(tmp_path / "x2.pth").config.scale == 2
    _check_outputs(tmp_path, tmp_path / "x2.pth", lambda x: rrdb_reference(state, x, 2, unshuffle=2), 2)
    Image.fromarray(photo(7, 9)).save(tmp_path / "odd.png")
    result = _upscale(tmp_path / "odd.png", tmp_path / "odd_x2.png", tmp_path / "x2.pth")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "odd_x2.png").size == (18, 14)


def test_what_a_one_output_model_lacks_is_one_line(tmp_path, lr_photos):
    torch.save({"params": rrdb_state()}, tmp_path / "esrgan.pth")
    Image.fromarray(photo(12, 12)).save(tmp_path / "a.png")
    for option, words in (("--confidence", "needs a model with dual blocks"), ("--all-levels", "pyramid levels"),
                          ("--denoise", "has no partner")):
        args = [option, "0.5"] if option == "--denoise" else [option]
        result = _upscale(tmp_path / "a.png", tmp_path / "b.png", tmp_path / "esrgan.pth", *args)
        assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.output, result.output
    adapt = runner.invoke(app, ["finetune-unpaired", str(lr_photos), "--out", str(tmp_path / "run"),
                                "--model", str(tmp_path / "esrgan.pth"), "--steps", "1"])
    assert adapt.exit_code == 2 and "cannot be trained or adapted here" in adapt.stderr, adapt.output


def test_an_unknown_state_dict_is_one_line(tmp_path):
    torch.save({"params": {"encoder.conv.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "other.pth")
    Image.fromarray(photo(8, 8)).save(tmp_path / "a.png")
    result = _upscale(tmp_path / "a.png", tmp_path / "b.png", tmp_path / "other.pth")
    assert result.exit_code == 1 and "not a model this version knows" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_a_third_party_model_exports_to_onnx(tmp_path):
    pytest.importorskip("onnxruntime", reason="export checks its file with onnxruntime (the [onnx] extra)")
    torch.save({"params": rrdb_state()}, tmp_path / "esrgan.pth")
    result = runner.invoke(app, ["export", str(tmp_path / "esrgan.pth"), "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.onnx").stat().st_size > 10_000


class _Server:
    """One file on a real HTTP server on 127.0.0.1."""

    def __init__(self, files: dict[str, bytes]) -> None:
        served = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                data = served.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def catalogue_entry(monkeypatch, tmp_path):
    """The realesr-general-x4v3 entry pointed at a local server holding a small SRVGG file."""
    import dataclasses

    from drn_cli.models import presets


    buffer = tmp_path / "served.pth"
    torch.save({"params": srvgg_state()}, buffer)
    data = buffer.read_bytes()
    server = _Server({"/realesr-general-x4v3.pth": data})
    entry = dataclasses.replace(presets.PRESETS["realesr-general-x4v3"], url=f"{server.url}/realesr-general-x4v3.pth",
                                sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    monkeypatch.setitem(presets.PRESETS, entry.name, entry)
    yield entry, server
    server.httpd.shutdown()


def srvgg_state(nf: int = 8, convs: int = 2, scale: int = 4) -> dict:
    g = torch.Generator().manual_seed(1)
    state, shapes = {}, [(3, nf)] + [(nf, nf)] * convs + [(nf, 3 * scale * scale)]
    for i, (cin, cout) in enumerate(shapes):
        state[f"body.{2 * i}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.1
        state[f"body.{2 * i}.bias"] = torch.zeros(cout)
        if i < len(shapes) - 1:
            state[f"body.{2 * i + 1}.weight"] = torch.full((cout,), 0.25)
    return state


def test_models_lists_third_party_models_and_one_downloads_verified_on_first_use(tmp_path, catalogue_entry):
    entry, server = catalogue_entry
    listing = runner.invoke(app, ["models"])
    assert "realesr-general-x4v3" in listing.stdout and "BSD-3-Clause" in listing.stdout
    assert "RealESRGAN_x4plus" in listing.stdout and "downloads on first use" in listing.stdout
    Image.fromarray(photo(10, 12)).save(tmp_path / "a.png")
    result = _upscale(tmp_path / "a.png", tmp_path / "b.png", entry.name)
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "b.png").size == (48, 40)
    from drn_cli.models.presets import shipped_file

    cached = shipped_file(entry.name)
    assert cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == entry.sha256
    server.httpd.shutdown()  # cached: no network needed again
    again = _upscale(tmp_path / "a.png", tmp_path / "c.png", entry.name)
    assert again.exit_code == 0, again.output


def test_a_download_that_is_not_the_pinned_file_is_refused_and_nothing_is_left(tmp_path, catalogue_entry, monkeypatch):
    import dataclasses

    from drn_cli.models import presets

    entry, _ = catalogue_entry
    monkeypatch.setitem(presets.PRESETS, entry.name, dataclasses.replace(entry, sha256="0" * 64))
    Image.fromarray(photo(10, 12)).save(tmp_path / "a.png")
    result = _upscale(tmp_path / "a.png", tmp_path / "b.png", entry.name)
    assert result.exit_code == 1 and "not the pinned file" in result.stderr and "Traceback" not in result.output
    folder = presets.shipped_file(entry.name).parent
    assert not folder.exists() or list(folder.iterdir()) == []


def test_offline_a_third_party_model_says_where_to_put_the_file(tmp_path, catalogue_entry, monkeypatch):
    import dataclasses
    import socket

    from drn_cli.models import presets

    entry, _ = catalogue_entry
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(presets.PRESETS, entry.name, dataclasses.replace(entry, url=f"http://127.0.0.1:{port}/x.pth"))
    Image.fromarray(photo(10, 12)).save(tmp_path / "a.png")
    result = _upscale(tmp_path / "a.png", tmp_path / "b.png", entry.name)
    said = " ".join(result.stderr.split())
    assert result.exit_code == 1 and "could not reach" in said and "put it at" in said, result.output


def test_a_third_party_model_takes_the_whole_picture_path(tmp_path):
    """Alpha, 16-bit, --outscale, an animation and a video go through a Real-ESRGAN-type model as
    through ours (the same picture path)."""
    torch.save({"params": srvgg_state()}, tmp_path / "m.pth")
    rgba = np.dstack([photo(12, 16), np.linspace(0, 255, 12 * 16).reshape(12, 16).astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    Image.fromarray(photo(12, 16)[:, :, 0].astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    frames = [Image.fromarray(photo(10, 10, seed=s)) for s in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    inputs = [tmp_path / n for n in ("alpha.png", "grey16.png", "anim.gif")]
    if __import__("importlib").util.find_spec("av"):
        from test_video import make_clip

        make_clip(tmp_path / "clip.mp4", frames=4, size=(32, 24), audio=False)
        inputs.append(tmp_path / "clip.mp4")
    result = runner.invoke(app, ["upscale", *map(str, inputs), "-o", str(tmp_path / "out"), "--model",
                                 str(tmp_path / "m.pth"), "--outscale", "3"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert Image.open(out / "alpha_x3.png").mode == "RGBA" and Image.open(out / "alpha_x3.png").size == (48, 36)
    assert Image.open(out / "grey16_x3.png").mode.startswith("I;16")
    assert Image.open(out / "anim_x3.gif").n_frames == 3
    if (tmp_path / "clip.mp4").exists():
        assert (out / "clip_x3.mp4").stat().st_size > 0
