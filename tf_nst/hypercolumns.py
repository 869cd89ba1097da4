"""Neural Neighbor Style Transfer's hypercolumn target (Kolkin et al., 2022), as a loss term.

A hypercolumn is a position's features of several layers together: each layer's map divided by its channel
count, resized to a grid a quarter of the image's sides, and concatenated. Once per level, each of the query
image's hypercolumns (the photo's, then mostly the image so far) is replaced by the most similar of the
painting's (centred cosine: each set less its own mean); the term then pulls each of the image's hypercolumns
towards its replacement (mean cosine distance). The target is the painting's own features laid out as the photo
is, so the photo's dark parts get the painting's features of the same structure, not its darkest colours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

from tf_nst import losses

GRID_STRIDE = 4  # image pixels per hypercolumn, each side (NNST's)
SAMPLES = 4096  # the painting's hypercolumns the image's are matched with
# after the first level, the query is this much the image so far, the rest the photo; NNST's is 0.25, with
# which the butterfly's background stayed a dark grey (bench/README.md, "NNST's own target, measured")
QUERY_IMAGE_SHARE = 0.75
CHUNK = 2048  # queries matched at once


def grid_of(height: int, width: int) -> tuple[int, int]:
    """The hypercolumn grid ``(rows, columns)`` of an image of ``height`` x ``width`` pixels."""
    return max(1, height // GRID_STRIDE), max(1, width // GRID_STRIDE)


def on_grid(layer: tf.Tensor, grid: tuple[int, int]) -> tf.Tensor:
    """A map ``[B, h, w, C]`` on ``grid``: averaged over f x f cells (f = h // rows; VGG's maps above the grid
    are exactly 2 or 4 times finer), then bilinearly resized where the sides still differ (coarser maps)."""
    factor = max(1, int(layer.shape[1]) // grid[0])
    if factor > 1:
        layer = tf.nn.avg_pool2d(layer, factor, factor, "VALID")[:, : grid[0], : grid[1]]
    if tuple(layer.shape[1:3]) != tuple(grid):
        layer = tf.image.resize(layer, grid, method="bilinear")
    return layer


def hypercolumns(features: Mapping[str, tf.Tensor], layers: Sequence[str], grid: tuple[int, int]) -> tf.Tensor:
    """``[B, rows, columns, D]`` float32: each of ``layers``' maps ``[B, h, w, C]`` divided by C, put ``on_grid``,
    concatenated (D: the layers' channels summed)."""
    parts = []
    for name in layers:
        layer = tf.cast(features[name], tf.float32)
        parts.append(on_grid(layer / float(layer.shape[-1]), grid))
    return tf.concat(parts, axis=-1)


def replace_by_nearest(queries: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """Each of ``queries`` ``[P, D]`` replaced by the nearest of ``keys`` ``[N, D]`` by centred cosine distance
    (each set less its own mean): ``[P, D]``, rows of ``keys`` as they are."""
    centred_keys = losses.centred_unit(keys, tf.reduce_mean(keys, axis=0))
    centred_queries = losses.centred_unit(queries, tf.reduce_mean(queries, axis=0))
    picks = [
        tf.argmax(tf.matmul(centred_queries[i : i + CHUNK], centred_keys, transpose_b=True), axis=-1)
        for i in range(0, int(queries.shape[0]), CHUNK)
    ]
    return tf.gather(keys, tf.concat(picks, axis=0))


def target(query_columns: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """The target of a query image's hypercolumns ``[1, rows, columns, D]``: each replaced by its nearest of the
    painting's ``keys`` ``[N, D]``, of unit length, ``[1, rows, columns, D]``."""
    shape = tf.shape(query_columns)
    flat = tf.reshape(query_columns, [-1, query_columns.shape[-1]])
    return tf.math.l2_normalize(tf.reshape(replace_by_nearest(flat, keys), shape), axis=-1)


def distance(features: Mapping[str, tf.Tensor], layers: Sequence[str], unit_target: tf.Tensor) -> tf.Tensor:
    """Mean cosine distance of the hypercolumns of ``features`` (``[B, ...]`` maps) to ``unit_target``
    ``[1, rows, columns, D]`` (unit length), position by position: ``[B]`` in [0, 2]."""
    grid = (int(unit_target.shape[1]), int(unit_target.shape[2]))
    columns = tf.math.l2_normalize(hypercolumns(features, layers, grid), axis=-1)
    return tf.reduce_mean(1.0 - tf.reduce_sum(columns * unit_target, axis=-1), axis=[1, 2])
