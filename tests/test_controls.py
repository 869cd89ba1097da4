"""The artist's controls, checked by their effect: blends, style scale, colours, start image, records, batches."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import QUICK_RUN, REPO, SHALLOW, SHALLOW_LAYERS, gradient_image, run_command
from PIL import Image

import tf_nst
from tf_nst.color import match_color_statistics, rgb_to_yiq, transfer_luminance
from tf_nst.transfer import StyleTransfer


def solid_style(colour, seed):
    rng = np.random.default_rng(seed)
    base = np.array(colour, np.float32)[None, None] / 255
    return np.clip(base + rng.normal(0, 0.15, [48, 48, 3]), 0, 1).astype(np.float32)


BASE = tf_nst.StyleTransferConfig(max_size=48, steps=4, learning_rate=0.05)


@pytest.fixture(scope="module")
def shared_transfer(random_model):
    """One ``StyleTransfer`` for the module's stylizers: each shape's step is traced once for all of them."""
    return StyleTransfer(BASE, model=random_model)


@pytest.fixture
def stylizer_for(shared_transfer):
    """Stylizers with the artist's controls changed, sharing one ``StyleTransfer`` (its controls are the
    stylizer's own)."""

    def make(style, **changes):
        return tf_nst.Stylizer(style, BASE.replace(**changes), transfer=shared_transfer)

    return make


CONTENT = gradient_image(48, 40, 1)
RED, BLUE = solid_style((220, 40, 30), 1), solid_style((30, 60, 220), 2)


def test_blend_weights_change_the_result_and_a_one_hot_blend_is_that_style(stylizer_for):
    one_hot, red = stylizer_for([RED, BLUE], style_blend_weights=(1, 0)), stylizer_for(RED)
    pixels = CONTENT[None].astype(np.float32) / 255
    blended, alone = one_hot.styles_and_targets(pixels)[1], red.styles_and_targets(pixels)[1]
    for name, statistics in alone.statistics.items():  # the targets a run optimizes towards: the same run
        for ours, theirs in zip(blended.statistics[name], statistics):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert blended.weights == pytest.approx(alone.weights, rel=1e-5)
    only_red = one_hot(CONTENT).numpy()
    only_blue = stylizer_for([RED, BLUE], style_blend_weights=(0, 1))(CONTENT).numpy()
    half = stylizer_for([RED, BLUE])(CONTENT).numpy()
    assert only_red[..., 0].mean() > half[..., 0].mean() > only_blue[..., 0].mean()


def test_blend_weight_count_must_match_the_styles(stylizer_for):
    with pytest.raises(tf_nst.ConfigError, match="2 weights for 1 style images"):
        stylizer_for(RED, style_blend_weights=(1, 1))


def test_style_scale_sets_the_style_image_size(stylizer_for):
    content = np.zeros([1, 40, 48, 3], np.float32)
    big = np.random.default_rng(0).uniform(size=[200, 150, 3]).astype(np.float32)
    assert stylizer_for(big).styles_for(content)[0].shape == (1, 48, 36, 3)
    assert stylizer_for(big, style_scale=2.0).styles_for(content)[0].shape == (1, 96, 72, 3)
    with pytest.raises(tf_nst.ImageError, match="style_scale"):
        stylizer_for(big, style_scale=0.5).styles_for(content)  # 24x18: below the network's minimum


def test_luminance_mode_keeps_the_content_chroma(stylizer_for):
    kept = stylizer_for(BLUE, preserve_colors="luminance")(CONTENT).numpy()
    free = stylizer_for(BLUE)(CONTENT).numpy()
    content_iq = rgb_to_yiq(CONTENT / 255.0)[..., 1:]
    assert np.abs(rgb_to_yiq(kept[0])[..., 1:] - content_iq).mean() < 0.01
    assert np.abs(rgb_to_yiq(free[0])[..., 1:] - content_iq).mean() > 0.03
    assert np.abs(kept[0] - CONTENT / 255.0).mean() > 0.005  # the luminance carries the style's texture


def test_histogram_mode_recolours_the_style_to_the_content(stylizer_for):
    matched = stylizer_for(BLUE, preserve_colors="histogram").styles_for(CONTENT[None] / 255.0)[0][0]
    content = CONTENT.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(matched.reshape(-1, 3).mean(0), content.mean(0), atol=0.02)
    result = stylizer_for(BLUE, preserve_colors="histogram")(CONTENT).numpy()[0]
    free = stylizer_for(BLUE)(CONTENT).numpy()[0]
    chroma = lambda image: rgb_to_yiq(image)[..., 1:].mean((0, 1))  # noqa: E731
    target = chroma(CONTENT / 255.0)
    assert np.linalg.norm(chroma(result) - target) < np.linalg.norm(chroma(free) - target)


