"""The style-transfer loss as a ``keras.losses.Loss``, for training an image-to-image network with ``model.fit``.

``y_true`` is the batch of content images, ``y_pred`` the network's output for them; both float32
``[B, H, W, 3]`` in [0, 1], H, W >= ``MIN_SIDE`` (32). Each generated image gets the loss ``StyleTransfer``
optimizes (see ``tf_nst.objective.batch_loss_terms``): content MSE against its own content image's features,
the style loss against fixed style targets, total variation, each term scale-free and weighted as in the config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import keras
import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ImageError
from tf_nst.features import check_outputs
from tf_nst.features import feature_model as default_feature_model
from tf_nst.io.images import ImageLike, as_pixels, style_list
from tf_nst.layers import BELOW_MIN_SIDE, MIN_SIDE, wrap_step
from tf_nst.objective import (
    StyleTargets,
    Targets,
    batch_loss_terms,
    content_targets,
    matched_layers,
    style_targets,
)


def _check_images(images: tf.Tensor, name: str) -> None:
    """ImageError unless ``images``' static shape can be ``[B, H, W, 3]`` with H, W >= ``MIN_SIDE``."""
    shape = images.shape
    if shape.rank is None:
        return
    if shape.rank != 4 or shape[-1] not in (None, 3):
        raise ImageError(f"{name}: expected images of shape [B, H, W, 3] in [0, 1], got {shape.as_list()}")
    height, width = shape[1], shape[2]
    if (height is not None and height < MIN_SIDE) or (width is not None and width < MIN_SIDE):
        raise ImageError(f"{name}: {width}x{height} px {BELOW_MIN_SIDE}")


def _check_wraps(images: tf.Tensor, step: int, name: str) -> None:
    """ImageError unless ``images``' static height and width, where known, are multiples of ``step``."""
    sides = images.shape[1:3] if images.shape.rank == 4 else []
    if any(side is not None and side % step for side in sides):
        raise ImageError(
            f"{name}: {sides[1]}x{sides[0]} px: with tileable, height and width must be multiples of {step} px "
            "(so that the features wrap around exactly)"
        )


