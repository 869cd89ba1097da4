"""The photos and paintings the app knows: the built-in demo pair and what was uploaded since it started.

An upload is checked by ``tf_nst.io.images`` as the command checks a file (its pixel count from the header,
before decoding; then decoded whole, so a truncated file is refused here and not in a run), then kept under a
random id in a temporary directory that ``close`` removes. Requests name pictures by id only: no path from a
request reaches the file system. No TensorFlow here.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tf_nst.errors import ImageError
from tf_nst.io.demo import demo_content, demo_style
from tf_nst.io.images import load_image, to_uint8

KINDS = ("photo", "painting")
THUMBNAIL = 160  # longest side of a thumbnail, px
NAME_LENGTH = 60  # an upload's name is shown, never used as a path


@dataclass(frozen=True)
class Picture:
    """A photo or painting: ``id``, shown ``name``, ``kind``, a PNG ``thumbnail``; ``file`` holds an upload's bytes
    (None: a built-in demo image)."""

    id: str
    name: str
    kind: str
    thumbnail: bytes
    file: str | None = None

    def listing(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "thumbnail": f"/api/pictures/{self.id}/thumbnail.png",
        }


def thumbnail(pixels: np.ndarray) -> bytes:
    """PNG bytes of uint8 or float ``[H, W, 3]`` pixels, at most ``THUMBNAIL`` px on the longest side."""
    image = Image.fromarray(pixels if pixels.dtype == np.uint8 else to_uint8(pixels))
    image.thumbnail((THUMBNAIL, THUMBNAIL), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shown_name(filename: str | None, kind: str) -> str:
    """The name an upload is shown by: the last part of what the browser sent, shortened; never a path."""
    name = os.path.basename((filename or "").replace("\\", "/")).strip() or f"uploaded {kind}"
    return name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1] + "…"


class Pictures:
    """The known pictures by id (``demo-photo`` and ``demo-painting`` are built in); uploads in a temporary
    directory made here and removed by ``close``."""

    def __init__(self, max_pixels: int):
        self.max_pixels = max_pixels
        self.directory = tempfile.mkdtemp(prefix="tf_nst_web_")
        self._lock = threading.Lock()
        self._demos = {"demo-photo": demo_content, "demo-painting": demo_style}
        self._pictures = {
            "demo-photo": Picture("demo-photo", "demo photo", "photo", thumbnail(np.asarray(demo_content()))),
            "demo-painting": Picture("demo-painting", "demo painting", "painting", thumbnail(np.asarray(demo_style()))),
        }

    def add(self, data: bytes, filename: str | None, kind: str) -> Picture:
        """Check and keep an upload; ImageError (one line naming the upload) for a file that is not an image, is
        over ``max_pixels`` (from its header), truncated or too small."""
        if kind not in KINDS:
            raise ImageError(f"unknown kind of picture {kind!r}")
        name = shown_name(filename, kind)
        if not data:
            raise ImageError(f"{name}: the file is empty")
        pixels = load_image(name, max_pixels=self.max_pixels, data=data)[0]
        picture_id = secrets.token_hex(8)
        path = os.path.join(self.directory, picture_id)
        with open(path, "wb") as file:
            file.write(data)
        picture = Picture(picture_id, name, kind, thumbnail(pixels), path)
        with self._lock:
            self._pictures[picture_id] = picture
        return picture

    def get(self, picture_id: str, kind: str | None = None) -> Picture:
        """The picture with ``picture_id`` (of ``kind``, if given); KeyError if there is none."""
        with self._lock:
            picture = self._pictures[picture_id]
        if kind is not None and picture.kind != kind:
            raise KeyError(picture_id)
        return picture

    def listing(self) -> dict[str, list[dict]]:
        """``{"photo": [...], "painting": [...]}``, the demo first, then uploads in the order they came."""
        with self._lock:
            pictures = list(self._pictures.values())
        return {kind: [p.listing() for p in pictures if p.kind == kind] for kind in KINDS}

    def pixels(self, picture: Picture) -> np.ndarray:
        """The picture's pixels: uint8 ``[H, W, 3]`` for a demo image, float32 for an upload (read again as the
        command reads a file)."""
        if picture.file is None:
            return np.asarray(self._demos[picture.id]())
        with open(picture.file, "rb") as file:
            return load_image(picture.name, max_pixels=self.max_pixels, data=file.read())[0]

    def close(self) -> None:
        """Remove the uploads' directory."""
        shutil.rmtree(self.directory, ignore_errors=True)
