"""Property-based tests of image loading: whatever bytes arrive, the result is a stylizable RGB image or a
one-line ImageError naming the file, never another exception."""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tf_nst.errors import ImageError
from tf_nst.io.images import load_image

FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
MODES = ["RGB", "L", "1", "P", "PA", "CMYK", "RGBA", "LA", "I;16", "I", "F", "YCbCr"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_outcome(path: str, max_pixels: int = 10_000_000) -> None:
    """The contract: a float32 [1, H, W, 3] image in [0, 1], H, W >= 32, or a one-line ImageError naming path."""
    try:
        pixels = load_image(path, max_size=64, max_pixels=max_pixels)
    except ImageError as err:
        message = str(err)
        assert message.startswith(path) and "\n" not in message
        return
    assert pixels.dtype == np.float32 and pixels.ndim == 4 and pixels.shape[0] == 1 and pixels.shape[-1] == 3
    assert min(pixels.shape[1:3]) >= 32 and max(pixels.shape[1:3]) == 64
    assert np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt in ("JPEG",) and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    if fmt in ("WEBP", "GIF", "BMP") and image.mode not in ("RGB", "RGBA", "L", "P", "1"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    if fmt == "PNG" and image.mode == "I":
        image = image.convert("I;16")  # PNG's 16-bit grey (Pillow no longer writes 32-bit "I" as PNG)
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def image_in_mode(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65535, [height, width], dtype=np.uint16))
    if mode in ("I", "F"):
        array = rng.integers(0, 65535, [height, width]).astype(np.int32 if mode == "I" else np.float32)
        return (
            Image.fromarray(array / (65535 if mode == "F" else 1)).convert(mode)
            if mode == "F"
            else Image.fromarray(array)
        )
    base = Image.fromarray(rng.integers(0, 255, [height, width, 4], dtype=np.uint8), "RGBA")
    return base.convert(mode)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    check_outcome(str(path))


@FUZZ
@given(fmt=st.sampled_from(FORMATS), cut=st.floats(0.0, 1.0), seed=st.integers(0, 3))
def test_truncated_files_of_every_format(tmp_path, fmt, cut, seed):
    data = encode(image_in_mode("RGB", 72, 48, seed), fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: int(len(data) * cut)])
    check_outcome(str(path))


@FUZZ
@given(
    mode=st.sampled_from(MODES),
    fmt=st.sampled_from(["PNG", "TIFF"]),
    width=st.sampled_from([1, 2, 31, 32, 33, 100]),
    height=st.sampled_from([1, 32, 40, 257]),
    seed=st.integers(0, 3),
)
def test_every_mode_and_size(tmp_path, mode, fmt, width, height, seed):
    image = image_in_mode(mode, width, height, seed)
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):
        return  # PIL cannot write this mode in this format: nothing to read back
    path = tmp_path / f"mode.{fmt.lower()}"
    path.write_bytes(data)
    check_outcome(str(path))


@FUZZ
@given(data=st.binary(min_size=1, max_size=64), position=st.integers(8, 200))
def test_corrupted_bytes_inside_a_valid_png(tmp_path, data, position):
    original = encode(image_in_mode("RGB", 64, 48, 0), "PNG")
    corrupted = original[:position] + data + original[position + len(data) :]
    path = tmp_path / "corrupt.png"
    path.write_bytes(corrupted)
    check_outcome(str(path))


def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@FUZZ
@given(width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1))
def test_declared_dimensions_never_exhaust_memory(tmp_path, width, height):
    """Decompression bombs: a tiny file claiming a huge size is refused before decoding (limit 10 MP here)."""
    path = tmp_path / "claims.png"
    path.write_bytes(png_header_only(width, height))
    check_outcome(str(path))


def test_pixel_limit_is_configurable(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros([100, 100, 3], np.uint8)).save(path)
    assert load_image(str(path), max_pixels=10_000).shape == (1, 100, 100, 3)
    with pytest.raises(ImageError, match="over the limit of 9999 pixels"):
        load_image(str(path), max_pixels=9_999)
