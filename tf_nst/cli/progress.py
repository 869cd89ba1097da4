"""What a person sees of a running stylization: one live line on a terminal, log lines elsewhere.

Counts are VGG evaluations (one forward and backward pass each), whatever the optimizer. ``LiveLine``, for a
terminal, redraws one line in place (carriage returns, through tqdm)::

    image 2/5  scale 1/2 256x192  eval 120/300 |████████            |  0.31s/eval ETA 00:56, content=0.2104 ...

``LogLines``, for pipes, CI and log files, writes an absl log line every ``every`` evaluations and at the end of
each level. ``Display`` shows nothing. Each is a ``ProgressCallback`` that is told which image of a batch comes
next (``start_image``) and when it is done (``close``, before anything else is logged).
"""

from __future__ import annotations

import os
import sys

from absl import logging
from tqdm import tqdm

from tf_nst.planning import COARSEST, Plan
from tf_nst.transfer import Progress


def loss_text(losses: dict[str, float]) -> str:
    """``content=0.2104 style=1.302 ...``: each loss term to four significant digits."""
    return " ".join(f"{name}={value:.4g}" for name, value in losses.items())


def position_text(progress: Progress, image: int = 1, images: int = 1, unit: str = "image", note: str = "") -> str:
    """Where the run is, when there is more than one of each: ``image 2/5  scale 1/2 32x32  `` (or empty);
    ``unit`` names what is counted (``frame 12/240``), and ``note`` follows it (a clip's ETA)."""
    text = f"{unit} {image}/{images}  {note}" if images > 1 else ""
    if progress.scales > 1:
        text += f"scale {progress.scale}/{progress.scales} {progress.size[0]}x{progress.size[1]}  "
    return text


def log_plan(plan: Plan, scales: int) -> None:
    """Say before an image's run what it will do: precision and why, the pyramid, the memory estimate."""
    logging.info("precision %s (%s)", plan.precision.precision, plan.precision.reason)
    if scales > 1:
        levels = ", ".join(
            f"{w}x{h} ({n} evaluation{'s' * (n != 1)})"
            for (w, h), n in [(level.size, level.steps) for level in plan.levels]
        )
        dropped = f" ({scales - len(plan.levels)} of {scales} scales left out: below about {COARSEST} px)"
        logging.info("coarse to fine: %s%s", levels, dropped if len(plan.levels) < scales else "")
    budget = plan.budget
    limit = f" of {budget.limit / 2**30:.1f} GB {budget.source}" if budget.limit else ""
    lean = [
        f"{level.size[0]}x{level.size[1]} in {level.mechanism.describe()}"
        for level in plan.levels
        if level.mechanism.tile
    ]
    how = f" (to fit: {', '.join(lean)})" if lean else ""
    logging.info("estimated peak memory %.1f GB%s%s", plan.memory_bytes / 2**30, limit, how)


def remaining_seconds(progress: Progress, seconds_per_evaluation: float) -> float:
    """Seconds left in the whole run, this level's evaluations and the later levels' work, at this speed."""
    return (progress.steps - progress.step + progress.work_after) * seconds_per_evaluation


def eta_text(progress: Progress, formatted: str) -> str:
    """``formatted`` (the time left), marked ``~`` while it counts later levels at this level's speed per pixel:
    not yet measured, and larger levels are somewhat faster per pixel (3.3x, not 4x, the seconds per evaluation
    for 4x the pixels, 256 to 512 px on an AMD EPYC), so it is an upper estimate until the last level starts."""
    return f"~{formatted}" if progress.work_after else formatted


class Display:
    """Shows nothing (``--quiet``); the base of the displays that do."""

    def __init__(self) -> None:
        self.image, self.images = 1, 1
        self.unit, self.note = "image", ""

    def start_image(self, image: int, images: int, unit: str = "image", note: str = "") -> None:
        """The next reports are of image ``image`` (1-based) of ``images``; ``unit`` and ``note`` as for
        ``position_text``."""
        self.image, self.images, self.unit, self.note = image, images, unit, note

    def position(self, progress: Progress) -> str:
        return position_text(progress, self.image, self.images, self.unit, self.note)

    def __call__(self, progress: Progress) -> None:
        pass

    def close(self) -> None:
        """The image is done (or failed): clear what is on screen."""


class LogLines(Display):
    """An absl INFO line every ``every`` evaluations (counted across the levels) and at the last one of each
    level; the line counts within the level, as the live line does."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every

    def __call__(self, progress: Progress) -> None:
        if progress.evaluation % self.every and progress.step != progress.steps:
            return
        seconds = 1.0 / max(progress.steps_per_second, 1e-9)
        logging.info(
            "%seval %d/%d  %s  %.3f s/eval  ETA %s",
            self.position(progress),
            progress.step,
            progress.steps,
            loss_text(progress.losses),
            seconds,
            eta_text(progress, f"{remaining_seconds(progress, seconds):.0f}s"),
        )


class LiveLine(Display):
    """One line on ``stream`` (a terminal), redrawn as evaluations complete; a new bar for each level.

    The rate and ETA are tqdm's smoothed ones, measured from the first report of a level on (so the first
    evaluation, which traces and compiles the step, does not count). While the terminal reports a width of 0
    columns (where no bar can be drawn), it writes ``LogLines`` every ``every`` evaluations instead.
    """

    FORMAT = "{desc}eval {n_fmt}/{total_fmt} |{bar:20}| {rate_inv_fmt} ETA {remaining}{postfix}"

    def __init__(self, stream=None, every: int = 25):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None
        self.level = None
        self.lines = LogLines(every)

    def start_image(self, image: int, images: int, unit: str = "image", note: str = "") -> None:
        super().start_image(image, images, unit, note)
        self.lines.start_image(image, images, unit, note)

    def can_draw(self) -> bool:
        """Whether the terminal has room for a line: not when it reports 0 columns."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns > 0
        except (AttributeError, OSError, ValueError):  # not a terminal (or no file): tqdm's own fallback width
            return True

    def __call__(self, progress: Progress) -> None:
        if not self.can_draw():
            self.close()
            self.lines(progress)
            return
        level = (self.image, progress.scale, progress.steps)
        if self.bar is None or level != self.level:
            self.close()
            self.level = level
            self.bar = tqdm(
                total=progress.steps,
                initial=progress.step,
                desc=self.position(progress),
                unit="eval",
                bar_format=self.FORMAT,
                file=self.stream,
                dynamic_ncols=True,
                leave=False,
                postfix=self.postfix(progress),
            )
        else:
            self.bar.set_postfix_str(self.postfix(progress), refresh=False)
            self.bar.update(progress.step - self.bar.n)

    def postfix(self, progress: Progress) -> str:
        """The loss terms, after the whole run's ETA while later levels follow this one."""
        rate = self.bar.format_dict.get("rate") if self.bar is not None else None
        if not progress.work_after or not rate:
            return loss_text(progress.losses)
        whole = tqdm.format_interval(remaining_seconds(progress, 1.0 / rate))
        return f"all levels ETA {eta_text(progress, whole)}, {loss_text(progress.losses)}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def display(mode: str, log_every: int = 25, stream=None) -> Display:
    """The display for ``mode``: ``bar`` (a live line on ``stream``, stderr by default; log lines every
    ``log_every`` while it cannot draw), ``log`` (every ``log_every``) or ``none``."""
    if mode == "bar":
        return LiveLine(stream, log_every)
    if mode == "log":
        return LogLines(log_every)
    return Display()
