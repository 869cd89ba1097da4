"""Paint a photo in the style of a painting (Gatys et al.), or export the VGG-19 feature extractor.

  tf-nst --content=photo.jpg --style=painting.jpg --output=out.png
  tf-nst --content='photos/*.jpg' --style=a.jpg,b.jpg --output=painted/    # a batch, two styles
  tf-nst --content=clip.mp4 --style=painting.jpg --output=painted.mp4      # a video (or --output=frames/)
  tf-nst --video --content='frames/*.png' --style=painting.jpg --output=painted.gif
  tf-nst --overwrite                              # the built-in demo images, written to stylized.png
  tf-nst --export_dir=savedmodels/vgg19_features  # the feature extractor as a SavedModel
  tf-nst --serve                                  # the local web app (pip install 'tf_nst[web]')

Also `python -m tf_nst` and, in a checkout, `python cli.py`. On a terminal, progress is one live line; elsewhere,
a log line every --log_every evaluations. Usage errors exit with status 2, failures with 1, interrupts with
128 + the signal number; each with one line on stderr and no traceback. --help (or -h) lists the flags.
"""

from __future__ import annotations

import dataclasses
import logging as std_logging
import sys

from absl import app, flags, logging

from tf_nst.cli.flags import define_flags, fail, from_flags
from tf_nst.cli.options import RunOptions, parse_frames
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import TfNstError, UsageError, exit_status, first_line

FLAGS = flags.FLAGS
define_flags(StyleTransferConfig)
define_flags(RunOptions)  # TensorFlow is imported only once the flags are parsed and good (``main``)

# the settings of an export, given only with --export_dir
EXPORT_SETTINGS = tuple(
    f.name for f in dataclasses.fields(RunOptions) if f.name.startswith("export_") and f.name != "export_dir"
)


def options_from_flags() -> RunOptions:
    """The run's options from the parsed flags; UsageError for flags that do not go together."""
    if FLAGS.port != 0 and not FLAGS.serve:
        raise UsageError("--port: only used with --serve")
    if FLAGS.serve:
        given = [f"--{name}" for name in ("content", "style", "output", "export_dir", "video") if FLAGS[name].present]
        if given:
            raise UsageError(
                f"--serve starts the web app, where photos and paintings are chosen; it takes no {', '.join(given)}"
            )
    if FLAGS.export_dir is not None:
        given = [f"--{name}" for name in ("content", "style", "output") if FLAGS[name].present]
        if given:
            raise UsageError(f"--export_dir exports the feature extractor; it takes no {', '.join(given)}")
    else:
        for name in EXPORT_SETTINGS:
            if FLAGS[name].present:
                raise UsageError(f"--{name}: only used with --export_dir")
        for name in ("content", "style"):
            if FLAGS[name].present and not FLAGS[name].value:
                raise UsageError(f"--{name}: is empty; give a file's path")
        if (FLAGS.content is None) != (not FLAGS.style):
            missing = "--style" if FLAGS.content is not None else "--content"
            raise UsageError(f"{missing}: missing; give both --content and --style, or neither for the demo images")
    shown = "none" if FLAGS.quiet else "bar" if sys.stderr.isatty() else "log"
    return from_flags(RunOptions, parsers={"frames": parse_frames}, progress=shown)


def run(options: RunOptions, config: StyleTransferConfig, device: str = "CPU") -> None:
    """Serve the web app (``options.serve``), export (``options.export_dir``), stylize a clip or stylize images,
    as the options say; ``device`` is only reported."""
    from tf_nst.quiet import tensorflow_start_silenced

    masks = "--regions" if options.regions is not None else "--style_masks" if options.style_masks else None
    if masks and options.serve:
        raise UsageError(f"{masks}: for a command-line run; the web app takes no masks")
    if options.serve:  # its server's modules only now: they are an optional extra
        from tf_nst.web import serve

        serve(config, options.port)
        return

    with tensorflow_start_silenced():  # keep TensorFlow's start-up chatter off the terminal
        from tf_nst.cli.export import export
        from tf_nst.cli.images import stylize_images
        from tf_nst.cli.video import is_clip, stylize_clip

    if options.export_dir is not None:
        export(options, config)
    elif is_clip(options):
        if masks:
            raise UsageError(f"{masks}: masks a photo; a clip takes none")
        stylize_clip(options, config, device)
    else:
        if options.frames is not None or options.resume or options.frame_rate is not None:
            raise UsageError("--frames, --resume and --frame_rate are for a clip (a video file, or --video)")
        stylize_images(options, config, device)


def device() -> str:
    """Where TensorFlow runs: ``GPU:0`` when it sees a GPU, else ``CPU`` (imports TensorFlow, quietly)."""
    from tf_nst.quiet import tensorflow_start_silenced

    with tensorflow_start_silenced():
        import tensorflow as tf

        return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU"


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])} (flags take the form --name=value)", 2)
    if FLAGS.quiet:
        logging.set_verbosity(logging.WARNING)
    try:
        options, config = options_from_flags(), from_flags(StyleTransferConfig)
        run(options, config, device())
    except TfNstError as err:
        fail(str(err), exit_status(err))
    except KeyboardInterrupt as err:
        fail("interrupted before the first evaluation", exit_status(err))


HELP = ("--help", "-help", "-h", "-?", "--helpshort")


def help_text(full: bool = False) -> str:
    """This module's docstring and the command's flags (with ``full``, also absl's own: logging and the like)."""
    modules = ["tf_nst.cli.flags"]
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
        fail(first_line(err), 2)


def console_main() -> None:
    """The ``tf-nst`` command: log to stderr with the time, parse the flags, run."""
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setFormatter(std_logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    app.run(main, flags_parser=parse_flags)
