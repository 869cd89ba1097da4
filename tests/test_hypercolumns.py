"""The hypercolumn target (--hypercolumn_weight): its maths, the painting's hypercolumns a blend samples, and
the term through a run and the command."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import one_line_error, run_command, tiny_pair

import tf_nst
from tf_nst import hypercolumns
from tf_nst.config import HYPERCOLUMN_LAYERS
from tf_nst.objective import sample_rows, style_targets
from tf_nst.transfer import StyleTransfer

TINY = tf_nst.StyleTransferConfig(precision="float32", scales=1, max_size=48, hypercolumn_weight=10.0)


def test_a_hypercolumn_is_each_layer_divided_by_its_channels_on_a_quarter_grid():
    features = {"a": tf.fill([1, 8, 12, 2], 4.0), "b": tf.fill([1, 4, 6, 4], 8.0), "c": tf.fill([1, 1, 1, 8], 16.0)}
    assert hypercolumns.grid_of(8, 12) == (2, 3)
    columns = hypercolumns.hypercolumns(features, ["a", "b", "c"], hypercolumns.grid_of(8, 12))
    assert columns.shape == (1, 2, 3, 14)
    np.testing.assert_allclose(columns.numpy(), 2.0, rtol=1e-6)


def test_each_query_is_replaced_by_the_nearest_key_as_the_key_is():
    keys = tf.constant([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]) + 10.0  # centred: the four directions
    queries = tf.constant([[3.0, 0.2], [0.1, -1.0], [-2.0, 0.5], [-1.1, 0.3]]) + 5.0
    # less the queries' mean (-0.025, 0.0): nearest of right, down, left, left
    picked = hypercolumns.replace_by_nearest(queries, keys).numpy()
    np.testing.assert_allclose(picked, [[11, 10], [10, 9], [9, 10], [9, 10]])


def test_the_distance_is_zero_at_the_target_and_pulls_towards_it():
    rng = np.random.default_rng(0)
    features = {"a": tf.constant(rng.random([2, 8, 8, 3]), tf.float32)}
    grid = (2, 2)
    own = tf.math.l2_normalize(hypercolumns.hypercolumns(features, ["a"], grid)[:1], axis=-1)
    distance = hypercolumns.distance(features, ["a"], own).numpy()
    assert distance[0] == pytest.approx(0.0, abs=1e-6) and distance[1] > 1e-3
    other = tf.math.l2_normalize(tf.constant(rng.random([1, 2, 2, 3]), tf.float32), axis=-1)
    variable = tf.Variable(features["a"])
    with tf.GradientTape() as tape:
        before = hypercolumns.distance({"a": variable}, ["a"], other)
    variable.assign_sub(0.5 * tape.gradient(before, variable))
    after = hypercolumns.distance({"a": variable}, ["a"], other)
    assert np.all(after.numpy() < before.numpy())


def test_weighted_samples_come_only_from_where_the_weights_are():
    columns = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
    weights = np.zeros([1, 4, 4, 1])
    weights[0, :2, :2] = 1.0  # values 0, 1, 4, 5
    picked = sample_rows(columns, 8, np.random.default_rng(0), weights).numpy().ravel()
    assert set(picked) <= {0.0, 1.0, 4.0, 5.0}
    everything = sample_rows(columns, 16, np.random.default_rng(0)).numpy().ravel()  # as many as there are: all
    assert sorted(everything) == list(range(16))


def test_each_style_gives_its_blend_share_of_the_painting_hypercolumns(random_model):
    content, style = tiny_pair()
    big = tf.image.resize(style, [160, 160])  # a 40x40 grid: 1600 hypercolumns
    targets = style_targets(random_model, [big, big[:, :, ::-1]], [0.75, 0.25], TINY)
    depth = sum(int(random_model.output[n].shape[-1]) for n in HYPERCOLUMN_LAYERS)
    # of 4096 about 3072 and 1024: the first painting gives all of its 1600, the second about 1024
    count, width = targets.hypercolumns.shape
    assert width == depth and 1600 + 900 < count < 1600 + 1150
    assert style_targets(random_model, [style], [1.0], TINY.replace(hypercolumn_weight=0.0)).hypercolumns is None


def test_a_run_lowers_the_term_and_reports_it(random_model):
    content, style = tiny_pair()
    reports = []
    StyleTransfer(TINY.replace(steps=6), model=random_model).run(content, style, reports.append, report_every=1)
    values = [report.losses["hypercolumn"] for report in reports]
    assert values[-1] < values[0]


def test_the_command_runs_with_the_term_and_refuses_it_without_its_layers(image_files, tmp_path):
    content, style = image_files
    out = tmp_path / "out.png"
    result = run_command(
        f"--content={content}", f"--style={style}", f"--output={out}", "--max_size=64", "--steps=3",
        "--hypercolumn_weight=10", "--content_layers=block3_conv1", f"--style_layers={','.join(HYPERCOLUMN_LAYERS)}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "hypercolumn=" in result.stderr and out.exists()
    refused = run_command(
        f"--content={content}", f"--style={style}", f"--output={tmp_path / 'no.png'}", "--hypercolumn_weight=10",
        "--style_layers=block1_conv1,block2_conv1",
    )  # fmt: skip
    one_line_error(refused, 2, "--hypercolumn_weight", "block4_conv1")


def test_the_memory_plan_counts_the_term_on_whole_levels_only():
    from tf_nst.memory import HYPERCOLUMN_COPIES, peak_bytes

    layers = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
    plain = peak_bytes((512, 384), (512, 512), layers, "float32")
    more = peak_bytes((512, 384), (512, 512), layers, "float32", hypercolumn_depth=960)
    grids = HYPERCOLUMN_COPIES * 128 * 96 * 960 * 4
    assert grids <= more - plain <= 1.2 * grids  # times the estimate's overhead factor
    tiled = peak_bytes((512, 384), (512, 512), layers, "float32", tile=256)
    assert peak_bytes((512, 384), (512, 512), layers, "float32", tile=256, hypercolumn_depth=960) == tiled
