"""StyleContentLoss as a Keras loss: training through model.fit, per-image values, serialization, bad input."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW, gradient_image

import tf_nst
from tf_nst.errors import ConfigError, ImageError
from tf_nst.objective import StyleTargets, compute_targets, loss_terms
from tf_nst.transfer import StyleTransfer

# non-default weights, so that the comparison with loss_terms covers how each is applied
CONFIG = tf_nst.StyleTransferConfig(
    precision="float32", content_weight=2.0, style_weight=5.0, tv_weight=0.5, style_layer_weights=(1, 2, 3, 4, 5)
)
STYLE = gradient_image(40, 40, 9)[:, ::-1]  # uint8 [H, W, 3]


def photos(count: int, size: int = 32) -> np.ndarray:
    """float32 [count, size, size, 3] in [0, 1], each of a different brightness (per-image normalization)."""
    return np.stack([gradient_image(size, size, i) / 255 * (0.3 + 0.3 * i) for i in range(count)]).astype(np.float32)


def tiny_network(channels: int = 3) -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid"),
        ]
    )


@pytest.fixture(scope="module")
def loss(random_model):
    return tf_nst.StyleContentLoss(STYLE, CONFIG, feature_model=random_model)


def test_fit_lowers_the_loss_and_trains_only_the_network(shallow_model):
    # VGG-19 to block2 (a fraction of the full network's trace): what is tested is Keras' training loop
    config, vgg = CONFIG.replace(**SHALLOW, style_layer_weights=(1, 2)), shallow_model
    vgg_before = [w.numpy().copy() for w in vgg.weights]
    network = tiny_network()
    network.compile(optimizer=keras.optimizers.Adam(0.01), loss=tf_nst.StyleContentLoss(STYLE, config, vgg))
    x = photos(4)
    history = network.fit(x, x, batch_size=4, epochs=6, verbose=0).history["loss"]
    assert all(np.isfinite(history))
    assert history[-1] < 0.9 * history[0], history
    assert vgg.weights and not any(w.trainable for w in vgg.weights)
    for old, new in zip(vgg_before, vgg.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_per_image_losses_equal_loss_terms_against_the_same_targets(loss, random_model):
    content = photos(3)
    generated = np.clip(content[:, ::-1] + 0.1, 0, 1)  # another picture per image
    per_image = tf_nst.StyleContentLoss(STYLE, CONFIG, random_model, reduction=None)(content, generated)
    assert per_image.shape == (3,)
    style = StyleTransfer(CONFIG, model=random_model).style_targets(tf.constant(STYLE[None] / 255, tf.float32))
    for i in range(3):
        targets = compute_targets(random_model, tf.constant(content[i : i + 1]), style, CONFIG)
        image = tf.constant(generated[i : i + 1])
        expected = loss_terms(random_model(image), image, targets, CONFIG)["total"]
        np.testing.assert_allclose(float(per_image[i]), float(expected), rtol=1e-5)
    np.testing.assert_allclose(float(loss(content, generated)), float(tf.reduce_mean(per_image)), rtol=1e-6)
    weights = np.array([1.0, 0.0, 2.0], np.float32)
    np.testing.assert_allclose(
        float(loss(content, generated, sample_weight=weights)), float(np.sum(per_image * weights)) / 3, rtol=1e-5
    )


def test_a_content_image_as_output_has_no_content_loss(random_model):
    content = photos(2)
    no_style = CONFIG.replace(style_weight=0.0, neighbor_weight=0.0, tv_weight=0.0)
    per_image = tf_nst.StyleContentLoss(STYLE, no_style, random_model, reduction=None)(content, content)
    np.testing.assert_array_equal(per_image.numpy(), [0.0, 0.0])


def test_get_config_round_trip_rebuilds_the_default_feature_model():
    config = tf_nst.StyleTransferConfig(
        content_layers=("block1_conv2",),
        style_layers=("block1_conv1", "block2_conv1"),
        style_blend_weights=(3.0, 1.0),
        precision="float32",
    )
    original = tf_nst.StyleContentLoss([STYLE, STYLE[::-1]], config, name="painted", reduction="sum")
    saved = json.loads(json.dumps(original.get_config()))  # plain JSON: tuples become lists
    assert saved["feature_model"] == "default" and saved["config"]["style_layers"] == list(config.style_layers)
    content = photos(2)
    generated = content[:, :, ::-1]
    for restored in (
        tf_nst.StyleContentLoss.from_config(saved),
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(original)),
    ):
        assert isinstance(restored, tf_nst.StyleContentLoss)
        assert (restored.name, restored.reduction, restored.config) == ("painted", "sum", config)
        for name, statistics in original.style_targets.statistics.items():
            for saved_value, value in zip(restored.style_targets.statistics[name], statistics, strict=True):
                np.testing.assert_array_equal(saved_value.numpy(), value.numpy())
        assert restored.style_targets.weights == original.style_targets.weights
        np.testing.assert_allclose(float(restored(content, generated)), float(original(content, generated)), rtol=1e-6)


def test_a_custom_feature_model_must_be_passed_back_to_from_config(loss, random_model):
    saved = loss.get_config()
    assert saved["feature_model"] == "custom"
    with pytest.raises(ConfigError, match="custom feature model"):
        tf_nst.StyleContentLoss.from_config(saved)
    restored = tf_nst.StyleContentLoss.from_config(saved, feature_model=random_model)
    content = photos(1)
    np.testing.assert_allclose(float(restored(content, content * 0.5)), float(loss(content, content * 0.5)), rtol=1e-6)


@pytest.mark.parametrize(
    "y_true, y_pred, fragment",
    [
        (np.zeros([2, 32, 32, 3]), np.zeros([32, 32, 3]), "y_pred (generated images): expected images of shape"),
        (np.zeros([2, 32, 32, 1]), np.zeros([2, 32, 32, 3]), "y_true (content images): expected images of shape"),
        (np.zeros([2, 32, 32, 3]), np.zeros([2, 32, 32, 4]), "got [2, 32, 32, 4]"),
        (np.zeros([1, 16, 40, 3]), np.zeros([1, 16, 40, 3]), "40x16 px is below the 32x32 minimum"),
        (np.zeros([2, 32, 32, 3]), np.zeros([2, 48, 32, 3]), "differ in shape"),
    ],
)
def test_bad_images_are_refused_naming_the_problem(loss, y_true, y_pred, fragment):
    with pytest.raises(ImageError) as error:
        loss(y_true, y_pred)
    assert fragment in str(error.value)


def test_fit_with_a_network_of_the_wrong_channel_count_is_refused(loss):
    network = tiny_network(channels=1)
    network.compile(optimizer="adam", loss=loss)
    x = photos(2)
    with pytest.raises(ImageError, match=r"y_pred \(generated images\).*, 32, 32, 1\]"):
        network.fit(x, x, batch_size=2, epochs=1, verbose=0)


def test_bad_styles_are_refused(random_model):
    with pytest.raises(ImageError, match="style image 2"):
        tf_nst.StyleContentLoss([STYLE, STYLE[..., :2]], CONFIG, random_model)
    partial = StyleTargets({"block1_conv1": (tf.zeros([1, 64]),)}, {"block1_conv1": 1.0}, CONFIG.style_loss)
    with pytest.raises(ConfigError, match="block2_conv1"):
        tf_nst.StyleContentLoss(partial, CONFIG, random_model)
    with pytest.raises(ConfigError, match="no output for layer"):
        tf_nst.StyleContentLoss(STYLE, CONFIG.replace(content_layers=("block5_conv3",)), random_model)
