"""Image file bytes to network-ready pixels with TensorFlow ops alone: the exported ``encoded`` signature's input.

Any bytes a client sends give either pixels or an ``InvalidArgumentError`` naming the problem and the limit,
never a crash or a huge allocation. Whatever a file's header tells is checked before a pixel is decoded:

- the format, by the first bytes: JPEG, PNG, GIF or BMP. TensorFlow also decodes WebP and JPEG XL; they are
  refused, not decoded unchecked.
- the pixel count, against ``max_pixels``: a JPEG's from ``tf.image.extract_jpeg_shape``, a PNG's from IHDR
  (big-endian width and height at bytes 16..24), a BMP's from its info header (little-endian int32 width and
  height at bytes 18..26, height negative for top-down rows: what TensorFlow's decoder reads), a GIF's from its
  first image descriptor. TensorFlow gives a GIF the first frame's size, whatever its logical screen says, so
  the frame, not the screen, is what is counted (a frame larger than the screen counts in full).
- the size after resizing, against the network's minimum side (``MIN_SIDE``), and ``max_size`` against
  ``max_size_limit``.

A GIF is cut after its first frame before it is decoded: TensorFlow's decoder reads every frame into memory
even when it keeps only the first, so a few MB of animation could claim gigabytes. Finding the end of the frame
takes at most ``GIF_STEP_LIMIT`` steps (a step skips an extension block, or a run of data sub-blocks of one
size); a GIF that needs more is refused. A JPEG's EXIF orientation (tag 0x0112 of IFD0, in an APP1 ``Exif``
segment among the first ``JPEG_SEGMENT_LIMIT`` marker segments) is applied as PIL's ``ImageOps.exif_transpose``
does, so a phone photo comes out as ``tf_nst.load_image`` reads it.
"""

from __future__ import annotations

import tensorflow as tf

from tf_nst.layers import BELOW_MIN_SIDE, MIN_SIDE
from tf_nst.limits import EXPORT_MAX_PIXELS, EXPORT_MAX_SIZE

GIF_STEP_LIMIT = 65_536
JPEG_SEGMENT_LIMIT = 64
FORMATS = ("JPEG", "PNG", "GIF", "BMP")
JPEG_HEADER_BYTES = 2 + JPEG_SEGMENT_LIMIT * (2 + 65535)  # SOI, then the longest segments the walk can pass
_RUN = 64  # GIF data sub-blocks of one size skipped per step


def _int(value) -> tf.Tensor:
    return tf.cast(value, tf.int64)


def _raw(data: tf.Tensor, length=None) -> tf.Tensor:
    """The bytes of ``data`` (a string scalar of at least one byte), or of its first ``length``, as uint8."""
    return tf.io.decode_raw(data if length is None else tf.strings.substr(data, 0, length), tf.uint8)


def _byte(raw: tf.Tensor, index) -> tf.Tensor:
    """Byte(s) at ``index`` (int64, scalar or vector) of non-empty uint8 ``raw`` as int64; outside it, 0."""
    index, size = _int(index), _int(tf.size(raw))
    value = _int(tf.gather(raw, tf.clip_by_value(index, 0, size - 1)))
    return tf.where((index >= 0) & (index < size), value, tf.zeros_like(value))


def _uint(raw: tf.Tensor, index, size: int, little_endian) -> tf.Tensor:
    """The unsigned ``size``-byte integer(s) at ``index``, little- or big-endian (a bool tensor or Python bool)."""
    parts = [_byte(raw, _int(index) + k) for k in range(size)]
    little = sum(part * (1 << (8 * k)) for k, part in enumerate(parts))
    big = sum(part * (1 << (8 * (size - 1 - k))) for k, part in enumerate(parts))
    return tf.where(little_endian, little, big)


def _starts_with(raw: tf.Tensor, index, prefix: bytes) -> tf.Tensor:
    return tf.reduce_all(tf.equal(_byte(raw, _int(index) + tf.range(len(prefix), dtype=tf.int64)), list(prefix)))


def _text(*parts) -> tf.Tensor:
    """A string scalar joining ``parts``: strings, string tensors and numbers (as decimals)."""
    parts = [tf.convert_to_tensor(part) for part in parts]
    return tf.strings.join([part if part.dtype == tf.string else tf.strings.as_string(part) for part in parts])


