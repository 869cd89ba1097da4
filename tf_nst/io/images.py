"""Reading and writing images: any PIL-readable file in, float32 RGB ``[1, H, W, 3]`` in [0, 1] out.

Resizing always antialiases (PIL's LANCZOS): a plain bilinear shrink of a painting aliases, and the Gram
targets then carry coloured speckle into the result. Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tf_nst.errors import ImageError, first_line
from tf_nst.io.atomic import cannot_write, write_file
from tf_nst.layers import BELOW_MIN_SIDE, MIN_SIDE
from tf_nst.limits import MAX_INPUT_PIXELS

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}  # what an output is written as
# the files a batch directory or a frame directory is made of (any of them PIL reads)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm")
ImageLike = str | os.PathLike | np.ndarray  # or anything np.asarray turns into pixels, e.g. a tf.Tensor


def style_list(style: ImageLike | Sequence[ImageLike]) -> list[ImageLike]:
    """One style image (a path, or pixels: anything with a ``shape``) or a sequence of them, as a list."""
    if isinstance(style, (str, os.PathLike)) or hasattr(style, "shape"):
        return [style]
    return list(style)


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode to float32 ``[H, W, 3]`` in [0, 1]; alpha is composited over white."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image, np.float32)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        gray = np.clip(values / peak, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        values = np.nan_to_num(np.asarray(image, np.float32))
        gray = np.clip(values if values.max(initial=0) <= 1.0 else values / 255.0, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def resized_size(width: int, height: int, max_size: int) -> tuple[int, int]:
    """(width, height) scaled so the longest side is ``max_size``, aspect ratio kept."""
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Antialiased resize of float ``[H, W, 3]`` in [0, 1] to ``size`` = (width, height)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    channels = [
        np.asarray(Image.fromarray(image[..., c].astype(np.float32), mode="F").resize(size, Image.LANCZOS))
        for c in range(3)
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def read_image(path: str, max_pixels: int = MAX_INPUT_PIXELS, data: bytes | None = None) -> np.ndarray:
    """Decode ``path`` to float32 ``[H, W, 3]`` in [0, 1], honouring EXIF orientation.

    The size in the file's header is checked against ``max_pixels`` before any pixel is decoded. ``data``: the
    file's bytes, when already read (e.g. from a Beam filesystem); ``path`` then only names it in errors.
    Raises ImageError naming the file for a missing, unreadable, truncated, undecodable, empty or too large file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies instead
            warnings.simplefilter("ignore", UserWarning)  # PIL on damaged metadata: a bad file is one ImageError
            with Image.open(path if data is None else io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageError(
                        f"{path}: {width}x{height} px is over the limit of {max_pixels} pixels (--max_input_pixels)"
                    )
                if width * height == 0:
                    raise ImageError(f"{path}: image is empty ({width}x{height} px)")
                image.load()
                image = ImageOps.exif_transpose(image)
                pixels = _to_rgb_array(image)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file (or a format PIL cannot read)") from None
    except Image.DecompressionBombError as err:  # PIL refuses before we read the size: say whose limit it is
        size = re.search(r"\((\d+) pixels\)", str(err))
        if size and int(size[1]) > max_pixels:
            message = f"{path}: {size[1]} pixels is over the limit of {max_pixels} pixels (--max_input_pixels)"
            raise ImageError(message) from None
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImageError(f"{path}: image is over the limit of {limit} pixels that PIL decodes safely") from None
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(f"{path}: not enough memory to decode this image") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, TypeError, ZeroDivisionError) as err:
        reason = first_line(err)
        raise ImageError(f"{path}: cannot decode image ({reason})") from None
    return pixels


def load_image(
    path: str, max_size: int | None = None, max_pixels: int = MAX_INPUT_PIXELS, data: bytes | None = None
) -> np.ndarray:
    """Read ``path`` (or its bytes ``data``, see ``read_image``) as float32 ``[1, H, W, 3]`` in [0, 1], resized
    so its longest side is ``max_size``.

    Raises ImageError if the file, or the resized result, is smaller than the network's minimum (``MIN_SIDE``).
    """
    pixels = read_image(path, max_pixels, data)
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{path}: {pixels.shape[1]}x{pixels.shape[0]} px {BELOW_MIN_SIDE}")
    return fit(pixels, max_size, path) if max_size is not None else pixels[None]


def as_pixels(image: ImageLike, name: str = "image", max_pixels: int = MAX_INPUT_PIXELS) -> np.ndarray:
    """A path, or pixels ``[H, W, 3]`` / ``[1, H, W, 3]`` (uint8, or float in [0, 1]), as float32 ``[H, W, 3]``
    in [0, 1] at the image's own size. Raises ImageError for a bad file or shape, a side below 32 px, or a file
    of more than ``max_pixels`` pixels (refused before decoding)."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(os.fspath(image), max_pixels=max_pixels)[0]
    pixels = np.asarray(image)
    if pixels.ndim == 4 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ImageError(f"{name}: expected pixels of shape [H, W, 3] or [1, H, W, 3], got {list(np.shape(image))}")
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: {pixels.shape[1]}x{pixels.shape[0]} px {BELOW_MIN_SIDE}")
    pixels = pixels.astype(np.float32) / 255.0 if pixels.dtype == np.uint8 else pixels.astype(np.float32)
    return np.clip(pixels, 0.0, 1.0)


def fit(pixels: np.ndarray, max_size: int, name: str = "image") -> np.ndarray:
    """``pixels`` (float ``[H, W, 3]`` in [0, 1]) resized so the longest side is ``max_size``: float32
    ``[1, h, w, 3]``. Raises ImageError if a side ends up below the network's minimum (``MIN_SIDE``)."""
    pixels = resize(pixels, resized_size(pixels.shape[1], pixels.shape[0], max_size))
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise ImageError(f"{name}: {pixels.shape[1]}x{pixels.shape[0]} px {BELOW_MIN_SIDE}")
    return pixels[None]


def to_uint8(image) -> np.ndarray:
    """float ``[1, H, W, 3]`` or ``[H, W, 3]`` in [0, 1] to uint8 ``[H, W, 3]``."""
    pixels = np.asarray(image, np.float32)
    if pixels.ndim == 4 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ImageError(f"expected an image of shape [1, H, W, 3] or [H, W, 3], got {list(np.shape(image))}")
    return (np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_format(path: str) -> str:
    """PIL format name for ``path``'s extension; ImageError for an unsupported one."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise ImageError(f"{path}: unsupported output extension '{extension}' (use {', '.join(FORMATS)})")
    return FORMATS[extension]


def encode_image(image, fmt: str = "PNG") -> bytes:
    """The bytes ``save_image`` writes for ``image`` (float ``[1, H, W, 3]`` or ``[H, W, 3]`` in [0, 1]) as a
    ``fmt`` file (PNG, JPEG or WEBP), quantized by ``to_uint8``."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()


def save_image(image, path: str) -> None:
    """Write ``image`` (float ``[1, H, W, 3]`` or ``[H, W, 3]`` in [0, 1]) to ``path`` atomically.

    The format follows the extension. A temporary file in the same directory is written, flushed and then
    renamed over ``path`` (``tf_nst.io.atomic``), so ``path`` is either the old file or the complete new one.
    """
    data = encode_image(image, image_format(path))
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ImageError(f"{path}: directory {directory} does not exist")
    try:
        write_file(path, data)
    except OSError as err:
        raise ImageError(cannot_write(path, err)) from None
