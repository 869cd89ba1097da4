"""Paint a photo in the style of a painting (Gatys et al.), or export the VGG-19 feature extractor.

  tf-nst --content=photo.jpg --style=painting.jpg --output=out.png
  tf-nst --content='photos/*.jpg' --style=a.jpg,b.jpg --output=painted/    # a batch, two styles
  tf-nst --content=clip.mp4 --style=painting.jpg --output=painted.mp4      # a video (or --output=frames/)
  tf-nst --video --content='frames/*.png' --style=painting.jpg --output=painted.gif
  tf-nst --overwrite                              # the built-in demo images, written to stylized.png
  tf-nst --export_dir=savedmodels/vgg19_features  # the feature extractor as a SavedModel

Also `python -m tf_nst` and, in a checkout, `python cli.py`. On a terminal, progress is one live line; elsewhere,
a log line every --log_every evaluations. Usage errors exit with status 2, failures with 1, interrupts with
128 + the signal number; each with one line on stderr and no traceback. --help (or -h) lists the flags.
"""

from __future__ import annotations

import dataclasses
import logging as std_logging
import sys

from absl import app, flags, logging

from tf_nst.quiet import tensorflow_start_silenced

with tensorflow_start_silenced():  # keep TensorFlow's start-up chatter off the terminal
    import tensorflow as tf

    DEVICE = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU"
    from tf_nst.cli.flags import config_from_flags, define_config_flags, fail
    from tf_nst.cli.runner import RunOptions, Stopped, run
    from tf_nst.cli.video import parse_frames
    from tf_nst.errors import ConfigError, TfNstError, UsageError
    from tf_nst.video import FILLS, VideoOptions

FLAGS = flags.FLAGS
D = RunOptions()  # the flags' defaults: one flag per RunOptions field (--style for styles; progress is derived)
define_config_flags()
flags.DEFINE_string(
    "content", D.content, "Content photo, or a directory or glob of photos (a batch). Omit with --style for the demo."
)
flags.DEFINE_list(
    "style", list(D.styles), "Style painting(s), comma-separated; their textures and colours are transferred."
)
flags.DEFINE_string(
    "output", D.output, "Output image (format from the extension: .png, .jpg, .webp), or a directory for a batch."
)
flags.DEFINE_boolean(
    "overwrite",
    D.overwrite,
    "Replace existing outputs (images, snapshots, a trace, an --export_dir version); otherwise refused.",
)
flags.DEFINE_boolean("quiet", False, "Show no progress and no log lines: only warnings and errors.")
flags.DEFINE_integer(
    "log_every", D.log_every, "Log progress every this many evaluations (when stderr is not a terminal)."
)
flags.DEFINE_integer(
    "save_every", D.save_every, "Write a snapshot every N evaluations next to the output (name.0100.png); 0 = never."
)
flags.DEFINE_string("logdir", D.logdir, "Write TensorBoard summaries (loss terms, snapshots) to this directory.")
flags.DEFINE_string("trace", D.trace, "Write the run's settings, per-evaluation losses and timings to this JSON file.")
flags.DEFINE_string(
    "export_dir",
    D.export_dir,
    "Instead of stylizing, write the feature extractor (the --content_layers/--style_layers, --weights, --pooling "
    "network) as a SavedModel to <export_dir>/<export_version>/, TensorFlow Serving's layout.",
)
flags.DEFINE_integer("export_version", D.export_version, "Version subdirectory of --export_dir (a positive integer).")
flags.DEFINE_integer(
    "export_max_pixels",
    D.export_max_pixels,
    "The export's encoded signature refuses files with more pixels (from the header).",
)
flags.DEFINE_integer(
    "export_max_size", D.export_max_size, "The export's largest accepted max_size and image side, in pixels."
)
VIDEO_DEFAULTS = VideoOptions()
flags.DEFINE_boolean(
    "video", D.video, "--content is a directory or glob of one clip's frames (name order), not a batch of photos."
)
flags.DEFINE_float(
    "temporal_weight",
    VIDEO_DEFAULTS.temporal_weight,
    "Video: weight of the temporal loss (masked mean squared difference to the previous frame's result, warped).",
)
flags.DEFINE_integer(
    "frame_steps", VIDEO_DEFAULTS.frame_steps, "Video: evaluations of each frame after the first (--steps: the first)."
)
flags.DEFINE_enum(
    "fill", VIDEO_DEFAULTS.fill, FILLS, "Video: where flow is unreliable, a frame starts from the content or noise."
)
flags.DEFINE_string("frames", None, "Video: only frames START:END (1-based, inclusive; e.g. 1:50, 100:).")
flags.DEFINE_boolean("resume", D.resume, "Video into a frame directory: keep the frames already there, do the rest.")
flags.DEFINE_float("frame_rate", D.frame_rate, "Video from frame files: frames per second of the output (default 25).")


