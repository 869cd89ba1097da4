"""The one obvious call: ``tf_nst.stylize(content, style, ...)``."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ImageError
from tf_nst.features import MIN_SIDE
from tf_nst.image_io import load_image, resize, resized_size
from tf_nst.transfer import ProgressCallback, StyleTransfer

ImageLike = str | os.PathLike | np.ndarray | tf.Tensor


def as_image(image: ImageLike, max_size: int, name: str = "image") -> np.ndarray:
    """A path, or pixels ``[H, W, 3]`` / ``[1, H, W, 3]`` (uint8, or float in [0, 1]), as float32
    ``[1, h, w, 3]`` in [0, 1] whose longest side is ``max_size``."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(os.fspath(image), max_size)
    pixels = np.asarray(image)
    if pixels.ndim == 4 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ImageError(f"{name}: expected pixels of shape [H, W, 3] or [1, H, W, 3], got {list(np.shape(image))}")
    pixels = pixels.astype(np.float32) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float32)
    pixels = resize(np.clip(pixels, 0.0, 1.0), resized_size(pixels.shape[1], pixels.shape[0], max_size))
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: {pixels.shape[1]}x{pixels.shape[0]} px is below the {MIN_SIDE}x{MIN_SIDE} minimum")
    return pixels[None]


def stylize(
    content: ImageLike,
    style: ImageLike,
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    **overrides,
) -> tf.Tensor:
    """Paint ``content`` in the style of ``style``; returns float32 ``[1, H, W, 3]`` in [0, 1].

    ``content`` and ``style`` are file paths or pixel arrays/tensors. The output's longest side is
    ``config.max_size`` and keeps the content's aspect ratio; the style image is resized to the same longest
    side. ``overrides`` replace fields of ``config`` (e.g. ``steps=100``).
    """
    config = (config or StyleTransferConfig()).replace(**overrides)
    content_pixels = as_image(content, config.max_size, "content")
    style_pixels = as_image(style, config.max_size, "style")
    return StyleTransfer(config).run(content_pixels, style_pixels, callback, report_every)
