"""The image as a Laplacian pyramid: exact round trip, coarse-first steps, and runs (plain, tiled, command)."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import QUICK_RUN, gradient_image, run_command
from PIL import Image

from tf_nst.config import StyleTransferConfig
from tf_nst.parameterization import compose, decompose, laplacian_sizes, linear_taps, upsample
from tf_nst.transfer import StyleTransfer


def test_levels_halve_until_the_longer_side_is_at_most_the_coarsest():
    assert laplacian_sizes(384, 512) == [(384, 512), (192, 256), (96, 128), (48, 64)]
    assert laplacian_sizes(75, 101, 16) == [(75, 101), (38, 51), (19, 26), (10, 13)]
    assert laplacian_sizes(48, 64) == [(48, 64)]


@pytest.mark.parametrize("height, width, wrap", [(75, 101, False), (64, 64, True), (33, 130, False)])
def test_compose_inverts_decompose(height, width, wrap):
    sizes = laplacian_sizes(height, width, 16)
    image = tf.random.stateless_uniform((1, height, width, 3), seed=[height, width])
    coefficients = decompose(image, sizes, wrap)
    assert coefficients.shape == (3 * sum(h * w for h, w in sizes),)
    np.testing.assert_allclose(compose(coefficients, sizes, wrap).numpy(), image.numpy(), atol=1e-6)


def test_the_coarsest_coefficients_move_whole_blocks_and_the_finest_single_pixels():
    sizes = laplacian_sizes(64, 64, 16)  # 64, 32, 16
    zero = tf.zeros(3 * sum(h * w for h, w in sizes))
    coarsest = tf.tensor_scatter_nd_update(zero, [[zero.shape[0] - 3]], [1.0])  # the last level's last red value
    finest = tf.tensor_scatter_nd_update(zero, [[0]], [1.0])  # the first level's first red value
    moved_by_coarsest = compose(coarsest, sizes)[0, ..., 0].numpy()
    moved_by_finest = compose(finest, sizes)[0, ..., 0].numpy()
    assert np.count_nonzero(moved_by_finest) == 1
    assert np.count_nonzero(moved_by_coarsest > 0.1) >= 16  # at least a 4x4 block of the 64 px image
    assert moved_by_coarsest[-1, -1] == pytest.approx(1.0)


def low_frequency_share(change: np.ndarray) -> float:
    """The share of ``change``'s energy ([1, H, W, 3]) left after an 8x8 box average."""
    image = tf.constant(change, tf.float32)
    smooth = tf.image.resize(tf.nn.avg_pool2d(image, 8, 8, "VALID"), image.shape[1:3], "nearest")
    return float(tf.reduce_sum(smooth**2) / tf.reduce_sum(image**2))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_pyramid_run_lowers_the_loss_and_changes_coarser_than_pixels(random_model, optimizer):
    content = tf.constant(gradient_image(96, 64, 3)[None] / 255.0, tf.float32)
    style = tf.constant(gradient_image(64, 64, 4)[None, ::-1] / 255.0, tf.float32)
    shares = {}
    for parameterization in ("pixels", "pyramid"):
        config = StyleTransferConfig(
            precision="float32", steps=4, optimizer=optimizer, parameterization=parameterization
        )
        progress = []
        result = StyleTransfer(config, model=random_model).run(content, style, progress.append, 1)
        totals = [p.losses["total"] for p in progress]
        assert totals[-1] < totals[0]
        assert 0.0 <= float(tf.reduce_min(result)) and float(tf.reduce_max(result)) <= 1.0
        shares[parameterization] = low_frequency_share((result - content).numpy())
    assert shares["pyramid"] > 1.5 * shares["pixels"], shares


def test_the_linear_taps_are_tensorflows_and_wrap_as_the_middle_of_the_repeat():
    image = tf.random.stateless_uniform((1, 10, 13, 3), seed=[1, 2])
    for size in ((20, 26), (19, 25), (37, 13)):
        rows, columns = (linear_taps(int(image.shape[a]), size[a - 1], wrap=False) for a in (1, 2))
        pixels = image.numpy()[0]
        by_rows = pixels[rows[0]] * (1 - rows[2][:, None, None]) + pixels[rows[1]] * rows[2][:, None, None]
        taps = (
            by_rows[:, columns[0]] * (1 - columns[2][None, :, None])
            + by_rows[:, columns[1]] * columns[2][None, :, None]
        )
        np.testing.assert_allclose(upsample(image, size).numpy()[0], taps, atol=1e-6)
        height, width = size
        repeat = upsample(tf.tile(image, (1, 3, 3, 1)), (3 * height, 3 * width))
        middle = repeat[:, height : 2 * height, width : 2 * width]
        np.testing.assert_allclose(upsample(image, size, wrap=True).numpy(), middle.numpy(), atol=1e-5)


def test_the_command_paints_with_a_pyramid(tmp_path):
    result = run_command("--output=out.png", "--parameterization=pyramid", "--scales=2", *QUICK_RUN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out.png").size == (48, 36)


def test_the_memory_plan_counts_the_coefficients():
    from tf_nst.memory import optimizer_images

    assert optimizer_images("lbfgs", 20) == 48
    assert optimizer_images("lbfgs", 20, "pyramid") == 67  # 48 buffers of 4/3 images, and 3 images more
    assert optimizer_images("adam", 20, "pyramid") == 6


def test_the_neighbour_term_is_left_out_of_levels_below_its_smallest_side(random_model):
    content, style = gradient_image(96, 64, 3)[None] / 255.0, gradient_image(64, 64, 4)[None] / 255.0
    for smallest, used in ((96, True), (97, False)):
        config = StyleTransferConfig(precision="float32", steps=2, neighbor_min_side=smallest)
        reports = []
        transfer = StyleTransfer(config, model=random_model)
        transfer.run(content, style, reports.append, 1)
        assert ("neighbor" in reports[-1].losses) == used
        assert bool(transfer.session(tuple(content.shape)).targets.neighbors) == used  # samples held only if used
