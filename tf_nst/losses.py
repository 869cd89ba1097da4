"""Style-transfer losses as pure functions of tensors (Gatys et al., 2016).

Feature maps are ``[batch, H, W, C]``; every size is read from ``tf.shape``. Half-precision inputs are
computed in float32; results are ``[batch]``-shaped unless stated, so a batch of images gets one loss each.

Normalization, where it departs from the paper:
- Gram matrices are divided by the number of positions H*W (the paper uses the raw sum). With that, the paper's
  per-layer style term 1/(4 N^2 M^2) sum (G - A)^2 is exactly 1/4 of the mean squared Gram difference; we drop
  the constant 1/4 into the style weight. Size-normalized Grams let one style target serve any image size.
- The content loss is the mean (not the paper's half sum) of squared differences, so its weight does not
  depend on the image size either.
- ``gaussian_style_distance`` is the squared 2-Wasserstein distance between Gaussians fitted to the features
  (mean and covariance), divided by the channel count; its matrix square roots come from Newton-Schulz
  iterations, matrix products only.
- ``nearest_distance`` is Neural Neighbor Style Transfer's matching (Kolkin et al., 2022): each of an image's
  features, less the image's mean, against the most similar of a painting's, by cosine distance.
Each style layer's term is divided by the size of its target in ``tf_nst.objective``, so weights are scale-free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

RIDGE = 1e-4  # added to covariances' diagonals so that they are positive definite


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


def weighted_gram(features: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Second moments of ``features`` ``[1, H, W, C]`` under each of ``weights`` ``[R, H, W, 1]`` (each summing
    to 1 over positions: a region's share of every position): ``[R, C, C]``, ``sum_p w_rp f_p f_p^T``."""
    features = tf.convert_to_tensor(features)
    shape = tf.shape(features)
    weights = tf.cast(weights, tf.float32)
    scaled = tf.cast(tf.sqrt(weights), features.dtype) * features
    return _self_product(tf.reshape(scaled, [tf.shape(weights)[0], shape[1] * shape[2], shape[3]]))


