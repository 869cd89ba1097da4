"""The objective: the targets an image is compared with, and its weighted loss terms.

``alpha * content + beta * style + tv_weight * smoothness``, each term scale-free: a layer's term is divided
by the size of its target, so layer weights say how much each layer counts whatever the image size or the
layer's activation scale. Targets are computed once per content image and style; ``batch_loss_terms`` is a
pure function of feature maps and targets, shared by the optimisation loop (``tf_nst.transfer``) and the Keras
loss (``tf_nst.keras_loss``). Pixels are float32 ``[B, H, W, 3]`` in [0, 1].

Style losses (``config.style_loss``), each a statistic of a layer's features and a distance to the style's:

- ``gram``: the paper's Gram matrices, mean squared difference.
- ``gaussian``: mean and covariance, squared 2-Wasserstein distance between their Gaussians.

Beside the style term, ``config.neighbor_weight`` weighs Neural Neighbor Style Transfer's matching (Kolkin et
al., 2022): at every evaluation each of the image's features at ``config.neighbor_layers`` (at most
``NEIGHBOR_GRID`` a side, on a stride from an offset drawn anew) is pulled towards the most similar of
``NEIGHBOR_SAMPLES`` of the painting's, so strokes follow the photo's shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tf_nst import hypercolumns, losses
from tf_nst.config import HYPERCOLUMN_LAYERS, StyleTransferConfig

Statistics = tuple[tf.Tensor, ...]
NEIGHBOR_SAMPLES = 2048  # painting features per layer the image's are matched with (4096 looked alike, 1.08x the time)
NEIGHBOR_GRID = 64  # image positions matched per layer: at most this many a side (NNST's)


@dataclass(frozen=True)
class StyleLoss:
    """One style loss. ``moments`` maps features ``[B, H, W, C]`` to means over positions that blend linearly
    (a weighted mean of several styles' is their mixture's, and of an image's tiles' the image's), or with
    region ``weights`` ``[R, H, W, 1]`` (each summing to 1) features ``[1, H, W, C]`` to each region's weighted
    means (leading axis R); ``target``
    turns blended moments into what ``distance`` needs; ``distance(moments, target)`` is ``[B]``;
    ``size(target)`` is the mean square the distance is relative to."""

    moments: Callable[[tf.Tensor, tf.Tensor | None], Statistics]
    target: Callable[[Statistics], Statistics]
    distance: Callable[[Statistics, Statistics], tf.Tensor]
    size: Callable[[Statistics], tf.Tensor]


def _gaussian_target(moments: Statistics) -> Statistics:
    mean, second = moments
    cov = losses.positive_definite(losses.covariance(mean, second) + losses.RIDGE * tf.eye(tf.shape(mean)[-1]))
    return mean, cov, losses.sqrtm(cov)


STYLE_LOSS_FUNCTIONS = {  # the functions of each of config.STYLE_LOSSES
    "gram": StyleLoss(
        moments=lambda f, w=None: (losses.gram_matrix(f) if w is None else losses.weighted_gram(f, w),),
        target=lambda m: m,
        distance=lambda m, t: losses.gram_distance(m[0], t[0]),
        size=lambda t: tf.reduce_mean(tf.square(t[0])),
    ),
    "gaussian": StyleLoss(
        moments=lambda f, w=None: (
            (losses.feature_mean(f), losses.gram_matrix(f))
            if w is None
            else (losses.weighted_mean(f, w), losses.weighted_gram(f, w))
        ),
        target=_gaussian_target,
        distance=lambda m, t: losses.gaussian_distance(*m, *t),
        size=lambda t: losses.gaussian_size(t[0], t[1]),
    ),
}


@dataclass(frozen=True)
class StyleTargets:
    """The style's blended statistics ``{layer: (tensor, ...)}`` (as ``STYLE_LOSS_FUNCTIONS[style_loss].target``
    makes them, each with a leading batch axis of 1) and per-layer weights that make each term scale-free.

    Blending: the statistics are moments, so the blend-weighted mean of several style images' moments is the
    moments of their mixture; for Gram matrices, sum_s b_s |G - A_s|^2 = |G - sum_s b_s A_s|^2 + const, so the
    blend is exact and the reported style loss omits the constant. Each layer's weight is w_l divided by the
    size of its target, so layers count as w_l says.

    ``neighbors``: per layer the term matches (``matched_layers``), ``NEIGHBOR_SAMPLES`` of the paintings'
    features ``[N, C]`` (each style's share of them its blend weight), less their mean, of unit length; with
    regions ``[R, N, C]``, and ``shares`` ``[R]`` each region's fraction of the image.

    ``hypercolumns``: with ``config.hypercolumn_weight``, ``hypercolumns.SAMPLES`` of the paintings'
    hypercolumns ``[N, D]`` (each style's share of them its blend weight; ``tf_nst.hypercolumns``), else None.
    """

    statistics: dict[str, Statistics]
    weights: dict[str, float]
    style_loss: str = "gram"
    neighbors: dict[str, tf.Tensor] = field(default_factory=dict)
    shares: tf.Tensor | None = None
    hypercolumns: tf.Tensor | None = None


def sample_rows(
    features: tf.Tensor, count: int, rng: np.random.Generator, weights: tf.Tensor | None = None
) -> tf.Tensor:
    """``count`` random positions' features of ``features`` ``[1, h, w, C]``, float32 ``[count, C]``, drawn
    with probability ``weights`` ``[1, h, w, 1]`` (default: uniform); with replacement only where too few."""
    rows = tf.reshape(tf.cast(features, tf.float32), [-1, features.shape[-1]])
    chance = None if weights is None else np.reshape(np.asarray(weights, np.float64), [-1])
    available = int(rows.shape[0]) if chance is None else int(np.count_nonzero(chance))
    if chance is not None:
        chance = chance / chance.sum()
    return tf.gather(rows, rng.choice(int(rows.shape[0]), count, replace=count > available, p=chance))


# (style, its weights or None, {layer: count}, rng) -> {layer: [count, C]}, as sample_rows draws them
Sampler = Callable[[tf.Tensor, Mapping | None, Mapping[str, int], np.random.Generator], Mapping[str, tf.Tensor]]


def style_targets(
    model: keras.Model,
    styles: Sequence[tf.Tensor],
    blend_weights: Sequence[float],
    config: StyleTransferConfig,
    moments_of: Callable[[tf.Tensor, Mapping | None], Mapping[str, Statistics]] | None = None,
    masks: Sequence[Mapping[str, tf.Tensor] | None] | None = None,
    samples_of: Sampler | None = None,
) -> StyleTargets:
    """Blend of the statistics of ``styles`` (each ``[1, H, W, 3]`` in [0, 1]) by ``blend_weights``.
    ``masks``: per style, None (the whole painting) or the weights of the part of it that gives the style,
    ``{layer: [1, h, w, 1]}`` (``tf_nst.regions.layer_weights``). ``moments_of(style, weights)`` gives a style's
    moments of every style layer (default: from ``model``'s features; ``tf_nst.tiles`` sums them over tiles),
    and ``samples_of`` its features at random positions (the same; with ``config.neighbor_weight``), drawn
    from ``config.seed``. The paintings' hypercolumns come along with ``config.hypercolumn_weight``, unless the
    paintings are evaluated in tiles (``samples_of`` given)."""
    kind = STYLE_LOSS_FUNCTIONS[config.style_loss]
    neighbor_layers = matched_layers(config)

    rng = np.random.default_rng(config.seed)
    shares = np.asarray(blend_weights, np.float64) / np.sum(blend_weights)
    counts = rng.multinomial(NEIGHBOR_SAMPLES, shares) if neighbor_layers else [0] * len(styles)  # per style
    with_columns = bool(config.hypercolumn_weight) and samples_of is None
    column_rng = np.random.default_rng([config.seed, 1])
    column_counts = column_rng.multinomial(hypercolumns.SAMPLES, shares) if with_columns else [0] * len(styles)
    columns = []
    blended: dict[str, list[tf.Tensor]] = {}
    sampled: dict[str, list[tf.Tensor]] = {name: [] for name in neighbor_layers}
    for style, weight, mask, count, column_count in zip(
        styles, blend_weights, masks or [None] * len(styles), counts, column_counts
    ):
        whole = moments_of is None or with_columns or (neighbor_layers and samples_of is None)
        features = model(style, training=False) if whole else None
        if column_count:
            grid = hypercolumns.grid_of(int(style.shape[1]), int(style.shape[2]))
            painting = hypercolumns.hypercolumns(features, HYPERCOLUMN_LAYERS, grid)
            part = mask and mask.get(HYPERCOLUMN_LAYERS[2])  # that layer's grid is the hypercolumns' (stride 4)
            count = int(column_count) if part else min(int(column_count), grid[0] * grid[1])  # all, where fewer
            columns.append(sample_rows(painting, count, column_rng, part))
        if moments_of is None:
            style_moments = {n: kind.moments(features[n], mask and mask[n]) for n in config.style_layers}
        else:
            style_moments = moments_of(style, mask)
        for name in config.style_layers:
            moments = [weight * m for m in style_moments[name]]
            blended[name] = [a + b for a, b in zip(blended[name], moments)] if name in blended else moments
        if neighbor_layers and count:
            layer_counts = {name: int(count) for name in neighbor_layers}
            if samples_of is None:
                rows = {n: sample_rows(features[n], c, rng, mask and mask[n]) for n, c in layer_counts.items()}
            else:
                rows = samples_of(style, mask, layer_counts, rng)
            for name in neighbor_layers:
                sampled[name].append(rows[name])
    statistics = {name: tuple(kind.target(tuple(m))) for name, m in blended.items()}
    weights = {name: w / (float(kind.size(statistics[name])) + 1e-12) for name, w in config.layer_weights.items()}
    neighbors = {}
    for name, parts in sampled.items():
        rows = tf.concat(parts, axis=0)
        neighbors[name] = losses.centred_unit(rows, tf.reduce_mean(rows, axis=0))
    keys = tf.concat(columns, axis=0) if columns else None
    return StyleTargets(statistics, weights, config.style_loss, neighbors, hypercolumns=keys)


def region_style_targets(per_region: Sequence[StyleTargets], shares: Sequence[float]) -> StyleTargets:
    """One ``StyleTargets`` of several regions' (one each, in region order): statistics stacked on the leading
    axis ``[R, ...]``, and per layer a weight per region ``[R]``, each region's weight times its ``shares`` (its
    fraction of the image), so a region is painted as strongly as a whole image would be."""
    layers = per_region[0].statistics
    statistics = {
        n: tuple(tf.concat(parts, axis=0) for parts in zip(*(t.statistics[n] for t in per_region))) for n in layers
    }
    weights = {
        n: tf.constant([t.weights[n] * share for t, share in zip(per_region, shares)], tf.float32)
        for n in per_region[0].weights
    }
    neighbors = {n: tf.stack([t.neighbors[n] for t in per_region]) for n in per_region[0].neighbors}
    return StyleTargets(statistics, weights, per_region[0].style_loss, neighbors, tf.constant(shares, tf.float32))


def content_targets(
    features: Mapping[str, tf.Tensor], content_layers: Sequence[str]
) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """Content targets of a batch, per image: features ``{layer: [B, h, w, C]}`` as float32 (no gradient), and
    scale-free weights ``{layer: [B]}``, each ``1 / len(content_layers)`` divided by the image's mean square
    feature at that layer."""
    targets = {name: tf.stop_gradient(tf.cast(features[name], tf.float32)) for name in content_layers}
    per_layer = 1.0 / len(content_layers)
    weights = {n: per_layer / (tf.reduce_mean(tf.square(t), axis=[1, 2, 3]) + 1e-12) for n, t in targets.items()}
    return targets, weights


@dataclass(frozen=True)
class Targets:
    """Everything ``loss_terms`` compares against: content features ``{layer: [1 or B, h, w, C]}`` (float32)
    with their scale-free weights (scalars or ``[B]``), and the style's statistics with theirs
    (see ``StyleTargets``). Tensors, or the variables the optimisation loop reassigns per image
    (``tf_nst.transfer``).

    With regions (``tf_nst.regions``): the statistics and style weights have a leading axis of regions R and
    ``region_weights`` are each region's weights at each used style layer's grid ``{layer: [R, h, w, 1]}``;
    ``kept`` ``[1, H, W, 1]`` in [0, 1] is how much each pixel is kept near ``photo`` ``[1, H, W, 3]``.

    ``neighbors``: the painting's features the nearest-neighbour term matches, with regions each region's, and
    ``shares`` the regions' fractions of the image (see ``StyleTargets``); ``draw`` (int32 scalar) numbers the
    evaluation, whose positions the term matches (``neighbor_grid``).

    ``hypercolumn``: the hypercolumn target ``[1, rows, columns, D]`` of unit length (``tf_nst.hypercolumns``),
    or None."""

    content: dict[str, tf.Tensor]
    content_weights: dict[str, tf.Tensor]
    statistics: dict[str, Statistics]
    style_weights: dict[str, float | tf.Tensor]
    region_weights: dict[str, tf.Tensor] = field(default_factory=dict)
    kept: tf.Tensor | None = None
    photo: tf.Tensor | None = None
    neighbors: dict[str, tf.Tensor] = field(default_factory=dict)
    shares: tf.Tensor | None = None
    draw: tf.Tensor | int = 0
    hypercolumn: tf.Tensor | None = None


@dataclass(frozen=True)
class RegionTargets:
    """What regions add to a level's targets: each region's weights at each style layer's grid
    ``{layer: [R, h, w, 1]}``, and the ``kept`` mask ``[1, H, W, 1]`` (None: no region is kept)."""

    weights: dict[str, tf.Tensor]
    kept: tf.Tensor | None = None


def compute_targets(
    model: keras.Model,
    content: tf.Tensor,
    style: tf.Tensor | StyleTargets,
    config: StyleTransferConfig,
    features: Callable[[tf.Tensor], Mapping[str, tf.Tensor]] | None = None,
    regions: RegionTargets | None = None,
    query: tf.Tensor | None = None,
) -> Targets:
    """Targets of ``content`` and ``style`` (``[1, H, W, 3]`` in [0, 1], or precomputed ``StyleTargets``, of
    ``regions`` when given: ``region_style_targets``). ``features`` maps ``content`` to its content layers' maps
    (default: ``model``; ``tf_nst.tiles`` assembles them from tiles). The painting's samples come along only
    when ``config`` has the nearest-neighbour term; the hypercolumn target, with ``config.hypercolumn_weight``
    and no regions, is matched to ``query``'s hypercolumns (``content``'s shape; default ``content``)."""
    if not isinstance(style, StyleTargets):
        style = style_targets(model, [style], [1.0], config)
    features = features or (lambda image: model(image, training=False))
    content_maps = features(content)
    content_features, content_weights = content_targets(content_maps, config.content_layers)
    content_weights = {n: w[0] for n, w in content_weights.items()}
    neighbors = style.neighbors if config.neighbor_weight else {}
    if regions is None:
        column_target = None
        if config.hypercolumn_weight and style.hypercolumns is not None:
            query_maps = content_maps if query is None else model(query, training=False)
            grid = hypercolumns.grid_of(int(content.shape[1]), int(content.shape[2]))
            columns = hypercolumns.hypercolumns(query_maps, HYPERCOLUMN_LAYERS, grid)
            column_target = hypercolumns.target(columns, style.hypercolumns)
        return Targets(
            content_features,
            content_weights,
            style.statistics,
            style.weights,
            neighbors=neighbors,
            hypercolumn=column_target,
        )
    weights = {n: tf.convert_to_tensor(regions.weights[n], tf.float32) for n in used_style_layers(config)}
    kept = None if regions.kept is None else tf.convert_to_tensor(regions.kept, tf.float32)
    photo = None if kept is None else tf.convert_to_tensor(content, tf.float32)
    return Targets(
        content_features,
        content_weights,
        style.statistics,
        style.weights,
        weights,
        kept,
        photo,
        neighbors,
        style.shares,
    )


def batch_loss_terms(
    features: Mapping[str, tf.Tensor], images: tf.Tensor, targets: Targets, config: StyleTransferConfig
) -> dict[str, tf.Tensor]:
    """Weighted loss terms of each image and their sum, ``[B]`` each: ``content``, ``style``, ``tv``, ``total``.

    ``features`` are the model's maps of ``images`` (``[B, H, W, 3]``).
    """
    content = tf.add_n(
        [w * losses.content_loss(features[n], targets.content[n]) for n, w in targets.content_weights.items()]
    )
    moments = STYLE_LOSS_FUNCTIONS[config.style_loss].moments
    regions = targets.region_weights
    style = style_term({n: moments(features[n], regions.get(n)) for n in used_style_layers(config)}, targets, config)
    terms = {
        "content": config.content_weight * content,
        "style": config.style_weight * style,
        **pixel_terms(images, targets, config),
    }
    if config.neighbor_weight and targets.neighbors:
        terms["neighbor"] = config.neighbor_weight * neighbor_term(features, targets, config.seed)
    if config.hypercolumn_weight and targets.hypercolumn is not None:
        distance = hypercolumns.distance(features, HYPERCOLUMN_LAYERS, targets.hypercolumn)
        terms["hypercolumn"] = config.hypercolumn_weight * distance
    terms["total"] = tf.add_n(list(terms.values()))
    return terms


def neighbor_grid(height: tf.Tensor, width: tf.Tensor, seed: int, draw: tf.Tensor, index: int) -> tuple:
    """The positions of a ``height`` x ``width`` feature map that evaluation ``draw`` matches, for the
    ``index``-th matched layer: every ``stride``-th row and column from ``offset`` (int32 ``[2]``, in
    [0, stride), drawn from ``seed`` and ``draw``); about ``NEIGHBOR_GRID`` a side. Returns (stride, offset)."""
    stride = tf.maximum(1, tf.maximum(height, width) // NEIGHBOR_GRID)
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(draw, tf.int64) * 16 + index])
    return stride, tf.random.stateless_uniform([2], key, minval=0, maxval=stride, dtype=tf.int32)


def on_grid(maps: tf.Tensor, stride: tf.Tensor, first: tf.Tensor) -> tf.Tensor:
    """Every ``stride``-th row and column of ``maps`` ``[B, h, w, C]`` from ``first`` (row, column)."""
    return maps[:, first[0] :: stride, first[1] :: stride]


def search_dtype(features: tf.Tensor) -> tf.DType:
    """What the nearest features are searched in: the features' own half precision, else float32."""
    return features.dtype if features.dtype in (tf.bfloat16, tf.float16) else tf.float32


def grid_queries(layer: tf.Tensor, seed: int, draw: tf.Tensor | int, index: int) -> tuple:
    """The features of ``layer`` ``[B, h, w, C]`` that evaluation ``draw`` matches (``neighbor_grid``), each less
    the image's mean feature (held fixed) and of unit length: ``[B, P, C]`` float32, with (stride, offset)."""
    shape = tf.shape(layer)
    stride, offset = neighbor_grid(shape[1], shape[2], seed, draw, index)
    mean = tf.stop_gradient(losses.feature_mean(layer))[:, None, None, :]
    queries = tf.reshape(losses.centred_unit(on_grid(layer, stride, offset), mean), [shape[0], -1, shape[3]])
    return queries, stride, offset


def neighbor_term(features: Mapping[str, tf.Tensor], targets: Targets, seed: int) -> tf.Tensor:
    """The nearest-neighbour term before ``neighbor_weight``, ``[B]``: over the layers of ``targets.neighbors``,
    the sum of the mean cosine distance of the matched positions' features (``grid_queries``) to their nearest
    of the painting's (``losses.nearest_distance``); with regions, each region's mean (by its weights) of the
    distances to its own paintings', times its share."""
    total = 0.0
    for index, (name, keys) in enumerate(targets.neighbors.items()):
        layer = features[name]
        queries, stride, offset = grid_queries(layer, seed, targets.draw, index)
        distances = losses.nearest_distance(queries, keys, search_dtype(layer))  # [B, R, P]
        if targets.region_weights:
            weights = on_grid(targets.region_weights[name], stride, offset)
            weights = tf.reshape(weights, [tf.shape(weights)[0], -1])
            weights = weights / tf.maximum(tf.reduce_sum(weights, axis=1, keepdims=True), 1e-12)
            total += tf.reduce_sum(distances * (targets.shares[:, None] * weights), axis=[1, 2])
        else:
            total += tf.reduce_mean(distances, axis=[1, 2])
    return total


def pixel_terms(images: tf.Tensor, targets: Targets, config: StyleTransferConfig) -> dict[str, tf.Tensor]:
    """The weighted terms of the pixels alone, ``[B]`` each: ``tv`` (smoothness), and ``keep`` when a region
    is kept (``tf_nst.regions``)."""
    # the weights are fixed when the step is traced: a zero-weight term costs nothing
    zero = tf.zeros(tf.shape(images)[:1])
    terms = {
        "tv": config.tv_weight * losses.total_variation_loss(images, config.tileable) if config.tv_weight else zero
    }
    if targets.kept is not None:
        terms["keep"] = config.keep_weight * losses.masked_squared_difference(images, targets.photo, targets.kept)
    return terms


def used_style_layers(config: StyleTransferConfig) -> list[str]:
    """The style layers whose weight is not 0 (a layer weighted 0 is not computed)."""
    return [name for name, weight in config.layer_weights.items() if weight > 0]


def matched_layers(config: StyleTransferConfig) -> list[str]:
    """The style layers the nearest-neighbour term matches: the used ones of ``config.neighbor_layers``; none
    with ``neighbor_weight`` 0."""
    return [n for n in used_style_layers(config) if n in config.neighbor_layers] if config.neighbor_weight else []


def style_term(moments: Mapping[str, Statistics], targets: Targets, config: StyleTransferConfig) -> tf.Tensor:
    """The style term before ``style_weight``, ``[B]``: ``losses.style_loss`` of an image's ``moments``
    ``{layer: STYLE_LOSS_FUNCTIONS[...].moments(...)}`` (the used layers) against the targets' statistics, by
    the style loss's distance."""
    distance = STYLE_LOSS_FUNCTIONS[config.style_loss].distance
    statistics = {name: targets.statistics[name] for name in moments}
    term = losses.style_loss(moments, statistics, targets.style_weights, distance)
    # with regions, the image's regions are the leading axis: their terms add up to the image's
    return tf.reduce_sum(term, axis=0, keepdims=True) if targets.region_weights else term


def loss_terms(
    features: Mapping[str, tf.Tensor], image: tf.Tensor, targets: Targets, config: StyleTransferConfig
) -> dict[str, tf.Tensor]:
    """``batch_loss_terms`` of a single ``image`` ``[1, H, W, 3]``, as scalars."""
    return {name: term[0] for name, term in batch_loss_terms(features, image, targets, config).items()}