def test_palette_mode_gives_the_photo_the_paintings_palette(stylizer_for):
    from tf_nst.color import rgb_to_oklab

    painted = stylizer_for(BLUE, preserve_colors="palette")(CONTENT).numpy()[0]
    free = stylizer_for(BLUE)(CONTENT).numpy()[0]
    chroma = lambda image: rgb_to_oklab(image)[..., 1:].mean((0, 1))  # noqa: E731
    # the painting's mean chroma, as near as sRGB's gamut allows at the result's lightness
    assert np.linalg.norm(chroma(painted) - chroma(BLUE)) < 0.25 * np.linalg.norm(chroma(CONTENT / 255) - chroma(BLUE))
    lightness = lambda image: rgb_to_oklab(image)[..., 0]  # noqa: E731
    assert np.abs(lightness(painted) - lightness(free)).mean() < 0.03  # the result's lightness, kept


def test_colour_statistics_matching_is_exact_without_clipping():
    rng = np.random.default_rng(4)
    source = rng.normal(0.5, 0.05, [32, 32, 3]) @ np.array([[1, 0.3, 0], [0, 1, 0.2], [0.1, 0, 1]]) * 0.8
    reference = rng.normal(0.5, 0.08, [32, 32, 3])
    matched = match_color_statistics(source, reference).reshape(-1, 3)
    np.testing.assert_allclose(matched.mean(0), reference.reshape(-1, 3).mean(0), atol=1e-4)
    np.testing.assert_allclose(np.cov(matched, rowvar=False), np.cov(reference.reshape(-1, 3), rowvar=False), atol=1e-4)


def test_luminance_transfer_is_exact_in_yiq():
    rng = np.random.default_rng(5)
    result, content = rng.uniform(0.3, 0.7, [2, 8, 8, 3]).astype(np.float32)
    mixed = rgb_to_yiq(transfer_luminance(result, content))
    np.testing.assert_allclose(mixed[..., 0], rgb_to_yiq(result)[..., 0], atol=1e-5)
    np.testing.assert_allclose(mixed[..., 1:], rgb_to_yiq(content)[..., 1:], atol=1e-5)


@pytest.mark.parametrize("init", ["style", "file"])
def test_start_image_from_style_or_file(stylizer_for, tmp_path, init):
    """One evaluation keeps the start's look, which neither the content, nor noise, nor the other start has."""
    path = tmp_path / "start.png"
    start = np.zeros([20 * 4, 30 * 4, 3], np.uint8)
    start[:, : 15 * 4] = 255  # white left, black right: the content is darker on the left, noise grey throughout
    Image.fromarray(start).save(path)
    reports = []
    stylizer = stylizer_for(RED, init=str(path) if init == "file" else "style", steps=1)
    result = stylizer(CONTENT, reports.append).numpy()[0]
    assert reports[0].losses["content"] > 0  # did not start from the content image
    if init == "file":  # the file, resized to the content's 48x40
        assert result[:, :20].mean() > 0.9 and result[:, 28:].mean() < 0.1
    else:  # the red style image
        assert result[..., 0].mean() > 0.7 and result[..., 1:].mean() < 0.3


