"""L-BFGS: the two-loop recursion, known minima, and the optimizer inside tf_nst's compiled step."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_pair

import tf_nst
from tf_nst.lbfgs import LBFGS, two_loop_direction
from tf_nst.transfer import StyleTransfer


def minimize(loss, start, steps, **options):
    """Run LBFGS on ``loss(x)`` from ``start`` in a compiled step; returns (x, loss, step function)."""
    x = tf.Variable(np.asarray(start, np.float32))
    optimizer = LBFGS(**options)
    optimizer.build([x])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(x)
        optimizer.apply_gradients([(tape.gradient(value, x), x)])
        return value

    for _ in range(steps):
        step()
    return x.numpy(), float(loss(x)), step


def test_two_loop_with_one_pair_is_the_bfgs_update_of_gamma_identity():
    """H = (I - rho s y^T) gamma I (I - rho y s^T) + rho s s^T, written out for one pair in 3 dimensions."""
    rng = np.random.default_rng(0)
    g, s, y = (rng.normal(size=3).astype(np.float32) for _ in range(3))
    y = y + 2 * s  # positive curvature
    rho, gamma = 1 / s.dot(y), 0.7
    eye = np.eye(3)
    h = (eye - rho * np.outer(s, y)) @ (gamma * eye) @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    history = lambda v: np.stack([v, np.zeros(3, np.float32)])  # noqa: E731  slot 1 empty (rho 0)
    direction = two_loop_direction(g, history(s), history(y), np.array([rho, 0], np.float32), 0, gamma)
    np.testing.assert_allclose(direction.numpy(), -h @ g, rtol=1e-5)


def test_empty_history_is_scaled_steepest_descent():
    g = np.array([1.0, -2.0], np.float32)
    empty = np.zeros([4, 2], np.float32)
    direction = two_loop_direction(g, empty, empty, np.zeros(4, np.float32), 0, 0.5)
    np.testing.assert_allclose(direction.numpy(), -0.5 * g)


def test_reaches_the_minimum_of_an_ill_conditioned_quadratic():
    a = np.diag(np.logspace(0, 3, 10)).astype(np.float32)
    b = np.ones(10, np.float32)
    x, _, step = minimize(
        lambda x: 0.5 * tf.reduce_sum(x * tf.linalg.matvec(a, x)) - tf.reduce_sum(b * x),
        np.zeros(10),
        60,
        history_size=10,
        initial_step=0.1,
        max_step=10.0,
    )
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-3, atol=1e-5)
    assert step.experimental_get_tracing_count() == 1


def test_reaches_the_minimum_of_rosenbrock():
    x, value, _ = minimize(
        lambda z: (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2,
        [-1.2, 1.0],
        300,
        history_size=10,
        initial_step=0.1,
        max_step=1.0,
    )
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-3)
    assert value < 1e-6


def test_no_step_moves_a_coordinate_further_than_max_step():
    x = tf.Variable([0.0, 0.0])
    optimizer = LBFGS(initial_step=5.0, max_step=0.1)
    optimizer.apply_gradients([(tf.constant([1.0, -3.0]), x)])
    assert float(tf.reduce_max(tf.abs(x))) == pytest.approx(0.1)


def test_refuses_more_than_one_variable():
    with pytest.raises(ValueError, match="exactly one variable"):
        LBFGS().build([tf.Variable([0.0]), tf.Variable([0.0])])


def test_style_transfer_with_lbfgs_traces_once_per_shape_and_lowers_the_loss(random_model):
    content, style = tiny_pair()
    config = tf_nst.StyleTransferConfig(max_size=48, steps=8, optimizer="lbfgs", history_size=4)
    transfer = StyleTransfer(config, model=random_model)
    reports = []
    transfer.run(content, style, reports.append, report_every=1)
    transfer.run(content[:, ::-1], transfer.style_targets(style), reports.append, report_every=1)
    session = transfer.session(tuple(content.shape))
    assert session.step.experimental_get_tracing_count() == 1
    assert reports[7].losses["total"] < 0.7 * reports[0].losses["total"]
    assert reports[8].step == 1 and reports[8].losses["content"] == 0.0  # the loss at its own start image
    result = session.image.numpy()
    assert 0.0 <= result.min() and result.max() <= 1.0


def test_lbfgs_starts_afresh_for_each_image(random_model):
    """Two runs on the same image give the same pixels: no curvature is carried over from the first."""
    content, style = tiny_pair()
    transfer = StyleTransfer(tf_nst.StyleTransferConfig(max_size=48, steps=4, optimizer="lbfgs"), model=random_model)
    first = transfer.run(content, style).numpy()
    second = transfer.run(content, style).numpy()
    np.testing.assert_allclose(first, second, atol=1e-6)
