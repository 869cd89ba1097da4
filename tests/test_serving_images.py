"""The serving decoder, ``tf_nst.serving.images.decode_and_resize``: file bytes to the pixels ``load_image`` gives,
and every bad file refused by name and limit before a pixel is decoded."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import gradient_image
from image_bytes import GIF_FRAME, GIF_HEADER, encode, exif_jpeg, jpeg_bomb, png_bomb, with_size
from PIL import Image

from tf_nst.io.images import load_image
from tf_nst.serving.images import GIF_STEP_LIMIT, decode_and_resize


@tf.function(input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int32)], autograph=False)
def decode(image_bytes, max_size):
    """``decode_and_resize`` in one graph, as the ``encoded`` signature runs it (its checks hold back the decode by
    control dependencies, which only a graph can drop), traced once for the module; it names the file ``upload``."""
    return decode_and_resize(image_bytes, max_size, name="upload")


def assert_same_pixels(actual, expected) -> None:
    """float32 pixels in [0, 1], equal to float32 round-off."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("width, height, max_size", [(80, 50, 64), (40, 64, 56), (33, 45, 90)])
def test_decode_and_resize_matches_load_image(tmp_path, width, height, max_size):
    """Same size and, for a PNG, the same pixels as tf_nst.load_image (PIL LANCZOS), down- or upscaling."""
    path = tmp_path / "image.png"
    Image.fromarray(gradient_image(width, height)).save(path)
    pixels = decode_and_resize(tf.constant(path.read_bytes()), tf.constant(max_size)).numpy()
    assert_same_pixels(pixels, load_image(str(path), max_size)[0])


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_decode_and_resize_makes_grayscale_and_rgba_files_rgb(mode):
    rgb = gradient_image(40, 40)
    pixels = decode_and_resize(tf.constant(encode(rgb, "PNG", mode)), tf.constant(40)).numpy()
    expected = np.asarray(Image.fromarray(rgb).convert(mode).convert("RGB"), np.float32) / 255
    assert pixels.shape == (40, 40, 3)
    assert_same_pixels(pixels, expected)


@pytest.mark.parametrize(
    "orientation, endian", [(3, "<"), (6, "<"), (8, "<"), (2, "<"), (4, "<"), (5, "<"), (7, "<"), (6, ">"), (8, ">")]
)
def test_decode_and_resize_turns_a_jpeg_upright_as_load_image_does(tmp_path, orientation, endian):
    path = tmp_path / "photo.jpg"
    path.write_bytes(exif_jpeg(gradient_image(80, 50, 3), orientation, endian))
    expected = load_image(str(path), 64)[0]
    assert expected.shape == ((64, 40, 3) if orientation >= 5 else (40, 64, 3))
    assert_same_pixels(decode_and_resize(tf.constant(path.read_bytes()), tf.constant(64)), expected)


def test_decode_and_resize_ignores_an_unreadable_exif_block():
    data = exif_jpeg(gradient_image(80, 50, 3), 6)
    ifd_offset = data.index(b"Exif\0\0") + 6 + 4
    broken = with_size(data, ifd_offset, "<I", 0xFFFFFFF0)  # IFD0 far beyond the file
    assert decode_and_resize(tf.constant(broken), tf.constant(64)).shape == (40, 64, 3)


def test_decode_and_resize_gives_a_gif_first_frame_as_pil_does(tmp_path):
    frames = [Image.fromarray(gradient_image(60, 40, seed)) for seed in range(3)]
    frames[0].save(tmp_path / "animation.gif", save_all=True, append_images=frames[1:])
    pixels = decode_and_resize(tf.constant((tmp_path / "animation.gif").read_bytes()), tf.constant(60))
    assert_same_pixels(pixels, load_image(str(tmp_path / "animation.gif"), 60)[0])


def test_decode_and_resize_sizes_a_gif_by_its_first_frame_not_its_screen():
    """TensorFlow's decoder ignores the logical screen; so does the check. Extensions before the frame (a
    comment, an XMP packet written raw behind its magic trailer) are skipped."""
    header = with_size(GIF_HEADER, 6, "<HH", 20000, 20000)
    comment = b"\x21\xfe\xff" + b"c" * 255 + b"\x05hello\x00"
    xmp = b"\x21\xff\x0bXMP DataXMP" + b"<x:xmpmeta>...</x:xmpmeta>" + bytes(range(255, -1, -1)) + b"\x00"
    pixels = decode_and_resize(tf.constant(header + comment + xmp + GIF_FRAME + b";"), tf.constant(48))
    assert pixels.shape == (40, 48, 3)


BAD_FILES = {
    "text": (b"not an image", "not a JPEG, PNG, GIF or BMP file"),
    "empty": (b"", "empty \\(0 bytes\\)"),
    "webp": (encode(gradient_image(48, 48), "WEBP"), "not a JPEG, PNG, GIF or BMP file"),
    "tiff": (encode(gradient_image(48, 48), "TIFF"), "not a JPEG, PNG, GIF or BMP file"),
    "too small": (
        encode(gradient_image(200, 40), "PNG"),
        "200x40 px resized to a longest side of 64 is below",
    ),
    "png bomb": (png_bomb(), "PNG of 20000x20000 px is over the limit of 50000000 pixels \\(max_pixels\\)"),
    "jpeg bomb": (jpeg_bomb(), "JPEG of 20000x20000 px is over the limit of 50000000 pixels"),
    "bmp bomb": (with_size(encode(gradient_image(48, 40), "BMP"), 18, "<ii", 20000, -20000), "BMP of 20000x20000 px"),
    "gif frame bomb": (GIF_HEADER + with_size(GIF_FRAME, 5, "<HH", 20000, 20000) + b";", "GIF of 20000x20000 px"),
    "png cut in its header": (encode(gradient_image(48, 48), "PNG")[:20], "PNG file is truncated \\(20 bytes\\)"),
    "gif cut in its frame": (GIF_HEADER + GIF_FRAME[: len(GIF_FRAME) // 2], "GIF file is truncated in its first frame"),
    "gif without frame": (GIF_HEADER + b";", "GIF file has no frame"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_decode_and_resize_refuses_a_bad_file_naming_it_and_the_limit(case):
    data, fragment = BAD_FILES[case]
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"upload: {fragment}"):
        decode(tf.constant(data), tf.constant(64))


@pytest.mark.parametrize("max_size", [16, 2049, 20000])
def test_decode_and_resize_refuses_a_max_size_outside_its_limits(max_size):
    good = encode(gradient_image(48, 48), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"upload: max_size={max_size} is outside \[32, 2048\]"):
        decode(tf.constant(good), tf.constant(max_size))


def test_decode_and_resize_bounds_the_work_of_finding_a_gif_frame():
    """Data sub-blocks of alternating sizes defeat the bulk skip of same-size blocks: refused at the step limit."""
    evil = GIF_HEADER + GIF_FRAME[:11] + b"\x01a\x02bb" * (GIF_STEP_LIMIT // 2 + 1) + b"\x00;"
    refusal = f"upload: GIF file needs more than {GIF_STEP_LIMIT} steps"
    with pytest.raises(tf.errors.InvalidArgumentError, match=refusal):
        decode(tf.constant(evil), tf.constant(64))
