import json

import numpy as np
import pytest
import torch
from conftest import photo, shared_path, tiny_weights
from PIL import Image
from typer.testing import CliRunner

from drn_cli.cli import app
from drn_cli.degradations import degrade, modcrop
from drn_cli.errors import DrnError
from drn_cli.io import read_folders, read_rgb
from drn_cli.models.drn import DRNConfig, DualRegression
from drn_cli.models.weights import Weights, resolve_model, save_weights
from drn_cli.training.adapt import AdaptConfig, AdaptTask
from drn_cli.training.losses import closed_loop
from drn_cli.training.run_folder import start_run


def test_closed_loop_chains_every_dual_block_inside_the_wrapped_forward():
    """The loop is part of DualRegression.forward, so under DDP its gradients are synchronised."""
    torch.manual_seed(0)
    net = DualRegression(DRNConfig(8, 1, 16)).eval()
    x = torch.rand(2, 3, 6, 6) * 255
    with torch.no_grad():
        assert net(x)[2] is None  # paired training steps do not pay for the loop
        sr, sr2lr, loop = net(x, with_loop=True)
        chain = sr[-1]
        for block in reversed(net.dual):
            chain = block(chain)
        assert torch.equal(loop, chain) and loop.shape == x.shape
        assert torch.equal(sr2lr[0], net.dual[0](sr[1]))
        assert closed_loop(sr2lr, loop, x, "chain") == (chain - x).abs().mean()
        assert closed_loop(sr2lr, loop, x, "inner") == (sr2lr[0] - x).abs().mean()


def test_finetune_unpaired_cli_reports_before_and_after(lr_photos, tmp_path, tiny_model_file):
    out = tmp_path / "adapt"
    result = CliRunner().invoke(app, ["finetune-unpaired", str(lr_photos), "--model", str(tiny_model_file),
                                      "--out", str(out), "--steps", "3", "--batch-size", "4", "--patch-size",
                                      "32", "--precision", "fp32", "--device", "cpu", "--lr", "1e-4"])
    assert result.exit_code == 0, result.output
    assert "held out: closed-loop L1" in result.stderr and "->" in result.stderr
    adapted = resolve_model(out / "model.safetensors")
    assert adapted.provenance["steps"] == 3 and adapted.dual is not None
    original = resolve_model(tiny_model_file)
    assert not torch.equal(adapted.primal["head.weight"], original.primal["head.weight"])


