"""The regions benchmark's measures: own-painting share, the distance to a region border, the border's energy
against nearby, and a region's feature positions at each layer's grid; and the tileable benchmark's seam."""

import numpy as np
import pytest

from bench import regions, tileable


def test_share_is_one_for_a_regions_own_painting_and_a_half_between():
    assert regions.share(0.0, 3.0) == 1.0
    assert regions.share(2.0, 2.0) == 0.5
    assert regions.share(3.0, 1.0) == pytest.approx(0.25)


def test_distance_to_border_counts_pixels_from_the_other_side_and_not_from_the_image_edge():
    mask = np.zeros((40, 50), bool)
    mask[:, 25:] = True
    distance = regions.distance_to_border(mask)
    assert distance[7, 20:30].tolist() == [5, 4, 3, 2, 1, 1, 2, 3, 4, 5]
    assert distance[:, 0].min() == regions.NEAR[1] + 1  # the image's edges are no border


def test_border_ratio_is_about_one_without_a_seam_and_large_with_one():
    rng = np.random.default_rng(0)
    noise = rng.random((40, 50, 3)).astype(np.float32)
    mask = np.zeros((40, 50), bool)
    mask[:, 25:] = True
    distance = regions.distance_to_border(mask)
    assert regions.border_ratio(noise, distance) == pytest.approx(1.0, abs=0.15)
    stepped = 0.1 * noise
    stepped[:, 25:] += 0.8
    assert regions.border_ratio(stepped, distance) > 10


def test_region_features_are_the_positions_whose_cells_lie_in_the_region():
    maps = {
        "block1_conv1": np.arange(8 * 8 * 2, dtype=np.float32).reshape(8, 8, 2),
        "block2_conv1": np.ones((4, 4, 3), np.float32),
    }
    mask = np.zeros((8, 8), np.float32)
    mask[:, :3] = 1.0  # three pixel columns: 1.5 cells of block2's grid
    picked = regions.region_features(maps, mask)
    assert picked["block1_conv1"].shape == (24, 2) and picked["block2_conv1"].shape == (4, 3)
    np.testing.assert_array_equal(picked["block1_conv1"][:3, 0], [0, 2, 4])


def test_a_2x2_repeat_of_a_wrapping_texture_has_no_seam_and_of_a_ramp_one():
    y, x = np.mgrid[0:32, 0:32] / 32.0
    wrapping = np.stack([np.sin(2 * np.pi * x), np.cos(2 * np.pi * y), np.sin(2 * np.pi * (x + y))], -1) * 0.5 + 0.5
    assert tileable.seam_energy(wrapping.astype(np.float32), 16)["ratio"] == pytest.approx(1.0, abs=0.1)
    ramp = np.repeat(x[..., None], 3, axis=-1).astype(np.float32)
    assert tileable.seam_energy(ramp, 16)["ratio"] > 100


def test_tileable_runs_with_other_settings_get_their_own_files():
    assert tileable.run_name("starry_night", 256, []) == "tileable_starry_night_256"
    named = tileable.run_name("mosaic", 512, ["tv_weight=0.5", "style_layers=block1_conv1,block2_conv1", "seed=1"])
    assert named == "tileable_mosaic_512_tv_weight-0.5_style_layers-block1_conv1-block2_conv1_seed-1"
