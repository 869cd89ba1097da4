"""Video stylization with temporal consistency (Ruder, Dosovitskiy and Brox, "Artistic style transfer for videos",
short-term consistency), ``tf_nst.stylize_video(frames, style, config, options)``.

The first frame is an ordinary stylization (coarse to fine as ``config`` says). Each later frame starts from the
previous result warped onto it by optical flow (OpenCV's DIS, both directions), with the pixels that flow cannot
explain (disocclusions, motion boundaries: ``tf_nst.flow.reliable``) taken from the content frame, and is
optimized for ``options.frame_steps`` evaluations with the temporal term: ``temporal_weight`` times the masked
mean squared difference to the warped previous result (``tf_nst.temporal``), in the same compiled step as the
other terms. The style targets are computed once; every frame of the clip reuses one compiled step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tf_nst.api import Stylizer
from tf_nst.color import transfer_luminance, transfer_palette
from tf_nst.config import StyleTransferConfig, VideoOptions
from tf_nst.errors import UsageError
from tf_nst.flow import dis_flow, reliable, warp
from tf_nst.io.images import ImageLike, as_pixels, fit, resize
from tf_nst.precision import resolve_precision
from tf_nst.temporal import TemporalTarget
from tf_nst.transfer import ProgressCallback, StyleTransfer


@dataclass(frozen=True)
class FrameStart:
    """A later frame's start: ``image`` (the warped previous result, filled where ``mask`` is 0) and the
    ``target`` and ``mask`` of its temporal term, float32 ``[H, W, 3]``, ``[H, W, 3]`` and ``[H, W]``."""

    image: np.ndarray
    target: np.ndarray
    mask: np.ndarray


def frame_start(
    previous_content: np.ndarray, previous_result: np.ndarray, content: np.ndarray, fill: str, seed: int = 0
) -> FrameStart:
    """Where frame ``content`` starts, given the frame before it and that frame's result (all float32
    ``[H, W, 3]`` in [0, 1], one size): flow both ways, the reliable pixels, the warped result."""
    backward = dis_flow(content, previous_content)  # content(x) ~ previous(x + backward(x))
    forward = dis_flow(previous_content, content)
    mask = reliable(backward, forward)
    warped = warp(previous_result, backward)
    if fill == "noise":
        filler = np.random.default_rng(seed).uniform(0, 1, content.shape).astype(np.float32)
    else:
        filler = content
    image = mask[..., None] * warped + (1 - mask[..., None]) * filler
    return FrameStart(image.astype(np.float32), warped, mask)


NOT_TILEABLE = "--tileable: not for a video (its frames follow a moving picture, not a repeating texture)"


def stylize_video(
    frames: Iterable[ImageLike],
    style: ImageLike | list[ImageLike],
    config: StyleTransferConfig | None = None,
    options: VideoOptions | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    model: keras.Model | None = None,
    resume_from: tuple[ImageLike, ImageLike] | None = None,
    on_frame_start: Callable[[int], None] | None = None,
) -> Iterator[tf.Tensor]:
    """Stylize a clip frame by frame; yields each result, float32 ``[1, H, W, 3]`` in [0, 1], as it is made.

    ``frames``: any iterable of paths or pixels (``[H, W, 3]``, uint8 or float in [0, 1]), read one at a time,
    so a long clip is never all in memory. Every result has the first frame's size at ``config.max_size``
    (later frames are resized to it). ``style``, ``config`` and ``callback`` as for ``tf_nst.stylize``;
    ``options`` the temporal settings. ``model``: a feature model to use instead of building one.
    ``resume_from``: (the content frame just before ``frames``, its stylized result) to continue a clip with
    the temporal term from where it stopped. ``on_frame_start(i)`` is called before frame ``i`` (0-based).
    """
    config = config or StyleTransferConfig()
    if config.tileable:
        raise UsageError(NOT_TILEABLE)
    options = options or VideoOptions()
    config = config.replace(precision=resolve_precision(config.precision).precision)
    transfer = StyleTransfer(config, model, temporal=True)
    stylizer = Stylizer(style, config, transfer)
    size = previous_content = previous_result = None
    if resume_from is not None:
        previous_content = fit(as_pixels(resume_from[0], "resumed frame"), config.max_size)[0]
        size = (previous_content.shape[1], previous_content.shape[0])
        previous_result = resize(as_pixels(resume_from[1], "resumed result"), size)
    for index, frame in enumerate(frames):
        if on_frame_start is not None:
            on_frame_start(index)
        pixels = as_pixels(frame, f"frame {index + 1}", config.max_input_pixels)
        if size is None:
            result = stylizer(pixels, callback, report_every)
            content = fit(pixels, config.max_size)[0]
            size = (content.shape[1], content.shape[0])
            raw = result
        else:
            content = resize(pixels, size)
            start = frame_start(previous_content, previous_result, content, options.fill, config.seed + index)
            styles, targets = stylizer.styles_and_targets(content[None])
            temporal = TemporalTarget(start.target[None], start.mask[None, ..., None], options.temporal_weight)

            def report(progress):
                callback(dataclasses.replace(progress, scale=1, scales=1))

            raw = transfer.run(
                content[None],
                targets,
                report if callback else None,
                report_every,
                start.image[None],
                options.frame_steps,
                temporal=temporal,
            )
            result = raw
            if config.preserve_colors == "luminance":
                result = tf.constant(transfer_luminance(raw.numpy(), content[None]))
            elif config.preserve_colors == "palette":
                weights = config.blend_weights(len(styles))
                result = tf.constant(transfer_palette(raw.numpy(), content[None], styles, weights))
        previous_content, previous_result = content, np.asarray(raw)[0]
        yield result