def test_snapshots_trace_and_tensorboard(image_files, tmp_path):
    content, style = image_files
    output, trace, logdir = tmp_path / "out.png", tmp_path / "trace.json", tmp_path / "tb"
    result = run_command(
        f"--content={content}",
        f"--style={style}",
        f"--output={output}",
        "--max_size=48",
        "--steps=4",
        "--save_every=2",
        f"--trace={trace}",
        f"--logdir={logdir}",
        "--seed=7",
        *SHALLOW_LAYERS,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == [
        "content.png",
        "out.0002.png",
        "out.0004.png",
        "out.png",
        "style.jpg",
        "tb",
        "trace.json",
    ]
    record = json.loads(trace.read_text())
    assert record["settings"]["config"]["seed"] == 7 and record["images_written"] == 1
    assert [s["evaluation"] for s in record["images"][0]["evaluations"]] == [1, 2, 3, 4]
    # 48 px: no nearest-neighbour term
    assert set(record["images"][0]["evaluations"][-1]["losses"]) == {"content", "style", "tv", "total"}
    tags = set()
    for event_file in logdir.iterdir():
        for raw in tf.data.TFRecordDataset(str(event_file)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            tags.update(value.tag for value in event.summary.value)
    assert {"loss/content", "loss/style", "loss/total", "image"} <= tags
    assert "seed=7" in result.stderr


def test_same_seed_same_output_other_seed_differs(image_files, tmp_path):
    content, style = image_files
    outputs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        outputs.append(tmp_path / f"{name}.png")
        args = [
            f"--content={content}",
            f"--style={style}",
            f"--output={outputs[-1]}",
            "--init=noise",
            f"--seed={seed}",
            "--deterministic",
            *QUICK_RUN,
        ]
        assert run_command(*args).returncode == 0
    a, b, c = (np.asarray(Image.open(p)) for p in outputs)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 1


def test_batch_skips_a_broken_file_and_reports_it(image_files, tmp_path):
    content, style = image_files
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("one.png", "two.jpg"):
        Image.open(content).convert("RGB").save(photos / name)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photos / "notes.txt").write_text("ignored: not an image extension")
    result = run_command(f"--content={photos}", f"--style={style}", f"--output={tmp_path / 'painted'}", *QUICK_RUN)
    assert result.returncode == 1
    assert sorted(os.listdir(tmp_path / "painted")) == ["one.png", "two.jpg"]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tf_nst: error: 1 of 3 images failed") and "broken.jpg" in last
    assert "Traceback" not in result.stderr


def test_batch_from_a_glob_stylizes_each_photo_into_its_own_file(image_files, tmp_path):
    """Each output is its own photo stylized: nearer its own photo than the other's, and changed by the style.
    (That a batch of same-size photos reuses one compiled step is checked on ``Stylizer`` below.)"""
    from tf_nst.cli.main import run
    from tf_nst.cli.options import RunOptions

    content, style = image_files
    photos = {}
    for seed, name in enumerate(("a.png", "b.png"), 1):
        photos[name] = gradient_image(96, 64, seed=seed * 7)[::-1] if seed == 2 else gradient_image(96, 64, seed=7)
        Image.fromarray(photos[name]).save(tmp_path / name)
    output = tmp_path / "out"
    options = RunOptions(content=str(tmp_path / "*.png"), styles=(str(style),), output=str(output))
    run(options, tf_nst.StyleTransferConfig(max_size=48, steps=2, **SHALLOW))
    assert sorted(os.listdir(output)) == ["a.png", "b.png", "content.png"]
    for name, other in (("a.png", "b.png"), ("b.png", "a.png")):
        result = np.asarray(Image.open(output / name), np.float32)
        own, theirs = (np.asarray(Image.fromarray(photos[n]).resize((48, 32)), np.float32) for n in (name, other))
        assert 0 < np.abs(result - own).mean() < np.abs(result - theirs).mean()


def test_stylize_batch_yields_errors_in_place(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(CONTENT).save(good)
    config = tf_nst.StyleTransferConfig(max_size=48, steps=1, **SHALLOW)
    results = list(tf_nst.stylize_batch([str(good), str(tmp_path / "gone.png"), str(good)], RED, config))
    assert [isinstance(r, tf_nst.ImageError) for _, r in results] == [False, True, False]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_saves_the_latest_image(image_files, tmp_path, signum):
    content, style = image_files
    output = tmp_path / "out.png"
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "cli.py"),
            f"--content={content}",
            f"--style={style}",
            f"--output={output}",
            "--max_size=64",
            "--steps=100000",
            "--log_every=1",
            *SHALLOW_LAYERS,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        # as from a terminal: a suite started in the background would pass on SIGINT ignored (a shell's job)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in process.stderr:
        if "eval 3/" in line:
            break
    process.send_signal(signum)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 128 + signum
    lines = rest.strip().splitlines()
    assert lines[-1].startswith("tf_nst: error: interrupted after evaluation") and "saved the latest image" in lines[-1]
    assert "Traceback" not in rest
    assert Image.open(output).size == (64, 43)


def test_a_batch_of_same_size_photos_reuses_one_trace_and_one_set_of_style_targets(random_model):
    stylizer = tf_nst.Stylizer(RED, BASE.replace(steps=2), transfer=StyleTransfer(BASE, model=random_model))
    computed = []
    original = stylizer.transfer.style_targets
    stylizer.transfer.style_targets = lambda *args: computed.append(1) or original(*args)
    first = stylizer(CONTENT)
    second = stylizer(CONTENT[::-1])
    assert not np.allclose(first.numpy(), second.numpy())
    assert len(computed) == 1
    assert stylizer.transfer.session(tuple(first.shape)).step.experimental_get_tracing_count() == 1
