"""A run of the ``tf-nst`` command: the images to stylize and where each goes, the records kept, signals, export.

``run`` takes ``RunOptions`` (what to read and write, how to show progress) and the run's
``StyleTransferConfig``; it reads no flags (``tf_nst.cli.main`` builds both). It raises ``UsageError`` for outputs it
will not write, ``Stopped`` when a run ends early after saving its latest image, and tf_nst's other errors as
they come; the command turns them into exit statuses.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from absl import logging

from tf_nst.api import Plan, Stylizer
from tf_nst.cli import progress
from tf_nst.cli.records import Snapshots, TensorBoardLog, Trace, chain
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ImageError, Interrupted, RunStopped, TfNstError, UsageError
from tf_nst.io.demo import demo_content, demo_style
from tf_nst.io.images import ImageLike, image_format, save_image
from tf_nst.limits import EXPORT_MAX_PIXELS, EXPORT_MAX_SIZE
from tf_nst.quiet import info_logs_silenced
from tf_nst.transfer import ProgressCallback
from tf_nst.video import VideoOptions

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


class Stopped(TfNstError):
    """The run ended early and saved its latest image; ``signum`` is the signal that stopped it (None when the
    loss stopped being finite)."""

    def __init__(self, message: str, signum: int | None):
        super().__init__(message)
        self.signum = signum


class BatchFailed(TfNstError):
    """Some images of a batch could not be stylized (the others were written)."""


@dataclass(frozen=True)
class RunOptions:
    """What a run reads and writes besides the stylization settings, and how it shows progress."""

    content: str | None = None  # a photo, or a directory or glob of photos (a batch); None: the demo images
    styles: tuple[str, ...] = ()  # style paintings; none: the demo painting
    output: str = "stylized.png"  # an image file, or a directory for a batch
    overwrite: bool = False  # replace existing outputs, snapshots and export versions
    log_every: int = 25  # evaluations between progress log lines (progress="log")
    save_every: int = 0  # evaluations between snapshots beside the output; 0: none
    logdir: str | None = None  # TensorBoard summaries
    trace: str | None = None  # JSON trace of settings, per-evaluation losses and timings
    export_dir: str | None = None  # export the feature extractor there instead of stylizing
    export_version: int = 1
    export_max_pixels: int = EXPORT_MAX_PIXELS  # the export's encoded signature refuses larger files
    export_max_size: int = EXPORT_MAX_SIZE  # the export's largest max_size and image side
    progress: str = "log"  # bar (a live line, for a terminal) | log | none
    video: bool = False  # content is a directory or glob of frames of one clip (a video file is always a clip)
    frames: tuple[int, int | None] | None = None  # a clip's frames START to END (1-based, inclusive; None: last)
    resume: bool = False  # a frame directory output: skip the frames already written
    frame_rate: float | None = None  # of a frame directory or glob clip; None: 25 (a video file keeps its own)
    video_options: VideoOptions = VideoOptions()

    def __post_init__(self) -> None:
        if self.save_every < 0 or self.log_every <= 0:
            raise UsageError("--save_every must be >= 0 and --log_every > 0")
        if self.progress not in progress.MODES:
            raise UsageError(f"progress '{self.progress}' is not one of {', '.join(progress.MODES)}")


def content_paths(content: str) -> list[str] | None:
    """The files of a batch (a directory or a glob), sorted; None for a single file."""
    if os.path.isdir(content):
        names = sorted(os.listdir(content))
        return [os.path.join(content, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if glob.has_magic(content):
        return sorted(p for p in glob.glob(content) if os.path.isfile(p))
    return None


def batch_output(output_dir: str, content: str) -> str:
    """Where a batch writes ``content``'s result: same name in ``output_dir``, PNG unless JPEG/WebP."""
    stem, extension = os.path.splitext(os.path.basename(content))
    return os.path.join(output_dir, stem + (extension if extension.lower() in (".jpg", ".jpeg", ".webp") else ".png"))


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


def check_output(output: str, inputs: list[str], options: RunOptions) -> None:
    """Refuse, before any work, an output image that would overwrite an input or cannot be written."""
    if not os.path.isdir(output):
        try:
            image_format(output)
        except ImageError as err:
            raise UsageError(f"--output={err}") from None
    check_writable("--output", output, inputs, options.overwrite)
    stem, extension = os.path.splitext(output)
    earlier = glob.glob(f"{glob.escape(stem)}.[0-9][0-9][0-9][0-9]*{glob.escape(extension)}")
    if options.save_every > 0 and earlier and not options.overwrite:
        raise UsageError(f"--output={output}: snapshots of an earlier run exist ({earlier[0]}); pass --overwrite")


