"""Reading and writing clips: video files through PyAV (FFmpeg in its wheel), frame directories through PIL.

A ``Clip`` is a source of frames that is opened (and checked) once and read lazily: a video file (``.mp4``,
``.mov``, ``.webm``, ``.mkv``, ``.avi``, animated ``.gif``) or a list of frame files in name order. Frames are
float32 RGB ``[H, W, 3]`` in [0, 1]. Writers take frames one at a time and never leave a partial file: a video
file is encoded to a temporary file beside its destination and renamed over it on ``close``; a frame directory
gets each ``frame_00001.png`` atomically.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image

from tf_nst.errors import ImageError
from tf_nst.io.atomic import TEMPORARY_PREFIX
from tf_nst.io.images import IMAGE_EXTENSIONS, read_image, save_image, to_uint8
from tf_nst.limits import MAX_INPUT_PIXELS

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".gif")
OUTPUT_EXTENSIONS = (".mp4", ".webm", ".gif")
DEFAULT_RATE = Fraction(25)  # frames per second of a frame directory, which has none of its own
ENCODERS = {".mp4": ("libx264", "yuv420p"), ".webm": ("libvpx-vp9", "yuv420p")}


def _av():
    try:
        import av
    except ImportError:
        raise ImageError("video needs the [video] extra: pip install 'tf_nst[video]'") from None
    return av


def is_video_file(path: str) -> bool:
    """True for a path with a video extension (a missing one too, to be reported as such), except a ``.gif`` of
    one frame: that is an image."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in VIDEO_EXTENSIONS:
        return False
    if extension != ".gif" or not os.path.isfile(path):
        return True
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) > 1
    except (OSError, ValueError):
        return True  # not a readable GIF: the video reader says why


def frame_paths(pattern: str) -> list[str]:
    """The frame files of a directory or a glob, in name order."""
    if os.path.isdir(pattern):
        names = sorted(n for n in os.listdir(pattern) if n.lower().endswith(IMAGE_EXTENSIONS))
        return [os.path.join(pattern, n) for n in names]
    return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))


@dataclass(frozen=True)
class Clip:
    """Frames to read: ``source`` (a video file, or the directory or glob of ``paths``), ``count`` frames of
    ``size`` (width, height) at ``rate`` frames per second."""

    source: str
    count: int
    size: tuple[int, int]
    rate: Fraction
    paths: tuple[str, ...] = ()
    max_pixels: int = MAX_INPUT_PIXELS

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Frames ``start`` to ``stop`` (0-based, end excluded) as float32 ``[H, W, 3]`` in [0, 1], one at a
        time. ImageError names the frame that cannot be decoded."""
        stop = self.count if stop is None else min(stop, self.count)
        if self.paths:
            for path in self.paths[start:stop]:
                yield read_image(path, self.max_pixels)
            return
        av, index = _av(), -1
        try:
            with av.open(self.source) as container:
                for index, frame in enumerate(container.decode(video=0)):
                    if index >= stop:
                        break
                    if index >= start:
                        yield frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
        except av.error.FFmpegError as err:
            raise ImageError(f"{self.source}: cannot decode frame {index + 2} ({err.strerror})") from None


def open_video(path: str, max_pixels: int = MAX_INPUT_PIXELS) -> Clip:
    """A video file as a ``Clip``: its frames counted (packets, not decoded), size and frame rate read.
    ImageError for a missing file, a file that is not a video, or a clip with no frames."""
    av = _av()
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ImageError(f"{path}: the clip has no frames (no video stream)")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate or DEFAULT_RATE
            size = (stream.codec_context.width, stream.codec_context.height)
            count = sum(1 for packet in container.demux(stream) if packet.size)
    except av.error.FFmpegError as err:
        raise ImageError(f"{path}: not a video file ({err.strerror})") from None
    if count == 0 or 0 in size:
        raise ImageError(f"{path}: the clip has no frames")
    if size[0] * size[1] > max_pixels:
        raise ImageError(f"{path}: {size[0]}x{size[1]} px is over the limit of {max_pixels} pixels")
    return Clip(path, count, size, Fraction(rate), max_pixels=max_pixels)


def open_frames(pattern: str, max_pixels: int = MAX_INPUT_PIXELS) -> Clip:
    """A directory or glob of frame files as a ``Clip`` at ``DEFAULT_RATE``. Every frame is decoded once here,
    so a frame that cannot be read, or one whose size differs from the first's, is refused before any work."""
    paths = frame_paths(pattern)
    if not paths:
        raise ImageError(f"{pattern}: no frame files found")
    size = None
    for path in paths:
        pixels = read_image(path, max_pixels)
        frame_size = (pixels.shape[1], pixels.shape[0])
        if size is not None and frame_size != size:
            raise ImageError(
                f"{path}: frame is {frame_size[0]}x{frame_size[1]} px, but {paths[0]} is {size[0]}x{size[1]} px "
                "(all frames must have one size)"
            )
        size = frame_size
    return Clip(pattern, len(paths), size, DEFAULT_RATE, tuple(paths), max_pixels)


