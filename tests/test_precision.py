"""Precision: which one `auto` picks for given hardware, and that only the VGG computes in reduced precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import gradient_image

import tf_nst
from tf_nst.features import build_feature_model
from tf_nst.layers import CONV_LAYERS
from tf_nst.lbfgs import LBFGS
from tf_nst.objective import compute_targets, loss_terms
from tf_nst.parameterization import PixelImage
from tf_nst.precision import choose_precision, cpu_flags
from tf_nst.transfer import StyleTransfer, make_optimizer, make_step

TINY = tf_nst.StyleTransferConfig(max_size=48, steps=3)
LAYERS = TINY.content_layers + TINY.style_layers


@pytest.mark.parametrize(
    "flags, gpus, expected, reason",
    [
        ({"avx512f", "avx512_bf16"}, [], "bfloat16", "AVX512-BF16"),
        ({"amx_tile", "amx_bf16"}, [], "bfloat16", "AMX-BF16"),
        ({"avx2", "fma", "f16c"}, [], "float32", "neither"),
        (set(), [(8, 0)], "bfloat16", "8.0"),
        (set(), [(9, 0), (7, 0)], "bfloat16", "9.0"),
        ({"avx512_bf16"}, [(7, 5)], "float32", "7.5"),
        (set(), [(0, 0)], "float32", "0.0"),
    ],
)
def test_auto_picks_bfloat16_only_where_the_hardware_runs_it_fast(flags, gpus, expected, reason):
    choice = choose_precision("auto", flags, gpus)
    assert choice.precision == expected and reason in choice.reason
    assert choice.dtype_policy == {"bfloat16": "mixed_bfloat16", "float32": "float32"}[expected]


@pytest.mark.parametrize("requested", ["float32", "bfloat16", "float16"])
def test_an_explicit_precision_is_kept_whatever_the_hardware(requested):
    for flags in (set(), {"avx512_bf16", "amx_bf16"}):
        assert choose_precision(requested, flags, []).precision == requested


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16 amx_tile\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert cpu_flags(str(cpuinfo)) == {"fpu", "sse2", "avx512_bf16", "amx_tile"}
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_bad_precision_is_a_config_error():
    with pytest.raises(tf_nst.ConfigError, match="--precision: 'int8'"):
        tf_nst.StyleTransferConfig(precision="int8")


def test_feature_model_computes_in_bfloat16_with_float32_weights_and_input():
    model = build_feature_model(LAYERS, None, dtype_policy="mixed_bfloat16")
    convs = [layer for layer in model.layers if layer.name in CONV_LAYERS]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.get_layer("vgg_preprocess").compute_dtype == "float32"
    features = model(tf.zeros([1, 32, 32, 3]))
    assert all(value.dtype == tf.bfloat16 for value in features.values())


def pair():
    content = gradient_image(48, 40, 1)[None].astype(np.float32) / 255
    style = gradient_image(40, 40, 2)[None, :, ::-1].astype(np.float32) / 255
    return tf.constant(content), tf.constant(style)


@pytest.fixture(scope="module")
def twin_models():
    """The same random VGG in float32 and in mixed bfloat16."""
    keras.utils.set_random_seed(1)
    full = build_feature_model(LAYERS, None)
    half = build_feature_model(LAYERS, None, dtype_policy="mixed_bfloat16")
    half.set_weights(full.get_weights())
    return full, half


def test_targets_losses_image_and_adam_state_stay_float32(twin_models):
    _, half = twin_models
    content, style = pair()
    targets = compute_targets(half, content, style, TINY)
    statistics = [s for values in targets.statistics.values() for s in values]
    assert all(t.dtype == tf.float32 for t in list(targets.content.values()) + statistics)
    image = tf.Variable(content)
    optimizer = keras.optimizers.Adam(TINY.learning_rate)
    optimizer.build([image])
    terms = make_step(half, PixelImage(image), optimizer, targets, TINY)()
    assert all(value.dtype == tf.float32 for name, value in terms.items() if name != "first_bad_step")
    assert image.dtype == tf.float32
    assert optimizer.variables and all(v.dtype == "float32" for v in optimizer.variables if len(v.shape) == 4)


def test_bfloat16_run_ends_near_the_float32_run(twin_models):
    """Same start, same steps: the bfloat16 result's float32-evaluated loss is close to the float32 result's."""
    full, half = twin_models
    content, style = pair()
    config = TINY.replace(steps=15, learning_rate=0.05)
    results = [StyleTransfer(config, model=model).run(content, style) for model in (full, half)]
    targets = compute_targets(full, content, style, config)
    totals = [float(loss_terms(full(image), image, targets, config)["total"]) for image in results]
    start = float(loss_terms(full(content), content, targets, config)["total"])
    assert totals[0] < 0.8 * start  # the run did something
    assert abs(totals[1] - totals[0]) < 0.15 * totals[0]


@pytest.mark.parametrize("optimizer, kind", [("adam", keras.optimizers.Adam), ("lbfgs", LBFGS)])
def test_float16_scales_the_loss_so_its_small_gradients_do_not_vanish(twin_models, optimizer, kind):
    full, _ = twin_models
    quarter = build_feature_model(LAYERS, None, dtype_policy="mixed_float16")
    quarter.set_weights(full.get_weights())
    config = TINY.replace(steps=6, learning_rate=0.05, optimizer=optimizer)
    assert isinstance(make_optimizer(quarter, config), keras.optimizers.LossScaleOptimizer)
    assert type(make_optimizer(full, config)) is kind
    content, style = pair()
    finals = []
    for model in (full, quarter):
        reports = []
        StyleTransfer(config, model=model).run(content, style, reports.append, 1)
        finals.append(reports[-1].losses["total"])
    assert abs(finals[1] - finals[0]) < 0.1 * finals[0]  # unscaled float16 ends about 35% higher here