def test_unreadable_photos_are_skipped_and_named(lr_photos, tmp_path, tiny_model_file):
    (lr_photos / "broken.jpg").write_bytes(b"\xff\xd8 cut short")
    result = CliRunner().invoke(app, ["finetune-unpaired", str(lr_photos), "--model", str(tiny_model_file),
                                      "--out", str(tmp_path / "adapt"), "--steps", "1", "--batch-size", "4",
                                      "--patch-size", "32", "--precision", "fp32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "skipped 1 unreadable image(s)" in result.stderr and "broken.jpg" in result.stderr


def test_photos_too_small_for_the_patch_leave_no_run_folder(lr_photos, tmp_path, tiny_model_file):
    out = tmp_path / "adapt"
    result = CliRunner().invoke(app, ["finetune-unpaired", str(lr_photos), "--model", str(tiny_model_file),
                                      "--out", str(out), "--steps", "1", "--patch-size", "256", "--device", "cpu"])
    assert result.exit_code == 1 and "no LR photos of at least 256x256 pixels; self-pairs treat" in result.stderr
    assert not out.exists()


def test_only_unpaired_and_frozen_dual_updates_primal_only(lr_photos, tmp_path, tiny_model_file):
    config = AdaptConfig(data=[], out=str(tmp_path / "a"), model=DRNConfig(4, 1, 8).to_dict(), steps=2,
                         batch_size=2, patch_size=32, precision="fp32", device="cpu", init=str(tiny_model_file),
                         lr=1e-3, lr_dir=str(lr_photos), unpaired_ratio=1.0, freeze_dual=True)
    adapter = start_run(config)
    dual_before = {k: v.clone() for k, v in adapter.net.dual.state_dict().items()}
    head_before = adapter.net.primal.head.weight.detach().clone()
    adapter.run()
    for k, v in adapter.net.dual.state_dict().items():
        assert torch.equal(v, dual_before[k]), k
    assert not torch.equal(adapter.net.primal.head.weight, head_before)


def test_weights_without_dual_are_refused(lr_photos, tmp_path):
    w = tiny_weights()
    save_weights(tmp_path / "nodual.safetensors", Weights(w.config, w.primal, None, {}))
    config = AdaptConfig(data=[], out=str(tmp_path / "a"), model=w.config.to_dict(), steps=1, batch_size=2,
                         patch_size=32, device="cpu", init=str(tmp_path / "nodual.safetensors"), lr_dir=str(lr_photos))
    with pytest.raises(DrnError, match="no dual weights"):
        start_run(config)


def _adapter(tmp_path, lr_photos, model_file, **overrides):
    options = {"data": [], "out": str(tmp_path / "a"), "model": DRNConfig(4, 1, 8).to_dict(), "steps": 2,
               "batch_size": 4, "patch_size": 32, "precision": "fp32", "device": "cpu",
               "init": str(model_file), "lr": 1e-4, "lr_dir": str(lr_photos), "unpaired_ratio": 0.25}
    return start_run(AdaptConfig(**{**options, **overrides}))


def test_dual_self_pairs_are_the_photo_downscaled_by_the_dual_blocks(lr_photos, tmp_path, tiny_model_file):
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs="dual")
    _, own = next(adapter.task.batches(0, 1))
    assert own.shape == (3, 3, 32, 32)  # 4 - round(0.25 * 4) self-pairs
    lr, pyramid = adapter.task.pair_pyramid(own)
    assert lr is pyramid[0]
    with torch.no_grad():
        half = adapter.net.dual[1](own).round().clamp(0, 255)
        quarter = adapter.net.dual[0](half).round().clamp(0, 255)
    assert [p.shape[-1] for p in pyramid] == [8, 16, 32]
    assert torch.equal(pyramid[1], half) and torch.equal(pyramid[0], quarter) and torch.equal(pyramid[2], own)


@pytest.mark.parametrize("kind", ["bicubic", "nearest"])
def test_self_pairs_by_a_named_degradation(lr_photos, tmp_path, tiny_model_file, kind):
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs=kind)
    _, own = next(adapter.task.batches(0, 1))
    lr, pyramid = adapter.task.pair_pyramid(own)
    assert lr is pyramid[0]
    image = own[1].permute(1, 2, 0).byte().numpy()
    for level, factor in zip(pyramid, (4, 2)):
        assert torch.equal(level[1].permute(1, 2, 0).byte(), torch.from_numpy(degrade(image, factor, kind)))
    assert torch.equal(pyramid[-1], own)


def _hr_folder(tmp_path):
    hr = tmp_path / "hr"
    hr.mkdir()
    Image.fromarray(photo(96, 96, seed=3)).save(hr / "h.png")
    return hr


def test_hr_folders_replace_the_self_pairs(lr_photos, tmp_path, tiny_model_file):
    """With HR folders the photos only feed the loop, so they may be smaller than the HR patch;
    the pairs' HR are patches of the folder's image, degraded like self-pairs."""
    hr = _hr_folder(tmp_path)
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, data=[str(hr)], batch_size=5, unpaired_ratio=0.4,
                       patch_size=64, self_pairs="nearest")  # the photos are 40x44
    unpaired, pairs = next(adapter.task.batches(0, 1))
    assert unpaired.shape[0] == 2 and pairs.shape == (3, 3, 64, 64)
    image = read_rgb(hr / "h.png")
    patch = pairs[0].permute(1, 2, 0).byte().numpy()
    views = [np.rot90(v, k) for v in (patch, patch[::-1]) for k in range(4)]  # undo the flips
    assert any(np.array_equal(v, image[y: y + 64, x: x + 64]) for v in views for y in range(33) for x in range(33))
    lr, _ = adapter.task.pair_pyramid(pairs)
    assert torch.equal(lr[0].permute(1, 2, 0).byte(), torch.from_numpy(degrade(patch, 4, "nearest")))
    adapter.run()
    assert resolve_model(tmp_path / "a" / "model.safetensors").provenance["steps"] == 2


