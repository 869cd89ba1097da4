"""The objective evaluated tile by tile, exactly, for images whose VGG activations do not fit in memory.

Every term of the objective is either a function of per-layer means over positions (the style's moments, see
``tf_nst.objective.STYLE_LOSS_FUNCTIONS``), a mean of per-position terms (content) or a function of the pixels alone
(total variation). A VGG feature at a position depends only on the pixels within the receptive field's radius
of it, so the features of a crop equal the whole image's wherever the crop extends that far beyond: the image
is cut into tiles whose interiors partition it, each read with a halo of the radius around it, and each tile
contributes its interior's features only. Tile borders lie on multiples of the deepest layer's stride, so
every pooling window of a crop is one of the image's.

One evaluation makes two passes over the tiles:

1. forward only: each tile's interior moments, weighted by its share of the positions, summed into the
   image's moments; from them the style term and its gradient with respect to the moments (small matrices);
2. forward and backward per tile: the gradient of ``<d style / d moments, tile moments>`` plus the tile's
   content term with respect to the tile's pixels, added into the image's gradient.

The nearest-neighbour term (``tf_nst.objective.neighbor_term``) is a mean of per-position terms given the image's
mean features, which the first pass sums too: the second adds each tile's matched positions' distances.

By the chain rule that is the gradient of the whole objective, to rounding. Only one tile's activations exist
at a time; the cost is about 4/3 of a plain evaluation (the extra forward pass) times the halo's overlap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tf_nst import losses
from tf_nst.config import StyleTransferConfig
from tf_nst.layers import layer_stride, tile_halo
from tf_nst.objective import (
    STYLE_LOSS_FUNCTIONS,
    Statistics,
    Targets,
    neighbor_grid,
    on_grid,
    pixel_terms,
    sample_rows,
    search_dtype,
    style_term,
    used_style_layers,
)


@dataclass(frozen=True)
class Tile:
    """A tile of an image, in pixels: the ``crop`` (top, bottom, left, right) that is evaluated, halo
    included, and the ``interior`` (same order) whose features it contributes."""

    crop: tuple[int, int, int, int]
    interior: tuple[int, int, int, int]


def tile_grid(height: int, width: int, tile: int, halo: int, align: int) -> list[Tile]:
    """Tiles covering a ``height`` x ``width`` image: interiors of at most ``tile`` px (rounded down to a
    multiple of ``align``) that partition the image and start on multiples of ``align``, each cropped with
    ``halo`` px around it, clipped to the image."""
    tile = max(align, tile // align * align)

    def spans(size: int) -> list[tuple[int, int]]:
        count = math.ceil(size / tile)
        step = math.ceil(size / count / align) * align  # equal interiors, aligned
        edges = [min(size, i * step) for i in range(count)] + [size]
        return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]

    return [
        Tile((max(0, y0 - halo), min(height, y1 + halo), max(0, x0 - halo), min(width, x1 + halo)), (y0, y1, x0, x1))
        for y0, y1 in spans(height)
        for x0, x1 in spans(width)
    ]


def _offsets(tile: Tile) -> tf.Tensor:
    """``tile``'s interior relative to its crop, and its top-left corner in the image: int32 ``[6]``."""
    top, bottom, left, right = tile.interior
    crop_top, _, crop_left, _ = tile.crop
    return tf.constant([top - crop_top, bottom - crop_top, left - crop_left, right - crop_left, top, left], tf.int32)


def _interior(features: tf.Tensor, offsets: tf.Tensor, stride: int) -> tf.Tensor:
    """The part of a crop's ``features`` ``[1, h, w, C]`` (at ``stride``) in its tile's interior."""
    o = offsets // stride
    return features[:, o[0] : o[1], o[2] : o[3]]


def _region(features: tf.Tensor, offsets: tf.Tensor, shape: tf.Tensor, stride: int) -> tf.Tensor:
    """The part of a whole image's ``features`` (at ``stride``) under a tile's interior of ``shape`` (h, w)."""
    top, left = offsets[4] // stride, offsets[5] // stride
    return features[:, top : top + shape[0], left : left + shape[1]]


