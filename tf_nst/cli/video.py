"""A clip through the ``tf-nst`` command: the frames to read, where they go, progress over the clip, signals.

``stylize_clip`` reads a video file (or, with ``--video``, a directory or glob of frames), stylizes it with
``tf_nst.stylize_video`` and writes a video file (``.mp4``, ``.webm``, ``.gif``, at the input's frame rate) or a
directory of ``frame_00001.png``... Everything about the output is checked before any work. An interrupted clip
keeps its finished frames (a video file is closed with them) and ``--resume`` continues a frame directory.
"""

from __future__ import annotations

import os
import time
from fractions import Fraction

from absl import logging

from tf_nst.cli.command import Recorders, Stopped, TermAsInterrupt, check_writable
from tf_nst.cli.options import RunOptions
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import Interrupted, RunStopped, UsageError
from tf_nst.io.images import as_pixels, read_image
from tf_nst.io.video import (
    OUTPUT_EXTENSIONS,
    Clip,
    FrameDirectory,
    VideoFile,
    frame_name,
    frame_paths,
    is_video_file,
    open_frames,
    open_video,
)
from tf_nst.seeding import seed_run
from tf_nst.transfer import Progress
from tf_nst.video import NOT_TILEABLE, stylize_video


def is_clip(options: RunOptions) -> bool:
    """Whether the run is a clip: ``--video``, or a content file that is a video (an animated GIF included)."""
    return options.video or (options.content is not None and is_video_file(options.content))


def open_clip(options: RunOptions, config: StyleTransferConfig) -> Clip:
    """The clip ``options.content`` names; UsageError for no frame files, ImageError for a bad clip."""
    if options.content is None:
        raise UsageError("--video: give the clip's frames with --content (a directory or a glob)")
    if os.path.isfile(options.content) or not options.video:
        return open_video(options.content, config.max_input_pixels)
    if not frame_paths(options.content):
        raise UsageError(f"--content={options.content}: no frame files found")
    clip = open_frames(options.content, config.max_input_pixels)
    if options.frame_rate is not None:
        clip = Clip(clip.source, clip.count, clip.size, Fraction(options.frame_rate), clip.paths, clip.max_pixels)
    return clip


def frame_range(options: RunOptions, clip: Clip) -> tuple[int, int]:
    """The clip's frames to stylize as a 0-based range [first, stop)."""
    first, last = options.frames or (1, None)
    if first > clip.count:
        raise UsageError(f"--frames: {options.content} has {clip.count} frames; frame {first} does not exist")
    return first - 1, clip.count if last is None else min(last, clip.count)


def check_clip_output(options: RunOptions, numbers: range) -> bool:
    """Refuse, before any work, an output the clip cannot or may not write; True if it is a frame directory.

    A path with a video extension is a video file; one without an extension (or an existing directory) a
    frame directory, whose frames ``numbers`` (1-based) must not exist unless ``--overwrite`` or ``--resume``.
    """
    output = options.output
    extension = os.path.splitext(output.rstrip(os.sep))[1].lower()
    is_directory = os.path.isdir(output) or not extension
    if not is_directory and extension not in OUTPUT_EXTENSIONS:
        raise UsageError(
            f"--output={output}: unsupported output extension '{extension}' for a clip "
            f"(use {', '.join(OUTPUT_EXTENSIONS)} or a directory)"
        )
    if options.resume and not is_directory:
        raise UsageError(f"--resume: only for a frame directory output, not {output}")
    if not is_directory:
        check_writable("--output", output, [options.content], options.overwrite)
        return False
    parent = os.path.dirname(os.path.abspath(output.rstrip(os.sep)))
    if not os.path.isdir(parent):
        raise UsageError(f"--output={output}: directory {os.path.dirname(output) or '.'} does not exist")
    if os.path.exists(output) and not options.overwrite and not options.resume:
        existing = [name for name in map(frame_name, numbers) if os.path.exists(os.path.join(output, name))]
        if existing:
            raise UsageError(
                f"--output={output}: {existing[0]} exists (pass --overwrite to replace, or --resume to continue)"
            )
    if not os.access(output if os.path.isdir(output) else parent, os.W_OK):
        raise UsageError(f"--output={output}: directory is not writable")
    return True


def finished_frames(directory: str, numbers: range) -> int:
    """How many of frames ``numbers`` a resumed directory already has, counted from the first."""
    done = 0
    for number in numbers:
        if not os.path.isfile(os.path.join(directory, frame_name(number))):
            break
        done += 1
    return done


