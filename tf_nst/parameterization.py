"""What the optimizer moves: the image's pixels, or the coefficients of its Laplacian pyramid.

With pixels, a step changes each pixel on its own, and a large area changes colour only as fast as its pixels
do one by one. With a Laplacian pyramid (Neural Neighbor Style Transfer's parameterisation), the image is the
sum of its levels, each upsampled to full size: a coarse coefficient moves a whole block, so colour and large
shapes can change within a few steps. Both hold the image itself in ``image`` (float32 ``[1, H, W, 3]`` in
[0, 1]), which is what a run reports and returns.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

COARSEST = 64  # the pyramid halves the image until its longer side is at most this (NNST's coarsest scale)


def laplacian_sizes(height: int, width: int, coarsest: int = COARSEST) -> list[tuple[int, int]]:
    """(height, width) of each level, finest first: halved (rounded up) until the longer side is <= ``coarsest``."""
    sizes = [(height, width)]
    while max(sizes[-1]) > coarsest:
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def linear_taps(source: int, target: int, wrap: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index of a linear resize from ``source`` to ``target`` samples (half-pixel centres, as
    ``tf.image.resize``'s bilinear): the two source indices and the second one's weight in [0, 1]. Past an edge
    the indices wrap around (``wrap``) or stop at the edge."""
    position = (np.arange(target) + 0.5) * source / target - 0.5
    low = np.floor(position)
    weight = (position - low).astype(np.float32)
    low = low.astype(np.int64)
    high = low + 1
    if wrap:
        return low % source, high % source, weight
    return np.clip(low, 0, source - 1), np.clip(high, 0, source - 1), weight


def upsample(image: tf.Tensor, size: tuple[int, int], wrap: bool = False) -> tf.Tensor:
    """``image`` ``[1, h, w, C]`` resized linearly to ``size`` = (H, W); ``wrap``: as a tile of a repeating
    texture, its edges blended with the opposite ones (``tf_nst.config``'s ``tileable``)."""
    if not wrap:  # the same taps (a test), in TensorFlow's kernel: about half the time with its gradient
        return tf.image.resize(image, size, method="bilinear")
    for axis, target in ((1, size[0]), (2, size[1])):
        low, high, weight = linear_taps(int(image.shape[axis]), target, wrap)
        weight = tf.reshape(weight, [target if a == axis else 1 for a in range(4)])
        image = tf.gather(image, low, axis=axis) * (1.0 - weight) + tf.gather(image, high, axis=axis) * weight
    return image


def decompose(image: tf.Tensor, sizes: list[tuple[int, int]], wrap: bool = False) -> tf.Tensor:
    """The flat coefficients ``[3 * sum(h * w)]`` of ``image`` (``[1, H, W, 3]``, ``sizes[0]`` = (H, W)): each
    level's detail (the level minus the next, coarser one upsampled), finest first, then the coarsest level
    itself. ``compose`` with the same ``wrap`` inverts it exactly."""
    levels, current = [], tf.convert_to_tensor(image, tf.float32)
    for size in sizes[1:]:
        coarser = tf.image.resize(current, size, method="area", antialias=True)
        levels.append(current - upsample(coarser, tuple(current.shape[1:3]), wrap))
        current = coarser
    levels.append(current)
    return tf.concat([tf.reshape(level, [-1]) for level in levels], axis=0)


def compose(coefficients: tf.Tensor, sizes: list[tuple[int, int]], wrap: bool = False) -> tf.Tensor:
    """The image ``[1, H, W, 3]`` (not clipped) of flat ``coefficients`` from ``decompose``: the coarsest level
    upsampled and each finer level's detail added, coarse to fine (``wrap``: upsampled as a repeating tile)."""
    counts = [h * w * 3 for h, w in sizes]
    levels = [tf.reshape(part, (1, h, w, 3)) for part, (h, w) in zip(tf.split(coefficients, counts), sizes)]
    image = levels[-1]
    for level, size in zip(levels[-2::-1], sizes[-2::-1]):
        image = upsample(image, size, wrap) + level
    return image


class PixelImage:
    """The pixels are the optimized variable, kept in the box [0, 1] (L-BFGS at its bounds, Adam clipped)."""

    bounds = (0.0, 1.0)

    def __init__(self, image: tf.Variable):
        self.image = image
        self.variable = image

    def pixels(self) -> tf.Variable:
        return self.variable

    def start(self, pixels: tf.Tensor) -> None:
        self.image.assign(pixels)

    def settle(self) -> None:
        """After an update: the pixels clipped to [0, 1]."""
        self.image.assign(tf.clip_by_value(self.image, 0.0, 1.0))

    def chain(self, image_gradient: tf.Tensor) -> tf.Tensor:
        """The loss's gradient with respect to ``variable``, from its gradient with respect to ``image``."""
        return image_gradient


class PyramidImage:
    """The coefficients of the image's Laplacian pyramid are the optimized variable (unbounded); the image is
    their sum, clipped to [0, 1]. ``wrap``: the image is a tile of a repeating texture."""

    bounds = None

    def __init__(self, image: tf.Variable, coarsest: int = COARSEST, wrap: bool = False):
        self.image = image
        self.wrap = wrap
        self.sizes = laplacian_sizes(int(image.shape[1]), int(image.shape[2]), coarsest)
        count = sum(h * w * 3 for h, w in self.sizes)
        self.variable = tf.Variable(tf.zeros([count]), name="pyramid_coefficients")

    def pixels(self) -> tf.Tensor:
        return tf.clip_by_value(compose(self.variable, self.sizes, self.wrap), 0.0, 1.0)

    def start(self, pixels: tf.Tensor) -> None:
        self.image.assign(pixels)
        self.variable.assign(decompose(pixels, self.sizes, self.wrap))

    def settle(self) -> None:
        """After an update: the image made from the coefficients."""
        self.image.assign(self.pixels())

    def chain(self, image_gradient: tf.Tensor) -> tf.Tensor:
        """The loss's gradient with respect to ``variable``, from its gradient with respect to ``image``."""
        with tf.GradientTape() as tape:
            pixels = self.pixels()
        return tape.gradient(pixels, self.variable, output_gradients=image_gradient)


def image_parameters(image: tf.Variable, parameterization: str, wrap: bool = False) -> PixelImage | PyramidImage:
    """What the optimizer moves for ``image`` under ``parameterization`` (``tf_nst.config.PARAMETERIZATIONS``);
    ``wrap``: the image is a tile of a repeating texture."""
    return PyramidImage(image, wrap=wrap) if parameterization == "pyramid" else PixelImage(image)
