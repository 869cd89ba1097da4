"""Exact known values for the maths in tf_nst.losses."""

import numpy as np
import pytest
import tensorflow as tf

from tf_nst import losses


def test_gram_of_ones_is_ones():
    gram = losses.gram_matrix(tf.ones([2, 5, 7, 3]))
    np.testing.assert_allclose(gram.numpy(), np.ones([2, 3, 3]), rtol=1e-6)


def test_gram_matches_explicit_formula():
    features = np.random.default_rng(0).normal(size=[1, 4, 6, 5]).astype(np.float32)
    flat = features.reshape(-1, 5)
    np.testing.assert_allclose(losses.gram_matrix(features)[0].numpy(), flat.T @ flat / 24, rtol=1e-5, atol=1e-6)


def test_gram_does_not_change_when_a_texture_is_tiled():
    tile = np.random.default_rng(1).normal(size=[1, 4, 4, 8]).astype(np.float32)
    tiled = np.tile(tile, [1, 3, 2, 1])
    np.testing.assert_allclose(losses.gram_matrix(tiled).numpy(), losses.gram_matrix(tile).numpy(), rtol=1e-5)


def test_content_loss_is_mean_squared_difference():
    a, b = tf.zeros([1, 2, 2, 2]), tf.fill([1, 2, 2, 2], 3.0)
    assert losses.content_loss(a, b).numpy().tolist() == [9.0]


def test_style_layer_loss_zero_at_target_and_known_value():
    features = tf.ones([1, 3, 3, 2])
    target = losses.gram_matrix(features)
    assert losses.style_layer_loss(features, target).numpy().tolist() == [0.0]
    assert losses.style_layer_loss(features, target + 2.0).numpy().tolist() == [4.0]


def test_style_loss_is_weighted_sum_over_layers():
    features = {"a": tf.ones([1, 2, 2, 1]), "b": tf.ones([1, 2, 2, 1]) * 2}
    grams = {"a": tf.zeros([1, 1, 1]), "b": tf.zeros([1, 1, 1])}
    # Gram("a") = 1, Gram("b") = 4: squared errors 1 and 16.
    value = losses.style_loss(features, grams, {"a": 0.5, "b": 0.25})
    np.testing.assert_allclose(value.numpy(), [0.5 * 1 + 0.25 * 16])


def test_total_variation_of_checkerboard_and_flat_image():
    checker = (np.indices([8, 8]).sum(axis=0) % 2).astype(np.float32)
    checker = np.repeat(checker[None, :, :, None], 3, axis=-1)
    assert losses.total_variation_loss(checker).numpy().tolist() == [2.0]
    assert losses.total_variation_loss(tf.fill([1, 8, 8, 3], 0.3)).numpy().tolist() == [0.0]


def test_content_loss_gradient_is_analytic():
    features = tf.Variable(np.random.default_rng(2).normal(size=[1, 3, 3, 4]).astype(np.float32))
    target = tf.zeros([1, 3, 3, 4])
    with tf.GradientTape() as tape:
        loss = losses.content_loss(features, target)[0]
    np.testing.assert_allclose(tape.gradient(loss, features).numpy(), 2 * features.numpy() / 36, rtol=1e-5)


def test_gram_gradient_matches_finite_differences():
    x = np.random.default_rng(3).normal(size=[1, 3, 2, 2]).astype(np.float64)
    theoretical, numerical = tf.test.compute_gradient(lambda f: losses.style_layer_loss(f, tf.zeros([1, 2, 2])), [x])
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
def test_losses_accept_reduced_precision_features_and_return_float32(dtype):
    assert losses.gram_matrix(tf.ones([1, 2, 2, 2], dtype)).dtype == tf.float32


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_gram_gradient_matches_autodiff_of_the_plain_product(dtype):
    """The hand-written gradient (one matmul, widened per pass) equals autodiff of F^T F, for a batch."""
    features = tf.cast(np.random.default_rng(4).normal(size=[2, 5, 3, 4]), dtype)
    upstream = tf.constant(np.random.default_rng(5).normal(size=[2, 4, 4]), tf.float32)  # not symmetric

    def plain(f):
        f = tf.cast(f, tf.float32)
        return tf.einsum("bijc,bijd->bcd", f, f) / 15.0

    grads = []
    for gram in (losses.gram_matrix, plain):
        with tf.GradientTape() as tape:
            tape.watch(features)
            value = tf.reduce_sum(gram(features) * upstream)
        grads.append(tape.gradient(value, features))
    assert grads[0].dtype == dtype
    tolerance = 1e-5 if dtype == tf.float32 else 2e-2
    np.testing.assert_allclose(
        tf.cast(grads[0], tf.float32).numpy(), tf.cast(grads[1], tf.float32).numpy(), rtol=tolerance, atol=tolerance
    )