def test_unknown_self_pairs_is_a_clear_error(lr_photos, tmp_path, tiny_model_file):
    with pytest.raises(DrnError, match="--self-pairs"):
        _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs="lanczos")
    with pytest.raises(DrnError, match="--keep-bicubic"):
        _adapter(tmp_path, lr_photos, tiny_model_file, keep_bicubic=-1.0)


def test_keep_bicubic_targets_are_the_starting_model_on_bicubic_lr(lr_photos, tmp_path, tiny_model_file):
    """Learning without forgetting: the teacher is the frozen starting primal, fed the bicubic LR
    of the same photo patches that make the self-pairs."""
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs="nearest", keep_bicubic=1.0)
    _, own = next(adapter.task.batches(0, 1))
    lr, targets = adapter.task.keep_targets(own, adapter.task.pair_pyramid(own)[1])
    assert torch.equal(lr[0].permute(1, 2, 0).byte(), torch.from_numpy(degrade(own[0].permute(1, 2, 0).byte().numpy(), 4)))
    start = resolve_model(tiny_model_file).build()[0].eval()
    with torch.no_grad():
        expected = start(lr)
    assert [t.shape[-1] for t in targets] == [8, 16, 32]
    for got, want in zip(targets, expected):
        torch.testing.assert_close(got, want)
    adapter.run()
    assert not any(p.requires_grad for p in adapter.task.teacher.parameters())
    for name, value in start.state_dict().items():  # the teacher never moves
        assert torch.equal(adapter.task.teacher.state_dict()[name], value), name


def test_keep_bicubic_term_is_zero_before_the_first_update_and_off_by_weight(lr_photos, tmp_path, tiny_model_file):
    batch = next(_adapter(tmp_path / "x", lr_photos, tiny_model_file, self_pairs="nearest").task.batches(0, 1))
    with_keep = _adapter(tmp_path / "k", lr_photos, tiny_model_file, self_pairs="nearest", keep_bicubic=5.0)
    without = _adapter(tmp_path / "n", lr_photos, tiny_model_file, self_pairs="nearest", keep_bicubic=0.0)
    assert without.task.teacher is None and with_keep.task.teacher is not None
    torch.testing.assert_close(with_keep.task.loss(with_keep.net, batch)[0], without.task.loss(without.net, batch)[0], atol=1e-3, rtol=1e-4)
    with torch.no_grad():  # once the student moves, its bicubic-LR outputs are pulled back
        with_keep.net.primal.tail[-1].bias.add_(3.0)
        without.net.primal.tail[-1].bias.add_(3.0)
    assert with_keep.task.loss(with_keep.net, batch)[0] > without.task.loss(without.net, batch)[0] + 1.0


def test_bicubic_self_pairs_share_their_lr_with_the_keep_term(lr_photos, tmp_path, tiny_model_file):
    """Bicubic self-pairs already are bicubic LR: the keep targets apply to them, and no second
    copy of the same inputs is added to the batch."""
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs="bicubic")
    _, own = next(adapter.task.batches(0, 1))
    _, pyramid = adapter.task.pair_pyramid(own)
    extra, targets = adapter.task.keep_targets(own, pyramid)
    with torch.no_grad():
        expected = adapter.task.teacher(pyramid[0])
    assert extra is None
    for got, want in zip(targets, expected):
        torch.testing.assert_close(got, want)


def test_hr_folders_need_no_teacher(lr_photos, tmp_path, tiny_model_file):
    """Bicubic pairs of real HR keep bicubic quality by themselves: no keep term. Other pairs of
    real HR keep it with their true bicubic pyramid as targets, not a teacher's outputs."""
    hr = _hr_folder(tmp_path)
    bicubic = _adapter(tmp_path / "b", lr_photos, tiny_model_file, data=[str(hr)], self_pairs="bicubic")
    assert bicubic.task.teacher is None and not bicubic.task.keep
    jpeg = _adapter(tmp_path / "j", lr_photos, tiny_model_file, data=[str(hr)], self_pairs="bicubic+jpeg40")
    assert jpeg.task.teacher is None and jpeg.task.keep
    _, pairs = next(jpeg.task.batches(0, 1))
    lr, pyramid = jpeg.task.pair_pyramid(pairs)
    extra, targets = jpeg.task.keep_targets(pairs, pyramid)
    assert extra is pyramid[0] and targets is pyramid and not torch.equal(lr, pyramid[0])
    jpeg.run()


