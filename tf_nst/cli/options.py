"""``RunOptions``: what a command reads and writes besides the stylization settings, and how it shows progress.

Like ``StyleTransferConfig``, each field holds its default and its command-line help (``tf_nst.config.option``);
the flags are made from them. This module imports no TensorFlow, so ``--help`` and flag errors answer at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tf_nst.config import VideoOptions, option
from tf_nst.errors import UsageError, not_one_of
from tf_nst.limits import EXPORT_MAX_PIXELS, EXPORT_MAX_SIZE

PROGRESS_MODES = ("bar", "log", "none")  # a live line (for a terminal) | log lines | nothing


def parse_frames(text: str) -> tuple[int, int | None]:
    """``START:END`` (1-based, inclusive; either may be left out) as (START, END or None); UsageError if bad."""
    start, colon, end = text.partition(":")
    try:
        first = int(start) if start.strip() else 1
        last = int(end) if end.strip() else None
    except ValueError:
        first = last = 0
    if not colon or first < 1 or (last is not None and last < first):
        raise UsageError(f"--frames={text}: expected START:END, frame numbers from 1 with START <= END (e.g. 1:50)")
    return first, last


@dataclass(frozen=True)
class RunOptions:
    """What a run reads and writes besides the stylization settings, and how it shows progress."""

    content: str | None = option(
        None, "Content photo, or a directory or glob of photos (a batch). Omit with --style for the demo."
    )
    styles: tuple[str, ...] = option(
        (), "Style painting(s), comma-separated; their textures and colours are transferred.", flag="style"
    )
    regions: str | None = option(
        None,
        "A mask of the photo's aspect ratio whose colours are regions (black and white: two), each painted by its "
        "own style or kept (--region_styles); one photo only, not a batch or a clip.",
    )
    style_masks: tuple[str, ...] = option(
        (),
        "Per --style, a mask of the painting's aspect ratio, white where it gives its style (its sky for the "
        "photo's sky); comma-separated, an empty entry for a whole painting.",
    )
    output: str = option(
        "stylized.png",
        "Output image (format from the extension: .png, .jpg, .webp), or a directory for a batch.",
    )
    overwrite: bool = option(
        False, "Replace existing outputs (images, snapshots, a trace, an --export_dir version); otherwise refused."
    )
    quiet: bool = option(False, "Show no progress and no log lines: only warnings and errors.")
    log_every: int = option(25, "Log progress every this many evaluations (when stderr is not a terminal).")
    save_every: int = option(0, "Write a snapshot every N evaluations next to the output (name.0100.png); 0 = never.")
    logdir: str | None = option(None, "Write TensorBoard summaries (loss terms, snapshots) to this directory.")
    trace: str | None = option(None, "Write the run's settings, per-evaluation losses and timings to this JSON file.")
    export_dir: str | None = option(
        None,
        "Instead of stylizing, write the feature extractor (the --content_layers/--style_layers, --weights, "
        "--pooling network) as a SavedModel to <export_dir>/<export_version>/, TensorFlow Serving's layout.",
    )
    export_version: int = option(1, "Version subdirectory of --export_dir (a positive integer).")
    export_max_pixels: int = option(
        EXPORT_MAX_PIXELS, "The export's encoded signature refuses files with more pixels (from the header)."
    )
    export_max_size: int = option(EXPORT_MAX_SIZE, "The export's largest accepted max_size and image side, in pixels.")
    video: bool = option(
        False, "--content is a directory or glob of one clip's frames (name order), not a batch of photos."
    )
    # a clip's frames START to END (1-based, inclusive; None: to the last)
    frames: tuple[int, int | None] | None = option(
        None, "Video: only frames START:END (1-based, inclusive; e.g. 1:50, 100:)."
    )
    resume: bool = option(False, "Video into a frame directory: keep the frames already there, do the rest.")
    frame_rate: float | None = option(None, "Video from frame files: frames per second of the output (default 25).")
    serve: bool = option(
        False,
        "Instead of stylizing, start the local web app on 127.0.0.1 (needs pip install 'tf_nst[web]'); the other "
        "stylization flags set its defaults. Ctrl-C stops it.",
    )
    port: int = option(0, "--serve: the web app's port; 0 = a free port (the address is printed).")
    video_options: VideoOptions = VideoOptions()
    progress: str = "log"  # not a flag: the command chooses bar on a terminal, log elsewhere, none when --quiet

    def __post_init__(self) -> None:
        if self.save_every < 0 or self.log_every <= 0:
            raise UsageError("--save_every must be >= 0 and --log_every > 0")
        if self.progress not in PROGRESS_MODES:
            raise UsageError(not_one_of("progress", self.progress, PROGRESS_MODES))
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port: must be 0 (a free port) to 65535, got {self.port}")
        if self.regions is not None and (self.video or self.content is None):
            raise UsageError(
                f"--regions: masks one photo given by --content; {'a clip' if self.video else 'the demo'} takes none"
            )
        if self.style_masks and len(self.style_masks) != len(self.styles):
            raise UsageError(f"--style_masks: {len(self.style_masks)} masks for {len(self.styles)} --style images")
        if self.frame_rate is not None and not self.frame_rate > 0:
            raise UsageError(f"--frame_rate: must be positive, got {self.frame_rate}")