def frame_name(number: int) -> str:
    """The file name of frame ``number`` (1-based) in an output directory."""
    return f"frame_{number:05d}.png"


class FrameDirectory:
    """Writes frame ``n`` (1-based) to ``directory/frame_0000n.png``, each file atomically."""

    def __init__(self, directory: str):
        self.directory = directory

    def path(self, number: int) -> str:
        return os.path.join(self.directory, frame_name(number))

    def write(self, frame, number: int) -> None:
        save_image(frame, self.path(number))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class VideoFile:
    """Encodes frames (float ``[H, W, 3]`` or ``[1, H, W, 3]`` in [0, 1]) at ``rate`` into ``path``: H.264 for
    ``.mp4``, VP9 for ``.webm`` (odd sizes padded by one edge pixel, as 4:2:0 needs), a GIF with an adaptive
    palette per frame for ``.gif`` (held in memory until ``close``: GIF is for short clips; its frame delays are
    whole 1/100 s, so 12 fps becomes 12.5). The file
    appears only on ``close``; ``abort`` discards it."""

    def __init__(self, path: str, rate: Fraction):
        self.path, self.rate = path, Fraction(rate)
        self.extension = os.path.splitext(path)[1].lower()
        if self.extension not in OUTPUT_EXTENSIONS:
            raise ImageError(f"{path}: unsupported output extension '{self.extension}' (use .mp4, .webm or .gif)")
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self.tmp_path = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=self.extension, dir=directory)
        except OSError as err:
            raise ImageError(f"{path}: cannot write ({err.strerror})") from None
        os.close(fd)
        self.container = self.stream = None
        self.gif_frames: list[Image.Image] = []
        self.count = 0

    def _open(self, width: int, height: int) -> None:
        av = _av()
        codec, pixel_format = ENCODERS[self.extension]
        self.container = av.open(self.tmp_path, mode="w")
        self.stream = self.container.add_stream(codec, rate=self.rate)
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = pixel_format
        self.stream.options = {"crf": "18"} if codec == "libx264" else {"crf": "24", "b": "0"}

    def write(self, frame, number: int | None = None) -> None:
        pixels = to_uint8(frame)
        self.count += 1
        if self.extension == ".gif":
            self.gif_frames.append(Image.fromarray(pixels).quantize(256, method=Image.Quantize.MEDIANCUT))
            return
        if self.container is None:
            self._open(pixels.shape[1], pixels.shape[0])
        pad = ((0, pixels.shape[0] % 2), (0, pixels.shape[1] % 2), (0, 0))
        av = _av()
        frame = av.VideoFrame.from_ndarray(np.pad(pixels, pad, mode="edge"), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        """Finish the file and move it to ``path`` (nothing is written for a clip of no frames)."""
        try:
            if self.count == 0:
                return self.abort()
            if self.extension == ".gif":
                duration = max(20, round(1000 / float(self.rate)))  # ms; browsers slow GIF delays below 20 ms
                first, *rest = self.gif_frames
                first.save(self.tmp_path, format="GIF", save_all=True, append_images=rest, duration=duration, loop=0)
            else:
                for packet in self.stream.encode():
                    self.container.mux(packet)
                self.container.close()
            os.chmod(self.tmp_path, 0o644)
            os.replace(self.tmp_path, self.path)
        except OSError as err:
            self.abort()
            raise ImageError(f"{self.path}: cannot write ({err.strerror or err})") from None

    def abort(self) -> None:
        """Discard what was encoded; ``path`` is left as it was."""
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # a half-initialised encoder; the file goes anyway
                pass
            self.container = None
        if os.path.exists(self.tmp_path):
            os.unlink(self.tmp_path)
