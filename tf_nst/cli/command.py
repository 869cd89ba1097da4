"""What the image, clip and Beam commands share: outputs checked before any work, the records a run keeps,
signals, and how a run that ended early is told (``Stopped``). Exit statuses: ``tf_nst.errors.exit_status``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal

from tf_nst.cli import progress
from tf_nst.cli.options import RunOptions
from tf_nst.cli.records import Snapshots, TensorBoardLog, Trace, chain
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import Interrupted, RunStopped, TfNstError, UsageError
from tf_nst.transfer import ProgressCallback


class Stopped(TfNstError):
    """The run ended early and saved its latest image; ``signum`` is the signal that stopped it (None when the
    loss stopped being finite)."""

    def __init__(self, message: str, signum: int | None):
        super().__init__(message)
        self.signum = signum


def check_writable(flag: str, path: str, inputs: list[str], overwrite: bool) -> None:
    """Refuse, before any work, a file ``path`` (given by ``flag``) that is a directory or an input, is in a
    missing or read-only directory, or exists (without ``overwrite``)."""
    target = os.path.realpath(path)
    if os.path.isdir(target):
        raise UsageError(f"{flag}={path}: is a directory")
    for given in inputs:
        if os.path.realpath(given) == target:
            raise UsageError(f"{flag}={path}: is the same file as input {given}")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise UsageError(f"{flag}={path}: directory {os.path.dirname(path) or '.'} does not exist")
    if os.path.exists(target) and not overwrite:
        raise UsageError(f"{flag}={path}: exists (pass --overwrite to replace it)")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{flag}={path}: directory is not writable")


class Recorders:
    """The callbacks the options ask for: the progress display, snapshots, TensorBoard, the trace."""

    def __init__(self, options: RunOptions, config: StyleTransferConfig, device: str):
        self.options = options
        self.display = progress.display(options.progress, options.log_every)
        self.tensorboard = TensorBoardLog(options.logdir, options.save_every) if options.logdir else None
        settings = {"config": dataclasses.asdict(config), "device": device}
        self.trace = Trace(options.trace, settings) if options.trace else None
        per_evaluation = options.progress == "bar" or self.tensorboard is not None or self.trace is not None
        self.report_every = (
            1 if per_evaluation else math.gcd(options.log_every, options.save_every or options.log_every)
        )
        self.last = None
        self.evaluations = 0  # of the images before this one

    def for_image(
        self, name: str, output: str, index: int, count: int, unit: str = "image", note: str = ""
    ) -> ProgressCallback:
        """The combined callback for image ``index`` of ``count`` (1-based), written to ``output``; ``unit``
        and ``note`` as for ``progress.position_text``."""
        if self.last is not None:
            self.evaluations += self.last.evaluations
            self.last = None
        if self.trace:
            self.trace.start(name)
        if self.tensorboard:
            self.tensorboard.start_image(self.evaluations)
        self.display.start_image(index, count, unit, note)
        snapshots = Snapshots(output, self.options.save_every) if self.options.save_every > 0 else None
        return chain(lambda p: setattr(self, "last", p), self.display, snapshots, self.tensorboard, self.trace)

    def finish(self, **summary) -> None:
        """Close the summaries and write the trace with ``summary`` added."""
        self.display.close()
        if self.tensorboard:
            self.tensorboard.close()
        if self.trace:
            self.trace.write(**summary)


class TermAsInterrupt:
    """Within the block, SIGTERM stops the run as Ctrl-C does (the latest image is saved); ``received`` is
    the signal that stopped it."""

    def __enter__(self) -> TermAsInterrupt:
        self.received = signal.SIGINT
        self.previous = signal.signal(signal.SIGTERM, self._stop)
        return self

    def __exit__(self, *exc_info) -> None:
        signal.signal(signal.SIGTERM, self.previous)

    def _stop(self, signum, frame) -> None:
        self.received = signal.Signals(signum)
        raise KeyboardInterrupt


def stopped(stop: RunStopped, output: str, recorders: Recorders, signum: int) -> Stopped:
    """What the command says after ``stop``'s image was saved to ``output``; the records are closed."""
    if isinstance(stop, Interrupted):
        recorders.finish(interrupted_at_evaluation=stop.step)
        return Stopped(f"{stop}; saved the latest image to {output}", signum)
    recorders.finish(stopped_at_evaluation=stop.step)
    return Stopped(f"{stop}; saved the last good image to {output}", None)
