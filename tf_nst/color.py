"""Colour preservation (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016).

Pure functions of float32 images ``[..., H, W, 3]`` with RGB in [0, 1].
- ``transfer_luminance``: after optimizing, keep the result's luminance (Y of YIQ) and put back the
  content's chroma (I, Q).
- ``match_color_statistics``: before optimizing, give the style image the content's colour mean and
  covariance (a linear map of RGB), so the style's textures come with the content's palette.
"""

from __future__ import annotations

import numpy as np

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 luma of RGB: Y of YIQ
RGB_TO_YIQ = np.array([LUMA_WEIGHTS, [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], np.float32)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ).astype(np.float32)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to YIQ (Y in [0, 1], I in about [-0.6, 0.6], Q in about [-0.52, 0.52])."""
    return np.asarray(image, np.float32) @ RGB_TO_YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ to RGB, not clipped."""
    return np.asarray(image, np.float32) @ YIQ_TO_RGB.T


def transfer_luminance(result: np.ndarray, content: np.ndarray) -> np.ndarray:
    """``result``'s Y with ``content``'s I and Q (same shape), clipped to [0, 1]."""
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(result)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0)


def _matrix_sqrt(covariance: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-8)
    return (vectors * (values ** (-0.5 if inverse else 0.5))) @ vectors.T


def match_color_statistics(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``source`` ``[..., H, W, 3]`` with its RGB mean and covariance mapped onto ``reference``'s, clipped.

    Uses the symmetric (eigenvalue) square roots: x' = C_r^{1/2} C_s^{-1/2} (x - mu_s) + mu_r.
    """
    src = np.asarray(source, np.float64).reshape(-1, 3)
    ref = np.asarray(reference, np.float64).reshape(-1, 3)
    mu_s, mu_r = src.mean(0), ref.mean(0)
    cov_s = np.cov(src, rowvar=False) + 1e-6 * np.eye(3)
    cov_r = np.cov(ref, rowvar=False) + 1e-6 * np.eye(3)
    transform = _matrix_sqrt(cov_r) @ _matrix_sqrt(cov_s, inverse=True)
    matched = (src - mu_s) @ transform.T + mu_r
    return np.clip(matched, 0.0, 1.0).reshape(np.shape(source)).astype(np.float32)