def _first_problem(*checks) -> tf.Tensor:
    """The message of the first ``(bad, message)`` pair whose ``bad`` is true, else the empty string."""
    problem = tf.constant("")
    for bad, message in reversed(checks):
        problem = tf.where(bad, message, problem)
    return problem


def _header(contents, height, width, orientation=1, problem="") -> tuple:
    """One format branch's result: (bytes to decode, height, width, EXIF orientation 1..8, problem or "")."""
    return (
        tf.convert_to_tensor(contents, tf.string),
        _int(height),
        _int(width),
        _int(orientation),
        tf.convert_to_tensor(problem, tf.string),
    )


def jpeg_orientation(raw: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """EXIF orientation (int64, 1..8; 1 when absent or unreadable) of a JPEG of ``size`` bytes whose first bytes
    (at least ``JPEG_HEADER_BYTES`` of them, or all) are ``raw`` (uint8). Walks the marker segments after SOI up
    to SOS, at most ``JPEG_SEGMENT_LIMIT`` of them, to the first APP1 ``Exif`` segment, then reads tag 0x0112
    (SHORT or LONG) of its TIFF IFD0, in II or MM byte order."""

    def more(step, at, tiff, end, done):
        return tf.logical_and(step < JPEG_SEGMENT_LIMIT, tf.logical_not(done))

    def segment(step, at, tiff, end, done):
        marker, kind = _byte(raw, at), _byte(raw, at + 1)
        is_marker = tf.equal(marker, 0xFF)
        fill = is_marker & tf.equal(kind, 0xFF)
        standalone = is_marker & (tf.equal(kind, 0x01) | ((kind >= 0xD0) & (kind <= 0xD8)))
        stop = tf.logical_not(is_marker) | tf.equal(kind, 0xDA) | tf.equal(kind, 0xD9)
        length = _uint(raw, at + 2, 2, False)
        exif = is_marker & tf.equal(kind, 0xE1) & _starts_with(raw, at + 4, b"Exif\0\0")
        following = tf.where(fill, at + 1, tf.where(standalone, at + 2, at + 2 + length))
        tiff = tf.where(exif, at + 10, tiff)
        end = tf.where(exif, at + 2 + length, end)
        return step + 1, following, tiff, end, stop | exif | (following >= size)

    start = (tf.constant(0), _int(2), _int(-1), _int(0), tf.constant(False))
    _, _, tiff, end, _ = tf.while_loop(more, segment, start)
    end = tf.minimum(end, size)
    little = _starts_with(raw, tiff, b"II")
    valid = (tiff >= 0) & (little | _starts_with(raw, tiff, b"MM")) & tf.equal(_uint(raw, tiff + 2, 2, little), 42)
    ifd = tiff + _uint(raw, tiff + 4, 4, little)
    count = tf.minimum(_uint(raw, ifd, 2, little), tf.maximum(_int(0), (end - ifd - 2) // 12))
    entries = ifd + 2 + 12 * tf.range(tf.where(valid, count, 0))
    kinds = _uint(raw, entries + 2, 2, little)
    values = tf.where(
        tf.equal(kinds, 3),
        _uint(raw, entries + 8, 2, little),
        tf.where(tf.equal(kinds, 4), _uint(raw, entries + 8, 4, little), 0),
    )
    values = tf.boolean_mask(values, tf.equal(_uint(raw, entries, 2, little), 0x0112))
    value = tf.concat([values, [1]], 0)[0]
    return tf.where((value >= 1) & (value <= 8), value, 1)


def _jpeg(data, size):
    raw = _raw(data, JPEG_HEADER_BYTES)
    shape = _int(tf.image.extract_jpeg_shape(data))  # libjpeg's header read: fails on bytes it cannot parse
    return _header(data, shape[0], shape[1], jpeg_orientation(raw, size))


def _png(data, size):
    raw = _raw(data, 24)
    problem = _first_problem(
        (size < 24, _text("PNG file is truncated (", size, " bytes)")),
        (tf.logical_not(_starts_with(raw, 12, b"IHDR")), "PNG file has no IHDR chunk first"),
    )
    return _header(data, _uint(raw, 20, 4, False), _uint(raw, 16, 4, False), problem=problem)


def _bmp(data, size):
    raw = _raw(data, 26)

    def int32(index):
        value = _uint(raw, index, 4, True)
        return tf.where(value >= 1 << 31, value - (1 << 32), value)

    problem = _first_problem((size < 26, _text("BMP file is truncated (", size, " bytes)")))
    return _header(data, tf.abs(int32(22)), int32(18), problem=problem)


def _gif_sub_blocks_end(raw, size, at, budget):
    """Where the chain of GIF data sub-blocks from ``at`` ends: (position of its zero-size block, or >= ``size``
    if the bytes end first; ``budget`` less the steps taken). A step skips a run of same-size blocks."""

    def more(at, budget):
        return (at < size) & (budget > 0) & tf.not_equal(_byte(raw, at), 0)

    def step(at, budget):
        block = _byte(raw, at)
        run = _byte(raw, at + (block + 1) * tf.range(_RUN, dtype=tf.int64))
        same = tf.reduce_sum(tf.math.cumprod(tf.cast(tf.equal(run, block), tf.int64)))
        return at + (block + 1) * same, budget - 1

    return tf.while_loop(more, step, (at, budget))


def _gif(data, size):
    raw = _raw(data)
    flags = _byte(raw, 10)
    at = 13 + tf.where(flags >= 0x80, 3 * tf.bitwise.left_shift(_int(2), flags % 8), 0)

    def extension(at, budget):
        return (at < size) & (budget > 0) & tf.equal(_byte(raw, at), 0x21)

    def skip(at, budget):
        end, budget = _gif_sub_blocks_end(raw, size, at + 2, budget - 1)
        return end + 1, budget

    at, budget = tf.while_loop(extension, skip, (at, _int(GIF_STEP_LIMIT)))
    image = (at < size) & tf.equal(_byte(raw, at), 0x2C)
    flags = _byte(raw, at + 9)
    first = at + 11 + tf.where(flags >= 0x80, 3 * tf.bitwise.left_shift(_int(2), flags % 8), 0)
    end, budget = _gif_sub_blocks_end(raw, size, tf.where(image, first, size), budget)
    problem = _first_problem(
        (budget <= 0, f"GIF file needs more than {GIF_STEP_LIMIT} steps to find the end of its first frame"),
        (at >= size, "GIF file is truncated before its first frame"),
        (tf.equal(_byte(raw, at), 0x3B), "GIF file has no frame"),
        (tf.logical_not(image), _text("GIF file is malformed (a block starts at byte ", at, ")")),
        (end >= size, "GIF file is truncated in its first frame"),
    )
    first_frame = tf.strings.join([tf.strings.substr(data, _int(0), tf.minimum(end + 1, size)), ";"])
    return _header(first_frame, _uint(raw, at + 7, 2, True), _uint(raw, at + 5, 2, True), problem=problem)


def _unknown(data, size):
    problem = tf.where(tf.equal(size, 0), "empty (0 bytes)", "not a JPEG, PNG, GIF or BMP file")
    return _header(data, 0, 0, problem=problem)


def read_header(data: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """One file's bytes (string scalar) to ``(format index into FORMATS or -1, bytes to decode, height, width,
    EXIF orientation, problem)``, reading only headers; ``problem`` is "" or why the file cannot be decoded."""
    data = tf.convert_to_tensor(data, tf.string)
    size = _int(tf.strings.length(data))
    raw = _raw(tf.strings.join([tf.strings.substr(data, 0, 8), "\0" * 8]))  # the magic bytes
    kind = tf.where(
        _starts_with(raw, 0, b"\xff\xd8\xff"),
        0,
        tf.where(
            _starts_with(raw, 0, b"\x89PNG\r\n\x1a\n"),
            1,
            tf.where(
                _starts_with(raw, 0, b"GIF87a") | _starts_with(raw, 0, b"GIF89a"),
                2,
                tf.where(_starts_with(raw, 0, b"BM"), 3, -1),
            ),
        ),
    )
    branches = [lambda parse=parse: parse(data, size) for parse in (_jpeg, _png, _gif, _bmp, _unknown)]
    return (kind, *tf.switch_case(tf.where(kind < 0, 4, kind), branches))


def resized_size(height: tf.Tensor, width: tf.Tensor, max_size: tf.Tensor) -> tf.Tensor:
    """int32 ``[height, width]`` scaled so the longer side is ``max_size``, rounded half to even as
    ``tf_nst.io.images.resized_size`` does, each at least 1."""
    shape = tf.cast(tf.stack([height, width]), tf.float64)
    scale = tf.cast(max_size, tf.float64) / tf.reduce_max(shape)
    return tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), 1)


def orient(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """``image`` ``[h, w, c]`` turned upright for EXIF ``orientation`` 1..8, as PIL's ``exif_transpose``."""
    transpose = orientation >= 5
    flip_rows = tf.reduce_any(tf.equal(orientation, [3, 4, 7, 8]))
    flip_columns = tf.reduce_any(tf.equal(orientation, [2, 3, 6, 7]))
    image = tf.transpose(image, tf.where(transpose, [1, 0, 2], [0, 1, 2]))
    return tf.ensure_shape(tf.reverse(image, tf.boolean_mask([0, 1], [flip_rows, flip_columns])), [None, None, 3])


def decode_and_resize(
    image_bytes: tf.Tensor,
    max_size: tf.Tensor,
    *,
    max_pixels: int = EXPORT_MAX_PIXELS,
    max_size_limit: int = EXPORT_MAX_SIZE,
    name: str | tf.Tensor = "image",
) -> tf.Tensor:
    """One image file's bytes (string scalar) to float32 ``[h, w, 3]`` RGB in [0, 1], longest side ``max_size``.

    JPEG, PNG, GIF (its first frame) or BMP; grayscale becomes RGB and alpha is dropped; a JPEG's EXIF
    orientation is applied. The aspect ratio is kept, sides rounded half to even as
    ``tf_nst.io.images.resized_size`` does, and the resize antialiases (Lanczos-3, like the library's PIL
    LANCZOS). Raises ``InvalidArgumentError``, before decoding, with a message starting ``name:`` when
    ``max_size`` is outside [``MIN_SIDE``, ``max_size_limit``], the bytes are empty, truncated in the header or of
    another format, the header gives more than ``max_pixels`` pixels, or the resized image would be smaller
    than ``MIN_SIDE`` a side; a truncated or corrupt body fails in TensorFlow's decoder.
    """
    max_size = tf.convert_to_tensor(max_size, tf.int32)
    kind, contents, height, width, orientation, problem = read_header(image_bytes)
    fmt = tf.gather(FORMATS, tf.maximum(kind, 0))
    within = (height <= max_pixels) & (width <= max_pixels)
    pixels = tf.where(within, height * width, max_pixels + 1)
    small = tf.reduce_min(resized_size(height, width, tf.clip_by_value(max_size, MIN_SIDE, max_size_limit)))
    problem = _first_problem(
        (
            (max_size < MIN_SIDE) | (max_size > max_size_limit),
            _text(
                "max_size=", max_size, f" is outside [{MIN_SIDE}, {max_size_limit}] (the max_size limit of this export)"
            ),
        ),
        (tf.not_equal(problem, ""), problem),
        ((height < 1) | (width < 1), _text(fmt, " header gives an empty image (", width, "x", height, " px)")),
        (
            pixels > max_pixels,
            _text(
                fmt,
                " of ",
                width,
                "x",
                height,
                f" px is over the limit of {max_pixels} pixels (max_pixels) of this export",
            ),
        ),
        (
            small < MIN_SIDE,
            _text(
                width,
                "x",
                height,
                " px resized to a longest side of ",
                max_size,
                f" {BELOW_MIN_SIDE}; raise max_size",
            ),
        ),
    )
    check = tf.debugging.Assert(tf.equal(problem, ""), [tf.strings.join([name, ": ", problem])])
    with tf.control_dependencies([check]):
        contents = tf.identity(contents)
    image = tf.cond(
        tf.equal(kind, 0),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),  # libjpeg's ISLOW, as PIL
        lambda: tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False),
    )
    size = resized_size(tf.shape(image)[0], tf.shape(image)[1], max_size)
    resized = tf.image.resize(image, size, method="lanczos3", antialias=True) / 255.0
    return orient(tf.clip_by_value(resized, 0.0, 1.0), orientation)