def test_auto_settings_are_resolved_and_recorded(tmp_path, tiny_model_file):
    """Auto self-pairs pick nearest for nearest-downscaled photos; the patch fits the photos;
    both land in config.json so a resumed run keeps them."""
    bench = shared_path("data", "benchmarks", "Set14", "HR")  # the guess is for natural photos
    folder = tmp_path / "nearest"
    folder.mkdir()
    for path in sorted(bench.glob("*.png"))[:8]:
        hr = modcrop(read_rgb(path), 4)
        Image.fromarray(degrade(hr, 4, "nearest")).save(folder / path.name)
    adapter = _adapter(tmp_path, folder, tiny_model_file, self_pairs="auto", patch_size=0)
    shorter = sorted(min(p.shape[:2]) for p in adapter.task.photos + adapter.task.held_photos)
    assert adapter.config.self_pairs == "nearest" and adapter.task.teacher is not None
    assert adapter.config.patch_size == min(128, int(np.median(shorter)) // 4 * 4)
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["self_pairs"] == "nearest" and saved["patch_size"] == adapter.config.patch_size


def test_auto_choices_decode_the_photos_once(lr_photos, tmp_path, tiny_model_file, monkeypatch):
    """The auto patch size and self-pairs read the same decoded photos that training uses."""
    from drn_cli.training import adapt
    folders_read = []
    monkeypatch.setattr(adapt, "read_folders", lambda folders: folders_read.append(folders) or read_folders(folders))
    adapter = _adapter(tmp_path, lr_photos, tiny_model_file, self_pairs="auto", patch_size=0)
    adapter.run()
    assert folders_read == [[str(lr_photos)]]
    assert adapter.config.patch_size > 0 and adapter.config.self_pairs != "auto"


def test_noise_and_jpeg_self_pairs_degrade_the_input_only(lr_photos, tmp_path, tiny_model_file):
    """With fixed stages the network sees the noisy JPEG LR; the targets are the clean pyramid, and
    the keep term reuses that pyramid's bicubic base instead of making it again."""
    noisy = _adapter(tmp_path / "n", lr_photos, tiny_model_file, self_pairs="bicubic+noise8")
    _, own = next(noisy.task.batches(0, 1))
    lr, pyramid = noisy.task.pair_pyramid(own)
    image = own[0].permute(1, 2, 0).byte().numpy()
    assert torch.equal(pyramid[0][0].permute(1, 2, 0).byte(), torch.from_numpy(degrade(image, 4, "bicubic")))
    assert 6 < (lr - pyramid[0]).std().item() < 9  # sigma 8, a little clipped
    adapter = _adapter(tmp_path / "j", lr_photos, tiny_model_file, self_pairs="bicubic+noise8+jpeg40", keep_bicubic=1.0)
    lr, pyramid = adapter.task.pair_pyramid(own)
    assert not torch.equal(lr, pyramid[0]) and torch.equal(lr, lr.round())
    extra, _ = adapter.task.keep_targets(own, pyramid)
    assert extra is pyramid[0]
    adapter.run()  # a whole step runs with it


@pytest.mark.parametrize("suffix,expected", [(".jpg", "+jpeg50"), (".png", "+noise")])
def test_auto_self_pairs_read_noise_and_jpeg_quality_from_the_photos(tmp_path, tiny_model_file, suffix, expected):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        clean = np.repeat(np.linspace(60, 190, 64)[None, :, None], 64, axis=0).repeat(3, axis=2)  # flat-ish
        noisy = np.clip(clean + np.random.default_rng(i).normal(0, 8, clean.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"p{i}{suffix}", quality=50)
    config = AdaptTask.resolve_config(AdaptConfig(data=[], out=str(tmp_path / "a"), model=DRNConfig(4, 1, 8).to_dict(),
                                                init=str(tiny_model_file), lr_dir=str(folder), batch_size=4),
                                    read_folders([folder]))
    assert expected in config.self_pairs, (config.self_pairs, config.inferred)
    assert config.inferred["jpeg_quality"] == (50 if suffix == ".jpg" else None)
    if suffix == ".png":
        assert 6 <= config.inferred["noise_sigma"] <= 9


def _many_photos(tmp_path, count: int = 5):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(count):
        Image.fromarray(photo(48, 48, seed=30 + i)).save(folder / f"p{i}.png")
    return folder


@pytest.mark.parametrize("keep_last", [False, True])
def test_a_run_that_loses_on_held_out_pairs_keeps_its_start_unless_told(tmp_path, tiny_model_file, keep_last):
    """A fifth of the photos is held out; their self-pairs' PSNR before and after decides: a run
    that made them worse (here a learning rate far too high) leaves the starting weights in
    model.safetensors, with a warning, unless --keep-last."""
    folder = _many_photos(tmp_path)
    out = tmp_path / "run"
    args = ["finetune-unpaired", str(folder), "--model", str(tiny_model_file), "--out", str(out), "--steps", "3",
            "--batch-size", "4", "--patch-size", "32", "--precision", "fp32", "--device", "cpu", "--lr", "0.5",
            "--self-pairs", "bicubic"] + (["--keep-last"] if keep_last else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "held out to measure the run: 1 photo (--holdout)" in result.stderr and "pair PSNR" in result.stderr
    assert "the held-out pairs lost" in result.stderr
    saved, start = resolve_model(out / "model.safetensors"), resolve_model(tiny_model_file)
    assert torch.equal(saved.primal["head.weight"], start.primal["head.weight"]) != keep_last


def test_the_library_run_keeps_its_start_as_the_cli_does(tmp_path, tiny_model_file):
    """Trainer.train() is the whole run, not only the CLI's: the held-out verdict and the
    starting weights kept come with it, said in events."""
    events = []
    run = start_run(AdaptConfig(data=[], out=str(tmp_path / "run"), model=DRNConfig(4, 1, 8).to_dict(), steps=3,
                                batch_size=4, patch_size=32, precision="fp32", device="cpu", lr=0.5,
                                init=str(tiny_model_file), lr_dir=str(_many_photos(tmp_path)), self_pairs="bicubic"),
                    events.append)
    run.train()
    said = [(e["type"], e["message"]) for e in events if e["type"] in ("info", "warning")]
    assert any(kind == "info" and text.startswith("held out: closed-loop L1") for kind, text in said), said
    assert any(kind == "warning" and "the held-out pairs lost" in text for kind, text in said), said
    assert said[-1] == ("info", f"done: {tmp_path / 'run' / 'model.safetensors'} (step 3)")
    saved, start = resolve_model(tmp_path / "run" / "model.safetensors"), resolve_model(tiny_model_file)
    assert torch.equal(saved.primal["head.weight"], start.primal["head.weight"])


def test_split_holdout_spreads_the_held_images_and_keeps_small_sets_whole():
    from drn_cli.training.adapt import split_holdout

    images = [np.full((1, 1, 3), i, np.uint8) for i in range(10)]
    train, held = split_holdout(images, 0.2)
    assert [int(h[0, 0, 0]) for h in held] == [2, 8] and len(train) == 8
    assert split_holdout(images[:2], 0.5) == (images[:2], [])


def test_finetune_unpaired_starts_from_the_photo_model_by_default(tmp_path, shipped_tiny, lr_photos):
    """What drn upscale runs on photos is what adaptation starts from (drn-s-x4-real), so an
    adapted model is never worse on JPEGs than plain drn upscale for want of a better start."""
    result = CliRunner().invoke(app, ["finetune-unpaired", str(lr_photos), "--out", str(tmp_path / "a"), "--steps", "1",
                                      "--batch-size", "2", "--patch-size", "32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "adapting drn-s-x4-real: DRN x4" in result.stderr
