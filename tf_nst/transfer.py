"""The optimisation: a ``tf.Variable`` image updated by L-BFGS (the default) or Adam in a ``tf.function``-compiled
step, one VGG evaluation each, kept in [0, 1].

Only the pixels are optimized, never the network. Targets (content features and style statistics, see
``tf_nst.objective``) are computed once before the loop. Progress leaves through a callback; this module knows
nothing of files or flags.

A ``StyleTransfer`` keeps, per image shape, one image variable, one optimizer, target variables and one
compiled step, so many images of the same size (a batch of photos) reuse a single trace.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tf_nst import hypercolumns
from tf_nst.config import HYPERCOLUMN_DEPTH, StyleTransferConfig
from tf_nst.errors import Interrupted, NumericalError
from tf_nst.features import feature_model
from tf_nst.lbfgs import LBFGS
from tf_nst.objective import (
    RegionTargets,
    StyleTargets,
    Targets,
    compute_targets,
    loss_terms,
    style_targets,
)
from tf_nst.parameterization import PixelImage, PyramidImage, image_parameters
from tf_nst.planning import PLAIN, Mechanism, style_tile
from tf_nst.temporal import TemporalTarget, temporal_loss
from tf_nst.tiles import TiledObjective


@dataclass(frozen=True)
class Progress:
    """What the loop reports after evaluation ``evaluation`` of ``evaluations``: float loss terms, speed, time
    so far, the current pixels ``image`` (float32 ``[1, H, W, 3]`` in [0, 1]), the image's ``size`` (width,
    height), and in a coarse-to-fine run which ``scale`` of ``scales`` (1-based) this is.

    ``evaluation`` counts every VGG evaluation of the image's run, all levels together (1 to ``evaluations``):
    key records by it. ``step`` of ``steps`` counts within the current level and restarts at 1 on each level
    (the same as ``evaluation`` without coarse to fine). Speed and time are the level's. ``work_after``: the
    later levels' work, in evaluations of this level (so the run's ETA is ``(steps - step + work_after)``
    times this level's seconds per evaluation).
    """

    step: int
    steps: int
    losses: dict[str, float]
    steps_per_second: float
    elapsed: float
    image: tf.Tensor
    size: tuple[int, int] = (0, 0)
    scale: int = 1
    scales: int = 1
    evaluation: int = 0
    evaluations: int = 0
    work_after: float = 0.0


ProgressCallback = Callable[[Progress], None]


class _Session:
    """Everything one compiled step needs for images of one shape, as variables it can reassign: the image,
    its ``targets`` (``Targets`` of variables), the optimizer and its ``health``. With ``temporal``, the step
    also has the temporal term (``tf_nst.temporal``), its target, mask and weight variables too (weight 0
    unless ``reset`` is given a ``TemporalTarget``). ``regions``: (R, kept) for images cut into R painted
    regions, some of them kept (``tf_nst.regions``); (0, False) for none."""

    def __init__(
        self,
        model: keras.Model,
        shape: tuple[int, ...],
        config: StyleTransferConfig,
        temporal: bool = False,
        tile: int | None = None,
        regions: tuple[int, bool] = (0, False),
    ):
        self.image = tf.Variable(tf.zeros(shape), name="image")
        # the features', statistics' and region weights' variables are made at the first reset, shaped as the
        # targets are
        count, kept = regions
        self.targets = Targets(
            content={},
            content_weights={n: tf.Variable(0.0, name=f"{n}_weight") for n in config.content_layers},
            statistics={},
            style_weights={
                n: tf.Variable(tf.zeros([count]) if count else 0.0, name=f"{n}_style_weight")
                for n in config.style_layers
            },
            region_weights={},
            kept=tf.Variable(tf.zeros(tuple(shape[:-1]) + (1,)), name="kept") if kept else None,
            photo=tf.Variable(tf.zeros(shape), name="photo") if kept else None,
            neighbors={},
            shares=tf.Variable(tf.zeros([count]), name="region_shares") if count else None,
            draw=tf.Variable(0, dtype=tf.int32, name="draw"),  # the step counts it up
            hypercolumn=self._hypercolumn_variable(shape, config),
        )
        self.config = config  # the run's, as ``StyleTransfer.session`` adapts it to this shape
        self.parameters = image_parameters(self.image, config.parameterization, config.tileable)
        self.optimizer = make_optimizer(model, config, self.parameters.bounds)
        self.optimizer.build([self.parameters.variable])
        self.health = tf.Variable([0, 0], dtype=tf.int32, name="health")
        self.temporal = None
        extra_terms = None
        if temporal:
            mask_shape = tuple(shape[:-1]) + (1,)
            self.temporal = TemporalTarget(
                tf.Variable(tf.zeros(shape), name="temporal_image"),
                tf.Variable(tf.zeros(mask_shape), name="temporal_mask"),
                tf.Variable(0.0, name="temporal_weight"),
            )

            def extra_terms(image: tf.Tensor) -> dict[str, tf.Tensor]:
                target = self.temporal
                return {"temporal": target.weight * temporal_loss(image, target.image, target.mask)[0]}

        if tile is None:
            self.features = lambda image: model(image, training=False)
            self.step = make_step(
                model, self.parameters, self.optimizer, self.targets, config, self.health, extra_terms
            )
        else:
            if temporal:
                raise ValueError("the temporal term is not evaluated in tiles")
            tiled = TiledObjective(model, shape, config, tile, self.targets, region_weights=self.targets.region_weights)
            self.features = tiled.features
            self.step = make_tiled_step(tiled, self.parameters, self.optimizer, self.health)

    @staticmethod
    def _hypercolumn_variable(shape: tuple[int, ...], config: StyleTransferConfig) -> tf.Variable | None:
        """The hypercolumn target's variable ``[1, rows, columns, D]`` (``tf_nst.hypercolumns``), or None
        without the term."""
        if not config.hypercolumn_weight:
            return None
        grid = hypercolumns.grid_of(shape[1], shape[2])
        return tf.Variable(tf.zeros((1, *grid, HYPERCOLUMN_DEPTH)), name="hypercolumn")

    def reset(self, start: tf.Tensor, targets: Targets, temporal: TemporalTarget | None = None) -> None:
        """Point the session at a new image: start pixels, targets, the temporal target (none: weight 0),
        and a fresh optimizer state."""
        self.parameters.start(start)
        if self.temporal is not None:
            self.temporal.weight.assign(0.0 if temporal is None else temporal.weight)
            if temporal is not None:
                self.temporal.image.assign(tf.convert_to_tensor(temporal.image, tf.float32))
                self.temporal.mask.assign(tf.convert_to_tensor(temporal.mask, tf.float32))
        held = self.targets
        for name, value in targets.content.items():
            hold(held.content, name, value, name)
            held.content_weights[name].assign(targets.content_weights[name])
        for name, values in targets.statistics.items():
            if name in held.statistics:
                for variable, value in zip(held.statistics[name], values):
                    variable.assign(value)
            else:
                held.statistics[name] = tuple(tf.Variable(value, name=f"{name}_style") for value in values)
            held.style_weights[name].assign(targets.style_weights[name])
        for name, value in targets.region_weights.items():
            hold(held.region_weights, name, value, f"{name}_region_weights")
        for name, value in targets.neighbors.items():
            hold(held.neighbors, name, value, f"{name}_neighbors")
        if held.shares is not None and targets.shares is not None:
            held.shares.assign(targets.shares)
        held.draw.assign(0)
        if held.hypercolumn is not None:
            held.hypercolumn.assign(targets.hypercolumn)
        if held.kept is not None:
            held.kept.assign(targets.kept)
            held.photo.assign(targets.photo)
        for variable in self.optimizer.variables:
            if variable.name == "dynamic_scale":
                variable.assign(self.optimizer.initial_scale)
            elif variable.name != "learning_rate":
                zero_in_place(variable.value)
        self.health.assign([0, 0])


def hold(variables: dict[str, tf.Variable], key: str, value: tf.Tensor, name: str) -> None:
    """Assign ``value`` to ``variables[key]``, made (as ``name``, shaped as ``value``) the first time."""
    if key in variables:
        variables[key].assign(value)
    else:
        variables[key] = tf.Variable(value, name=name)


def zero_in_place(variable: tf.Variable) -> None:
    """Set ``variable`` to zeros; a stack of images (L-BFGS's history, ``[m, 1, H, W, 3]``) one image at a time,
    so that no stack-sized temporary is made."""
    if len(variable.shape) > 2 and variable.shape[0] > 1:
        zero = tf.zeros(variable.shape[1:], variable.dtype)
        for row in range(variable.shape[0]):
            variable[row].assign(zero)
    else:
        variable.assign(tf.zeros_like(variable))


def make_step(
    model: keras.Model,
    parameters: PixelImage | PyramidImage,
    optimizer: keras.optimizers.Optimizer,
    targets: Targets,
    config: StyleTransferConfig,
    health: tf.Variable | None = None,
    extra_terms: Callable[[tf.Tensor], dict[str, tf.Tensor]] | None = None,
) -> Callable[[], dict[str, tf.Tensor]]:
    """One compiled optimizer step (one VGG evaluation) on ``parameters.image`` (``[1, H, W, 3]``, kept in
    [0, 1]); returns the loss terms. The optimizer moves ``parameters.variable`` (``tf_nst.parameterization``:
    the pixels, which L-BFGS holds at a bound themselves, see ``tf_nst.lbfgs``, and Adam's are clipped, or a
    pyramid's coefficients).

    ``extra_terms(pixels)``, when given, are more weighted scalar terms, added to the total inside the step.

    ``health`` is an int32 variable ``[steps taken, first step that went non-finite or 0]``, also returned as
    ``first_bad_step``. A step whose loss, gradient or updated values are not finite restores what it started
    from, so ``parameters.image`` always holds the last good image. The step closes over everything it touches,
    so it traces once for the image's shape. A loss-scaling ``optimizer`` (see ``make_optimizer``) gets the
    scaled loss's gradient, which it unscales.
    """
    health = tf.Variable([0, 0], dtype=tf.int32, name="health") if health is None else health

    @tf.function
    def step() -> dict[str, tf.Tensor]:
        if isinstance(targets.draw, tf.Variable):
            targets.draw.assign_add(1)
        with tf.GradientTape() as tape:
            pixels = parameters.pixels()
            terms = loss_terms(model(pixels, training=False), pixels, targets, config)
            if extra_terms is not None:
                total, extra = terms.pop("total"), extra_terms(pixels)
                terms.update(extra, total=total + tf.add_n(list(extra.values())))
            scaled = optimizer.scale_loss(terms["total"])  # the loss itself unless the optimizer scales it
        gradient = tape.gradient(scaled, parameters.variable)
        terms["first_bad_step"] = apply_gradient(parameters, optimizer, health, gradient, terms["total"])
        return terms

    return step


def apply_gradient(
    parameters: PixelImage | PyramidImage,
    optimizer: keras.optimizers.Optimizer,
    health: tf.Variable,
    gradient: tf.Tensor,
    total: tf.Tensor,
) -> tf.Tensor:
    """The optimizer's update of ``parameters`` by ``gradient`` of the loss ``total``, the image kept in [0, 1],
    unless the loss, gradient or new values are not finite (then they stay as they were); records it in
    ``health`` (see ``make_step``) and returns the first bad step (0: none yet)."""
    variable = parameters.variable
    before = tf.identity(variable)

    def update() -> tf.Tensor:
        optimizer.apply_gradients([(gradient, variable)])
        return tf.reduce_all(tf.math.is_finite(variable))

    finite = tf.math.is_finite(total)
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        # a loss-scaling optimizer skips overflowing gradients and lowers its scale itself
        finite = finite & tf.reduce_all(tf.math.is_finite(gradient))
    good = tf.cond(finite, update, lambda: tf.constant(False))
    variable.assign(tf.where(good, variable, before))
    parameters.settle()
    taken = health[0] + 1
    first_bad = tf.where(good | (health[1] > 0), health[1], taken)
    health.assign(tf.stack([taken, first_bad]))
    return first_bad


def make_tiled_step(
    tiled: TiledObjective,
    parameters: PixelImage | PyramidImage,
    optimizer: keras.optimizers.Optimizer,
    health: tf.Variable,
) -> Callable[[], dict[str, tf.Tensor]]:
    """``make_step``'s step with the loss and the image's gradient evaluated tile by tile (``tf_nst.tiles``): the
    tiles run one after another; the gradient's way back to ``parameters`` and the update are compiled."""

    @tf.function
    def update(gradient: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
        return apply_gradient(parameters, optimizer, health, parameters.chain(gradient), total)

    def step() -> dict[str, tf.Tensor]:
        tiled.targets.draw.assign_add(1)
        terms, gradient = tiled.loss_and_gradient(parameters.image)
        terms["first_bad_step"] = update(optimizer.scale_loss(gradient), terms["total"])  # scaled as make_step's
        return terms

    return step


def make_optimizer(
    model: keras.Model, config: StyleTransferConfig, bounds: tuple[float, float] | None = PixelImage.bounds
) -> keras.optimizers.Optimizer:
    """``config.optimizer`` for the image: Adam with step size ``learning_rate``, or L-BFGS within ``bounds`` (the
    optimized variable's: [0, 1] for pixels, none for a pyramid's coefficients, ``tf_nst.parameterization``) whose
    first step changes no value by more than ``learning_rate``. With dynamic loss scaling when ``model``
    computes in float16, whose narrow range would flush the small gradients of the scale-free losses to zero."""
    if config.optimizer == "lbfgs":
        optimizer = LBFGS(history_size=config.history_size, initial_step=config.learning_rate, bounds=bounds)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
    if any(layer.compute_dtype == "float16" for layer in model.layers):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def initial_image(content: tf.Tensor, init: str, seed: int) -> tf.Tensor:
    """The starting pixels: the content image itself, or uniform noise in [0, 1] of its shape."""
    if init == "noise":
        return tf.random.stateless_uniform(tf.shape(content), seed=[seed, 0], dtype=tf.float32)
    return tf.convert_to_tensor(content, tf.float32)


class StyleTransfer:
    """Builds the feature model once; ``run`` stylizes content images with style images or targets.

    >>> result = StyleTransfer(StyleTransferConfig(steps=100)).run(content, style)  # [1, H, W, 3] in [0, 1]

    The model computes in ``config.precision`` (``auto``: see ``tf_nst.precision``); a ``model`` given instead
    is used as it is. With ``temporal``, every step has the temporal term too (for video: see ``run``).
    """

    def __init__(self, config: StyleTransferConfig, model: keras.Model | None = None, temporal: bool = False):
        self.config = config
        self.temporal = temporal
        self.model = model or feature_model(config)
        self._sessions: dict[tuple[int, ...], _Session] = {}

    def style_targets(
        self,
        styles: tf.Tensor | Sequence[tf.Tensor],
        blend_weights: Sequence[float] | None = None,
        masks: Sequence[dict[str, np.ndarray] | None] | None = None,
    ) -> StyleTargets:
        """Style targets of one or several style images (each ``[1, H, W, 3]`` in [0, 1]), blended by
        ``blend_weights`` (default: ``config.style_blend_weights``); ``masks``: per style, None or the weights of
        the part of it that gives the style (see ``tf_nst.objective.style_targets``)."""
        styles = [styles] if isinstance(styles, (tf.Tensor, np.ndarray)) else list(styles)
        styles = [tf.convert_to_tensor(s, tf.float32) for s in styles]
        tile = style_tile([(int(style.shape[2]), int(style.shape[1])) for style in styles])
        weights = self.config.blend_weights(len(styles)) if blend_weights is None else list(blend_weights)
        if tile is None:
            return style_targets(self.model, styles, weights, self.config, masks=masks)
        objectives: dict[tuple[int, int], TiledObjective] = {}  # per style and mask: for moments and samples

        def tiled(style: tf.Tensor, mask: dict[str, np.ndarray] | None) -> TiledObjective:
            key = (id(style), id(mask))
            if key not in objectives:
                objectives[key] = self._tiled(style, tile, mask)
            return objectives[key]

        return style_targets(
            self.model,
            styles,
            weights,
            self.config,
            lambda style, mask: tiled(style, mask).moments(style),
            masks,
            lambda style, mask, counts, rng: tiled(style, mask).samples(style, counts, rng, mask),
        )

    def _tiled(self, style: tf.Tensor, tile: int, mask: dict[str, np.ndarray] | None) -> TiledObjective:
        """A style image's objective in tiles of ``tile`` px, for its moments of every style layer (of its part
        ``mask`` weights) and its sampled features: the same as the whole image's, in a tile's memory (see
        ``tf_nst.planning.style_tile``)."""
        return TiledObjective(
            self.model,
            tuple(style.shape),
            self.config,
            tile,
            moment_layers=self.config.style_layers,
            region_weights=mask,
        )

    def session(
        self,
        shape: tuple[int, ...],
        mechanism: Mechanism = PLAIN,
        regions: tuple[int, bool] = (0, False),
        without_columns: bool = False,
    ) -> _Session:
        """The (cached) variables and compiled step for images of ``shape``, evaluated whole or in tiles, with
        the optimizer ``mechanism`` says (``tf_nst.planning.Mechanism``), for ``regions`` (R painted regions,
        and whether one is kept). ``without_columns``: the paintings' hypercolumns were not sampled (a painting
        evaluated in tiles), so the hypercolumn target is off."""
        key = (tuple(shape), mechanism, regions, without_columns)
        if key not in self._sessions:
            config = mechanism.configure(self.config)
            if max(shape[1:3]) < config.neighbor_min_side:  # a small level: the statistics alone
                config = config.replace(neighbor_weight=0.0)
            if mechanism.tile is not None or regions[0] or without_columns:  # the hypercolumn target is off there
                config = config.replace(hypercolumn_weight=0.0)
            self._sessions[key] = _Session(self.model, tuple(shape), config, self.temporal, mechanism.tile, regions)
        return self._sessions[key]

    def release(self, shape: tuple[int, ...], mechanism: Mechanism = PLAIN) -> None:
        """Forget the sessions of images of ``shape`` and ``mechanism`` and free their memory (image, targets,
        optimizer state and step, which refer to each other, so only a collection frees them)."""
        keys = [key for key in self._sessions if key[:2] == (tuple(shape), mechanism)]
        for key in keys:
            del self._sessions[key]
        if keys:
            gc.collect()

    def run(
        self,
        content: tf.Tensor | np.ndarray,
        style: tf.Tensor | np.ndarray | Sequence[tf.Tensor] | StyleTargets,
        callback: ProgressCallback | None = None,
        report_every: int = 10,
        init_image: tf.Tensor | np.ndarray | None = None,
        steps: int | None = None,
        evaluations_before: int = 0,
        temporal: TemporalTarget | None = None,
        mechanism: Mechanism = PLAIN,
        regions: RegionTargets | None = None,
    ) -> tf.Tensor:
        """Optimize an image that has ``content``'s structure and the style's textures.

        ``content`` is float32 ``[1, H, W, 3]`` in [0, 1] (H, W >= 32) at the output size; ``style`` is one or
        several style images already resized as wanted, or ``StyleTargets`` from ``style_targets``. The
        result has ``content``'s shape. ``init_image`` (``content``'s shape) overrides ``config.init``, and
        ``steps`` ``config.steps``. ``evaluations_before``: evaluations already run for this image (earlier
        pyramid levels); ``Progress.evaluation`` counts on from there. ``callback`` gets a ``Progress`` at each
        ``evaluation`` that is a multiple of ``report_every`` and after the last step. ``temporal`` (only with
        ``StyleTransfer(..., temporal=True)``) adds the temporal term. ``mechanism`` (``tf_nst.planning.Mechanism``)
        evaluates the objective in tiles, exactly and in bounded memory (``tf_nst.tiles``; not with
        ``temporal``), or overrides the optimizer or its history. ``regions``: each style region's weights at
        the style layers' grids and the kept mask (``tf_nst.objective.RegionTargets``), with ``style``'s targets
        one per region (``tf_nst.objective.region_style_targets``).

        Raises ``Interrupted`` on Ctrl-C and ``NumericalError`` when the loss stops being finite; both carry
        the latest good image and count evaluations as ``Progress.evaluation`` does.
        """
        config = self.config
        content = tf.convert_to_tensor(content, tf.float32)
        targets = style if isinstance(style, StyleTargets) else self.style_targets(style)
        start_pixels = initial_image(content, config.init, config.seed) if init_image is None else init_image
        steps = config.steps if steps is None else steps
        size = (int(content.shape[2]), int(content.shape[1]))
        layout = (0, False)
        if regions is not None:
            layout = (int(next(iter(regions.weights.values())).shape[0]), regions.kept is not None)
        without_columns = bool(config.hypercolumn_weight) and targets.hypercolumns is None
        session = self.session(tuple(content.shape), mechanism, layout, without_columns)
        if temporal is not None and not self.temporal:
            raise ValueError("a temporal target needs StyleTransfer(..., temporal=True)")
        start_pixels = tf.convert_to_tensor(start_pixels, tf.float32)
        query = None  # the hypercolumn target's: the photo, then mostly the image so far (tf_nst.hypercolumns)
        if init_image is not None and session.config.hypercolumn_weight:
            share = hypercolumns.QUERY_IMAGE_SHARE
            query = share * start_pixels + (1.0 - share) * content
        level_targets = compute_targets(self.model, content, targets, session.config, session.features, regions, query)
        session.reset(start_pixels, level_targets, temporal)
        start, done, before = time.perf_counter(), 0, evaluations_before
        try:
            for done in range(1, steps + 1):
                terms = session.step()
                last = done == steps
                if (before + done) % report_every and not last:
                    continue
                first_bad = int(terms["first_bad_step"])
                if first_bad:
                    raise NumericalError(
                        f"the loss or image became NaN or infinite at evaluation {before + first_bad} (likely cause: "
                        "too large a --learning_rate or loss weight)",
                        before + first_bad - 1,
                        session.image.read_value(),
                    )
                if callback is not None:
                    elapsed = time.perf_counter() - start
                    values = {k: float(v) for k, v in terms.items() if k != "first_bad_step"}
                    image = session.image.read_value()
                    callback(
                        Progress(
                            done,
                            steps,
                            values,
                            done / elapsed,
                            elapsed,
                            image,
                            size,
                            evaluation=before + done,
                            evaluations=before + steps,
                        )
                    )
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted after evaluation {before + done}", before + max(done - 1, 0), session.image.read_value()
            ) from None
        return session.image.read_value()