def options_from_flags() -> RunOptions:
    """The run's options from the parsed flags, field by field; UsageError for flags that do not go together."""
    if FLAGS.export_dir is not None:
        given = [f"--{name}" for name in ("content", "style", "output") if FLAGS[name].present]
        if given:
            raise UsageError(f"--export_dir exports the feature extractor; it takes no {', '.join(given)}")
    else:
        for name in ("export_version", "export_max_pixels", "export_max_size"):
            if FLAGS[name].present:
                raise UsageError(f"--{name}: only used with --export_dir")
    if FLAGS.export_dir is None and (FLAGS.content is None) != (not FLAGS.style):
        raise UsageError("give both --content and --style (or neither, for the built-in demo images)")
    if FLAGS.frame_rate is not None and not FLAGS.frame_rate > 0:
        raise UsageError(f"--frame_rate: must be positive, got {FLAGS.frame_rate}")
    if FLAGS.quiet:
        shown = "none"
    else:
        shown = "bar" if sys.stderr.isatty() else "log"
    values = {field.name: FLAGS[field.name].value for field in dataclasses.fields(RunOptions) if field.name in FLAGS}
    values["frames"] = None if FLAGS.frames is None else parse_frames(FLAGS.frames)
    video = VideoOptions(FLAGS.temporal_weight, FLAGS.frame_steps, FLAGS.fill)
    return RunOptions(**values, styles=tuple(FLAGS.style or ()), progress=shown, video_options=video)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])} (flags take the form --name=value)", 2)
    if FLAGS.quiet:
        logging.set_verbosity(logging.WARNING)
    try:
        run(options_from_flags(), config_from_flags(), DEVICE)
    except ConfigError as err:  # UsageError included
        fail(str(err), 2)
    except Stopped as stop:
        fail(str(stop), 128 + stop.signum if stop.signum else 1)
    except TfNstError as err:
        fail(str(err), 1)
    except KeyboardInterrupt:
        fail("interrupted before the first evaluation", 130)


HELP = ("--help", "-help", "-h", "-?", "--helpshort")


def help_text(full: bool = False) -> str:
    """This module's docstring and the command's flags (with ``full``, also absl's own: logging and the like)."""
    modules = [__name__, "tf_nst.cli.flags"]
    listing = [line for m in modules for line in FLAGS.module_help(m).splitlines() if line.startswith(" ")]
    text = f"{__doc__}\nflags:\n" + "\n".join(listing) + "\n"
    if full:
        others = [m for m in FLAGS.flags_by_module_dict() if m not in modules]
        text += "".join(FLAGS.module_help(m) + "\n" for m in sorted(others))
    return text


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, but ``--help``/``-h`` print the flags to stdout and exit 0, and a bad flag is a one-line
    usage error with status 2."""
    given = argv[1 : argv.index("--")] if "--" in argv else argv[1:]
    if any(arg in HELP or arg == "--helpfull" for arg in given):
        sys.stdout.write(help_text(full="--helpfull" in given))
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as err:
        fail(str(err).splitlines()[0], 2)


def console_main() -> None:
    """The ``tf-nst`` command: log to stderr with the time, parse the flags, run."""
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setFormatter(std_logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    app.run(main, flags_parser=parse_flags)
