"""Command line for tf_nst: paint a photo in the style of a painting.

    python cli.py --content=photo.jpg --style=painting.jpg --output=out.png
    python cli.py --content='photos/*.jpg' --style=a.jpg,b.jpg --output=painted/    # a batch, two styles
    python cli.py --overwrite                            # the built-in demo images, written to stylized.png
    python cli.py --export_dir=savedmodels/vgg19_features   # the feature extractor as a SavedModel

Usage errors exit with status 2, failures with 1, interrupts with 128 + the signal number; each with one line
on stderr and no traceback. This is the only module that reads flags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging as std_logging
import math
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

from absl import app, flags, logging  # noqa: E402


@contextlib.contextmanager
def native_stderr_silenced():
    """Hide what TensorFlow's C++ runtime prints on import and device discovery (it ignores Python logging)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with native_stderr_silenced():
    import tensorflow as tf

    DEVICE = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU"
    from tf_nst.config import StyleTransferConfig
    from tf_nst.config_flags import config_from_flags, define_config_flags
    from tf_nst.errors import ImageError

FLAGS = flags.FLAGS
define_config_flags()
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")

flags.DEFINE_string(
    "content", None, "Content photo, or a directory or glob of photos (a batch). Omit with --style for the demo."
)
flags.DEFINE_string("style", None, "Style painting(s), comma-separated; their textures and colours are transferred.")
flags.DEFINE_string(
    "output", "stylized.png", "Output image (format from the extension: .png, .jpg, .webp), or a directory for a batch."
)
flags.DEFINE_boolean(
    "overwrite", False, "Replace existing outputs (images, snapshots, an --export_dir version); otherwise refused."
)
flags.DEFINE_integer("log_every", 25, "Log progress every this many steps.")
flags.DEFINE_integer("save_every", 0, "Write a snapshot every N steps next to the output (name.0100.png); 0 = never.")
flags.DEFINE_string("logdir", None, "Write TensorBoard summaries (loss terms per step, snapshots) to this directory.")
flags.DEFINE_string("trace", None, "Write the run's settings, per-step losses and timings to this JSON file.")
flags.DEFINE_string(
    "export_dir",
    None,
    "Instead of stylizing, write the feature extractor (the --content_layers/--style_layers, --weights, --pooling "
    "network) as a SavedModel to <export_dir>/<export_version>/, TensorFlow Serving's layout.",
)
flags.DEFINE_integer("export_version", 1, "Version subdirectory of --export_dir (a positive integer).")


class UsageError(Exception):
    """A flag combination that makes no sense; exit status 2."""


def fail(message: str, status: int) -> None:
    sys.stderr.write(f"tf_nst: error: {message}\n")
    sys.exit(status)


