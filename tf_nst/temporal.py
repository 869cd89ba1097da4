"""The temporal term of video stylization (Ruder et al., "Artistic style transfer for videos"): keep a frame's
result near the previous result warped onto it, wherever the flow between them is reliable."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tf_nst.losses import masked_squared_difference


@dataclass(frozen=True)
class TemporalTarget:
    """What a frame's result should stay near: ``image`` (float32 ``[1, H, W, 3]`` in [0, 1], the previous
    result warped onto this frame) where ``mask`` (``[1, H, W, 1]``, 1 reliable, 0 not) is set, by ``weight``."""

    image: tf.Tensor | np.ndarray
    mask: tf.Tensor | np.ndarray
    weight: float


def temporal_loss(image: tf.Tensor, target: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """How far ``image`` moved from the warped previous result ``target`` where ``mask`` is set, ``[B]``
    (``tf_nst.losses.masked_squared_difference``)."""
    return masked_squared_difference(image, target, mask)