class TiledObjective:
    """The objective of ``[1, H, W, 3]`` images of ``shape`` against ``targets`` (``tf_nst.objective.Targets``,
    such as the loop's variables), evaluated in tiles of ``tile`` px.

    ``features(image)`` assembles whole feature maps of the content layers (to make content targets);
    ``moments(image)`` sums the style moments of ``moment_layers`` (default: the used style layers; any image
    of ``shape``, such as a style image, needs no ``targets`` for it), or with ``region_weights``
    (``{layer: [R, h, w, 1]}``, see ``tf_nst.regions``) each region's;
    ``samples(image, ...)`` draws features at random positions, as ``tf_nst.objective.sample_rows`` does;
    ``loss_and_gradient(image)`` returns the loss terms (as ``tf_nst.objective.loss_terms``) and the
    gradient of their total, both equal to the plain objective's to rounding.
    """

    def __init__(
        self,
        model: keras.Model,
        shape: tuple[int, ...],
        config: StyleTransferConfig,
        tile: int,
        targets: Targets | None = None,
        moment_layers: Sequence[str] | None = None,
        region_weights: Mapping[str, tf.Tensor] | None = None,
    ):
        self.model, self.config, self.targets = model, config, targets
        self.region_weights = {} if region_weights is None else region_weights  # filled by the loop's reset
        self.kind = STYLE_LOSS_FUNCTIONS[config.style_loss]
        self.style_layers = list(moment_layers or used_style_layers(config))
        self.content_layers = list(config.content_layers)
        halo, align = tile_halo(self.content_layers + self.style_layers)
        self.height, self.width = int(shape[1]), int(shape[2])
        self.tiles = tile_grid(self.height, self.width, tile, halo, align)
        self.strides = {name: layer_stride(name) for name in self.content_layers + self.style_layers}
        self.gradient = None  # the whole image's gradient, made on first use
        crop, offsets = tf.TensorSpec([1, None, None, 3], tf.float32), tf.TensorSpec([6], tf.int32)
        self._content_features = tf.function(self._content_features_eager, input_signature=[crop, offsets])
        self._tile_moments = tf.function(self._tile_moments_eager, input_signature=[crop, offsets])
        self._tile_features = tf.function(self._tile_features_eager, input_signature=[crop, offsets])
        self._tile_gradient = tf.function(self._tile_gradient_eager, reduce_retracing=True)
        self._style = tf.function(self._style_eager)

    def _share(self, part: tf.Tensor, name: str) -> tf.Tensor:
        """The fraction of the whole image's positions at layer ``name`` that ``part`` ``[1, h, w, C]`` has."""
        stride = self.strides[name]
        positions = (self.height // stride) * (self.width // stride)
        return tf.cast(tf.shape(part)[1] * tf.shape(part)[2], tf.float32) / positions

    def _moments(self, part: tf.Tensor, offsets: tf.Tensor, name: str) -> Statistics:
        """The moments of layer ``name``'s ``part`` of the image (a tile's interior), as its contribution to the
        whole image's: weighted by its share of the positions, or by its part of each region's weights."""
        if not self.region_weights:
            return tuple(self._share(part, name) * m for m in self.kind.moments(part))
        weights = _region(self.region_weights[name], offsets, tf.shape(part)[1:3], self.strides[name])
        return self.kind.moments(part, weights)

    def _crop(self, image: tf.Tensor, tile: Tile) -> tf.Tensor:
        top, bottom, left, right = tile.crop
        return image[:, top:bottom, left:right]

    def _content_features_eager(self, crop: tf.Tensor, offsets: tf.Tensor) -> dict[str, tf.Tensor]:
        maps = self.model(crop, training=False)
        return {n: tf.cast(_interior(maps[n], offsets, self.strides[n]), tf.float32) for n in self.content_layers}

    def features(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        """The content layers' feature maps of the whole ``image``, float32, assembled from tile interiors."""
        rows: dict[str, list[list[tf.Tensor]]] = {name: [] for name in self.content_layers}
        for tile in self.tiles:
            parts = self._content_features(self._crop(image, tile), _offsets(tile))
            for name, part in parts.items():
                if tile.interior[2] == 0:
                    rows[name].append([])
                rows[name][-1].append(part)
        return {name: tf.concat([tf.concat(row, axis=2) for row in r], axis=1) for name, r in rows.items()}

    def _neighbors(self) -> dict[str, tf.Tensor]:
        """The targets' painting features of the nearest-neighbour term, by layer (none: the term is off)."""
        return dict(self.targets.neighbors) if self.targets is not None and self.config.neighbor_weight else {}

    def _tile_moments_eager(self, crop: tf.Tensor, offsets: tf.Tensor) -> tuple[dict, dict]:
        maps = self.model(crop, training=False)
        moments, means = {}, {}
        for name in self.style_layers:
            part = _interior(maps[name], offsets, self.strides[name])
            moments[name] = self._moments(part, offsets, name)
            if name in self._neighbors():
                means[name] = self._share(part, name) * losses.feature_mean(part)
        return moments, means

    def moments(self, image: tf.Tensor) -> dict[str, Statistics]:
        """The style layers' moments of the whole ``image``: its tile interiors', weighted by their share."""
        return self._moments_and_means(image)[0]

    def _moments_and_means(self, image: tf.Tensor) -> tuple[dict, dict]:
        """``moments(image)``, and the mean features ``[1, C]`` of the nearest-neighbour term's layers."""
        total = None
        for tile in self.tiles:
            parts = self._tile_moments(self._crop(image, tile), _offsets(tile))
            total = parts if total is None else tf.nest.map_structure(tf.add, total, parts)
        return total

    def _tile_features_eager(self, crop: tf.Tensor, offsets: tf.Tensor) -> dict[str, tf.Tensor]:
        maps = self.model(crop, training=False)
        return {name: _interior(maps[name], offsets, self.strides[name]) for name in self.style_layers}

    def samples(
        self,
        image: tf.Tensor,
        counts: Mapping[str, int],
        rng: np.random.Generator,
        weights: Mapping[str, tf.Tensor] | None = None,
    ) -> dict[str, tf.Tensor]:
        """``counts[layer]`` features of ``image`` at random positions of each layer, ``[count, C]`` float32,
        drawn with probability ``weights`` ``{layer: [1, h, w, 1]}`` (default: uniform), each tile's share of
        them its share of the positions (or of the weights)."""
        parts = [(tile, self._tile_features(self._crop(image, tile), _offsets(tile))) for tile in self.tiles]
        rows = {}
        for name, count in counts.items():
            stride = self.strides[name]
            masses, masks = [], []
            for tile, features in parts:
                part = features[name]
                mask = None if weights is None else _region(weights[name], _offsets(tile), tf.shape(part)[1:3], stride)
                masks.append(mask)
                masses.append(float(tf.size(part[..., 0])) if mask is None else float(tf.reduce_sum(mask)))
            shares = rng.multinomial(count, np.asarray(masses) / sum(masses))
            rows[name] = tf.concat(
                [sample_rows(f[name], int(k), rng, m) for (_, f), m, k in zip(parts, masks, shares) if k], axis=0
            )
        return rows

    def _style_eager(self, moments: dict[str, Statistics]) -> tuple[tf.Tensor, dict[str, Statistics]]:
        with tf.GradientTape() as tape:
            tape.watch(moments)
            style = self.config.style_weight * style_term(moments, self.targets, self.config)[0]
        return style, tape.gradient(style, moments)

    def _neighbor_grids(self) -> dict[str, tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
        """Per layer of the nearest-neighbour term, this evaluation's stride and offset of the whole image's map
        (``tf_nst.objective.neighbor_grid``), and what each matched position's distance is divided by: their
        count, or with regions each region's weights on them over its share ``[R, 1]``."""
        grids = {}
        for index, name in enumerate(self._neighbors()):
            height, width = self.height // self.strides[name], self.width // self.strides[name]
            stride, offset = neighbor_grid(height, width, self.config.seed, self.targets.draw, index)
            if self.region_weights:
                matched = on_grid(self.region_weights[name], stride, offset)
                mass = tf.maximum(tf.reduce_sum(matched, axis=[1, 2, 3]), 1e-12) / self.targets.shares
                grids[name] = (stride, offset, mass[:, None])
            else:
                count = ((height - offset[0] + stride - 1) // stride) * ((width - offset[1] + stride - 1) // stride)
                grids[name] = (stride, offset, tf.cast(count, tf.float32))
        return grids

    def _tile_neighbor(self, part: tf.Tensor, offsets: tf.Tensor, name: str, mean: tf.Tensor, grid: tuple) -> tf.Tensor:
        """A tile's interior ``part`` of layer ``name``'s share of the nearest-neighbour term: its matched
        positions' distances, divided as ``_neighbor_grids`` says."""
        stride, offset, divisor = grid
        corner = offsets[4:6] // self.strides[name]  # the interior's top left at the layer's grid
        first = (offset - corner) % stride  # the first matched row and column in it
        queries = losses.centred_unit(on_grid(part, stride, first), mean[:, None, None, :])
        queries = tf.reshape(queries, [1, -1, tf.shape(part)[-1]])
        distances = losses.nearest_distance(queries, self.targets.neighbors[name], search_dtype(part))[0]  # [R, P]
        if self.region_weights:
            weights = _region(self.region_weights[name], offsets, tf.shape(part)[1:3], self.strides[name])
            weights = on_grid(weights, stride, first)
            distances *= tf.reshape(weights, [tf.shape(weights)[0], -1])
        return tf.reduce_sum(distances / divisor)

    def _tile_gradient_eager(
        self,
        crop: tf.Tensor,
        offsets: tf.Tensor,
        upstream: dict[str, Statistics],
        means: dict[str, tf.Tensor],
        grids: dict[str, tuple],
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        targets = self.targets
        with tf.GradientTape() as tape:
            tape.watch(crop)
            maps = self.model(crop, training=False)
            style = tf.constant(0.0)
            for name in self.style_layers:
                part = _interior(maps[name], offsets, self.strides[name])
                for moment, grad in zip(self._moments(part, offsets, name), upstream[name]):
                    style += tf.reduce_sum(grad * moment)
            neighbor = tf.constant(0.0)
            for name, grid in grids.items():
                part = _interior(maps[name], offsets, self.strides[name])
                neighbor += self._tile_neighbor(part, offsets, name, means[name], grid)
            neighbor *= self.config.neighbor_weight
            content = tf.constant(0.0)
            for name in self.content_layers:
                part = _interior(maps[name], offsets, self.strides[name])
                target = _region(targets.content[name], offsets, tf.shape(part)[1:3], self.strides[name])
                loss = losses.content_loss(part, target)[0]
                content += targets.content_weights[name] * self._share(part, name) * loss
            content *= self.config.content_weight
            total = style + content + neighbor
        return tape.gradient(total, crop), content, neighbor

    def loss_and_gradient(self, image: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """Loss terms ``content``, ``style``, ``tv`` (and ``keep`` with a kept region), ``total`` (scalars) of
        ``image`` ``[1, H, W, 3]`` and the gradient of ``total`` with respect to it."""
        moments, means = self._moments_and_means(image)
        style, upstream = self._style(moments)
        grids = self._neighbor_grids()
        with tf.GradientTape() as tape:
            tape.watch(image)
            pixels = {name: term[0] for name, term in pixel_terms(image, self.targets, self.config).items()}
            pixels_total = tf.add_n(list(pixels.values()))
        if self.gradient is None:
            self.gradient = tf.Variable(tf.zeros(image.shape), trainable=False, name="tiled_gradient")
        zero = tf.UnconnectedGradients.ZERO  # the pixel terms may all be weighted 0
        self.gradient.assign(tape.gradient(pixels_total, image, unconnected_gradients=zero))
        content, neighbor = tf.constant(0.0), tf.constant(0.0)
        for tile in self.tiles:
            top, bottom, left, right = tile.crop
            crop = self._crop(image, tile)
            part, content_part, neighbor_part = self._tile_gradient(crop, _offsets(tile), upstream, means, grids)
            self.gradient[:, top:bottom, left:right].assign(self.gradient[:, top:bottom, left:right] + part)
            content += content_part
            neighbor += neighbor_part
        terms = {"content": content, "style": style, **pixels}
        if grids:
            terms["neighbor"] = neighbor
        terms["total"] = tf.add_n(list(terms.values()))
        return terms, self.gradient.read_value()
