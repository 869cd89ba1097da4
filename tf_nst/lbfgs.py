"""L-BFGS as a Keras optimizer: one gradient evaluation per step, no line search.

Gatys et al. optimized the pixels with L-BFGS, and every style-transfer implementation since offers it: on this
smooth, badly scaled loss it reaches a given quality in several times fewer VGG evaluations than Adam. A line
search would cost extra evaluations per step; the curvature pairs already give the step its scale (the
two-loop recursion's ``s.y / y.y``), so each step is exactly one forward and backward pass, like Adam's, and the
two are compared per evaluation.

Being a ``keras.optimizers.Optimizer``, it runs inside the same compiled step as Adam, wraps in a
``LossScaleOptimizer`` for float16, and its state lives in optimizer variables, so a fresh start is zeroing them.
It optimizes one variable (the image): L-BFGS's curvature model couples every coordinate.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(a * b)


def two_loop_direction(
    gradient: tf.Tensor, s: tf.Tensor, y: tf.Tensor, rho: tf.Tensor, newest: tf.Tensor, gamma: tf.Tensor
) -> tf.Tensor:
    """The quasi-Newton step ``-H g`` by the L-BFGS two-loop recursion (Nocedal and Wright, Algorithm 7.4).

    ``gradient`` g has any shape X; ``s`` and ``y`` ``[m, *X]`` (tensors or variables) hold the last position
    and gradient changes in a ring buffer whose most recent entry is at index ``newest``; ``rho`` ``[m]`` is
    ``1 / (s_i . y_i)``, 0 for an empty slot (which then has no effect). ``gamma`` scales the initial inverse
    Hessian ``gamma * I``. Returns a tensor of g's shape; with an empty history it is ``-gamma * g``.

    Both loops are ``tf.while_loop``s run one iteration at a time, each gathering only the rows it uses: inside
    a graph only a couple of rows exist at once (a read of the whole history would alias the buffers the next
    update writes, and each write would then copy them), and the graph stays the same size for any ``m``.
    """
    gradient = tf.convert_to_tensor(gradient)
    m = s.shape[0]
    rho = tf.cast(rho, gradient.dtype)
    newest = tf.cast(newest, tf.int32)

    def newest_first(i, q, alphas):
        j = (newest - i) % m
        alpha = rho[j] * _dot(tf.gather(s, j), q)
        return i + 1, q - alpha * tf.gather(y, j), tf.tensor_scatter_nd_update(alphas, [[j]], [alpha])

    def oldest_first(i, r, alphas):
        j = (newest + 1 + i) % m
        beta = rho[j] * _dot(tf.gather(y, j), r)
        return i + 1, r + (alphas[j] - beta) * tf.gather(s, j), alphas

    def more(i, *_):
        return i < m

    start = (tf.constant(0), gradient, tf.zeros([m], gradient.dtype))
    _, q, alphas = tf.while_loop(more, newest_first, start, parallel_iterations=1)
    _, r, _ = tf.while_loop(
        more, oldest_first, (tf.constant(0), tf.cast(gamma, q.dtype) * q, alphas), parallel_iterations=1
    )
    return -r


class LBFGS(keras.optimizers.Optimizer):
    """Limited-memory BFGS without a line search, for one variable, optionally kept in a box.

    Step k moves by ``learning_rate * d_k`` where ``d_k = -H_k g_k`` from the last ``history_size`` position and
    gradient changes. The first step (no curvature known yet) is steepest descent scaled so that its largest
    coordinate change is ``initial_step``; so is any step whose direction is not downhill. No step changes a
    coordinate by more than ``max_step`` (a trust region against a wild curvature estimate). Curvature pairs with
    ``s . y <= 1e-10 y . y``, or whose ``1 / s . y`` or ``s . y / y . y`` is not finite, are skipped.

    ``bounds`` = (low, high) keeps every coordinate in [low, high], with the active set of L-BFGS-B: a
    coordinate at a bound whose gradient points out of the box is held. Its gradient and step are zero, and it
    is left out of the pairs ``s``, ``y``, of the downhill test and of the step scaling, so pixels stuck at 0
    or 1 neither shrink the curvature estimate ``gamma = s.y / y.y`` nor the step of every other pixel. Steps
    are then projected into the box.
    """

    def __init__(
        self,
        learning_rate: float = 1.0,
        history_size: int = 20,
        initial_step: float = 0.02,
        max_step: float = 0.25,
        bounds: tuple[float, float] | None = None,
        name: str = "lbfgs",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if history_size < 1:
            raise ValueError(f"history_size must be at least 1, got {history_size}")
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
        self.history_size = history_size
        self.initial_step = initial_step
        self.max_step = max_step
        self.bounds = None if bounds is None else (float(bounds[0]), float(bounds[1]))

    def build(self, var_list):
        if self.built:
            return
        if len(var_list) != 1:
            raise ValueError(f"LBFGS optimizes exactly one variable, got {len(var_list)}")
        super().build(var_list)
        (variable,) = var_list
        shape = (self.history_size, *variable.shape)
        self._s = self.add_variable(shape, "zeros", variable.dtype, name="s_history")
        self._y = self.add_variable(shape, "zeros", variable.dtype, name="y_history")
        self._rho = self.add_variable((self.history_size,), "zeros", variable.dtype, name="rho")
        self._newest = self.add_variable((), "zeros", "int32", name="newest")
        self._pairs = self.add_variable((), "zeros", "int32", name="pairs")
        self._gamma = self.add_variable((), "zeros", variable.dtype, name="gamma")
        self._previous_position = self.add_variable_from_reference(variable, "previous_position")
        self._previous_gradient = self.add_variable_from_reference(variable, "previous_gradient")

    def free(self, position: tf.Tensor, gradient: tf.Tensor) -> tf.Tensor:
        """1 where a coordinate may move, 0 where it is at a bound and the gradient points out of the box."""
        if self.bounds is None:
            return tf.ones_like(position)
        low, high = self.bounds
        held = ((position <= low) & (gradient > 0)) | ((position >= high) & (gradient < 0))
        return tf.cast(~held, position.dtype)

    def update_step(self, gradient, variable, learning_rate):
        raw_gradient = tf.cast(gradient, variable.dtype)
        position = tf.convert_to_tensor(variable)
        free = self.free(position, raw_gradient)
        gradient = raw_gradient * free  # the projected gradient
        s = (position - self._previous_position.value) * free
        y = (raw_gradient - self._previous_gradient.value) * free
        sy, yy = _dot(s, y), _dot(y, y)
        m = self.history_size
        rho, gamma = 1.0 / sy, sy / yy
        usable = (sy > 1e-10 * yy) & tf.math.is_finite(rho) & tf.math.is_finite(gamma)
        accept = (self.iterations.value > 0) & usable

        def remember():
            slot = (self._newest.value + tf.cast(self._pairs.value > 0, tf.int32)) % m
            self._s.value.scatter_nd_update([[slot]], s[None])
            self._y.value.scatter_nd_update([[slot]], y[None])
            self._rho.value.scatter_nd_update([[slot]], [rho])
            self._newest.assign(slot)
            self._pairs.assign(tf.minimum(self._pairs.value + 1, m))
            self._gamma.assign(gamma)
            return tf.constant(True)

        tf.cond(accept, remember, lambda: tf.constant(False))
        steepest = self.initial_step / (tf.reduce_max(tf.abs(gradient)) + 1e-30)
        gamma = tf.where(self._pairs.value > 0, self._gamma.value, steepest)
        history = (self._s.value, self._y.value, self._rho.value, self._newest.value)
        direction = two_loop_direction(gradient, *history, gamma) * free
        downhill = _dot(direction, gradient) < 0
        direction = tf.where(downhill, direction, -steepest * gradient)
        step = tf.cast(learning_rate, variable.dtype) * direction
        largest = tf.reduce_max(tf.abs(step))
        step = step * tf.minimum(1.0, self.max_step / (largest + 1e-30))
        self._previous_position.assign(position)
        self._previous_gradient.assign(raw_gradient)
        if self.bounds is None:
            self.assign_add(variable, step)
        else:
            self.assign(variable, tf.clip_by_value(position + step, *self.bounds))

    def get_config(self):
        config = super().get_config()
        config.update(
            history_size=self.history_size, initial_step=self.initial_step, max_step=self.max_step, bounds=self.bounds
        )
        return config