def test_total_variation_matches_the_explicit_formula():
    images = np.random.default_rng(6).uniform(size=[2, 5, 7, 3]).astype(np.float32)
    expected = np.abs(np.diff(images, axis=1)).mean((1, 2, 3)) + np.abs(np.diff(images, axis=2)).mean((1, 2, 3))
    np.testing.assert_allclose(losses.total_variation_loss(images).numpy(), expected, rtol=1e-5)


# --- the Gaussian (mean and covariance) style distance ---

# Two channels over four positions: means (1, 2), variances (1, 4), uncorrelated.
GAUSSIAN_FEATURES = tf.constant([[0.0, 0.0], [2.0, 4.0], [0.0, 4.0], [2.0, 0.0]])[None, :, None, :]  # [1, 4, 1, 2]


def test_sqrtm_squares_back():
    a = tf.constant([[[4.0, 1.0], [1.0, 3.0]]])
    root = losses.sqrtm(a)
    np.testing.assert_allclose((root @ root).numpy(), a.numpy(), rtol=1e-5)


def test_gaussian_distance_between_known_gaussians():
    target_cov = tf.constant([[[4.0, 0.0], [0.0, 1.0]]])
    distance = losses.gaussian_style_distance(GAUSSIAN_FEATURES, tf.zeros([1, 2]), target_cov, losses.sqrtm(target_cov))
    # |m - m_s|^2 = 1 + 4; sum (sqrt(s) - sqrt(s_s))^2 = (1 - 2)^2 + (2 - 1)^2; divided by 2 channels
    np.testing.assert_allclose(distance.numpy(), [3.5], atol=1e-3)


def test_gaussian_distance_to_itself_is_zero_and_ignores_the_image_size():
    mean = losses.feature_mean(GAUSSIAN_FEATURES)
    cov = losses.covariance(mean, losses.gram_matrix(GAUSSIAN_FEATURES)) + 1e-4 * tf.eye(2)
    itself = losses.gaussian_style_distance(GAUSSIAN_FEATURES, mean, cov, losses.sqrtm(cov))
    np.testing.assert_allclose(itself.numpy(), [0.0], atol=1e-4)
    target_cov = tf.constant([[[4.0, 1.0], [1.0, 2.0]]])
    args = tf.constant([[0.5, -1.0]]), target_cov, losses.sqrtm(target_cov)
    tiled = tf.tile(GAUSSIAN_FEATURES, [1, 3, 5, 1])  # the same statistics over 15 times the positions
    np.testing.assert_allclose(
        losses.gaussian_style_distance(tiled, *args).numpy(),
        losses.gaussian_style_distance(GAUSSIAN_FEATURES, *args).numpy(),
        rtol=1e-5,
    )


def test_gaussian_distance_gradient_matches_finite_differences():
    features = tf.random.stateless_uniform([1, 3, 3, 4], seed=[1, 2], dtype=tf.float64)
    features = tf.cast(features, tf.float32)
    target = tf.random.stateless_uniform([1, 5, 5, 4], seed=[3, 4])
    mean = losses.feature_mean(target)
    cov = losses.covariance(mean, losses.gram_matrix(target)) + 1e-4 * tf.eye(4)
    args = mean, cov, losses.sqrtm(cov)
    with tf.GradientTape() as tape:
        tape.watch(features)
        value = losses.gaussian_style_distance(features, *args)[0]
    gradient = tape.gradient(value, features).numpy().ravel()
    flat, h = features.numpy().ravel(), 1e-2
    for index in (0, 7, 20, 35):
        up, down = flat.copy(), flat.copy()
        up[index] += h
        down[index] -= h
        numeric = (
            losses.gaussian_style_distance(tf.constant(up.reshape(features.shape)), *args)[0]
            - losses.gaussian_style_distance(tf.constant(down.reshape(features.shape)), *args)[0]
        ) / (2 * h)
        np.testing.assert_allclose(gradient[index], float(numeric), rtol=0.05, atol=1e-3)
