"""Colour maths: OkLab and the painting's palette (``tf_nst.color``), exact values."""

import numpy as np
import pytest

from tf_nst.color import oklab_to_rgb, rgb_to_oklab, transfer_palette


def test_oklab_of_white_and_the_primaries_are_the_published_values():
    lab = rgb_to_oklab(np.eye(3).tolist() + [[1.0, 1.0, 1.0]])
    expected = [
        [0.627955, 0.224863, 0.125846],  # sRGB red, Ottosson (2020)
        [0.866440, -0.233888, 0.179498],  # green
        [0.452014, -0.032457, -0.311528],  # blue
        [1.0, 0.0, 0.0],  # white: lightness 1, no chroma
    ]
    np.testing.assert_allclose(lab, expected, atol=2e-6)


def test_oklab_round_trip_is_the_identity():
    rgb = np.random.default_rng(0).uniform(size=[16, 16, 3])
    np.testing.assert_allclose(oklab_to_rgb(rgb_to_oklab(rgb)), rgb, atol=1e-6)


def test_palette_keeps_the_results_lightness_and_takes_the_paintings_chroma_statistics():
    rng = np.random.default_rng(1)
    result = rng.uniform(0.35, 0.65, [24, 24, 3])
    content = np.clip(rng.normal([0.6, 0.4, 0.3], 0.03, [24, 24, 3]), 0, 1)  # orange-brown, mildly varied
    painting = np.clip(rng.normal([0.3, 0.4, 0.7], 0.05, [40, 40, 3]), 0, 1)  # blues
    out = rgb_to_oklab(transfer_palette(result, content, [painting]))
    chroma, target = out[..., 1:].reshape(-1, 2), rgb_to_oklab(painting)[..., 1:].reshape(-1, 2)
    np.testing.assert_allclose(out[..., 0], rgb_to_oklab(result)[..., 0], atol=0.02)  # lightness kept (gamut)
    np.testing.assert_allclose(chroma.mean(0), target.mean(0), atol=0.01)
    np.testing.assert_allclose(np.cov(chroma, rowvar=False), np.cov(target, rowvar=False), atol=2e-4)
    # the photo's layout of hues stays: where the content is redder, the result is redder
    redder = rgb_to_oklab(content)[..., 1] > np.median(rgb_to_oklab(content)[..., 1])
    assert out[..., 1][redder].mean() > out[..., 1][~redder].mean()


def test_palette_of_blended_paintings_is_their_mixtures():
    rng = np.random.default_rng(2)
    result = rng.uniform(0.4, 0.6, [16, 16, 3])
    content = np.clip(rng.normal(0.5, 0.05, [16, 16, 3]), 0, 1)
    red, blue = np.full([8, 8, 3], [0.8, 0.3, 0.3]), np.full([8, 8, 3], [0.3, 0.3, 0.8])
    only_red = transfer_palette(result, content, [red, blue], (1.0, 0.0))
    np.testing.assert_allclose(only_red, transfer_palette(result, content, [red]), atol=1e-6)
    half = rgb_to_oklab(transfer_palette(result, content, [red, blue]))[..., 1:].mean((0, 1))
    mixture = (rgb_to_oklab(red[0, 0]) + rgb_to_oklab(blue[0, 0]))[1:] / 2
    assert half == pytest.approx(mixture, abs=0.03)
