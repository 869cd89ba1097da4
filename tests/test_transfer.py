"""The optimisation loop, ``StyleTransfer``, on tiny images with random weights; ``tf_nst.stylize`` with the embedded
weights."""

import numpy as np
import tensorflow as tf
from conftest import SHALLOW, tiny_pair

import tf_nst
from tf_nst.transfer import StyleTransfer

TINY = tf_nst.StyleTransferConfig(max_size=48, steps=3, weights="embedded")


def test_step_traces_once_per_shape_and_lowers_the_loss(random_model):
    content, style = tiny_pair()
    transfer = StyleTransfer(TINY.replace(steps=5, learning_rate=0.01), model=random_model)
    reports = []
    transfer.run(content, style, reports.append, report_every=1)
    transfer.run(content[:, ::-1], transfer.style_targets(style), reports.append, report_every=1)
    assert transfer.session(tuple(content.shape)).step.experimental_get_tracing_count() == 1
    assert reports[4].losses["total"] < reports[0].losses["total"]
    assert reports[5].step == 1  # the second image starts afresh


def test_only_pixels_change_and_stay_in_unit_range(random_model):
    content, style = tiny_pair()
    before = [w.numpy().copy() for w in random_model.weights]
    result = StyleTransfer(TINY.replace(learning_rate=0.5), model=random_model).run(content, style)
    assert result.shape == content.shape
    assert 0.0 <= float(tf.reduce_min(result)) and float(tf.reduce_max(result)) <= 1.0
    assert not np.allclose(result.numpy(), content.numpy())
    for old, new in zip(before, random_model.weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_callback_reports_progress(shallow_model):
    content, style = tiny_pair()
    reports = []
    transfer = StyleTransfer(TINY.replace(steps=5, **SHALLOW), model=shallow_model)
    transfer.run(content, style, reports.append, report_every=2)
    assert [p.step for p in reports] == [2, 4, 5]
    assert set(reports[-1].losses) == {"content", "style", "tv", "total"}  # below neighbor_min_side
    assert reports[-1].steps_per_second > 0 and reports[-1].elapsed > 0


def test_content_init_starts_with_zero_content_loss_and_noise_init_does_not(shallow_model):
    content, style = tiny_pair()
    first = {}
    for init in ("content", "noise"):
        reports = []
        transfer = StyleTransfer(TINY.replace(steps=1, init=init, **SHALLOW), model=shallow_model)
        transfer.run(content, style, reports.append)
        first[init] = reports[0].losses["content"]
    assert first["content"] == 0.0 and first["noise"] > 0.1


def test_style_layer_weights_select_layers(random_model):
    content, style = tiny_pair()
    only_first = TINY.replace(steps=1, style_layer_weights=(1, 0, 0, 0, 0))
    targets = StyleTransfer(only_first, model=random_model).style_targets(style)
    assert targets.weights["block2_conv1"] == 0.0 and targets.weights["block1_conv1"] > 0


def test_stylize_from_arrays_with_embedded_weights():
    content, style = tiny_pair()
    result = tf_nst.stylize((content.numpy()[0] * 255).astype(np.uint8), style, steps=2, max_size=64)
    assert result.shape == (1, 53, 64, 3) and result.dtype == tf.float32


def test_embedded_weights_stylize_towards_the_style():
    """A real (small) run at the defaults: the style distance (2-Wasserstein, which falls more slowly than a
    Gram difference) ends clearly below where it starts."""
    content, style = tiny_pair()
    reports = []
    tf_nst.stylize(content, style, steps=40, max_size=64, learning_rate=0.05, callback=reports.append)
    assert reports[-1].losses["style"] < 0.8 * reports[0].losses["style"]
