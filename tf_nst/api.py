"""The one obvious call, ``tf_nst.stylize(content, style, ...)``, and its batch form ``stylize_batch``.

This is where the artist's controls meet the optimisation: several styles and their blend, style scale,
colour preservation and the start image. Pixels are float32 ``[1, H, W, 3]`` in [0, 1] throughout.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from tf_nst.color import match_color_statistics, transfer_luminance
from tf_nst.config import INITS, StyleTransferConfig
from tf_nst.errors import ImageError
from tf_nst.features import MIN_SIDE
from tf_nst.image_io import DEFAULT_MAX_PIXELS, read_image, resize, resized_size
from tf_nst.transfer import ProgressCallback, StyleTargets, StyleTransfer

ImageLike = str | os.PathLike | np.ndarray | tf.Tensor


def as_pixels(image: ImageLike, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A path, or pixels ``[H, W, 3]`` / ``[1, H, W, 3]`` (uint8, or float in [0, 1]), as float32 ``[H, W, 3]``
    in [0, 1] at their own size. Files over ``max_pixels`` are refused before decoding."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(os.fspath(image), max_pixels)
    pixels = np.asarray(image)
    if pixels.ndim == 4 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ImageError(f"{name}: expected pixels of shape [H, W, 3] or [1, H, W, 3], got {list(np.shape(image))}")
    pixels = pixels.astype(np.float32) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float32)
    return np.clip(pixels, 0.0, 1.0)


def as_image(image: ImageLike, max_size: int, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """``as_pixels``, resized so the longest side is ``max_size``: float32 ``[1, h, w, 3]``.

    Raises ImageError if the image, or the resized one, is smaller than the network's 32x32 minimum."""
    pixels = as_pixels(image, name, max_pixels)
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: {pixels.shape[1]}x{pixels.shape[0]} px is smaller than the 32x32 minimum")
    pixels = resize(pixels, resized_size(pixels.shape[1], pixels.shape[0], max_size))
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(
            f"{name}: {pixels.shape[1]}x{pixels.shape[0]} px after resizing is below the {MIN_SIDE}x{MIN_SIDE} "
            "minimum (raise --max_size or --style_scale)"
        )
    return pixels[None]


def _style_list(style: ImageLike | Sequence[ImageLike]) -> list[ImageLike]:
    if isinstance(style, (str, os.PathLike, np.ndarray, tf.Tensor)):
        return [style]
    return list(style)


def _style_name(style: ImageLike, index: int) -> str:
    return os.fspath(style) if isinstance(style, (str, os.PathLike)) else f"style image {index + 1}"


def start_image(content: np.ndarray, styles: Sequence[np.ndarray], config: StyleTransferConfig) -> np.ndarray | None:
    """Start pixels for ``config.init`` = ``style`` or a path, resized to ``content``'s size; None otherwise."""
    if config.init in INITS and config.init != "style":
        return None
    source = styles[0][0] if config.init == "style" else read_image(config.init, config.max_input_pixels)
    return resize(source, (content.shape[2], content.shape[1]))[None]


class Stylizer:
    """Stylizes content images with fixed style images, reusing the model, compiled steps and style targets.

    ``styles``: one or several paths or pixel arrays, decoded once. Style targets are computed once per
    output size (and per content image only with ``preserve_colors="histogram"``, which recolours the styles).
    """

    def __init__(
        self,
        style: ImageLike | Sequence[ImageLike],
        config: StyleTransferConfig | None = None,
        transfer: StyleTransfer | None = None,
    ):
        self.config = config or StyleTransferConfig()
        self.transfer = transfer or StyleTransfer(self.config)
        self.style_names = [_style_name(s, i) for i, s in enumerate(_style_list(style))]
        styles = zip(_style_list(style), self.style_names)
        self.styles = [as_pixels(s, name, self.config.max_input_pixels) for s, name in styles]
        self.config.blend_weights(len(self.styles))  # refuse a count mismatch before any work
        self._targets: dict[tuple[int, int], StyleTargets] = {}

    def styles_for(self, content: np.ndarray) -> list[np.ndarray]:
        """The style images resized for ``content`` ``[1, H, W, 3]``: longest side = style_scale * max(H, W)."""
        side = max(1, round(self.config.style_scale * max(content.shape[1:3])))
        styles = []
        for name, style in zip(self.style_names, self.styles):
            if min(style.shape[:2]) < MIN_SIDE:
                raise ImageError(f"{name}: smaller than the {MIN_SIDE}x{MIN_SIDE} minimum")
            resized = resize(style, resized_size(style.shape[1], style.shape[0], side))
            if min(resized.shape[:2]) < MIN_SIDE:
                raise ImageError(
                    f"{name}: {resized.shape[1]}x{resized.shape[0]} px at --style_scale={self.config.style_scale}"
                    f" is below the {MIN_SIDE}x{MIN_SIDE} minimum"
                )
            if self.config.preserve_colors == "histogram":
                resized = match_color_statistics(resized, content[0])
            styles.append(resized[None])
        return styles

    def __call__(
        self, content: ImageLike, callback: ProgressCallback | None = None, report_every: int = 10
    ) -> tf.Tensor:
        """Stylize one content image; float32 ``[1, H, W, 3]`` in [0, 1], longest side ``config.max_size``."""
        config = self.config
        name = os.fspath(content) if isinstance(content, (str, os.PathLike)) else "content"
        content_pixels = as_image(content, config.max_size, name, config.max_input_pixels)
        styles = self.styles_for(content_pixels)
        key = content_pixels.shape[1:3]
        if config.preserve_colors == "histogram" or key not in self._targets:
            self._targets[key] = self.transfer.style_targets(styles)
        result = self.transfer.run(
            content_pixels, self._targets[key], callback, report_every, start_image(content_pixels, styles, config)
        )
        if config.preserve_colors == "luminance":
            result = tf.constant(transfer_luminance(result.numpy(), content_pixels))
        return result


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    **overrides,
) -> tf.Tensor:
    """Paint ``content`` in the style of ``style``; returns float32 ``[1, H, W, 3]`` in [0, 1].

    ``content`` is a file path or pixels; ``style`` one or a list of them (blended by
    ``config.style_blend_weights``). The output's longest side is ``config.max_size`` and keeps the content's
    aspect ratio; each style image is resized to ``config.style_scale`` times that longest side.
    ``overrides`` replace fields of ``config`` (e.g. ``steps=100``).
    """
    config = (config or StyleTransferConfig()).replace(**overrides)
    return Stylizer(style, config)(content, callback, report_every)


def stylize_batch(
    contents: Iterable[ImageLike],
    style: ImageLike | Sequence[ImageLike],
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
) -> Iterator[tuple[ImageLike, tf.Tensor | ImageError]]:
    """Stylize each of ``contents`` with the same style(s); yields ``(content, result)`` in order, where a
    content image that cannot be read yields its ``ImageError`` instead and the others go on."""
    stylizer = Stylizer(style, config)
    for content in contents:
        try:
            yield content, stylizer(content, callback, report_every)
        except ImageError as err:
            yield content, err
