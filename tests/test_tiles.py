"""Prints: the tiled objective equals the plain one, the plan picks it when memory says so, and a long run's
records and interrupts cover every level."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW, gradient_image

import tf_nst
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import Interrupted
from tf_nst.layers import receptive_radius, tile_halo
from tf_nst.memory import MB
from tf_nst.objective import compute_targets, loss_terms
from tf_nst.planning import Mechanism
from tf_nst.tiles import TiledObjective, tile_grid
from tf_nst.transfer import StyleTransfer


def test_receptive_radius_of_vgg_layers():
    assert receptive_radius("block1_conv1") == 1
    assert receptive_radius("block2_conv1") == 5  # a 10 px field: two 3x3 convs (5), a pool (6), a conv at stride 2
    assert receptive_radius("block5_conv2") == 94
    assert tile_halo(["block1_conv1", "block4_conv2"]) == (48, 8)


@pytest.mark.parametrize("height, width, tile", [(112, 160, 48), (100, 90, 32), (64, 64, 1024), (300, 37, 64)])
def test_tile_interiors_partition_the_image(height, width, tile):
    halo, align = 48, 16
    cover = np.zeros((height, width), int)
    for t in tile_grid(height, width, tile, halo, align):
        top, bottom, left, right = t.interior
        cover[top:bottom, left:right] += 1
        assert top % align == 0 and left % align == 0 and bottom - top <= max(tile, align)
        assert t.crop == (max(0, top - halo), min(height, bottom + halo), max(0, left - halo), min(width, right + halo))
    assert (cover == 1).all()


@pytest.mark.parametrize("style_loss, neighbor_weight", [("gaussian", 0.0), ("gram", 0.0), ("gaussian", 3.0)])
def test_tiled_loss_and_gradient_equal_the_plain_ones(random_model, style_loss, neighbor_weight):
    config = StyleTransferConfig(precision="float32", style_loss=style_loss, neighbor_weight=neighbor_weight)
    rng = np.random.default_rng(0)
    content = tf.constant(rng.random((1, 96, 128, 3)), tf.float32)
    image = tf.Variable(tf.clip_by_value(content + tf.constant(rng.normal(0, 0.1, content.shape), tf.float32), 0, 1))
    targets = compute_targets(random_model, content, tf.constant(rng.random((1, 96, 96, 3)), tf.float32), config)
    with tf.GradientTape() as tape:
        plain = loss_terms(random_model(image, training=False), image, targets, config)
    expected = tape.gradient(plain["total"], image)

    tiled = TiledObjective(random_model, image.shape, config, 48, targets)
    assert len(tiled.tiles) == 6
    features = tiled.features(content)
    for name in config.content_layers:
        np.testing.assert_allclose(features[name].numpy(), targets.content[name].numpy(), rtol=1e-5, atol=1e-4)
    terms, gradient = tiled.loss_and_gradient(image)
    assert terms.keys() == plain.keys() and ("neighbor" in plain) == bool(neighbor_weight)
    for name in plain:
        np.testing.assert_allclose(float(terms[name]), float(plain[name]), rtol=1e-5)
    assert float(tf.norm(gradient - expected) / tf.norm(expected)) < 1e-4


@pytest.mark.parametrize("parameterization", ["pixels", "pyramid"])
def test_a_tiled_run_follows_the_plain_run(random_model, parameterization):
    config = StyleTransferConfig(precision="float32", steps=3, parameterization=parameterization)
    transfer = StyleTransfer(config, model=random_model)
    content, style = gradient_image(96, 64) / 255.0, gradient_image(64, 64, seed=1) / 255.0
    runs = []
    for mechanism in (Mechanism(), Mechanism(48)):  # 4 tiles
        progress = []
        result = transfer.run(content[None], style[None], progress.append, 1, mechanism=mechanism)
        runs.append(([p.losses["total"] for p in progress], result))
    (plain, plain_image), (tiled, tiled_image) = runs
    np.testing.assert_allclose(tiled, plain, rtol=1e-4)
    assert float(tf.reduce_max(tf.abs(tiled_image - plain_image))) < 1e-2
    session = transfer.session((1, 64, 96, 3))  # the image is what the optimized variable makes
    np.testing.assert_allclose(session.parameters.pixels().numpy(), plain_image.numpy(), atol=1e-6)


def test_the_plan_runs_a_level_in_tiles_when_memory_says_so(shallow_model, monkeypatch):
    monkeypatch.setattr("tf_nst.planning.LEAN_TILE", 48)
    config = StyleTransferConfig(max_size=96, scales=1, steps=4, precision="float32", **SHALLOW)
    plain = tf_nst.plan((96, 64), (96, 96), config)
    assert [level.mechanism.describe() for level in plain.levels] == ["plain"]
    lean = config.replace(memory_limit_mb=plain.memory_bytes // MB - 1)
    plans = []
    stylizer = tf_nst.Stylizer(gradient_image(96, 96, seed=1), lean, StyleTransfer(lean, shallow_model), plans.append)
    result = stylizer(gradient_image(96, 64))
    assert result.shape == (1, 64, 96, 3)
    (level,) = plans[0].levels
    assert level.mechanism.tile == 48 and plans[0].memory_bytes <= lean.memory_limit_mb * MB


def test_progress_counts_every_level_and_the_work_after_it(shallow_model):
    config = StyleTransferConfig(max_size=128, scales=2, steps=4, precision="float32", **SHALLOW)
    progress = []
    stylizer = tf_nst.Stylizer(gradient_image(96, 96, seed=1), config, StyleTransfer(config, shallow_model))
    stylizer(gradient_image(128, 96), progress.append, report_every=1)
    assert [p.evaluation for p in progress] == [1, 2, 3, 4, 5, 6]
    # the 128 px level has 4x the pixels of the 64 px one: its 2 evaluations are 8 of the first level's
    assert progress[0].work_after == 8 and progress[-1].work_after == 0


def test_an_interrupt_at_a_coarse_level_saves_the_full_size_image(shallow_model):
    config = StyleTransferConfig(max_size=128, scales=2, steps=4, precision="float32", **SHALLOW)

    def interrupt(progress):
        raise KeyboardInterrupt

    stylizer = tf_nst.Stylizer(gradient_image(96, 96, seed=1), config, StyleTransfer(config, shallow_model))
    with pytest.raises(Interrupted) as stopped:
        stylizer(gradient_image(128, 96), interrupt, report_every=1)
    assert stopped.value.image.shape == (1, 96, 128, 3) and stopped.value.step == 0


def test_a_style_larger_than_a_tile_gets_the_same_statistics_from_tiles(random_model, monkeypatch):
    from tf_nst.objective import style_targets

    config = StyleTransferConfig(precision="float32")
    style = tf.constant(gradient_image(128, 96, seed=2)[None] / 255.0, tf.float32)
    whole = style_targets(random_model, [style], [1.0], config)
    monkeypatch.setattr("tf_nst.planning.STYLE_TILE", 48)
    tiled = StyleTransfer(config, random_model).style_targets(style)
    for name in config.style_layers:
        # mean and covariance (the square root's Newton-Schulz iterations amplify rounding)
        for a, b in zip(tiled.statistics[name][:2], whole.statistics[name][:2]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4 * np.abs(b.numpy()).max())
