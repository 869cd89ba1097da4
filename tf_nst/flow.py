"""Optical flow between video frames, warping by a flow, and where a flow can be trusted.

A flow is float32 ``[H, W, 2]`` of (dx, dy) in pixels, attached to the pixels of the frame it starts from:
``flow(a, b)`` maps each pixel x of ``a`` to where it went in ``b``, so ``a(x) ~ b(x + flow(x))``, and
``warp(b, flow(a, b))`` is ``b`` moved onto ``a``'s pixels. ``warp`` and ``reliable`` are pure numpy maths;
``dis_flow`` needs OpenCV (the ``[video]`` extra).
"""

from __future__ import annotations

import numpy as np

from tf_nst.color import LUMA_WEIGHTS


def sample_points(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel's flow lands: x + dx and y + dy, float ``[H, W]`` each."""
    height, width = flow.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return x + flow[..., 0], y + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (float ``[H, W, C]``) sampled bilinearly at x + ``flow``(x) for every pixel x: float32
    ``[H, W, C]``. Points outside the image take the nearest edge pixel (``reliable`` marks them)."""
    height, width = image.shape[:2]
    x, y = sample_points(flow)
    x = np.clip(x, 0.0, width - 1.0)
    y = np.clip(y, 0.0, height - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), width - 2 if width > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), height - 2 if height > 1 else 0)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def reliable(flow: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Where ``flow`` (from frame a to b, ``[H, W, 2]``) can be trusted: float32 ``[H, W]``, 1 or 0.

    Ruder et al. (after Sundaram et al.): ``reverse`` is the flow from b back to a. Followed there and back, a
    pixel should come home: with w = flow(x) and w' = reverse(x + w), it is disoccluded if
    |w + w'|^2 > 0.01 (|w|^2 + |w'|^2) + 0.5. It is on a motion boundary if |grad w_x|^2 + |grad w_y|^2 >
    0.01 |w|^2 + 0.002, and lost if x + w is outside the frame (by more than half a pixel). Each of the three
    makes it unreliable.
    """
    height, width = flow.shape[:2]
    back = warp(reverse, flow)
    squared = np.sum(flow**2, axis=-1)
    round_trip = np.sum((flow + back) ** 2, axis=-1)
    occluded = round_trip > 0.01 * (squared + np.sum(back**2, axis=-1)) + 0.5
    gradients = [np.gradient(flow[..., c]) for c in range(2)]
    gradient_squared = sum(g**2 for pair in gradients for g in pair)
    boundary = gradient_squared > 0.01 * squared + 0.002
    x, y = sample_points(flow)
    # a pixel covers half a pixel on each side of its centre: an edge pixel's flow may point a little outward
    outside = (x < -0.5) | (x > width - 0.5) | (y < -0.5) | (y > height - 0.5)
    return (~(occluded | boundary | outside)).astype(np.float32)


def gray_uint8(image: np.ndarray) -> np.ndarray:
    """Float RGB ``[H, W, 3]`` in [0, 1] as uint8 luma ``[H, W]`` (Rec. 601 weights)."""
    luma = image[..., :3] @ LUMA_WEIGHTS
    return (np.clip(luma, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def dis_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """OpenCV's DIS optical flow (medium preset) from frame ``a`` to ``b`` (float RGB ``[H, W, 3]`` in [0, 1]):
    float32 ``[H, W, 2]`` with ``a(x) ~ b(x + flow(x))``."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(gray_uint8(a), gray_uint8(b), None).astype(np.float32)
