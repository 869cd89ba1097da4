"""The image command: the photos to stylize (one, a batch, or the demo) and where each goes.

``stylize_images`` takes ``RunOptions`` (what to read and write, how to show progress) and the run's
``StyleTransferConfig``; it reads no flags (``tf_nst.cli.main`` builds both). It raises ``UsageError`` for outputs
it will not write, ``Stopped`` when a run ends early after saving its latest image, and tf_nst's other errors as
they come; the command turns them into exit statuses.
"""

from __future__ import annotations

import glob
import os
import time

import numpy as np
from absl import logging

from tf_nst.api import Stylizer
from tf_nst.cli import progress
from tf_nst.cli.command import Recorders, Stopped, TermAsInterrupt, check_writable, stopped
from tf_nst.cli.options import RunOptions
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ImageError, RunStopped, TfNstError, UsageError
from tf_nst.io.demo import demo_content, demo_style
from tf_nst.io.images import FORMATS, IMAGE_EXTENSIONS, ImageLike, image_format, save_image
from tf_nst.io.video import OUTPUT_EXTENSIONS as VIDEO_OUTPUT_EXTENSIONS
from tf_nst.layers import wrap_step
from tf_nst.planning import Plan
from tf_nst.seeding import seed_run


class BatchFailed(TfNstError):
    """Some images of a batch could not be stylized (the others were written)."""


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
        inputs = [*(paths or [options.content]), *options.styles, init, options.regions, *options.style_masks]
        inputs = [path for path in inputs if path]
        if batch and options.regions is not None:
            raise UsageError(f"--regions: masks one photo, but --content={options.content} is a batch")
    if options.trace:
        outputs = [options.output] if not batch else [output for _, output in todo]
        check_writable("--trace", options.trace, inputs + outputs, options.overwrite)
    if not batch:
        if options.content is not None and os.path.splitext(options.output)[1].lower() in VIDEO_OUTPUT_EXTENSIONS:
            raise UsageError(
                f"--output={options.output}: a video needs a clip, but {options.content} is read as a still image"
                f"{' (a GIF of one frame)' if options.content.lower().endswith('.gif') else ''}; write an image "
                f"({', '.join(FORMATS)}) or give a clip"
            )
        check_output(options.output, inputs, options)
        return todo, False
    if not todo:
        raise UsageError(f"--content={options.content}: no image files found")
    if os.path.exists(options.output) and not os.path.isdir(options.output):
        raise UsageError(f"--output={options.output}: must be a directory for a batch of content images")
    os.makedirs(options.output, exist_ok=True)
    return todo, True


def stylize_images(options: RunOptions, config: StyleTransferConfig, device: str) -> None:
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
        if config.tileable:
            step = wrap_step(config.content_layers + config.style_layers)
            logging.info(
                "tileable: %dx%d, wrapping around (sides rounded down to multiples of %d px)",
                *plan.levels[-1].size,
                step,
            )

    masks = [mask or None for mask in options.style_masks] or None
    stylizer = Stylizer(styles, config, on_plan=on_plan, regions=options.regions, style_masks=masks)
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
