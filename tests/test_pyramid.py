"""Coarse-to-fine: the pyramid's sizes and steps, and a run that starts each level from the previous result."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW, gradient_image

import tf_nst
from tf_nst.io.images import fit
from tf_nst.planning import Level, level_steps, plan_levels, pyramid_sizes
from tf_nst.pyramid import upsample_with_detail
from tf_nst.transfer import StyleTransfer


@pytest.mark.parametrize(
    "max_size, scales, sizes",
    [
        (2048, 4, [256, 512, 1024, 2048]),
        (2048, 6, [256, 512, 1024, 2048]),  # nothing far below 256 px
        (2048, 2, [1024, 2048]),
        (1000, 3, [250, 500, 1000]),
        (512, 1, [512]),
        (512, 3, [256, 512]),
        (300, 2, [150, 300]),  # two scales always make two levels
        (64, 3, [32, 64]),
    ],
)
def test_sizes_double_up_to_exactly_max_size(max_size, scales, sizes):
    assert pyramid_sizes(max_size, scales) == sizes


def test_steps_halve_from_level_to_level():
    assert level_steps(300, 4) == [300, 150, 75, 38]
    assert level_steps(300, 1) == [300]
    assert level_steps(2, 3) == [2, 1, 1]


def test_levels_resize_content_and_style_per_level():
    config = tf_nst.StyleTransferConfig(max_size=512, scales=2, steps=10, style_scale=0.5)
    levels = plan_levels((1024, 768), (1000, 800), config)
    assert levels == [Level((256, 192), (128, 102), 10), Level((512, 384), (256, 205), 5)]


def test_levels_too_narrow_for_the_network_are_left_out():
    config = tf_nst.StyleTransferConfig(max_size=64, scales=2)
    assert [level.size for level in plan_levels((96, 48), (64, 64), config)] == [(64, 32)]


class Recorder(StyleTransfer):
    """StyleTransfer that records each level's start image, result and steps."""

    def run(self, content, style, callback=None, report_every=10, init_image=None, steps=None, **counts):
        result = super().run(content, style, callback, report_every, init_image, steps, **counts)
        self.calls.append((init_image, result, steps))
        return result


def test_each_level_starts_from_the_previous_result(shallow_model):
    content = gradient_image(96, 80, 1).astype(np.float32) / 255
    style = gradient_image(64, 64, 2).astype(np.float32) / 255
    config = tf_nst.StyleTransferConfig(max_size=96, scales=2, steps=3, learning_rate=0.1, **SHALLOW)
    recorder = Recorder(config, shallow_model)
    recorder.calls = []
    reports = []
    stylizer = tf_nst.Stylizer(style, config, transfer=recorder)
    assert [(level.size, level.steps) for level in stylizer.plan(content).levels] == [((48, 40), 3), ((96, 80), 2)]
    result = stylizer(content, reports.append, report_every=1)

    assert result.shape == (1, 80, 96, 3)
    (first_start, first_result, first_steps), (second_start, second_result, second_steps) = recorder.calls
    np.testing.assert_array_equal(first_start, fit(content, 48))  # config.init: the content itself
    assert (first_steps, second_steps) == (3, 2)
    expected = upsample_with_detail(first_result.numpy()[0], fit(content, 48)[0], fit(content, 96)[0])
    np.testing.assert_allclose(second_start, expected[None])
    np.testing.assert_array_equal(second_result.numpy(), result.numpy())
    assert [(p.scale, p.scales, p.size, p.step) for p in reports] == [
        (1, 2, (48, 40), 1),
        (1, 2, (48, 40), 2),
        (1, 2, (48, 40), 3),
        (2, 2, (96, 80), 1),
        (2, 2, (96, 80), 2),
    ]
    assert reports[0].losses["content"] == 0.0 < reports[3].losses["content"]  # level 2 did not restart at content


def test_upsampling_adds_back_the_detail_the_coarse_level_missed():
    content = gradient_image(96, 80, 3).astype(np.float32) / 255
    coarse = fit(content, 48)[0]
    np.testing.assert_allclose(upsample_with_detail(coarse, coarse, content), content, atol=1e-6)
    shifted = upsample_with_detail(np.clip(coarse + 0.1, 0, 1), coarse, content)
    assert shifted.shape == content.shape and abs(np.median(shifted - content) - 0.1) < 0.02  # the coarse change


def test_stylize_with_scales_returns_the_full_size():
    content = gradient_image(96, 80, 1)
    style = gradient_image(64, 64, 2)
    reports = []
    result = tf_nst.stylize(content, style, steps=2, max_size=96, scales=2, callback=reports.append, **SHALLOW)
    assert result.shape == (1, 80, 96, 3) and result.dtype == tf.float32
    assert {(p.scale, p.size) for p in reports} == {(1, (48, 40)), (2, (96, 80))}


def test_a_level_whose_style_would_be_below_32_px_is_left_out():
    """A wide painting at a 48 px level would be 48x30: that level goes, the 96 px one stays."""
    config = tf_nst.StyleTransferConfig(max_size=96, scales=2)
    levels = plan_levels((640, 480), (800, 500), config)
    assert [level.size for level in levels] == [(96, 72)]
    assert [level.size for level in plan_levels((640, 480), (600, 600), config)] == [(48, 36), (96, 72)]


def test_every_style_decides_which_levels_fit(shallow_model):
    """At 96 px a 48 px level would shrink the wide style to 48x18: the level is left out for it, although the
    square style, the larger by area, would fit."""
    config = tf_nst.StyleTransferConfig(max_size=96, scales=2, steps=2, **SHALLOW)
    square, wide = gradient_image(100, 100, 1), gradient_image(128, 48, 2)
    assert [level.size for level in plan_levels((96, 64), [(100, 100), (128, 48)], config)] == [(96, 64)]
    assert [level.size for level in tf_nst.plan((96, 64), [(100, 100), (128, 48)], config).levels] == [(96, 64)]
    assert [level.size for level in plan_levels((96, 64), (100, 100), config)] == [(48, 32), (96, 64)]
    stylizer = tf_nst.Stylizer([square, wide], config, transfer=StyleTransfer(config, model=shallow_model))
    assert stylizer(gradient_image(96, 64, 3)).shape == (1, 64, 96, 3)
