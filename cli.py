"""Command line for tf_nst: paint a photo in the style of a painting.

    python cli.py --content=photo.jpg --style=painting.jpg --output=out.png
    python cli.py                       # the built-in demo images, written to stylized.png

Usage errors exit with status 2, failures with 1, each with one line on stderr and no traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging as std_logging
import os
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
    from tf_nst.config import INITS, POOLINGS, StyleTransferConfig
    from tf_nst.precision import PRECISIONS

DEFAULTS = StyleTransferConfig()
FLAGS = flags.FLAGS

flags.DEFINE_string("content", None, "Content photo (any image PIL reads). Omit with --style for the demo images.")
flags.DEFINE_string("style", None, "Style painting whose textures and colours are transferred.")
flags.DEFINE_string("output", "stylized.png", "Output image; the format follows the extension (.png, .jpg, .webp).")
flags.DEFINE_integer("max_size", DEFAULTS.max_size, "Longest side of the output in pixels (>= 32).")
flags.DEFINE_integer("steps", DEFAULTS.steps, "Number of Adam steps.")
flags.DEFINE_float("content_weight", DEFAULTS.content_weight, "alpha: weight of the content loss.")
flags.DEFINE_float("style_weight", DEFAULTS.style_weight, "beta: weight of the style loss.")
flags.DEFINE_float("tv_weight", DEFAULTS.tv_weight, "Weight of the total-variation (smoothness) loss.")
flags.DEFINE_float("learning_rate", DEFAULTS.learning_rate, "Adam step size, in [0, 1] pixel units.")
flags.DEFINE_list("content_layers", list(DEFAULTS.content_layers), "VGG-19 layers of the content loss.")
flags.DEFINE_list("style_layers", list(DEFAULTS.style_layers), "VGG-19 layers of the style loss.")
flags.DEFINE_list("style_layer_weights", None, "One weight per style layer (normalized to sum 1); default equal.")
flags.DEFINE_enum("init", DEFAULTS.init, INITS, "Starting image.")
flags.DEFINE_integer("seed", DEFAULTS.seed, "Random seed (noise init).")
flags.DEFINE_string(
    "weights", DEFAULTS.weights, "VGG-19 weights: embedded (offline), imagenet (download) or a .h5 path."
)
flags.DEFINE_enum("pooling", DEFAULTS.pooling, POOLINGS, "VGG pooling: max (VGG's own) or avg (smoother).")
flags.DEFINE_enum(
    "precision",
    DEFAULTS.precision,
    PRECISIONS,
    "What VGG computes in (losses and image stay float32); auto: bfloat16 where the hardware runs it fast.",
)
flags.DEFINE_integer(
    "scales", DEFAULTS.scales, "Coarse-to-fine levels, each twice the size of the one before, from about 256 px."
)
flags.DEFINE_integer(
    "memory_limit_mb", DEFAULTS.memory_limit_mb, "Refuse runs estimated to need more memory (default: what is free)."
)
flags.DEFINE_integer("log_every", 25, "Log progress every this many steps.")


class UsageError(Exception):
    """A flag combination that makes no sense; exit status 2."""


def fail(message: str, status: int) -> None:
    sys.stderr.write(f"tf_nst: error: {message}\n")
    sys.exit(status)


def parse_float_list(values: list[str] | None, flag: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise UsageError(f"--{flag}: expected comma-separated numbers, got {','.join(values)}") from None


def config_from_flags() -> StyleTransferConfig:
    """Build the run's one config object from the parsed flags."""
    names = {field.name for field in dataclasses.fields(StyleTransferConfig)}
    values = {name: FLAGS[name].value for name in names if name in FLAGS}
    values["content_layers"] = tuple(values["content_layers"])
    values["style_layers"] = tuple(values["style_layers"])
    values["style_layer_weights"] = parse_float_list(FLAGS.style_layer_weights, "style_layer_weights")
    return StyleTransferConfig(**values)


def check_output(output: str, inputs: list[str]) -> None:
    """Refuse, before any work, an output that would overwrite an input or cannot be written."""
    from tf_nst.image_io import image_format

    image_format(output)
    target = os.path.realpath(output)
    for path in inputs:
        if os.path.realpath(path) == target:
            raise UsageError(f"--output={output}: is the same file as input {path}")
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise UsageError(f"--output={output}: directory {os.path.dirname(output) or '.'} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise UsageError(f"--output={output}: not writable")
    if os.path.isdir(target):
        raise UsageError(f"--output={output}: is a directory")


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


def run() -> None:
    import time

    from tf_nst.api import plan, stylize
    from tf_nst.demo import demo_content, demo_style
    from tf_nst.image_io import as_pixels, save_image

    if (FLAGS.content is None) != (FLAGS.style is None):
        raise UsageError("give both --content and --style (or neither, for the built-in demo images)")
    config = config_from_flags()
    inputs = [FLAGS.content, FLAGS.style] if FLAGS.content else []
    check_output(FLAGS.output, inputs)
    if FLAGS.content is None:
        logging.info("no --content/--style: using the built-in demo images")
        content, style = as_pixels(demo_content()), as_pixels(demo_style())
    else:
        content, style = as_pixels(FLAGS.content, FLAGS.content), as_pixels(FLAGS.style, FLAGS.style)
    logging.info(
        "stylizing at %d px, %d steps, weights=%s, on %s", config.max_size, config.steps, config.weights, DEVICE
    )
    the_plan = plan(content.shape[1::-1], style.shape[1::-1], config)
    log_plan(the_plan, config.scales)
    progress = []
    start = time.perf_counter()
    result = stylize(
        content,
        style,
        config.replace(precision=the_plan.precision.precision),
        lambda p: (progress.append(p), log_progress(p)),
        FLAGS.log_every,
    )
    save_image(result, FLAGS.output)
    last = progress[-1]
    logging.info(
        "wrote %s in %.1fs (%.3f s/step at %dx%d); losses: %s",
        FLAGS.output,
        time.perf_counter() - start,
        1.0 / last.steps_per_second,
        *last.size,
        " ".join(f"{k}={v:.4g}" for k, v in last.losses.items()),
    )


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
        fail("interrupted", 130)


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
