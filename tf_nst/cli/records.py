"""Progress callbacks that keep records of a run: snapshots, TensorBoard summaries, a JSON trace.

Each is a callable taking ``tf_nst.Progress``; combine them with ``chain``. Each keys its records by
``Progress.evaluation``, which counts across the pyramid levels (TensorBoard's series also across a batch).
Files are written atomically.
"""

from __future__ import annotations

import importlib.util
import json
import os

import tensorflow as tf

from tf_nst.errors import ConfigError, OutputError
from tf_nst.io.atomic import cannot_write, write_file
from tf_nst.io.images import save_image
from tf_nst.transfer import Progress, ProgressCallback


def snapshot_path(output: str, evaluation: int) -> str:
    """``out.png`` -> ``out.0100.png`` for evaluation 100 (four digits at least)."""
    stem, extension = os.path.splitext(output)
    return f"{stem}.{evaluation:04d}{extension}"


def chain(*callbacks: ProgressCallback | None) -> ProgressCallback:
    """One callback that calls each non-None callback in turn."""
    active = [c for c in callbacks if c is not None]

    def call(progress: Progress) -> None:
        for callback in active:
            callback(progress)

    return call


class Snapshots:
    """Writes the image every ``every`` evaluations next to ``output`` (``name.0100.png``, ...)."""

    def __init__(self, output: str, every: int):
        self.output, self.every, self.written = output, every, []

    def __call__(self, progress: Progress) -> None:
        if progress.evaluation % self.every == 0:
            path = snapshot_path(self.output, progress.evaluation)
            save_image(progress.image, path)
            self.written.append(path)


class TensorBoardLog:
    """TensorBoard summaries in ``logdir``: each loss term per reported evaluation, the image every
    ``image_every``. One series for a whole batch: ``start_image`` says how many evaluations came before."""

    def __init__(self, logdir: str, image_every: int = 0, run: str = ""):
        if importlib.util.find_spec("tensorboard") is None:
            raise ConfigError("--logdir: TensorBoard summaries need the tensorboard package (pip install tensorboard)")
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, run) if run else logdir)
        self.image_every = image_every
        self.before = 0

    def start_image(self, evaluations_before: int) -> None:
        """The next image's evaluations are counted on from ``evaluations_before``."""
        self.before = evaluations_before

    def __call__(self, progress: Progress) -> None:
        last = progress.evaluation == progress.evaluations
        with self.writer.as_default(step=self.before + progress.evaluation):
            for name, value in progress.losses.items():
                tf.summary.scalar(f"loss/{name}", value)
            tf.summary.scalar("speed/evaluations_per_second", progress.steps_per_second)
            if last or (self.image_every and progress.evaluation % self.image_every == 0):
                tf.summary.image("image", progress.image, max_outputs=1)
        if last:
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class Trace:
    """Collects settings, per-evaluation losses and timings (``elapsed``: within the level); ``write`` saves
    them as JSON (atomically)."""

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
            {
                "evaluation": progress.evaluation,
                "scale": progress.scale,
                "elapsed": round(progress.elapsed, 6),
                "losses": progress.losses,
            }
        )

    def write(self, **summary) -> None:
        """Save the record with ``summary`` added; OutputError if the file cannot be written."""
        self.record.update(summary)
        try:
            write_file(self.path, json.dumps(self.record, indent=1, default=str).encode("utf-8"))
        except OSError as err:
            raise OutputError(cannot_write(self.path, err)) from None
