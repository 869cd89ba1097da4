"""The nearest-neighbour term (--neighbor_weight): its maths, the positions it matches, the painting features it
samples, and the term through a run, the Keras loss and the command."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW_LAYERS, run_command, tiny_pair

import tf_nst
from tf_nst import losses
from tf_nst.config import NEIGHBOR_LAYERS
from tf_nst.objective import (
    NEIGHBOR_SAMPLES,
    Targets,
    compute_targets,
    loss_terms,
    neighbor_grid,
    neighbor_term,
    style_targets,
)
from tf_nst.tiles import TiledObjective
from tf_nst.transfer import StyleTransfer

TINY = tf_nst.StyleTransferConfig(precision="float32", scales=1, max_size=48, neighbor_weight=3.0, neighbor_min_side=32)


def test_centred_unit_rows():
    rows = tf.constant([[3.0, 1.0], [1.0, 5.0]])
    np.testing.assert_allclose(losses.centred_unit(rows, [1.0, 1.0]).numpy(), [[1, 0], [0, 1]], atol=1e-7)


def test_nearest_distance_is_the_cosine_distance_to_the_most_similar_key():
    queries = tf.constant([[[1.0, 0.0], [0.0, 1.0], [-0.6, -0.8]]])
    keys = tf.constant([[0.6, 0.8], [1.0, 0.0]])
    # nearest: (1, 0) itself; (0.6, 0.8) at similarity 0.8; (1, 0) at -0.6 (both are far: the less far)
    np.testing.assert_allclose(losses.nearest_distance(queries, keys).numpy(), [[[0.0, 0.2, 1.6]]], atol=1e-6)
    # a set of keys per region: each query against each set
    two = tf.stack([keys, -keys])
    np.testing.assert_allclose(
        losses.nearest_distance(queries, two).numpy(), [[[0.0, 0.2, 1.6], [1.6, 1.0, 0.0]]], atol=1e-6
    )


def test_the_gradient_pulls_each_query_towards_its_nearest_key():
    queries = tf.Variable([[[0.0, 1.0], [0.96, 0.28]]])
    keys = tf.constant([[0.6, 0.8], [1.0, 0.0]])
    with tf.GradientTape() as tape:
        distance = tf.reduce_sum(losses.nearest_distance(queries, keys, tf.bfloat16))
    np.testing.assert_allclose(tape.gradient(distance, queries).numpy(), [[[-0.6, -0.8], [-1.0, 0.0]]], atol=1e-6)


def test_the_matched_positions_are_a_seeded_grid_of_about_64_a_side():
    stride, offset = neighbor_grid(200, 100, seed=0, draw=5, index=1)
    assert int(stride) == 3 and all(0 <= int(o) < 3 for o in offset)
    again = neighbor_grid(200, 100, seed=0, draw=5, index=1)[1]
    np.testing.assert_array_equal(offset.numpy(), again.numpy())
    offsets = {tuple(neighbor_grid(200, 100, seed=0, draw=d, index=1)[1].numpy()) for d in range(20)}
    assert len(offsets) > 3  # each evaluation matches other positions
    assert int(neighbor_grid(64, 40, seed=0, draw=1, index=0)[0]) == 1  # a small map: every position


def test_the_term_of_known_features():
    features = tf.constant(np.random.default_rng(0).normal(size=(1, 8, 8, 3)), tf.float32)
    rows = tf.reshape(features, [-1, 3])
    queries = losses.centred_unit(rows, tf.reduce_mean(rows, 0))

    def term(keys):
        targets = Targets({}, {}, {}, {}, neighbors={"layer": keys}, draw=0)
        return float(neighbor_term({"layer": features}, targets, seed=0)[0])

    # the image's own features (centred by their mean, the image's) are their own nearest
    assert term(queries) == pytest.approx(0.0, abs=1e-6)
    # one key: every position's distance to it (8 px: the grid is every position)
    key = tf.constant([[0.0, 0.6, 0.8]])
    assert term(key) == pytest.approx(float(tf.reduce_mean(1 - queries @ tf.transpose(key))), rel=1e-6)


def test_each_style_gives_its_blend_share_of_the_painting_features(random_model):
    _, style = tiny_pair()
    counts = []

    def sampler(image, mask, layer_counts, rng):
        counts.append(layer_counts)
        return {n: tf.ones([c, random_model.output[n].shape[-1]]) for n, c in layer_counts.items()}

    styles = [style, style[:, ::-1]]
    targets = style_targets(random_model, styles, [0.75, 0.25], TINY, samples_of=sampler)
    layers = list(NEIGHBOR_LAYERS)  # the first three, all weighted above 0
    assert list(targets.neighbors) == layers and all(c.keys() == set(layers) for c in counts)
    first, second = (c[layers[0]] for c in counts)
    assert first + second == NEIGHBOR_SAMPLES and abs(first - 0.75 * NEIGHBOR_SAMPLES) < 100
    plain = style_targets(random_model, styles, [0.5, 0.5], TINY)
    for name, keys in plain.neighbors.items():  # centred over all the samples, of unit length
        assert keys.shape == (NEIGHBOR_SAMPLES, random_model.output[name].shape[-1])
        np.testing.assert_allclose(tf.norm(keys, axis=1).numpy(), 1.0, rtol=1e-5)
    assert not style_targets(random_model, styles, [0.5, 0.5], TINY.replace(neighbor_weight=0.0)).neighbors


def test_the_term_matches_the_chosen_layers_that_the_style_loss_uses(random_model):
    _, style = tiny_pair()
    deeper = TINY.replace(neighbor_layers=("block2_conv1", "block4_conv1", "block5_conv1"))
    assert list(style_targets(random_model, [style], [1.0], deeper).neighbors) == ["block2_conv1", "block4_conv1"]
    with pytest.raises(tf_nst.ConfigError, match="--neighbor_layers: none is a style layer"):
        TINY.replace(neighbor_layers=("block5_conv1",))  # weighted 0 by default
    assert TINY.replace(neighbor_layers=("block5_conv1",), neighbor_weight=0.0).neighbor_layers  # the term is off
    with pytest.raises(tf_nst.ConfigError, match="unknown layer 'block9_conv1'"):
        TINY.replace(neighbor_layers=("block9_conv1",))


def test_a_run_lowers_the_term_and_reports_it(random_model):
    content, style = tiny_pair()
    reports = []
    StyleTransfer(TINY.replace(steps=6), model=random_model).run(content, style, reports.append, report_every=1)
    assert reports[-1].losses["neighbor"] < reports[0].losses["neighbor"]
    total = sum(v for k, v in reports[-1].losses.items() if k != "total")
    assert reports[-1].losses["total"] == pytest.approx(total, rel=1e-5)


def test_the_term_in_bfloat16_is_near_float32(random_model):
    content, style = tiny_pair()
    image = tf.clip_by_value(content[:, ::-1] + 0.1, 0.0, 1.0)
    values = []
    for precision in ("float32", "bfloat16"):
        model = (
            random_model
            if precision == "float32"
            else tf_nst.build_feature_model(
                TINY.content_layers + TINY.style_layers, None, dtype_policy="mixed_bfloat16"
            )
        )
        if precision == "bfloat16":
            model.set_weights(random_model.get_weights())
        targets = compute_targets(model, content, style_targets(model, [style], [1.0], TINY), TINY)
        values.append(float(loss_terms(model(image), image, targets, TINY)["neighbor"]))
    assert values[1] == pytest.approx(values[0], rel=0.05)


def test_the_keras_loss_has_the_term_and_keeps_its_features(random_model):
    content, style = tiny_pair()
    images = tf.concat([content[:, :32, :32], content[:, 8:40, 16:48]], axis=0)
    loss = tf_nst.StyleContentLoss(style.numpy()[0], TINY, feature_model=random_model)
    without = tf_nst.StyleContentLoss(style.numpy()[0], TINY.replace(neighbor_weight=0.0), random_model)
    assert float(loss(images, images[:, ::-1])) > float(without(images, images[:, ::-1]))
    saved = json.loads(json.dumps(loss.get_config()))
    restored = tf_nst.StyleContentLoss.from_config(saved, feature_model=random_model)
    for name, keys in loss.style_targets.neighbors.items():
        np.testing.assert_array_equal(restored.style_targets.neighbors[name].numpy(), keys.numpy())
    with pytest.raises(tf_nst.ConfigError, match="nearest-neighbour"):
        tf_nst.StyleContentLoss(without.style_targets, TINY, random_model)


def test_the_command_takes_the_weight(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "out.png"
    args = [f"--content={content}", f"--style={style}", "--max_size=48", "--steps=2", *SHALLOW_LAYERS]
    result = run_command(*args, f"--output={out}", "--neighbor_weight=2", "--neighbor_min_side=24")
    assert result.returncode == 0, result.stderr
    assert "neighbor=" in result.stderr and out.exists()
    refused = run_command(*args, f"--output={tmp_path / 'no.png'}", "--neighbor_weight=-1")
    assert refused.returncode == 2 and "--neighbor_weight" in refused.stderr.splitlines()[-1]


def test_a_painting_in_tiles_gives_the_same_statistics_and_its_own_features(random_model, monkeypatch):
    style = tf.image.resize(tiny_pair()[1], [96, 96])
    transfer = StyleTransfer(TINY, model=random_model)
    plain = transfer.style_targets([style])
    monkeypatch.setattr("tf_nst.transfer.style_tile", lambda sizes: 64)  # as for a painting too large for memory
    tiled = transfer.style_targets([style])
    for name, moments in plain.statistics.items():
        for a, b in zip(moments, tiled.statistics[name]):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-3, atol=1e-4)
    for name, keys in tiled.neighbors.items():
        assert keys.shape == plain.neighbors[name].shape
        np.testing.assert_allclose(tf.norm(keys, axis=1).numpy(), 1.0, rtol=1e-5)
    # drawn tile by tile, every sample is one of the painting's own features
    objective = TiledObjective(random_model, tuple(style.shape), TINY, 64, moment_layers=TINY.style_layers)
    name = next(iter(tiled.neighbors))
    rows = objective.samples(style, {name: 40}, np.random.default_rng(0))[name]
    features = tf.reshape(random_model(style)[name], [-1, rows.shape[-1]]).numpy()
    nearest = np.min(np.abs(rows.numpy()[:, None] - features[None]).max(axis=2), axis=1)
    assert rows.shape[0] == 40 and nearest.max() < 1e-4