def weighted_mean(features: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Means of ``features`` ``[1, H, W, C]`` under each of ``weights`` ``[R, H, W, 1]`` (each summing to 1),
    in float32: ``[R, C]``."""
    return tf.reduce_sum(tf.cast(weights, tf.float32) * _widen(features), axis=[1, 2])


def masked_squared_difference(images: tf.Tensor, target: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Mean over pixels and channels of ``mask * (images - target)^2``, ``[B]``. ``images`` and ``target``
    ``[B or 1, H, W, 3]``, ``mask`` ``[B or 1, H, W, 1]`` in [0, 1]."""
    return tf.reduce_mean(mask * tf.square(images - target), axis=[1, 2, 3])


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of feature maps ``[B, H, W, C]`` (target broadcastable): ``[B]``."""
    features = _widen(features)
    diff = features - tf.cast(target, features.dtype)
    return tf.reduce_mean(tf.square(diff), axis=[1, 2, 3])


def feature_mean(features: tf.Tensor) -> tf.Tensor:
    """Mean over positions of ``features`` ``[B, H, W, C]``, in float32: ``[B, C]``."""
    return tf.reduce_mean(_widen(features), axis=[1, 2])


def covariance(mean: tf.Tensor, second_moment: tf.Tensor) -> tf.Tensor:
    """Covariance ``[B, C, C]`` from the ``mean`` ``[B, C]`` and the second raw moment (``gram_matrix``)."""
    return second_moment - mean[:, :, None] * mean[:, None, :]


def positive_definite(matrix: tf.Tensor, floor: float = RIDGE) -> tf.Tensor:
    """Symmetric ``matrix`` ``[B, C, C]`` with its eigenvalues raised to ``floor`` where one is below half of it,
    else ``matrix`` itself (a ridge's rounding changes nothing). A nearly flat painting's covariance,
    ``E[f f^T] - m m^T`` of large means in float32, can come out with eigenvalues below 0, and its matrix roots
    with NaN."""
    values, vectors = tf.linalg.eigh(matrix)
    raised = tf.matmul(vectors * tf.maximum(values, floor)[:, None, :], vectors, transpose_b=True)
    low = tf.reduce_min(values, axis=-1) < floor / 2
    return tf.where(low[:, None, None], raised, matrix)


def _newton_schulz(matrix: tf.Tensor, iterations: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(square root, inverse square root) of symmetric positive definite ``matrix`` ``[B, C, C]``.

    The coupled Newton-Schulz iteration (Higham, "Functions of Matrices", 6.3) on the matrix divided by its
    Frobenius norm, where it converges; matrix products only, so it runs fast on any device.
    """
    norm = tf.sqrt(tf.reduce_sum(tf.square(matrix), axis=[1, 2], keepdims=True)) + 1e-30
    identity = tf.eye(tf.shape(matrix)[-1], batch_shape=tf.shape(matrix)[:1], dtype=matrix.dtype)
    y, z = matrix / norm, identity
    for _ in range(iterations):
        t = 0.5 * (3.0 * identity - tf.matmul(z, y))
        y, z = tf.matmul(y, t), tf.matmul(t, z)
    return y * tf.sqrt(norm), z / tf.sqrt(norm)


def sqrtm(matrix: tf.Tensor, iterations: int = 20) -> tf.Tensor:
    """Square root of symmetric positive definite ``matrix`` ``[B, C, C]`` (Newton-Schulz): ``[B, C, C]``."""
    return _newton_schulz(matrix, iterations)[0]


@tf.custom_gradient
def trace_sqrtm(matrix: tf.Tensor) -> tuple[tf.Tensor, Callable]:
    """``trace(sqrt(matrix))`` of symmetric positive definite ``[B, C, C]``: ``[B]``.

    Its gradient is ``sqrt(matrix)^-1 / 2``, which the same Newton-Schulz iterations give, so the backward pass
    costs one product instead of differentiating every iteration.
    """
    root, inverse_root = _newton_schulz(matrix, 12)

    def gradient(upstream: tf.Tensor) -> tf.Tensor:
        return upstream[:, None, None] * 0.5 * inverse_root

    return tf.linalg.trace(root), gradient


def gaussian_distance(
    mean: tf.Tensor,
    second_moment: tf.Tensor,
    target_mean: tf.Tensor,
    target_covariance: tf.Tensor,
    target_root: tf.Tensor,
) -> tf.Tensor:
    """Squared 2-Wasserstein distance between the Gaussian of features with ``mean`` ``[B, C]`` and
    ``second_moment`` (``gram_matrix``, ``[B, C, C]``) and a style's, divided by C: ``[B]``.

    ``W2^2 = |m - m_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2)`` for means m and covariances S;
    ``target_root`` is ``sqrtm(target_covariance)`` (``[1 or B, C, C]``, as is the covariance; the mean
    ``[1 or B, C]``). ``RIDGE`` keeps the features' covariance positive definite (targets get theirs in
    ``tf_nst.objective``).
    """
    channels = tf.shape(mean)[-1]
    ridge = RIDGE * tf.eye(channels, dtype=tf.float32)
    cov = covariance(mean, second_moment) + ridge
    root = tf.cast(target_root, tf.float32)
    cross = trace_sqrtm(root @ cov @ root)
    spread = tf.linalg.trace(cov) + tf.linalg.trace(tf.cast(target_covariance, tf.float32)) - 2.0 * cross
    offset = tf.reduce_sum(tf.square(mean - tf.cast(target_mean, tf.float32)), axis=-1)
    return (offset + spread) / tf.cast(channels, tf.float32)


def gaussian_style_distance(
    features: tf.Tensor, target_mean: tf.Tensor, target_covariance: tf.Tensor, target_root: tf.Tensor
) -> tf.Tensor:
    """``gaussian_distance`` of the Gaussian fit of ``features`` ``[B, H, W, C]`` to a style's: ``[B]``."""
    return gaussian_distance(feature_mean(features), gram_matrix(features), target_mean, target_covariance, target_root)


def gaussian_size(mean: tf.Tensor, cov: tf.Tensor) -> tf.Tensor:
    """``E|f|^2 / C`` of a Gaussian (mean ``[1, C]``, covariance ``[1, C, C]``): its squared 2-Wasserstein
    distance from a point mass at 0, divided by C, the scale ``gaussian_style_distance`` is relative to."""
    channels = tf.cast(tf.shape(mean)[-1], tf.float32)
    return (tf.reduce_sum(tf.square(mean)) + tf.reduce_sum(tf.linalg.trace(cov))) / channels


def centred_unit(rows: tf.Tensor, mean: tf.Tensor) -> tf.Tensor:
    """``rows`` ``[..., C]`` less ``mean`` (broadcastable), each scaled to unit length, float32."""
    return tf.math.l2_normalize(_widen(rows) - tf.cast(mean, tf.float32), axis=-1)


def nearest_distance(queries: tf.Tensor, keys: tf.Tensor, search_dtype: tf.DType = tf.float32) -> tf.Tensor:
    """Cosine distance of each of ``queries`` ``[B, P, C]`` to its nearest of each set of ``keys`` ``[R, N, C]``
    (or one set ``[N, C]``; all of unit length): ``[B, R, P]`` in [0, 2]. The nearest is found in
    ``search_dtype`` (bfloat16 halves its cost) and held fixed: the gradient pulls each query towards it."""
    queries = _widen(queries)
    keys = tf.cast(keys if keys.shape.rank == 3 else keys[None], tf.float32)
    search = tf.cast(tf.stop_gradient(queries), search_dtype), tf.cast(keys, search_dtype)
    nearest = tf.argmax(tf.einsum("bpc,rnc->brpn", *search), axis=-1)  # [B, R, P]
    picked = tf.gather(keys, tf.transpose(nearest, [1, 0, 2]), batch_dims=1)  # [R, B, P, C]
    return 1.0 - tf.einsum("bpc,rbpc->brp", queries, picked)


def gram_distance(gram: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of Gram matrices ``[B, C, C]`` and ``target_gram`` ``[1 or B, C, C]``: ``[B]``."""
    return tf.reduce_mean(tf.square(gram - tf.cast(target_gram, gram.dtype)), axis=[1, 2])


def style_layer_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """``gram_distance`` of the Gram of ``features`` ``[B, H, W, C]`` to ``target_gram``: ``[B]``."""
    return gram_distance(gram_matrix(features), target_gram)


def style_loss(
    features: Mapping[str, Any],
    targets: Mapping[str, Any],
    layer_weights: Mapping[str, float],
    layer_loss: Callable[[Any, Any], tf.Tensor] = style_layer_loss,
) -> tf.Tensor:
    """The style term, ``sum_l w_l E_l`` over the layers of ``targets``: ``[B]``.

    ``E_l = layer_loss(features[l], targets[l])``; by default ``style_layer_loss`` of feature maps
    ``[B, H, W, C]`` against Gram matrices. The optimisation loop's term is this sum too, of each layer's
    moments by its style loss's distance (``tf_nst.objective.style_term``).
    """
    return tf.add_n([layer_weights[name] * layer_loss(features[name], targets[name]) for name in targets])


def total_variation_loss(images: tf.Tensor, wrap: bool = False) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels of ``images`` ``[B, H, W, C]``: ``[B]``.

    A checkerboard of 0 and 1 scores 2 (1 horizontally + 1 vertically); a flat image scores 0. The differences
    are taken by a depthwise convolution with a [-1, 1] kernel: its gradient is another convolution, about 6x
    cheaper on a CPU than the gradient of two shifted slices. With ``wrap`` the image wraps around (a tileable
    texture): the last row's and column's neighbours are the first's, so each mean is over H*W differences.
    """
    images = _widen(images)
    channels = tf.shape(images)[-1]
    step = tf.constant([-1.0, 1.0], images.dtype)
    down = tf.tile(tf.reshape(step, [2, 1, 1, 1]), [1, 1, channels, 1])
    across = tf.tile(tf.reshape(step, [1, 2, 1, 1]), [1, 1, channels, 1])
    rows = tf.concat([images, images[:, :1]], axis=1) if wrap else images
    columns = tf.concat([images, images[:, :, :1]], axis=2) if wrap else images
    dy = tf.nn.depthwise_conv2d(rows, down, [1, 1, 1, 1], "VALID")
    dx = tf.nn.depthwise_conv2d(columns, across, [1, 1, 1, 1], "VALID")
    return tf.reduce_mean(tf.abs(dx), axis=[1, 2, 3]) + tf.reduce_mean(tf.abs(dy), axis=[1, 2, 3])
