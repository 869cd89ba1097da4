"""Image files as bytes for the serving tests: encoded by PIL, or built by hand for a server to refuse."""

import io
import struct
import zlib

import numpy as np
from conftest import gradient_image
from PIL import Image


def encode(pixels: np.ndarray, fmt: str, mode: str = "RGB") -> bytes:
    """uint8 [H, W, 3] pixels as a file of format ``fmt`` (a PIL name), converted to ``mode`` first."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def exif_jpeg(pixels: np.ndarray, orientation: int, endian: str = "<") -> bytes:
    """A JPEG whose EXIF orientation tag (1..8) says how to turn ``pixels`` upright."""
    exif = Image.Exif()
    exif.endian = endian
    exif[274] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def with_size(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    """``data`` with ``values`` packed (``struct`` format ``fmt``) over the bytes at ``offset``."""
    patch = struct.pack(fmt, *values)
    return data[:offset] + patch + data[offset + len(patch) :]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 20000, rows_per_block: int = 40) -> bytes:
    """An RGB PNG of side x side black pixels, IDAT complete: about 1.2 MB that decode to 3 * side**2 bytes."""
    block = bytes((1 + 3 * side) * rows_per_block)  # each row: filter type 0, then zero pixels
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)  # no history: the same bytes each time
    adler = (len(block) * (side // rows_per_block) % 65521) << 16 | 1  # Adler-32 of zero bytes
    stream = first + repeat * (side // rows_per_block - 1) + compressor.flush()[:-4] + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def jpeg_bomb() -> bytes:
    """A 48x40 JPEG whose header declares 20000x20000 px."""
    data = encode(gradient_image(48, 40), "JPEG")
    sof = data.index(b"\xff\xc0")
    return with_size(data, sof + 5, ">HH", 20000, 20000)  # SOF0: length, precision, then height and width


def gif_parts(data: bytes) -> tuple[bytes, bytes]:
    """(header with its colour table, first frame block: descriptor and LZW data) of a one-frame GIF."""
    start = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[start] == 0x21:  # extensions before the frame
        start += 2
        while data[start]:
            start += data[start] + 1
        start += 1
    assert data[start] == 0x2C and data[-1] == 0x3B
    return data[:start], data[start:-1]


def flat_gif(side: int, frames: int) -> bytes:
    """An animation of ``frames`` flat side x side frames: about 2 KB a frame for a 1000 px side."""
    buffer = io.BytesIO()
    Image.new("P", (side, side), 1).save(buffer, format="GIF")
    header, frame = gif_parts(buffer.getvalue())
    return header + frame * frames + b";"


GIF_HEADER, GIF_FRAME = gif_parts(encode(gradient_image(48, 40), "GIF"))  # a 48x40 GIF's two halves
