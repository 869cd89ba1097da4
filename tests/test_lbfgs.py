"""L-BFGS: the two-loop recursion, known minima, and the optimizer inside tf_nst's compiled step."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW, tiny_pair

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
    config = tf_nst.StyleTransferConfig(
        max_size=48, steps=8, optimizer="lbfgs", history_size=4, style_loss="gram", neighbor_weight=0.0
    )
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


def test_lbfgs_starts_afresh_for_each_image(shallow_model):
    """Two runs on the same image give the same pixels: no curvature is carried over from the first."""
    content, style = tiny_pair()
    config = tf_nst.StyleTransferConfig(max_size=48, steps=4, optimizer="lbfgs", **SHALLOW)
    transfer = StyleTransfer(config, model=shallow_model)
    first = transfer.run(content, style).numpy()
    second = transfer.run(content, style).numpy()
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_a_pair_without_positive_curvature_is_skipped():
    """On a concave function s.y < 0: the pair is not remembered and the step stays scaled steepest descent."""
    x = tf.Variable([1.0, 2.0])
    optimizer = LBFGS(initial_step=0.1)
    for _ in range(2):
        gradient = -x.read_value()  # of -|x|^2 / 2
        before = x.numpy()
        optimizer.apply_gradients([(gradient, x)])
    assert int(optimizer._pairs.value) == 0
    np.testing.assert_allclose(x.numpy() - before, 0.1 * before / np.abs(before).max(), rtol=1e-6)


def test_a_pair_whose_curvature_ratio_overflows_is_skipped():
    """s.y = 1e-35 passes s.y > 1e-10 y.y, but y.y = 1e-40 is 0 in float32, so gamma = s.y / y.y is infinite
    (as ``1 / s.y`` can be): such a pair must not be used."""
    x = tf.Variable([0.5, 0.5])
    optimizer = LBFGS(initial_step=0.1)
    optimizer.apply_gradients([(tf.constant([1.0, 1.0]), x)])
    x.assign([1e-15, 0.0])
    optimizer._previous_position.assign([0.0, 0.0])
    optimizer._previous_gradient.assign([0.0, 1.0])
    optimizer.apply_gradients([(tf.constant([1e-20, 1.0]), x)])
    assert int(optimizer._pairs.value) == 0 and np.isfinite(float(optimizer._gamma.value))
    assert np.all(np.isfinite(x.numpy()))


def test_a_direction_that_is_not_downhill_falls_back_to_steepest_descent():
    """A history whose two-loop direction points uphill (negative curvature forced into it): the step is
    steepest descent with the largest change ``initial_step``."""
    x = tf.Variable([0.0, 0.0])
    optimizer = LBFGS(history_size=2, initial_step=0.1)
    optimizer.build([x])
    optimizer._s.assign([[1.0, 0.0], [0.0, 0.0]])
    optimizer._y.assign([[-1.0, 0.0], [0.0, 0.0]])
    optimizer._rho.assign([-1.0, 0.0])
    optimizer._pairs.assign(1)
    optimizer._gamma.assign(-1.0)  # with this history, -H g = +g: uphill
    gradient = tf.constant([2.0, -1.0])
    direction = two_loop_direction(gradient, optimizer._s, optimizer._y, optimizer._rho, 0, -1.0)
    assert float(tf.reduce_sum(direction * gradient)) > 0
    optimizer.iterations.assign(1)
    optimizer._previous_position.assign(x)  # s = 0: no new pair
    optimizer._previous_gradient.assign(gradient)
    optimizer.apply_gradients([(gradient, x)])
    np.testing.assert_allclose(x.numpy(), [-0.1, 0.05], rtol=1e-6)


def box_quadratic(n: int = 200):
    """0.5 (x - t)' A (x - t), A coupled and ill-conditioned, with half the optimum t outside [0, 1]; and the
    box-constrained minimum's loss (projected gradient descent, run long)."""
    rng = np.random.default_rng(0)
    q = rng.normal(size=(n, 5))
    a = np.diag(np.logspace(0, 1, n)) + q @ q.T / 5
    target = rng.uniform(0.2, 0.8, n)
    target[: n // 2] = np.where(rng.random(n // 2) < 0.5, -0.5, 1.5)
    x, lipschitz = np.clip(target, 0, 1), np.linalg.eigvalsh(a).max()
    for _ in range(3000):
        x = np.clip(x - a @ (x - target) / lipschitz, 0, 1)
    best = 0.5 * (x - target) @ a @ (x - target)
    a, target = tf.constant(a, tf.float32), tf.constant(target, tf.float32)
    return (lambda x: 0.5 * tf.reduce_sum((x - target) * tf.linalg.matvec(a, x - target))), target, best


def test_bounds_hold_saturated_coordinates_out_of_the_curvature_and_step():
    """From a start where half the coordinates sit at 0 or 1 pushing outwards (as a photo's blown highlights
    do), L-BFGS with the bounds reaches the box minimum in 20 steps; clipped after each step without them, it
    is still far off (bench/README.md, "L-BFGS at the bounds", has the same on style transfer)."""
    loss, target, best = box_quadratic()
    gaps = {}
    for bounds in (None, (0.0, 1.0)):
        x = tf.Variable(tf.clip_by_value(target, 0.0, 1.0))
        optimizer = LBFGS(history_size=10, initial_step=0.05, bounds=bounds)
        for _ in range(20):
            with tf.GradientTape() as tape:
                value = loss(x)
            optimizer.apply_gradients([(tape.gradient(value, x), x)])
            x.assign(tf.clip_by_value(x, 0.0, 1.0))
        gaps[bounds] = float(loss(x)) - best
    assert gaps[(0.0, 1.0)] < 1e-3 * best
    assert gaps[None] > 100 * max(gaps[(0.0, 1.0)], 1e-6)
