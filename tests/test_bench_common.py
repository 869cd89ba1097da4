"""What the benchmarks share: config fields from ``--set``, the shared images, contact sheets, atomic writes."""

import os

import numpy as np
import pytest

from bench import common


def test_set_values_take_the_field_types():
    assert common.config_overrides(
        ["style_weight=10", "style_layers=block1_conv1,block2_conv1", "optimizer=lbfgs"]
    ) == {
        "style_weight": 10.0,
        "style_layers": ("block1_conv1", "block2_conv1"),
        "optimizer": "lbfgs",
    }
    assert common.config_overrides(["style_layer_weights=1,0.5", "memory_limit_mb=none", "scales=2"]) == {
        "style_layer_weights": (1.0, 0.5),
        "memory_limit_mb": None,
        "scales": 2,
    }
    for bad in ("nonsense=1", "style_weight", "scales=two", "deterministic=maybe"):
        with pytest.raises(ValueError, match="--set"):
            common.config_overrides([bad])
    with pytest.raises(ValueError, match="by a flag of its own"):
        common.config_overrides(["steps=5"], reserved=("steps",))


def test_shared_images_are_found_by_stem_or_missing(tmp_path):
    (tmp_path / "photo.jpg").touch()
    (tmp_path / "painting.png").touch()
    assert common.shared_images("photo", "painting", folder=tmp_path) == [
        tmp_path / "photo.jpg",
        tmp_path / "painting.png",
    ]
    assert common.shared_images("photo", "absent", folder=tmp_path) is None


@pytest.mark.skipif("TF_NST_SHARED_IMAGES" in os.environ, reason="the environment names the shared images")
def test_the_shared_images_are_beside_the_checkout():
    assert common.SHARED_IMAGES == common.REPO.parent / "shared" / "images"


def test_contact_sheet_places_each_tile_at_its_height_with_its_caption():
    red = np.zeros((20, 40, 3), np.float32)
    red[..., 0] = 1
    blue = np.zeros((10, 10, 3), np.uint8)
    blue[..., 2] = 255
    sheet = common.contact_sheet([[(red, ["a", "b"]), (blue, [])], [(blue, ["c"])]], 30, "title", gap=4, margin=2)
    # width: 60 + 4 + 30 and the margins; height: the title, two rows of 30 px with 2 and 1 caption lines
    assert sheet.size == (2 + 60 + 4 + 30 + 2, 2 + common.LINE + 4 + 30 + 2 * common.LINE + 4 + 30 + common.LINE + 2)
    top = 2 + common.LINE + 4
    assert sheet.getpixel((2 + 30, top + 15)) == (255, 0, 0)
    assert sheet.getpixel((2 + 60 + 4 + 15, top + 15)) == (0, 0, 255)
    assert sheet.getpixel((2 + 60 + 1, top + 15)) == (255, 255, 255)  # the gap
    plain = common.contact_sheet([[(red, []), (blue, [])]], 30)
    assert plain.size == (60 + 8 + 30, 30)  # no title, captions or margin: the images and the gaps only


def test_atomic_writes_leave_only_the_file(tmp_path):
    common.write_json(tmp_path / "new" / "a.json", {"x": np.float32(0.5)})
    common.save_png(np.full((4, 6, 3), 0.5, np.float32), tmp_path / "new" / "b.png")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["a.json", "b.png"]
    assert (tmp_path / "new" / "a.json").read_text() == '{\n "x": 0.5\n}'