def duration_text(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ClipClock:
    """Seconds per frame so far, and the ETA of the clip's remaining frames.

    The first frame is a full stylization (every level); a later one is ``frame_steps`` evaluations at full
    size, far less. Until a later frame has been timed, one is estimated from the first frame's own seconds per
    evaluation at full size (its last level), with one more evaluation for the frame's content targets; after
    that, later frames take the mean of the later frames done.
    """

    def __init__(self, total: int, frame_steps: int):
        self.total, self.frame_steps = total, frame_steps
        self.times: list[float] = []
        self.later_frame_guess: float | None = None

    def add(self, seconds: float, last: Progress | None = None) -> None:
        """A frame took ``seconds``; ``last`` is its last progress report (its speed at full size)."""
        self.times.append(seconds)
        if len(self.times) == 1 and last is not None and last.steps_per_second > 0:
            self.later_frame_guess = (self.frame_steps + 1) / last.steps_per_second

    def eta(self) -> str:
        left = self.total - len(self.times)
        if len(self.times) > 1:
            later = self.times[1:]
            return f"clip ETA {duration_text(sum(later) / len(later) * left)}  "
        if self.times and self.later_frame_guess is not None:
            return f"clip ETA ~{duration_text(self.later_frame_guess * left)}  "
        return "clip ETA after frame 1  " if left > 1 else ""


def stylize_clip(options: RunOptions, config: StyleTransferConfig, device: str) -> None:
    """Stylize the clip ``options.content`` into ``options.output``; log each frame written."""
    if options.save_every:
        raise UsageError("--save_every: snapshots are for images, not clips")
    if config.tileable:
        raise UsageError(NOT_TILEABLE)
    clip = open_clip(options, config)
    first, stop = frame_range(options, clip)
    numbers = range(first + 1, stop + 1)
    to_directory = check_clip_output(options, numbers)
    for style in options.styles:  # refuse a bad style before any work
        as_pixels(style, style, config.max_input_pixels)
    done = finished_frames(options.output, numbers) if options.resume and os.path.isdir(options.output) else 0
    if done == len(numbers):
        logging.info("all %d frames are already in %s", done, options.output)
        return
    resume_from = None
    frames = clip.frames(first + done - (1 if done else 0), stop)
    if done:
        resume_from = (next(frames), read_image(os.path.join(options.output, frame_name(first + done))))
        logging.info("resuming after frame %d of %s", first + done, options.output)
    if to_directory:
        os.makedirs(options.output, exist_ok=True)
        writer = FrameDirectory(options.output)
    else:
        writer = VideoFile(options.output, clip.rate)
    seed_run(config)
    logging.info(
        "%d frame(s) of %s (%dx%d, %.4g fps) at %d px on %s; the first: %d evaluations, the others: %d",
        len(numbers) - done,
        clip.source,
        *clip.size,
        float(clip.rate),
        config.max_size,
        device,
        config.steps,
        options.video_options.frame_steps,
    )
    recorders = Recorders(options, config, device)
    _write_frames(options, config, recorders, frames, writer, numbers, done, resume_from)


def _write_frames(
    options: RunOptions,
    config: StyleTransferConfig,
    recorders: Recorders,
    frames,
    writer: FrameDirectory | VideoFile,
    numbers: range,
    done: int,
    resume_from,
) -> None:
    """Stylize ``frames`` (those of ``numbers`` after the ``done`` finished ones) and write each to ``writer``;
    interrupted, keep the finished frames; failed, keep none in a video file."""
    styles = list(options.styles)
    clock = ClipClock(len(numbers) - done, options.video_options.frame_steps)
    position = {"number": numbers[done], "started": time.perf_counter()}

    def next_frame(index: int) -> None:
        number = numbers[done + index]
        position.update(number=number, started=time.perf_counter())
        callbacks[0] = recorders.for_image(f"frame {number}", options.output, number, numbers[-1], "frame", clock.eta())

    callbacks = [None]
    results = stylize_video(
        frames,
        styles,
        config,
        options.video_options,
        lambda progress: callbacks[0](progress),
        recorders.report_every,
        resume_from=resume_from,
        on_frame_start=next_frame,
    )
    written = 0
    with TermAsInterrupt() as signals:
        try:
            for result in results:
                recorders.display.close()
                writer.write(result, position["number"])
                written += 1
                clock.add(time.perf_counter() - position["started"], recorders.last)
                logging.info(
                    "wrote frame %d/%d in %.1fs; %s",
                    position["number"],
                    numbers[-1],
                    clock.times[-1],
                    clock.eta() or "done",
                )
        except (RunStopped, KeyboardInterrupt) as stop:
            recorders.display.close()
            writer.close()
            recorders.finish(frames_written=written)
            kept = f"kept {written} finished frame(s) in {options.output}"
            if isinstance(stop, RunStopped) and not isinstance(stop, Interrupted):
                raise Stopped(f"frame {position['number']}: {stop}; {kept}", None) from None
            raise Stopped(
                f"interrupted at frame {position['number']}/{numbers[-1]}; {kept}", signals.received
            ) from None
        except BaseException:
            recorders.display.close()
            writer.abort()
            raise
    writer.close()
    recorders.finish(frames_written=written)
