"""Tileable textures (``tileable``): circular padding in the network, the wrapped smoothness term, sizes that
wrap exactly, and a tiny run whose 2x2 repeat has no seam while the same run without it has one."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bench.experiments.seams import border_energy
from tests.conftest import SHALLOW, gradient_image, tiny_pair
from tf_nst import losses
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ImageError, InsufficientMemoryError, UsageError
from tf_nst.features import build_feature_model
from tf_nst.layers import tileable_size, wrap_step
from tf_nst.planning import plan, plan_levels

LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1")  # strides 1, 2, 4: a repeat of 4 px wraps exactly


@pytest.fixture(scope="module")
def models():
    """(wrapping, zero-padding) models of ``LAYERS`` with the same random weights."""
    keras.utils.set_random_seed(0)
    wrapping = build_feature_model(LAYERS, wrap=True)
    zeros = build_feature_model(LAYERS)
    for layer in zeros.layers:
        if layer.weights:
            layer.set_weights(wrapping.get_layer(layer.name).get_weights())
    return wrapping, zeros


def _noise(height: int, width: int, seed: int = 0) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).uniform(size=(1, height, width, 3)), tf.float32)


def _repeat(maps: tf.Tensor) -> np.ndarray:
    return np.tile(np.asarray(maps), (1, 2, 2, 1))


def test_wrapped_features_of_a_repeat_are_the_repeat_of_the_features(models):
    wrapping, zeros = models
    image = _noise(36, 44)  # multiples of 4
    one, repeated = wrapping(image), wrapping(tf.constant(_repeat(image)))
    for name in LAYERS:
        np.testing.assert_allclose(repeated[name], _repeat(one[name]), rtol=1e-5, atol=1e-5, err_msg=name)
    # zero padding sees the repeat's inner borders as content: it does not repeat
    plain, plain_repeated = zeros(image), zeros(tf.constant(_repeat(image)))
    assert np.abs(plain_repeated["block3_conv1"] - _repeat(plain["block3_conv1"])).max() > 1e-3


def test_rolling_by_a_pooled_step_rolls_the_features(models):
    wrapping, _ = models
    image = _noise(32, 40, seed=1)
    rolled = wrapping(tf.roll(image, shift=(4, -8), axis=(1, 2)))
    features = wrapping(image)
    for name, stride in zip(LAYERS, (1, 2, 4)):
        expected = tf.roll(features[name], shift=(4 // stride, -8 // stride), axis=(1, 2))
        np.testing.assert_allclose(rolled[name], expected, rtol=1e-5, atol=1e-5, err_msg=name)


def test_wrapping_changes_only_the_padding(models):
    """Away from the edges (beyond block3_conv1's receptive radius of 18 px) the features are zero padding's."""
    wrapping, zeros = models
    image = _noise(64, 64, seed=2)
    inner = slice(20 // 4, (64 - 20) // 4)
    np.testing.assert_allclose(
        wrapping(image)["block3_conv1"][:, inner, inner], zeros(image)["block3_conv1"][:, inner, inner], atol=1e-4
    )


def test_wrapped_total_variation_of_known_images():
    rows, columns = np.indices((6, 8))
    checkerboard = tf.constant(np.repeat(((rows + columns) % 2)[None, ..., None], 3, -1), tf.float32)
    assert float(losses.total_variation_loss(checkerboard, wrap=True)[0]) == pytest.approx(2.0)
    # a ramp 0, 1/8, ..., 7/8 across: 7 steps of 1/8 and, wrapped, one of 7/8 back to 0, over 8 differences a row
    ramp = tf.constant(np.broadcast_to((columns / 8)[None, ..., None], (1, 6, 8, 3)), tf.float32)
    assert float(losses.total_variation_loss(ramp)[0]) == pytest.approx(1 / 8)
    assert float(losses.total_variation_loss(ramp, wrap=True)[0]) == pytest.approx((7 / 8 + 7 / 8) / 8)
    # down the ramp's columns nothing changes, wrapped or not; a batch gets one value per image
    batch = tf.concat([tf.transpose(ramp[:, :6, :6], [0, 2, 1, 3]), ramp[:, :6, :6]], axis=0)
    np.testing.assert_allclose(losses.total_variation_loss(batch, wrap=True), [(5 / 8 + 5 / 8) / 6] * 2, rtol=1e-6)


def test_wrapped_total_variation_is_the_same_for_every_roll():
    image = _noise(10, 12, seed=3)
    value = losses.total_variation_loss(image, wrap=True)
    for shift in ((1, 0), (0, 5), (7, 3)):
        rolled = tf.roll(image, shift=shift, axis=(1, 2))
        np.testing.assert_allclose(losses.total_variation_loss(rolled, wrap=True), value, rtol=1e-6)
    assert abs(float(losses.total_variation_loss(tf.roll(image, shift=5, axis=2))[0]) - float(value[0])) > 1e-4


def test_tileable_sizes_are_multiples_of_the_deepest_stride():
    defaults = StyleTransferConfig()
    layers = defaults.content_layers + defaults.style_layers
    assert wrap_step(layers) == 16 and wrap_step(SHALLOW["content_layers"] + SHALLOW["style_layers"]) == 2
    assert tileable_size((500, 375), layers) == (496, 368)
    config = defaults.replace(max_size=500, scales=2, tileable=True)
    levels = plan_levels((1000, 750), (512, 512), config)
    assert [level.size for level in levels] == [(240, 176), (496, 368)]  # from 250x188 and 500x375
    assert [level.size for level in plan_levels((1000, 750), (512, 512), config.replace(tileable=False))] == [
        (250, 188),
        (500, 375),
    ]


def test_tileable_runs_whole_and_says_so_when_it_does_not_fit():
    config = StyleTransferConfig(max_size=2048, scales=1, memory_limit_mb=3000, precision="float32")
    assert plan((2048, 2048), (2048, 2048), config).levels[0].mechanism.tile  # in tiles without tileable
    with pytest.raises(InsufficientMemoryError, match="--tileable runs whole"):
        plan((2048, 2048), (2048, 2048), config.replace(tileable=True))


def test_tileable_refuses_what_would_not_wrap():
    with pytest.raises(ConfigError, match="--tileable: not with --preserve_colors=luminance"):
        StyleTransferConfig(tileable=True, preserve_colors="luminance")
    StyleTransferConfig(tileable=True, preserve_colors="histogram")
    from tf_nst.video import stylize_video

    with pytest.raises(UsageError, match="--tileable: not for a video"):
        next(stylize_video([gradient_image(48, 48)], gradient_image(48, 48), StyleTransferConfig(tileable=True)))


def test_the_keras_loss_scores_a_texture_the_same_however_it_is_rolled(shallow_model):
    from tf_nst.keras_loss import StyleContentLoss

    keras.utils.set_random_seed(0)
    model = build_feature_model(SHALLOW["content_layers"] + SHALLOW["style_layers"], wrap=True)
    config = StyleTransferConfig(tileable=True, precision="float32", **SHALLOW)
    content, style = tiny_pair()
    loss = StyleContentLoss(style.numpy()[0], config, feature_model=model, reduction=None)
    generated = _noise(40, 48, seed=4)
    value = loss(content, generated)
    rolled = loss(tf.roll(content, shift=(2, 6), axis=(1, 2)), tf.roll(generated, shift=(2, 6), axis=(1, 2)))
    np.testing.assert_allclose(rolled, value, rtol=1e-4)
    with pytest.raises(ImageError, match="multiples of 2 px"):
        loss(_noise(40, 47), _noise(40, 47))


def test_the_export_keeps_zero_padding(monkeypatch, tmp_path):
    from tf_nst.serving import export

    asked = []

    def stop(config):
        asked.append(config)
        raise RuntimeError("stop here")

    monkeypatch.setattr(export, "feature_model", stop)
    with pytest.raises(RuntimeError, match="stop here"):
        export.export_feature_extractor(tmp_path / "export", StyleTransferConfig(tileable=True))
    assert asked and not asked[0].tileable


@pytest.mark.parametrize("parameterization, size", [("pixels", 64), ("pyramid", 128)])
def test_a_tileable_texture_repeats_without_a_seam(parameterization, size):
    """The same tiny texture run (noise start, no content, the shallow layers) with and without ``tileable``:
    the 2x2 repeat's difference across the tile border is like any other row's only with it (about 1.2x
    against 14-17x without, at seeds 0 and 1). The pyramid's levels (128 and 64 px) are upsampled wrapping
    around too."""
    import tf_nst

    content = np.full((size, size, 3), 128, np.uint8)
    _, style = tiny_pair()
    ratios = {}
    for tileable in (True, False):
        result = tf_nst.stylize(
            content,
            style.numpy()[0],
            max_size=size,
            steps=30,
            scales=1,
            init="noise",
            content_weight=0.0,
            precision="float32",
            tileable=tileable,
            parameterization=parameterization,
            **SHALLOW,
        ).numpy()[0]
        assert result.shape == (size, size, 3)
        border, elsewhere = border_energy(np.tile(result, (2, 2, 1)), [size], [size])
        ratios[tileable] = border / elsewhere
    assert ratios[True] < 2.0 and ratios[False] > 5.0, ratios


def test_a_tileable_pyramid_rounds_every_level_and_ends_at_the_rounded_size():
    import tf_nst

    sizes = []
    result = tf_nst.stylize(
        gradient_image(100, 75, 1),
        gradient_image(64, 64, 2),
        max_size=92,
        steps=2,
        scales=2,
        tileable=True,
        precision="float32",
        callback=lambda progress: sizes.append(progress.size),
        report_every=1,
        **SHALLOW,
    )
    assert result.shape == (1, 68, 92, 3)  # 92x69, its height rounded down to a multiple of 2
    assert sorted(set(sizes)) == [(46, 34), (92, 68)]  # the first level 46x35, rounded too


def test_a_wrapped_resize_is_the_middle_of_the_repeat_resized():
    from tf_nst.io.images import resize
    from tf_nst.pyramid import wrapped_resize

    image = np.random.default_rng(5).uniform(size=(20, 24, 3)).astype(np.float32)
    for width, height in ((48, 40), (12, 10)):
        middle = resize(np.tile(image, (3, 3, 1)), (3 * width, 3 * height))[height : 2 * height, width : 2 * width]
        np.testing.assert_allclose(wrapped_resize(image, (width, height)), middle, atol=1e-6)
