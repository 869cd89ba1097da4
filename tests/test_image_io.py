"""Image loading (modes, EXIF, bad files) and atomic saving."""

import os

import numpy as np
import PIL
import pytest
from conftest import gradient_image
from PIL import Image

from tf_nst.errors import ImageError
from tf_nst.io.images import load_image, resize, save_image


def save(tmp_path, image: Image.Image, name: str, **options):
    path = tmp_path / name
    image.save(path, **options)
    return str(path)


@pytest.mark.parametrize(
    "mode",
    [
        *["RGB", "L", "1", "P", "CMYK", "RGBA", "LA", "I;16", "I", "F"],
        pytest.param(
            "YCbCr",
            marks=pytest.mark.xfail(
                int(PIL.__version__.split(".")[0]) < 13, reason="Pillow 12 (apache-beam's cap) cannot read YCbCr TIFF"
            ),
        ),
    ],
)
def test_every_mode_loads_as_rgb_in_unit_range(tmp_path, mode):
    image = Image.fromarray(gradient_image(48, 40)).convert(mode) if mode not in ("I;16", "I", "F") else None
    if image is None:
        gray = np.linspace(0, 1, 48 * 40).reshape(40, 48)
        array = {
            "I;16": (gray * 65535).astype(np.uint16),
            "I": (gray * 65535).astype(np.int32),
            "F": gray.astype(np.float32),
        }[mode]
        image = Image.fromarray(array, mode=mode) if mode != "I;16" else Image.fromarray(array)
    name = "x.tiff" if mode in ("I", "F", "CMYK", "YCbCr") else "x.png"
    pixels = load_image(save(tmp_path, image, name))
    assert pixels.shape == (1, 40, 48, 3) and pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0 and pixels.max() > 0.5


def test_sixteen_bit_keeps_its_full_range(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (40, 1))
    pixels = load_image(save(tmp_path, Image.fromarray(ramp), "deep.png"))
    assert pixels[0, 0, 0, 0] == 0.0 and pixels[0, 0, -1, 0] == pytest.approx(1.0)
    assert pixels[0, 0, 32, 0] == pytest.approx(32 / 63, abs=0.01)


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros([40, 40, 4], np.uint8)
    pixels = load_image(save(tmp_path, Image.fromarray(rgba), "clear.png"))
    np.testing.assert_allclose(pixels, 1.0)


@pytest.mark.parametrize("orientation, turns", [(3, 2), (6, -1), (8, 1)])  # np.rot90 turns, counter-clockwise
def test_exif_orientation_is_honoured(tmp_path, orientation, turns):
    """6 (turn clockwise to display) and 8 (anticlockwise) give the same shape: the pixels tell them apart."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(tmp_path, Image.fromarray(gradient_image(80, 40)), "rotated.jpg", exif=exif)
    with Image.open(path) as stored:
        upright = np.rot90(np.asarray(stored.convert("RGB"), np.float32) / 255, turns)
    np.testing.assert_allclose(load_image(path)[0], upright, atol=1e-6)


def test_resize_to_max_size_keeps_aspect_ratio(tmp_path):
    path = save(tmp_path, Image.fromarray(gradient_image(300, 200)), "big.png")
    assert load_image(path, max_size=90).shape == (1, 60, 90, 3)
    assert load_image(path, max_size=600).shape == (1, 400, 600, 3)


def test_shrinking_antialiases_fine_stripes():
    stripes = np.zeros([64, 64, 3], np.float32)
    stripes[:, ::2] = 1.0
    small = resize(stripes, (16, 16))
    assert np.allclose(small, 0.5, atol=0.05)  # averaged, not sampled onto one phase of the stripes


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"this is not an image", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "cannot decode|not an image"),
    ],
)
def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_jpeg_is_refused(tmp_path):
    path = save(tmp_path, Image.fromarray(gradient_image(128, 128)), "full.jpg")
    data = open(path, "rb").read()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(str(cut))


def test_too_small_image_is_refused(tmp_path):
    path = save(tmp_path, Image.fromarray(gradient_image(20, 20)), "tiny.png")
    with pytest.raises(ImageError, match="is below the 32x32 minimum"):
        load_image(path)
    wide = save(tmp_path, Image.fromarray(gradient_image(400, 40)), "wide.png")
    with pytest.raises(ImageError, match="wide.png"):
        load_image(wide, max_size=200)  # 200x20 after the resize


@pytest.mark.parametrize("extension", [".png", ".jpg", ".jpeg", ".webp"])
def test_save_follows_the_extension(tmp_path, extension):
    path = tmp_path / f"out{extension}"
    save_image(np.full([1, 32, 40, 3], 0.5, np.float32), str(path))
    with Image.open(path) as image:
        assert image.size == (40, 32) and image.format == {".jpg": "JPEG", ".jpeg": "JPEG"}.get(
            extension, extension[1:].upper()
        )
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_save_refuses_unknown_extension_and_missing_directory(tmp_path):
    with pytest.raises(ImageError, match="unsupported output extension"):
        save_image(np.zeros([32, 32, 3]), str(tmp_path / "out.gif"))
    with pytest.raises(ImageError, match="does not exist"):
        save_image(np.zeros([32, 32, 3]), str(tmp_path / "nowhere" / "out.png"))


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")

    def disk_full(fd):  # the temporary file holds the whole image by now; the disk cannot keep it
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ImageError, match="No space left"):
        save_image(np.zeros([32, 32, 3]), str(path))
    assert path.read_bytes() == b"precious" and os.listdir(tmp_path) == ["out.png"]


def test_save_refuses_a_non_image_shape(tmp_path):
    with pytest.raises(ImageError, match="shape"):
        save_image(np.zeros([32, 32, 3, 2]), str(tmp_path / "out.png"))
    assert list(tmp_path.iterdir()) == []
