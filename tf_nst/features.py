"""The VGG-19 feature model: RGB pixels in, a dict of named feature maps out.

Input contract (shared with the exported SavedModel): float32 RGB ``[batch, H, W, 3]`` in [0, 1], with
H, W >= 32. The model applies Keras' ``vgg19.preprocess_input`` itself (scale to [0, 255], RGB to BGR, subtract
the ImageNet channel means), so callers never do. Outputs are the ReLU activations of the named conv layers,
``{name: [batch, H / 2**k, W / 2**k, C]}`` where k is the number of pools before the layer.

With ``wrap`` (``config.tileable``) every convolution pads circularly (``WrapPad``: the opposite edge's pixels)
instead of with zeros, so the network sees the image as one tile of an endless plane: with sides that are
multiples of ``tf_nst.layers.wrap_step``, a 2x2 repeat of the image has the 2x2 repeat of its features.

``build_feature_model`` builds one; ``feature_model`` gives the one a config asks for, built once and kept.
The network's layer table and ``MIN_SIDE`` are ``tf_nst.layers``'.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import keras
import numpy as np

from tf_nst.config import POOLINGS, StyleTransferConfig
from tf_nst.errors import ConfigError, not_one_of
from tf_nst.io.weights import ConvWeights, load_conv_weights
from tf_nst.layers import CONV_LAYERS, VGG19_LAYERS, check_layer_names, layer_channels
from tf_nst.precision import resolve_precision

IMAGENET_BGR_MEANS = (103.939, 116.779, 123.68)


class VGGPreprocess(keras.layers.Layer):
    """[0, 1] RGB to Keras VGG input: ``255 * x``, RGB to BGR, minus the ImageNet means. Always float32."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, images):
        bgr = keras.ops.flip(images, axis=-1) * 255.0  # a reverse, whose gradient is cheap (a strided slice's is not)
        return bgr - keras.ops.convert_to_tensor(np.array(IMAGENET_BGR_MEANS, np.float32))


class WrapPad(keras.layers.Layer):
    """Pads ``[B, H, W, C]`` by one pixel on each side with the opposite edge's (circular padding):
    ``[B, H + 2, W + 2, C]``. A 3x3 "valid" convolution after it is a circular one."""

    def call(self, x):
        x = keras.ops.concatenate([x[:, -1:], x, x[:, :1]], axis=1)
        return keras.ops.concatenate([x[:, :, -1:], x, x[:, :, :1]], axis=2)


def build_feature_model(
    layer_names: Sequence[str],
    conv_weights: ConvWeights | None = None,
    pooling: str = "max",
    dtype_policy: str = "float32",
    wrap: bool = False,
) -> keras.Model:
    """A frozen Keras model mapping ``[B, H, W, 3]`` in [0, 1] to ``{layer: features}``.

    Built only up to the deepest layer asked for. ``conv_weights`` (from ``tf_nst.io.weights``) fills the conv
    layers by name; ``None`` keeps Keras' random initialisation (for tests). ``pooling`` is ``"max"`` (VGG's
    own) or ``"avg"`` (the paper's suggestion, smoother results). ``dtype_policy`` is a Keras dtype policy for
    the convolutions (``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``); outputs are then float32-cast
    by the caller as needed. ``wrap``: circular padding instead of zeros (see above; layer names are kept, so
    the same weights load).
    """
    layer_names = tuple(dict.fromkeys(layer_names))
    if not layer_names:
        raise ConfigError("at least one feature layer is needed")
    check_layer_names(layer_names)
    if pooling not in POOLINGS:
        raise ConfigError(not_one_of("pooling", pooling, POOLINGS))
    deepest = max(CONV_LAYERS.index(name) for name in layer_names)
    pool_layer = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D

    images = keras.Input(shape=(None, None, 3), dtype="float32", name="images")
    x = VGGPreprocess(name="vgg_preprocess")(images)
    outputs = {}
    for name in VGG19_LAYERS:
        if "pool" in name:
            x = pool_layer(2, strides=2, name=name, dtype=dtype_policy)(x)
            continue
        if wrap:
            x = WrapPad(name=f"{name}_wrap", dtype=dtype_policy)(x)
        padding = "valid" if wrap else "same"
        x = keras.layers.Conv2D(
            layer_channels(name), 3, padding=padding, activation="relu", name=name, dtype=dtype_policy
        )(x)
        if name in layer_names:
            outputs[name] = x
        if CONV_LAYERS.index(name) == deepest:
            break
    model = keras.Model(images, {name: outputs[name] for name in layer_names}, name="vgg19_features")
    if conv_weights is not None:
        for layer in model.layers:
            if layer.name in CONV_LAYERS:
                kernel, bias = conv_weights[layer.name]
                if kernel.shape != tuple(layer.kernel.shape):
                    raise ConfigError(f"{layer.name}: weights of shape {kernel.shape}, expected {layer.kernel.shape}")
                layer.set_weights([kernel, bias])
    model.trainable = False
    return model


def feature_model(config: StyleTransferConfig) -> keras.Model:
    """The frozen VGG-19 feature model of ``config``: its content and style layers, ``weights``, ``pooling``,
    computing in ``precision`` (``auto``: see ``tf_nst.precision``), padding circularly if ``tileable``.

    The model is frozen and keeps no state between calls, so the last two asked for are kept and given again:
    repeated ``stylize`` calls in one process build and load VGG-19 once. A weights file is asked for again
    when it changed (its modification time and size are part of the key)."""
    layers = tuple(dict.fromkeys(config.content_layers + config.style_layers))
    try:
        stat = os.stat(config.weights)
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:  # "embedded", "imagenet", or a path whose loading reports the error
        version = None
    policy = resolve_precision(config.precision).dtype_policy
    return _feature_model(layers, config.weights, version, config.pooling, policy, config.tileable)


@functools.lru_cache(maxsize=2)
def _feature_model(
    layers: tuple[str, ...], weights: str, version: tuple[int, int] | None, pooling: str, policy: str, wrap: bool
) -> keras.Model:
    return build_feature_model(layers, load_conv_weights(weights), pooling, policy, wrap)


def check_outputs(model: keras.Model, layers: Sequence[str]) -> None:
    """ConfigError naming the ``layers`` that ``model`` has no output for."""
    missing = [name for name in dict.fromkeys(layers) if name not in model.output_names]
    if missing:
        raise ConfigError(f"the feature model has no output for layer(s) {', '.join(missing)}")