def jobs(options: RunOptions, init: str) -> tuple[list[tuple[ImageLike, str]], bool]:
    """(content, output) pairs and whether they are a batch. A single output and the trace are checked here; a
    batch's outputs are checked one by one as the batch goes (a bad one is skipped)."""
    if options.content is None:
        todo, inputs, batch = [(np.asarray(demo_content()), options.output)], [init], False
    else:
        paths = content_paths(options.content)
        batch = paths is not None
        todo = (
            [(options.content, options.output)] if not batch else [(p, batch_output(options.output, p)) for p in paths]
        )
        inputs = [*(paths or [options.content]), *options.styles, init]
    if options.trace:
        outputs = [options.output] if not batch else [output for _, output in todo]
        check_writable("--trace", options.trace, inputs + outputs, options.overwrite)
    if not batch:
        check_output(options.output, inputs, options)
        return todo, False
    if not todo:
        raise UsageError(f"--content={options.content}: no image files found")
    if os.path.exists(options.output) and not os.path.isdir(options.output):
        raise UsageError(f"--output={options.output}: must be a directory for a batch of content images")
    os.makedirs(options.output, exist_ok=True)
    return todo, True


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


def seed_run(config: StyleTransferConfig) -> None:
    """TensorFlow's op determinism (if asked for) and random seeds, before a run."""
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(config.seed)


def stylize(options: RunOptions, config: StyleTransferConfig, device: str) -> None:
    """Stylize the content image(s) with the style(s) and write the results; log what was written."""
    styles = list(options.styles) or [np.asarray(demo_style())]
    todo, batch = jobs(options, config.init)
    if options.content is None:
        logging.info("no --content/--style: using the built-in demo images")
    seed_run(config)
    planned = []

    def on_plan(plan: Plan) -> None:
        if not planned:  # the first image's plan: the run's header
            logging.info(
                "%d image(s) at %d px, %d evaluations%s, weights=%s, seed=%d, on %s",
                len(todo),
                config.max_size,
                sum(level.steps for level in plan.levels),
                " each" if batch else "",
                config.weights,
                config.seed,
                device,
            )
        planned.append(plan)
        progress.log_plan(plan, config.scales)

    stylizer = Stylizer(styles, config, on_plan=on_plan)
    recorders = Recorders(options, config, device)
    failures, done = [], 0
    with TermAsInterrupt() as signals:
        for index, (content, output) in enumerate(todo, 1):
            name = content if isinstance(content, str) else "demo"
            started = time.perf_counter()
            try:
                if batch:
                    check_output(output, [content, *options.styles], options)
                callback = recorders.for_image(name, output, index, len(todo))
                try:
                    result = stylizer(content, callback, recorders.report_every)
                finally:
                    recorders.display.close()  # before anything else is logged
            except (UsageError, ImageError) as err:
                if not batch:
                    raise
                logging.error("skipping %s: %s", content, err)
                failures.append(f"{content}: {err}")
                continue
            except RunStopped as stop:
                save_image(stop.image, output)
                raise stopped(stop, output, recorders, signals.received) from None
            except KeyboardInterrupt:
                recorders.finish(images_written=done, failures=failures)
                written = f" ({done} of {len(todo)} images written)" if batch else ""
                raise Stopped(f"interrupted before the first evaluation{written}", signals.received) from None
            save_image(result, output)
            done += 1
            logging.info(
                "wrote %s in %.1fs (%.3f s/eval); losses: %s",
                output,
                time.perf_counter() - started,
                1.0 / recorders.last.steps_per_second,
                progress.loss_text(recorders.last.losses),
            )
    recorders.finish(images_written=done, failures=failures)
    if failures:
        raise BatchFailed(f"{len(failures)} of {len(todo)} images failed (first: {failures[0]})")


def export(options: RunOptions, config: StyleTransferConfig) -> None:
    """Write the feature extractor as a SavedModel to ``options.export_dir`` and log where it went."""
    from tf_nst.serving.export import export_feature_extractor, exported_layers

    with info_logs_silenced():
        path = export_feature_extractor(
            options.export_dir,
            config,
            options.export_version,
            options.overwrite,
            max_pixels=options.export_max_pixels,
            max_size=options.export_max_size,
        )
    logging.info(
        "wrote the SavedModel (layers %s, weights=%s, pooling=%s) to %s; TensorFlow Serving's model base path is %s",
        ",".join(exported_layers(config)),
        config.weights,
        config.pooling,
        path,
        options.export_dir,
    )


def run(options: RunOptions, config: StyleTransferConfig, device: str = "CPU") -> None:
    """Export (``options.export_dir``), stylize a clip or stylize images, as the options say; ``device`` is only
    reported."""
    from tf_nst.cli.video import is_clip, stylize_clip

    if options.export_dir is not None:
        export(options, config)
    elif is_clip(options):
        stylize_clip(options, config, device)
    else:
        if options.frames is not None or options.resume or options.frame_rate is not None:
            raise UsageError("--frames, --resume and --frame_rate are for a clip (a video file, or --video)")
        stylize(options, config, device)
