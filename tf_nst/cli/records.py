"""Progress callbacks that keep records of a run: snapshots, TensorBoard summaries, a JSON trace.

Each is a callable taking ``tf_nst.Progress``; combine them with ``chain``. Files are written atomically.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable

import tensorflow as tf

from tf_nst.errors import ConfigError
from tf_nst.io.images import save_image
from tf_nst.transfer import Progress, ProgressCallback


def snapshot_path(output: str, step: int) -> str:
    """``out.png`` -> ``out.0100.png`` for step 100 (four digits at least)."""
    stem, extension = os.path.splitext(output)
    return f"{stem}.{step:04d}{extension}"


def chain(*callbacks: ProgressCallback | None) -> ProgressCallback:
    """One callback that calls each non-None callback in turn."""
    active = [c for c in callbacks if c is not None]

    def call(progress: Progress) -> None:
        for callback in active:
            callback(progress)

    return call


def every(steps: int, callback: Callable[[Progress], None]) -> ProgressCallback:
    """``callback`` only at multiples of ``steps`` and at the last step."""

    def call(progress: Progress) -> None:
        if progress.step % steps == 0 or progress.step == progress.steps:
            callback(progress)

    return call


class Snapshots:
    """Writes the image every ``every`` steps next to ``output`` (``name.0100.png``, ...)."""

    def __init__(self, output: str, every: int):
        self.output, self.every, self.written = output, every, []

    def __call__(self, progress: Progress) -> None:
        if progress.step % self.every == 0:
            path = snapshot_path(self.output, progress.step)
            save_image(progress.image, path)
            self.written.append(path)


class TensorBoardLog:
    """TensorBoard summaries in ``logdir``: each loss term per reported step, the image every ``image_every``."""

    def __init__(self, logdir: str, image_every: int = 0, run: str = ""):
        if importlib.util.find_spec("tensorboard") is None:
            raise ConfigError("--logdir: TensorBoard summaries need the tensorboard package (pip install tensorboard)")
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, run) if run else logdir)
        self.image_every = image_every

    def __call__(self, progress: Progress) -> None:
        with self.writer.as_default(step=progress.step):
            for name, value in progress.losses.items():
                tf.summary.scalar(f"loss/{name}", value)
            tf.summary.scalar("speed/evaluations_per_second", progress.steps_per_second)
            last = progress.step == progress.steps
            if last or (self.image_every and progress.step % self.image_every == 0):
                tf.summary.image("image", progress.image, max_outputs=1)
        if progress.step == progress.steps:
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class Trace:
    """Collects settings, per-step losses and timings; ``write`` saves them as JSON (atomically)."""

    def __init__(self, path: str, settings: dict):
        self.path = path
        self.record = {"settings": settings, "images": []}

    def start(self, name: str) -> None:
        """Begin the record of one image (a batch run has several)."""
        self.record["images"].append({"name": name, "evaluations": []})

    def __call__(self, progress: Progress) -> None:
        if not self.record["images"]:
            self.start("image")
        self.record["images"][-1]["evaluations"].append(
            {"evaluation": progress.step, "elapsed": round(progress.elapsed, 6), "losses": progress.losses}
        )

    def write(self, **summary) -> None:
        self.record.update(summary)
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".tf_nst-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w") as f:
            json.dump(self.record, f, indent=1, default=str)
        os.replace(tmp, self.path)
