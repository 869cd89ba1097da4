"""The one obvious call: ``tf_nst.stylize(content, style, ...)``."""

from __future__ import annotations

import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.image_io import ImageLike, as_pixels
from tf_nst.pyramid import plan_levels, run_levels
from tf_nst.transfer import ProgressCallback, StyleTransfer


def stylize(
    content: ImageLike,
    style: ImageLike,
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    **overrides,
) -> tf.Tensor:
    """Paint ``content`` in the style of ``style``; returns float32 ``[1, H, W, 3]`` in [0, 1].

    ``content`` and ``style`` are file paths or pixel arrays/tensors (``[H, W, 3]`` or ``[1, H, W, 3]``, uint8
    or float in [0, 1]). The output's longest side is ``config.max_size`` and keeps the content's aspect ratio;
    the style image is resized to ``config.style_scale`` times that longest side. With ``config.scales`` > 1 it
    runs coarse to fine (``tf_nst.pyramid``). ``overrides`` replace fields of ``config`` (e.g. ``steps=100``).
    """
    config = (config or StyleTransferConfig()).replace(**overrides)
    content_pixels = as_pixels(content, "content")
    style_pixels = as_pixels(style, "style")
    levels = plan_levels(_size(content_pixels), _size(style_pixels), config)
    return run_levels(StyleTransfer(config), content_pixels, style_pixels, levels, callback, report_every)


def _size(pixels) -> tuple[int, int]:
    return int(pixels.shape[1]), int(pixels.shape[0])
