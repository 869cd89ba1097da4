"""Warping by a flow, the forward-backward consistency mask, and OpenCV's DIS flow against known motion."""

import numpy as np
import pytest

from tf_nst.flow import dis_flow, reliable, warp
from tf_nst.io.demo import demo_content

H, W = 64, 96


def ramps() -> np.ndarray:
    """An image whose channels are its own x and y coordinates (and a constant)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def translation(dx: float, dy: float) -> np.ndarray:
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def zoom(scale: float) -> np.ndarray:
    """The flow of a zoom about the centre: x -> c + scale (x - c)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([(scale - 1) * (x - (W - 1) / 2), (scale - 1) * (y - (H - 1) / 2)], axis=-1)


def photo(width: int = 160, height: int = 120) -> np.ndarray:
    return np.asarray(demo_content(width, height), np.float32) / 255


@pytest.mark.parametrize("flow", [translation(3.25, -2.5), zoom(1.06), zoom(0.94)], ids=["shift", "in", "out"])
def test_warp_samples_bilinearly_where_the_flow_points(flow):
    warped = warp(ramps(), flow)
    inside = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(warped[..., 0][inside], (ramps()[..., 0] + flow[..., 0])[inside], atol=1e-4)
    np.testing.assert_allclose(warped[..., 1][inside], (ramps()[..., 1] + flow[..., 1])[inside], atol=1e-4)


def test_warp_of_zero_flow_is_the_image():
    image = photo(W, H)
    np.testing.assert_allclose(warp(image, np.zeros((H, W, 2), np.float32)), image, atol=1e-6)


@pytest.mark.parametrize(
    "true_flow", [translation(3.5, -2.0), zoom(1.04), zoom(0.96)], ids=["translation", "zoom-in", "zoom-out"]
)
def test_dis_flow_of_a_known_motion_is_undone_within_a_pixel(true_flow):
    pytest.importorskip("cv2")
    big = photo(W + 40, H + 40)[20:-20, 20:-20]  # a frame with its surroundings, so the motion has somewhere to go
    moved = warp(big, true_flow)  # moved(x) = big(x + flow(x))
    estimated = dis_flow(moved, big)
    inside = (slice(12, -12), slice(12, -12))
    error = np.linalg.norm(estimated - true_flow, axis=-1)[inside]
    assert np.median(error) < 0.5 and np.percentile(error, 90) < 1.0, (np.median(error), np.percentile(error, 90))
    undone = warp(big, estimated)
    assert np.mean(np.abs(undone - moved)[inside]) < 0.02


def moving_square(step: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact flows of a 16 px square that moves ``step`` px right over a still background, between frame a
    (square at x 20-35) and frame b: (flow b -> a, flow a -> b)."""
    b_to_a, a_to_b = np.zeros((H, W, 2), np.float32), np.zeros((H, W, 2), np.float32)
    b_to_a[24:40, 20 + step : 36 + step, 0] = -step
    a_to_b[24:40, 20:36, 0] = step
    return b_to_a, a_to_b


def test_consistency_mask_marks_the_disoccluded_region():
    b_to_a, a_to_b = moving_square(8)
    mask = reliable(b_to_a, a_to_b)
    assert mask.shape == (H, W) and set(np.unique(mask)) <= {0.0, 1.0}
    assert mask[26:38, 21:27].max() == 0  # uncovered by the square's move: it was the square in frame a
    assert mask[26:38, 31:42].min() == 1  # the square itself, followed consistently
    assert mask[2:20, 50:90].min() == 1  # still background
    assert mask[:, 46:].mean() == 1


def test_motion_boundaries_and_points_leaving_the_frame_are_unreliable():
    flow = translation(0.0, 0.0)
    flow[:, W // 2 :, 0] = 5.0  # half the frame slides right, consistently both ways
    mask = reliable(flow, -flow)
    assert mask[:, W // 2 - 1 : W // 2 + 1].max() == 0  # the motion boundary
    assert mask[:, W - 5 :].max() == 0  # x + 5 is outside the frame
    assert mask[:, 10:30].min() == 1


def test_dis_flow_and_mask_find_an_occlusion_in_real_frames():
    pytest.importorskip("cv2")
    background = photo(W, H)
    square = np.zeros_like(background)
    square[..., 0] = 1.0
    square[::4, :, 1] = 1.0  # texture, so flow can be found inside the square
    a, b = background.copy(), background.copy()
    a[24:40, 20:36], b[24:40, 32:48] = square[24:40, 20:36], square[24:40, 32:48]
    mask = reliable(dis_flow(b, a), dis_flow(a, b))
    assert mask[26:38, 22:30].mean() < 0.5  # uncovered in b
    assert mask[5:20, 60:90].mean() > 0.9


def test_edge_pixels_whose_flow_points_less_than_half_a_pixel_out_stay_reliable():
    flow = translation(0.0, 0.3)  # everything drifts down by 0.3 px: the last row lands inside its own pixel
    assert reliable(flow, -flow)[-1].min() == 1
    flow = translation(0.0, 0.7)  # by 0.7 px: the last row has left the frame
    assert reliable(flow, -flow)[-1].max() == 0
