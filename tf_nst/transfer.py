"""The optimisation: a ``tf.Variable`` image updated by Adam in a ``tf.function``-compiled step.

Only the pixels are optimized, never the network. Targets (content features, style Grams) are computed once
before the loop. Progress leaves through a callback; this module knows nothing of files or flags.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tf_nst import losses
from tf_nst.config import StyleTransferConfig
from tf_nst.features import build_feature_model
from tf_nst.precision import resolve_precision
from tf_nst.weights import load_conv_weights


@dataclass(frozen=True)
class Progress:
    """What the loop reports: ``step`` of ``steps`` done, float loss terms, speed and time so far, the image's
    ``size`` (width, height), and in a coarse-to-fine run which ``scale`` of ``scales`` (1-based) this is."""

    step: int
    steps: int
    losses: dict[str, float]
    steps_per_second: float
    elapsed: float
    size: tuple[int, int] = (0, 0)
    scale: int = 1
    scales: int = 1


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Targets:
    """What the image is pulled towards, with per-layer weights that make each term scale-free.

    ``content``: ``{layer: [1, h, w, C]}`` features; ``grams``: ``{layer: [1, C, C]}``. ``content_weights`` and
    ``style_weights`` already divide by the target's mean square, so a term of 1 means "as far off as the
    target is large" on every layer, and layers of very different activation sizes count alike.
    """

    content: dict[str, tf.Tensor]
    content_weights: dict[str, float]
    grams: dict[str, tf.Tensor]
    style_weights: dict[str, float]


def _mean_square(tensor: tf.Tensor) -> float:
    return float(tf.reduce_mean(tf.square(tf.cast(tensor, tf.float32)))) + 1e-12


def _features(model: keras.Model, image) -> dict[str, tf.Tensor]:
    """The model's feature maps in its compute precision (the losses widen half precision themselves)."""
    return model(image, training=False)


def compute_targets(model: keras.Model, content: tf.Tensor, style: tf.Tensor, config: StyleTransferConfig) -> Targets:
    """Content features of ``content`` and Gram matrices of ``style`` (both ``[1, H, W, 3]`` in [0, 1])."""
    content_features = _features(model, content)
    style_features = _features(model, style)
    content_targets = {name: tf.cast(content_features[name], tf.float32) for name in config.content_layers}
    grams = {name: losses.gram_matrix(style_features[name]) for name in config.style_layers}
    per_content_layer = 1.0 / len(config.content_layers)
    return Targets(
        content=content_targets,
        content_weights={name: per_content_layer / _mean_square(t) for name, t in content_targets.items()},
        grams=grams,
        style_weights={name: w / _mean_square(grams[name]) for name, w in config.layer_weights.items()},
    )


def loss_terms(
    features: Mapping[str, tf.Tensor], image: tf.Tensor, targets: Targets, config: StyleTransferConfig
) -> dict[str, tf.Tensor]:
    """Weighted loss terms (scalars) and their sum: ``content``, ``style``, ``tv``, ``total``."""
    content = tf.add_n(
        [w * losses.content_loss(features[name], targets.content[name]) for name, w in targets.content_weights.items()]
    )[0]
    style = losses.style_loss(features, targets.grams, targets.style_weights)[0]
    # the weights are fixed when the step is traced: a zero-weight term costs nothing (TV's slice gradients are slow)
    tv = losses.total_variation_loss(image)[0] if config.tv_weight else tf.constant(0.0)
    terms = {
        "content": config.content_weight * content,
        "style": config.style_weight * style,
        "tv": config.tv_weight * tv,
    }
    terms["total"] = tf.add_n(list(terms.values()))
    return terms


def make_step(
    model: keras.Model,
    image: tf.Variable,
    optimizer: keras.optimizers.Optimizer,
    targets: Targets,
    config: StyleTransferConfig,
) -> Callable[[], dict[str, tf.Tensor]]:
    """One compiled Adam step on ``image`` (``[1, H, W, 3]``, kept in [0, 1]); returns the loss terms.

    The step closes over everything it touches, so it traces once for the image's shape.
    """

    @tf.function
    def step() -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            terms = loss_terms(_features(model, image), image, targets, config)
        gradient = tape.gradient(terms["total"], image)
        optimizer.apply_gradients([(gradient, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return terms

    return step


def initial_image(content: tf.Tensor, init: str, seed: int) -> tf.Tensor:
    """The starting pixels: the content image itself, or uniform noise in [0, 1] of its shape."""
    if init == "noise":
        return tf.random.stateless_uniform(tf.shape(content), seed=[seed, 0], dtype=tf.float32)
    return tf.convert_to_tensor(content, tf.float32)


class StyleTransfer:
    """Builds the feature model once; ``run`` stylizes a content image with a style image.

    >>> result = StyleTransfer(StyleTransferConfig(steps=100)).run(content, style)  # [1, H, W, 3] in [0, 1]

    The model computes in ``config.precision`` (``auto``: see ``tf_nst.precision``); a ``model`` given instead
    is used as it is.
    """

    def __init__(self, config: StyleTransferConfig, model: keras.Model | None = None):
        self.config = config
        self.model = model or build_feature_model(
            config.content_layers + config.style_layers,
            load_conv_weights(config.weights),
            config.pooling,
            resolve_precision(config.precision).dtype_policy,
        )

    def run(
        self,
        content: tf.Tensor | np.ndarray,
        style: tf.Tensor | np.ndarray,
        callback: ProgressCallback | None = None,
        report_every: int = 10,
        init_image: tf.Tensor | np.ndarray | None = None,
    ) -> tf.Tensor:
        """Optimize an image that has ``content``'s structure and ``style``'s textures.

        ``content`` and ``style`` are float32 ``[1, H, W, 3]`` in [0, 1] (H, W >= 32), already at the sizes
        wanted; the result has ``content``'s shape. ``callback`` gets a ``Progress`` every ``report_every``
        steps and after the last one. ``init_image`` (same shape as ``content``) overrides ``config.init``.
        """
        config = self.config
        content = tf.convert_to_tensor(content, tf.float32)
        style = tf.convert_to_tensor(style, tf.float32)
        targets = compute_targets(self.model, content, style, config)
        start_pixels = initial_image(content, config.init, config.seed) if init_image is None else init_image
        image = tf.Variable(tf.convert_to_tensor(start_pixels, tf.float32), name="image")
        optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
        optimizer.build([image])
        step = make_step(self.model, image, optimizer, targets, config)
        size = (int(content.shape[2]), int(content.shape[1]))
        start = time.perf_counter()
        for done in range(1, config.steps + 1):
            terms = step()
            if callback is not None and (done % report_every == 0 or done == config.steps):
                elapsed = time.perf_counter() - start
                losses_now = {k: float(v) for k, v in terms.items()}
                callback(Progress(done, config.steps, losses_now, done / elapsed, elapsed, size))
        return tf.convert_to_tensor(image)
