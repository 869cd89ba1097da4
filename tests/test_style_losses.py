"""Every style loss (--style_loss) through the public entry points: runs, blends, bfloat16, Keras loss, CLI."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW_LAYERS, one_line_error, run_command, tiny_pair

import tf_nst
from tf_nst.config import STYLE_LOSSES
from tf_nst.features import build_feature_model
from tf_nst.objective import compute_targets, loss_terms
from tf_nst.transfer import StyleTransfer

TINY = tf_nst.StyleTransferConfig(precision="float32", scales=1, max_size=48)


@pytest.mark.parametrize("style_loss", STYLE_LOSSES)
def test_a_run_lowers_the_style_term(random_model, style_loss):
    content, style = tiny_pair()
    reports = []
    config = TINY.replace(steps=6, style_loss=style_loss)
    StyleTransfer(config, model=random_model).run(content, style, reports.append, report_every=1)
    assert reports[-1].losses["style"] < 0.85 * reports[0].losses["style"]


@pytest.mark.parametrize("style_loss", STYLE_LOSSES)
def test_a_one_hot_blend_is_that_style_and_an_even_blend_mixes_the_moments(random_model, style_loss):
    content, style = tiny_pair()
    other = tf.image.flip_up_down(style) * 0.5
    transfer = StyleTransfer(TINY.replace(style_loss=style_loss, style_blend_weights=(1.0, 0.0)), model=random_model)
    blended, alone = (
        transfer.style_targets([style, other]),
        StyleTransfer(TINY.replace(style_loss=style_loss), model=random_model).style_targets(style),
    )
    for name, statistics in alone.statistics.items():
        for a, b in zip(blended.statistics[name], statistics, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
    even = StyleTransfer(TINY.replace(style_loss=style_loss, style_blend_weights=(1.0, 1.0)), model=random_model)
    first = even.style_targets([style, other]).statistics["block2_conv1"][0]  # the Gram, or the mean
    parts = [
        StyleTransfer(TINY.replace(style_loss=style_loss), model=random_model).style_targets(s) for s in (style, other)
    ]
    np.testing.assert_allclose(
        first.numpy(),
        0.5 * (parts[0].statistics["block2_conv1"][0] + parts[1].statistics["block2_conv1"][0]),
        rtol=1e-4,
    )


@pytest.mark.parametrize("style_loss", STYLE_LOSSES)
def test_bfloat16_loss_is_near_the_float32_loss(style_loss):
    keras.utils.set_random_seed(1)
    layers = TINY.content_layers + TINY.style_layers
    full = build_feature_model(layers, None)
    half = build_feature_model(layers, None, dtype_policy="mixed_bfloat16")
    half.set_weights(full.get_weights())
    content, style = tiny_pair()
    config = TINY.replace(style_loss=style_loss)
    image = tf.clip_by_value(content + 0.1 * tf.random.stateless_normal(tf.shape(content), [3, 4]), 0.0, 1.0)
    values = []
    for model in (full, half):
        targets = compute_targets(model, content, style, config)
        values.append({k: float(v) for k, v in loss_terms(model(image), image, targets, config).items()})
    assert values[1]["style"] == pytest.approx(values[0]["style"], rel=0.1)
    assert all(np.isfinite(v) for v in values[1].values())


def test_gaussian_keras_loss_trains_and_round_trips(random_model):
    config = TINY.replace(style_loss="gaussian", style_weight=5.0)
    content, style = tiny_pair()
    loss = tf_nst.StyleContentLoss(style.numpy()[0], config, feature_model=random_model)
    images = tf.concat([content[:, :32, :32], content[:, 8:40, 16:48]], axis=0)
    value = float(loss(images, images[:, ::-1]))
    assert np.isfinite(value) and value > 0
    saved = json.loads(json.dumps(loss.get_config()))
    restored = tf_nst.StyleContentLoss.from_config(saved, feature_model=random_model)
    assert restored.style_targets.style_loss == "gaussian"
    assert float(restored(images, images[:, ::-1])) == pytest.approx(value, rel=1e-6)


def test_cli_takes_style_loss_and_refuses_an_unknown_one(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "out.png"
    ok = run_command(
        f"--content={content}",
        f"--style={style}",
        f"--output={out}",
        "--max_size=48",
        "--steps=2",
        "--style_loss=gaussian",
        "--weights=embedded",
        *SHALLOW_LAYERS,
    )
    assert ok.returncode == 0, ok.stderr
    assert out.is_file()
    bad = run_command(
        f"--content={content}", f"--style={style}", f"--output={tmp_path / 'b.png'}", "--style_loss=sliced"
    )
    one_line_error(bad, 2, "--style_loss")
