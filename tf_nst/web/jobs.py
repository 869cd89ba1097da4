"""The runs the page asks for: one at a time on this machine, in one worker thread, the others queued.

A ``Job`` is what a run is and how far it is; ``Worker`` takes jobs in order and stylizes each with
``tf_nst.api.Stylizer`` (TensorFlow is imported in the worker, on its first job). Progress comes through the
library's callback, reported after every evaluation: the job's level, counts, speed and time left, and a preview
every ``preview_seconds`` and at the end of each level. Stop (or a closed tab, or the server stopping) is a flag
the callback checks; it then raises ``KeyboardInterrupt``, which the optimisation loop turns into
``tf_nst.errors.Interrupted`` carrying the latest image at the output's size, as on Ctrl-C in the command.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import first_line
from tf_nst.web.pictures import Picture, Pictures
from tf_nst.web.settings import describe

log = logging.getLogger(__name__)
FINAL = ("done", "stopped", "failed")
SMOOTHING = 0.3  # weight of the newest evaluation in the seconds per evaluation shown


@dataclass
class Job:
    """One run: its settings and, as it goes, its state (``queued``, ``running``, ``done``, ``stopped`` or
    ``failed``), progress, latest preview and result (PNG bytes)."""

    config: StyleTransferConfig
    photo: Picture
    paintings: list[Picture]
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    state: str = "queued"
    message: str = ""
    level: int = 0
    levels: int = 0
    evaluation: int = 0
    evaluations: int = 0
    seconds_per_evaluation: float | None = None
    seconds_left: float | None = None
    preview: bytes | None = None
    previews: int = 0
    result: bytes | None = None
    size: tuple[int, int] = (0, 0)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    _last: tuple[int, int, float] | None = None  # (level, evaluation, time) of the last report

    @property
    def settings(self) -> str:
        weights = self.config.blend_weights(len(self.paintings))
        paintings = ", ".join(
            p.name if len(weights) == 1 else f"{p.name} ×{w:.2g}" for p, w in zip(self.paintings, weights)
        )
        return f"{self.photo.name} in the style of {paintings}: {describe(self.config)}"

    def status(self, place: int) -> dict:
        """What the page is told: the state, ``place`` (the runs before it while it waits), progress and its URLs."""
        status = {
            "id": self.id,
            "state": self.state,
            "place": place,
            "message": self.message,
            "settings": self.settings,
            "level": self.level,
            "levels": self.levels,
            "evaluation": self.evaluation,
            "evaluations": self.evaluations,
            "seconds_per_evaluation": self.seconds_per_evaluation,
            "seconds_left": self.seconds_left,
            "preview": f"/api/jobs/{self.id}/preview.png?n={self.previews}" if self.previews else None,
            "result": f"/api/jobs/{self.id}/result.png" if self.result else None,
            "size": list(self.size),
        }
        return status

    def report(self, progress, after_level: float) -> None:
        """Take a ``tf_nst.transfer.Progress``: the level, the counts, the speed (smoothed, from the second
        evaluation of a level on) and the time left as the command computes it."""
        now = time.perf_counter()
        if self._last and self._last[:2] == (progress.scale, progress.evaluation - 1):
            seconds = now - self._last[2]
            old = self.seconds_per_evaluation
            self.seconds_per_evaluation = seconds if old is None else (1 - SMOOTHING) * old + SMOOTHING * seconds
        elif self.seconds_per_evaluation is None or progress.step == 1:
            self.seconds_per_evaluation = 1.0 / max(progress.steps_per_second, 1e-9)
        self._last = (progress.scale, progress.evaluation, now)
        self.level, self.levels = progress.scale, progress.scales
        self.evaluation, self.evaluations = progress.evaluation, progress.evaluations
        remaining = progress.steps - progress.step + after_level
        self.seconds_left = remaining * self.seconds_per_evaluation


class Worker:
    """Runs jobs one at a time, in submission order, in a daemon thread started here."""

    def __init__(self, pictures: Pictures, preview_seconds: float = 2.0):
        self.pictures = pictures
        self.preview_seconds = preview_seconds
        self.jobs: dict[str, Job] = {}
        self.finished: list[Job] = []  # with a picture, newest last: the gallery
        self._queue: collections.deque[Job] = collections.deque()
        self._running: Job | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="tf_nst-web-worker", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._changed:
            self.jobs[job.id] = job
            self._queue.append(job)
            self._changed.notify_all()

    def place(self, job: Job) -> int:
        """How many runs are before ``job`` (the running one included) while it waits; 0 otherwise."""
        with self._changed:
            if job not in self._queue:
                return 0
            return self._queue.index(job) + (self._running is not None)

    def stop(self, job: Job) -> None:
        """Stop ``job``: a waiting job leaves the queue, a running one ends at its next evaluation keeping its
        latest picture."""
        with self._changed:
            job.stop_requested.set()
            if job in self._queue:
                self._queue.remove(job)
                job.state, job.message = "stopped", "Stopped before it started."

    def close(self, timeout: float = 30.0) -> None:
        """Stop every job and wait (up to ``timeout`` seconds) for the worker to end."""
        with self._changed:
            self._closing = True
            for job in [*self._queue, *([self._running] if self._running else [])]:
                job.stop_requested.set()
            self._changed.notify_all()
        for job in list(self._queue):
            self.stop(job)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closing:
                    self._changed.wait()
                if self._closing:
                    return
                job = self._running = self._queue.popleft()
                job.state = "running"
            try:
                self._run(job)
            except Exception as err:  # a failed run is told on the page; the worker goes on
                log.exception("run %s failed", job.id)
                job.state, job.message = "failed", first_line(err)
            finally:
                with self._changed:
                    self._running = None

    def _run(self, job: Job) -> None:
        from tf_nst.quiet import tensorflow_start_silenced

        with tensorflow_start_silenced():  # TensorFlow's start-up chatter kept off the terminal, as the command does
            from tf_nst.api import Stylizer
            from tf_nst.errors import Interrupted, RunStopped, TfNstError
            from tf_nst.io.images import encode_image
            from tf_nst.seeding import seed_run

        last_preview = 0.0

        def callback(progress) -> None:
            nonlocal last_preview
            job.report(progress, progress.work_after)
            job.size = progress.size
            now = time.monotonic()
            if progress.step == progress.steps or now - last_preview >= self.preview_seconds:
                job.preview, last_preview = encode_image(progress.image), now
                job.previews += 1
            if job.stop_requested.is_set():
                raise KeyboardInterrupt  # the loop's own way to stop: Interrupted, with the latest image

        try:
            seed_run(job.config)
            photo = self.pictures.pixels(job.photo)
            paintings = [self.pictures.pixels(p) for p in job.paintings]
            if job.stop_requested.is_set():
                raise KeyboardInterrupt
            image = Stylizer(paintings, job.config)(photo, callback, report_every=1)
            state, message = "done", f"Done: {job.evaluations} evaluations."
        except KeyboardInterrupt:  # stopped before the first evaluation
            job.state, job.message = "stopped", "Stopped before the first evaluation."
            return
        except RunStopped as stop:
            image = stop.image
            if isinstance(stop, Interrupted):
                state = "stopped"
                message = f"Stopped after evaluation {job.evaluation} of {job.evaluations}; the latest picture is kept."
            else:
                state, message = "failed", f"{first_line(stop)}; the last good picture is kept."
        except TfNstError as err:
            job.state, job.message = "failed", first_line(err)
            return
        pixels = np.asarray(image)
        job.result, job.size = encode_image(pixels), (int(pixels.shape[2]), int(pixels.shape[1]))
        job.preview, job.previews = job.result, job.previews + 1
        with self._changed:
            self.finished.append(job)
            job.message, job.state = message, state  # last: the page is told of the end with its picture
