"""Colour preservation (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016).

Pure functions of float32 images ``[..., H, W, 3]`` with RGB in [0, 1].
- ``transfer_luminance``: after optimizing, keep the result's luminance (Y of YIQ) and put back the
  content's chroma (I, Q).
- ``match_color_statistics``: before optimizing, give the style image the content's colour mean and
  covariance (a linear map of RGB), so the style's textures come with the content's palette.
- ``transfer_palette``: the other way round, after optimizing: keep the result's lightness (L of OkLab) and
  give it the content's chroma (a, b) mapped onto the painting's chroma mean and covariance, so the photo's
  layout of hues comes in the painting's palette (after Kolkin et al., "Neural Neighbor Style Transfer", 2022).
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


# OkLab (Ottosson, "A perceptual color space for image processing", 2020): linear sRGB -> LMS -> cube root -> Lab
LINEAR_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def rgb_to_oklab(image: np.ndarray) -> np.ndarray:
    """sRGB ``[..., 3]`` in [0, 1] to OkLab (L in [0, 1], a and b in about [-0.4, 0.4]); float64."""
    rgb = np.clip(np.asarray(image, np.float64), 0.0, 1.0)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return np.cbrt(linear @ LINEAR_RGB_TO_LMS.T) @ LMS_TO_OKLAB.T


def oklab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """OkLab ``[..., 3]`` to sRGB, clipped to [0, 1]; float32."""
    lms = (np.asarray(lab, np.float64) @ np.linalg.inv(LMS_TO_OKLAB).T) ** 3
    linear = np.clip(lms @ np.linalg.inv(LINEAR_RGB_TO_LMS).T, 0.0, 1.0)
    rgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def _matrix_sqrt(covariance: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-8)
    return (vectors * (values ** (-0.5 if inverse else 0.5))) @ vectors.T


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (with a small ridge) of ``values`` ``[..., D]``."""
    flat = np.asarray(values, np.float64).reshape(-1, np.shape(values)[-1])
    return flat.mean(0), np.cov(flat, rowvar=False) + 1e-6 * np.eye(flat.shape[1])


def _map_moments(values: np.ndarray, source: tuple, target: tuple) -> np.ndarray:
    """``values`` ``[..., D]`` moved from the ``source`` (mean, covariance) onto the ``target`` one, by the
    symmetric (eigenvalue) square roots: x' = C_t^{1/2} C_s^{-1/2} (x - mu_s) + mu_t."""
    transform = _matrix_sqrt(target[1]) @ _matrix_sqrt(source[1], inverse=True)
    return (np.asarray(values, np.float64) - source[0]) @ transform.T + target[0]


def match_color_statistics(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``source`` ``[..., H, W, 3]`` with its RGB mean and covariance mapped onto ``reference``'s, clipped."""
    matched = _map_moments(source, _moments(source), _moments(reference))
    return np.clip(matched, 0.0, 1.0).astype(np.float32)


def transfer_palette(
    result: np.ndarray, content: np.ndarray, styles: list[np.ndarray], weights: tuple[float, ...] | None = None
) -> np.ndarray:
    """``result``'s OkLab lightness with ``content``'s chroma (a, b; same shape ``[..., H, W, 3]``) mapped onto
    the chroma mean and covariance of ``styles`` (images of any size, blended by ``weights``, which sum to 1;
    default equal): float32 in [0, 1]. The chroma stays within the styles' range."""
    weights = weights or (1.0 / len(styles),) * len(styles)
    chroma = [rgb_to_oklab(style)[..., 1:] for style in styles]
    moments = [_moments(c) for c in chroma]
    mean = sum(w * m for w, (m, _) in zip(weights, moments))
    second = sum(w * (cov + np.outer(m, m)) for w, (m, cov) in zip(weights, moments))
    content_lab = rgb_to_oklab(content)
    lab = rgb_to_oklab(result)
    used = [c.reshape(-1, 2) for c, w in zip(chroma, weights) if w > 0]
    low, high = np.min([c.min(0) for c in used], axis=0), np.max([c.max(0) for c in used], axis=0)
    mapped = _map_moments(content_lab[..., 1:], _moments(content_lab[..., 1:]), (mean, second - np.outer(mean, mean)))
    lab[..., 1:] = np.clip(mapped, low, high)
    return oklab_to_rgb(lab)