def content_paths(content: str) -> list[str] | None:
    """The files of a batch (a directory or a glob), sorted; None for a single file."""
    if os.path.isdir(content):
        names = sorted(os.listdir(content))
        return [os.path.join(content, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    if glob.has_magic(content):
        return sorted(p for p in glob.glob(content) if os.path.isfile(p))
    return None


def check_output(output: str, inputs: list[str]) -> None:
    """Refuse, before any work, an output that would overwrite an input or cannot be written."""
    from tf_nst.image_io import image_format

    target = os.path.realpath(output)
    if os.path.isdir(target):
        raise UsageError(f"--output={output}: is a directory")
    try:
        image_format(output)
    except ImageError as err:
        raise UsageError(f"--output={err}") from None
    for path in inputs:
        if os.path.realpath(path) == target:
            raise UsageError(f"--output={output}: is the same file as input {path}")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise UsageError(f"--output={output}: directory {os.path.dirname(output) or '.'} does not exist")
    if os.path.exists(target) and not FLAGS.overwrite:
        raise UsageError(f"--output={output}: exists (pass --overwrite to replace it)")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"--output={output}: directory is not writable")
    stem, extension = os.path.splitext(output)
    earlier = glob.glob(f"{glob.escape(stem)}.[0-9][0-9][0-9][0-9]*{glob.escape(extension)}")
    if FLAGS.save_every > 0 and earlier and not FLAGS.overwrite:
        raise UsageError(f"--output={output}: snapshots of an earlier run exist ({earlier[0]}); pass --overwrite")


def batch_output(output_dir: str, content: str) -> str:
    """Where a batch writes ``content``'s result: same name in ``output_dir``, PNG unless JPEG/WebP."""
    stem, extension = os.path.splitext(os.path.basename(content))
    return os.path.join(output_dir, stem + (extension if extension.lower() in (".jpg", ".jpeg", ".webp") else ".png"))


def log_plan(plan, scales: int) -> None:
    """Say before the run what it will do: precision and why, the pyramid, the memory estimate."""
    logging.info("precision %s (%s)", plan.precision.precision, plan.precision.reason)
    if scales > 1:
        levels = ", ".join(
            f"{w}x{h} ({n} step{'s' * (n != 1)})" for (w, h), n in [(lv.size, lv.steps) for lv in plan.levels]
        )
        dropped = f" ({scales - len(plan.levels)} of {scales} scales left out: below about 256 px)"
        logging.info("coarse to fine: %s%s", levels, dropped if len(plan.levels) < scales else "")
    budget = plan.budget
    limit = f" of {budget.limit / 2**30:.1f} GB {budget.source}" if budget.limit else ""
    logging.info("estimated peak memory %.1f GB%s", plan.memory_bytes / 2**30, limit)


def log_progress(progress) -> None:
    remaining = (progress.steps - progress.step) / max(progress.steps_per_second, 1e-9)
    terms = " ".join(f"{name}={value:.4g}" for name, value in progress.losses.items())
    scale = f"scale {progress.scale}/{progress.scales} {progress.size[0]}x{progress.size[1]}  " * (progress.scales > 1)
    logging.info(
        "%sstep %d/%d  %s  %.3f s/step  ETA %.0fs",
        scale,
        progress.step,
        progress.steps,
        terms,
        1.0 / max(progress.steps_per_second, 1e-9),
        remaining,
    )


class Recorders:
    """The callbacks the flags ask for: log lines, snapshots, TensorBoard, trace."""

    def __init__(self, config: StyleTransferConfig):
        from tf_nst.records import TensorBoardLog, Trace

        self.tensorboard = TensorBoardLog(FLAGS.logdir, FLAGS.save_every) if FLAGS.logdir else None
        self.trace = (
            Trace(FLAGS.trace, {"config": dataclasses.asdict(config), "device": DEVICE}) if FLAGS.trace else None
        )
        per_step = self.tensorboard is not None or self.trace is not None
        self.report_every = 1 if per_step else math.gcd(FLAGS.log_every, FLAGS.save_every or FLAGS.log_every)
        self.last = None

    def for_image(self, name: str, output: str):
        """The combined callback for one image written to ``output``."""
        from tf_nst.records import Snapshots, chain, every

        if self.trace:
            self.trace.start(name)
        snapshots = Snapshots(output, FLAGS.save_every) if FLAGS.save_every > 0 else None
        return chain(
            lambda p: setattr(self, "last", p),
            every(FLAGS.log_every, log_progress),
            snapshots,
            self.tensorboard,
            self.trace,
        )

    def finish(self, **summary) -> None:
        if self.tensorboard:
            self.tensorboard.close()
        if self.trace:
            self.trace.write(**summary)


RECEIVED = {"signal": int(signal.SIGINT)}


def stop_on_signal(signum, frame) -> None:
    """SIGTERM handler: stop the run as Ctrl-C does (the latest image is saved)."""
    RECEIVED["signal"] = signum
    raise KeyboardInterrupt


@contextlib.contextmanager
def info_logs_silenced():
    """Keep TensorFlow's INFO lines (SavedModel writer details) off the terminal; warnings still show."""
    verbosity, tf_logger = logging.get_verbosity(), std_logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    logging.set_verbosity(logging.WARNING)
    tf_logger.setLevel(std_logging.WARNING)
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        tf_logger.setLevel(tf_level)


def export(config: StyleTransferConfig) -> None:
    """--export_dir: write the SavedModel and log where it went."""
    from tf_nst.export import export_feature_extractor, exported_layers

    given = [f"--{name}" for name in ("content", "style", "output") if FLAGS[name].present]
    if given:
        raise UsageError(f"--export_dir exports the feature extractor; it takes no {', '.join(given)}")
    with info_logs_silenced():
        path = export_feature_extractor(FLAGS.export_dir, config, FLAGS.export_version, FLAGS.overwrite)
    logging.info(
        "wrote the SavedModel (layers %s, weights=%s, pooling=%s) to %s; TensorFlow Serving's model base path is %s",
        ",".join(exported_layers(config)),
        config.weights,
        config.pooling,
        path,
        FLAGS.export_dir,
    )


def run() -> int:
    import numpy as np

    from tf_nst.api import Stylizer
    from tf_nst.demo import demo_content, demo_style
    from tf_nst.errors import Interrupted, RunStopped
    from tf_nst.image_io import save_image

    if FLAGS.export_dir is not None:
        export(config_from_flags())
        return 0
    if FLAGS["export_version"].present:
        raise UsageError("--export_version: only used with --export_dir")
    if (FLAGS.content is None) != (FLAGS.style is None):
        raise UsageError("give both --content and --style (or neither, for the built-in demo images)")
    if FLAGS.save_every < 0 or FLAGS.log_every <= 0:
        raise UsageError("--save_every must be >= 0 and --log_every > 0")
    config = config_from_flags()
    styles = FLAGS.style.split(",") if FLAGS.style else [np.asarray(demo_style())]
    batch = content_paths(FLAGS.content) if FLAGS.content else None
    if batch is not None:
        if not batch:
            raise UsageError(f"--content={FLAGS.content}: no image files found")
        if os.path.exists(FLAGS.output) and not os.path.isdir(FLAGS.output):
            raise UsageError(f"--output={FLAGS.output}: must be a directory for a batch of content images")
        os.makedirs(FLAGS.output, exist_ok=True)
        jobs = [(path, batch_output(FLAGS.output, path)) for path in batch]
    else:
        content = FLAGS.content or np.asarray(demo_content())
        jobs = [(content, FLAGS.output)]
        check_output(FLAGS.output, [FLAGS.content, *styles, config.init] if FLAGS.content else [config.init])
    if FLAGS.content is None:
        logging.info("no --content/--style: using the built-in demo images")
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(config.seed)
    logging.info(
        "%d image(s) at %d px, %d steps, weights=%s, seed=%d, on %s",
        len(jobs),
        config.max_size,
        config.steps,
        config.weights,
        config.seed,
        DEVICE,
    )
    stylizer = Stylizer(styles, config, on_plan=lambda p: log_plan(p, config.scales))
    recorders = Recorders(config)
    failures, done = [], 0
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        for content, output in jobs:
            name = content if isinstance(content, str) else "demo"
            try:
                if batch is not None:
                    check_output(output, [content, *styles])
                result = stylizer(content, recorders.for_image(name, output), recorders.report_every)
            except (UsageError, ImageError) as err:
                if batch is None:
                    raise
                logging.error("skipping %s: %s", content, err)
                failures.append(f"{content}: {err}")
                continue
            except RunStopped as stop:
                save_image(stop.image, output)
                if isinstance(stop, Interrupted):
                    recorders.finish(interrupted_at_step=stop.step)
                    fail(f"{stop}; saved the latest image to {output}", 128 + RECEIVED["signal"])
                recorders.finish(stopped_at_step=stop.step)
                fail(f"{stop}; saved the last good image to {output}", 1)
            save_image(result, output)
            done += 1
            last = recorders.last
            logging.info(
                "wrote %s in %.1fs (%.3f s/step); losses: %s",
                output,
                last.elapsed,
                1.0 / last.steps_per_second,
                " ".join(f"{k}={v:.4g}" for k, v in last.losses.items()),
            )
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    recorders.finish(images_written=done, failures=failures)
    if failures:
        fail(f"{len(failures)} of {len(jobs)} images failed (first: {failures[0]})", 1)
    return 0


def main(argv: list[str]) -> None:
    from tf_nst.errors import ConfigError, TfNstError

    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])} (flags take the form --name=value)", 2)
    try:
        run()
    except (UsageError, ConfigError) as err:
        fail(str(err), 2)
    except TfNstError as err:
        fail(str(err), 1)
    except KeyboardInterrupt:
        fail("interrupted before the first step", 130)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, but a bad flag is a one-line usage error with status 2."""
    try:
        return FLAGS(argv)
    except flags.Error as err:
        fail(str(err).splitlines()[0], 2)


if __name__ == "__main__":
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setFormatter(std_logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    app.run(main, flags_parser=parse_flags)