def _config_from_dict(fields: Mapping) -> StyleTransferConfig:
    """A config from ``get_config``'s dict of its fields (lists, as JSON has them, become tuples)."""
    known = {field.name for field in dataclasses.fields(StyleTransferConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(f"unknown StyleTransferConfig field(s) {', '.join(unknown)}")
    return StyleTransferConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


@keras.saving.register_keras_serializable(package="tf_nst")
class StyleContentLoss(keras.losses.Loss):
    """Style-transfer loss per generated image: ``model.compile(loss=StyleContentLoss(style, config))``.

    ``style``: one or several style images (paths, or pixels ``[H, W, 3]`` / ``[1, H, W, 3]``, uint8 or float in
    [0, 1]) at the size whose brush strokes you want, blended by ``config.style_blend_weights``; or
    ``StyleTargets`` (from ``StyleTransfer.style_targets``). Only the config's loss fields matter here
    (weights, layers, ``style_layer_weights``, ``style_blend_weights``, and for the default feature model
    ``weights``, ``pooling`` and ``precision``; and ``tileable``: the generated images are scored as textures that
    wrap around, by the smoothness term and by the default feature model, which then pads circularly; their
    height and width must be multiples of ``tf_nst.layers.wrap_step`` of the layers, 16 px for the defaults).

    ``feature_model``: a ``build_feature_model`` model with outputs for the config's content and style layers.
    By default one is built from ``config.weights`` and ``config.pooling``, computing in ``config.precision`` as
    ``StyleTransfer``'s does (``auto``: bfloat16 where the hardware runs it fast; the style statistics and
    losses stay float32). Pass ``precision="float32"`` for full precision; with ``"float16"``, train with a
    ``keras.optimizers.LossScaleOptimizer``. The feature model is frozen: training changes only your network.

    ``call(y_true, y_pred)`` returns the loss of each image, ``[B]``; ``reduction`` (Keras' default: the mean
    over the batch) and ``sample_weight`` apply as for any Keras loss. ``get_config`` holds the config, the
    style targets (statistics as nested lists: about 600k numbers for the default style layers, and with
    ``neighbor_weight`` about 2M of the painting's features) and which feature model was used; ``from_config``
    rebuilds the default one, and needs a custom one passed to it. The hypercolumn target
    (``hypercolumn_weight``) is matched to one photo at a time in ``StyleTransfer``: it is not part of this loss.
    """

    def __init__(
        self,
        style: StyleTargets | ImageLike | Sequence[ImageLike],
        config: StyleTransferConfig | None = None,
        feature_model: keras.Model | None = None,
        name: str = "style_content_loss",
        reduction: str | None = "sum_over_batch_size",
    ):
        super().__init__(name=name, reduction=reduction)
        self.config = config = config or StyleTransferConfig()
        self.custom_feature_model = feature_model is not None
        self.feature_model = model = feature_model or default_feature_model(config)
        check_outputs(model, config.content_layers + config.style_layers)
        if not isinstance(style, StyleTargets):
            styles = [
                as_pixels(s, f"style image {i + 1}", config.max_input_pixels) for i, s in enumerate(style_list(style))
            ]
            weights = config.blend_weights(len(styles))
            pixels = [tf.constant(s[None]) for s in styles]
            style = style_targets(model, pixels, weights, config.replace(hypercolumn_weight=0.0))
        if style.style_loss != config.style_loss:
            raise ConfigError(f"style targets of style_loss '{style.style_loss}' for a '{config.style_loss}' loss")
        missing = [n for n in config.style_layers if n not in style.statistics or n not in style.weights]
        if missing:
            raise ConfigError(f"the style targets have no statistics for style layer(s) {', '.join(missing)}")
        neighbor_layers = matched_layers(config)
        missing = [n for n in neighbor_layers if n not in style.neighbors]
        if missing:
            raise ConfigError(
                f"the style targets have no painting features for the nearest-neighbour term at {', '.join(missing)} "
                "(made with neighbor_weight 0?)"
            )
        self.style_targets = StyleTargets(
            {n: tuple(tf.constant(s, tf.float32) for s in style.statistics[n]) for n in config.style_layers},
            {n: float(style.weights[n]) for n in config.style_layers},
            config.style_loss,
            {n: tf.constant(style.neighbors[n], tf.float32) for n in neighbor_layers},
        )
        self.draw = tf.Variable(0, dtype=tf.int32, trainable=False, name="draw")  # numbers the calls

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """Total loss of each generated image in ``y_pred`` against its content image in ``y_true``: ``[B]``."""
        _check_images(y_true, "y_true (content images)")
        _check_images(y_pred, "y_pred (generated images)")
        if self.config.tileable:
            _check_wraps(y_pred, wrap_step(self.config.content_layers + self.config.style_layers), "y_pred")
        if not y_true.shape.is_compatible_with(y_pred.shape):
            raise ImageError(
                f"y_true {y_true.shape.as_list()} and y_pred {y_pred.shape.as_list()} differ in shape: each generated "
                "image is compared with its own content image"
            )
        content, generated = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)
        content_features, content_weights = content_targets(
            self.feature_model(content, training=False), self.config.content_layers
        )
        style = self.style_targets
        if style.neighbors:  # each call matches other positions
            self.draw.assign_add(1)
        targets = Targets(
            content_features,
            content_weights,
            style.statistics,
            style.weights,
            neighbors=style.neighbors,
            draw=self.draw,
        )
        features = self.feature_model(generated, training=False)
        return batch_loss_terms(features, generated, targets, self.config)["total"]

    def get_config(self) -> dict:
        """Name, reduction, the config's fields, the style targets as nested lists, and ``feature_model``:
        ``"default"`` or ``"custom"`` (a custom model's weights are not part of the config)."""
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.config).items()}
        return {
            **super().get_config(),
            "config": fields,
            "style_targets": {
                "statistics": {n: [s.numpy().tolist() for s in v] for n, v in self.style_targets.statistics.items()},
                "weights": dict(self.style_targets.weights),
                "style_loss": self.style_targets.style_loss,
                "neighbors": {n: v.numpy().tolist() for n, v in self.style_targets.neighbors.items()},
            },
            "feature_model": "custom" if self.custom_feature_model else "default",
        }

    @classmethod
    def from_config(cls, config: dict, feature_model: keras.Model | None = None) -> StyleContentLoss:
        """The loss ``get_config`` describes; ``feature_model`` is required if it was built with a custom one."""
        config = dict(config)
        if config.pop("feature_model", "default") == "custom" and feature_model is None:
            raise ConfigError(
                f"loss '{config.get('name')}' was built with a custom feature model, which its config does not hold: "
                "pass it as StyleContentLoss.from_config(config, feature_model=...), or load the Keras model with "
                "compile=False and compile it again"
            )
        saved = config.pop("style_targets")
        targets = StyleTargets(
            {n: tuple(tf.constant(s, tf.float32) for s in v) for n, v in saved["statistics"].items()},
            {n: float(w) for n, w in saved["weights"].items()},
            saved["style_loss"],
            {n: tf.constant(v, tf.float32) for n, v in saved.get("neighbors", {}).items()},
        )
        return cls(targets, _config_from_dict(config.pop("config")), feature_model, **config)
