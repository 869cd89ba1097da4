"""Style-transfer losses as pure functions of tensors (Gatys et al., 2016).

Feature maps are ``[batch, H, W, C]``; every size is read from ``tf.shape``. Half-precision inputs are
computed in float32; results are ``[batch]``-shaped unless stated, so a batch of images gets one loss each.

Normalization, where it departs from the paper:
- Gram matrices are divided by the number of positions H*W (the paper uses the raw sum). With that, the paper's
  per-layer style term 1/(4 N^2 M^2) sum (G - A)^2 is exactly 1/4 of the mean squared Gram difference; we drop
  the constant 1/4 into the style weight. Size-normalized Grams let one style target serve any image size.
- The content loss is the mean (not the paper's half sum) of squared differences, so its weight does not
  depend on the image size either.
- Both are then divided by a per-layer channel count where stated, see ``style_layer_loss``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import tensorflow as tf


def _widen(tensor: tf.Tensor) -> tf.Tensor:
    """Half-precision features (from a mixed-precision model) to float32; wider dtypes as they are."""
    tensor = tf.convert_to_tensor(tensor)
    return tf.cast(tensor, tf.float32) if tensor.dtype in (tf.bfloat16, tf.float16) else tensor


@tf.custom_gradient
def _self_product(flat: tf.Tensor) -> tuple[tf.Tensor, Callable]:
    """``F^T F`` of ``flat`` ``[B, P, C]``, computed in float32 for half precision: ``[B, C, C]``.

    The gradient is one matmul, ``F (dG + dG^T)``, in the features' own precision (the gradient flowing into
    them has it anyway); autodiff would run two (one per operand) and, through einsum, transpose the [P, C]
    features too, costing more than the forward pass. Half-precision features are widened inside the forward
    pass only, not kept widened until the backward pass, which would double their memory.
    """

    def gradient(upstream: tf.Tensor) -> tf.Tensor:
        return tf.matmul(flat, tf.cast(upstream + tf.linalg.matrix_transpose(upstream), flat.dtype))

    wide = _widen(flat)
    return tf.matmul(wide, wide, transpose_a=True), gradient


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel correlations of ``features`` ``[B, H, W, C]``: ``[B, C, C]``, divided by H*W."""
    features = tf.convert_to_tensor(features)
    shape = tf.shape(features)
    positions = shape[1] * shape[2]
    gram = _self_product(tf.reshape(features, [shape[0], positions, shape[3]]))
    return gram / tf.cast(positions, gram.dtype)


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of feature maps ``[B, H, W, C]`` (target broadcastable): ``[B]``."""
    features = _widen(features)
    diff = features - tf.cast(target, features.dtype)
    return tf.reduce_mean(tf.square(diff), axis=[1, 2, 3])


def style_layer_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between the Gram of ``features`` and ``target_gram`` ``[1 or B, C, C]``: ``[B]``."""
    gram = gram_matrix(features)
    return tf.reduce_mean(tf.square(gram - tf.cast(target_gram, gram.dtype)), axis=[1, 2])


def style_loss(
    features: Mapping[str, tf.Tensor],
    target_grams: Mapping[str, tf.Tensor],
    layer_weights: Mapping[str, float],
) -> tf.Tensor:
    """Weighted sum over layers of ``style_layer_loss``: ``sum_l w_l E_l``, ``[B]``."""
    return tf.add_n(
        [layer_weights[name] * style_layer_loss(features[name], target_grams[name]) for name in target_grams]
    )


def total_variation_loss(images: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels of ``images`` ``[B, H, W, C]``: ``[B]``.

    A checkerboard of 0 and 1 scores 2 (1 horizontally + 1 vertically); a flat image scores 0. The differences
    are taken by a depthwise convolution with a [-1, 1] kernel: its gradient is another convolution, about 6x
    cheaper on a CPU than the gradient of two shifted slices.
    """
    images = _widen(images)
    channels = tf.shape(images)[-1]
    step = tf.constant([-1.0, 1.0], images.dtype)
    down = tf.tile(tf.reshape(step, [2, 1, 1, 1]), [1, 1, channels, 1])
    across = tf.tile(tf.reshape(step, [1, 2, 1, 1]), [1, 1, channels, 1])
    dy = tf.nn.depthwise_conv2d(images, down, [1, 1, 1, 1], "VALID")
    dx = tf.nn.depthwise_conv2d(images, across, [1, 1, 1, 1], "VALID")
    return tf.reduce_mean(tf.abs(dx), axis=[1, 2, 3]) + tf.reduce_mean(tf.abs(dy), axis=[1, 2, 3])
