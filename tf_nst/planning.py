"""The plan of a run, made before any work: its levels, how each level runs so that it fits in memory, the
memory check, and which style images are read in tiles. ``plan`` makes it; ``tf_nst.Stylizer`` follows it.

Levels (coarse to fine). Sizes double from level to level (``max_size / 2**k``), the last being exactly
``max_size``. Levels whose longest side would be below about 256 px are left out (a coarse level that small
gains little), except the half-size one, so ``scales`` is an upper bound: at 2048 px, ``scales=4`` gives 256,
512, 1024, 2048 and ``scales=6`` the same; at 512 px, ``scales=2`` gives 256, 512.

Steps halve from level to level: the coarsest level gets ``steps`` (it arranges the style from the content
image); each finer level starts from the upsampled result, with the content's finer detail added back
(``tf_nst.pyramid``), and refines it in half as many steps. A level has 4x the pixels of the one before and
about 4x its cost per step, so each level costs about twice the one before and the whole pyramid about twice
its last level. With 4 levels and 300 steps: 300 steps at 1/8 of the size, 150 at 1/4, 75 at 1/2 and 38 at full
size, about 4x less work than 300 steps at full size. It is for large outputs, where VGG sees a small window of
the image: the coarse levels lay out the style's larger structures. At the final size it does not reach a lower
loss sooner than a single-scale run (see bench/README.md). The style image is resized per level to
``style_scale`` times the level's longest side, and its targets are recomputed per level.

Mechanisms. A level too large to evaluate whole runs in a leaner ``Mechanism``: the objective evaluated exactly
in tiles (``tf_nst.tiles``), where only one tile's activations exist at a time, then with a shorter L-BFGS
history, smaller tiles, and last Adam. ``plan`` picks the fastest whose estimate (``tf_nst.memory``) fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import tensorflow as tf

from tf_nst.config import HYPERCOLUMN_DEPTH, StyleTransferConfig
from tf_nst.errors import InsufficientMemoryError
from tf_nst.io.images import resized_size
from tf_nst.layers import MIN_SIDE, tileable_size
from tf_nst.memory import (
    GB,
    MB,
    RUNTIME_BYTES,
    STYLE_TILE,
    MemoryBudget,
    memory_budget,
    optimizer_images,
    peak_bytes,
)
from tf_nst.precision import PrecisionChoice, resolve_precision

Size = tuple[int, int]  # (width, height) in pixels

COARSEST = 256  # about the smallest useful longest side of the first level
LEAN_TILE = 1024  # tile interior of the lean mechanisms, px
TILED_COST = 1.9  # seconds per evaluation in tiles of LEAN_TILE px against plain's: 9.1-9.5 s against 4.9 s at 2048 px
MIN_HISTORY = 5  # the fewest L-BFGS pairs a lean level keeps
# Of a lean level's memory above the runtime, what TensorFlow's allocator kept and the next level could not
# reuse: a 2048 px level in tiles of 1024 px peaked at 4.2 GB alone, a 4096 px level in tiles of 512 px with
# Adam at 3.8 GB alone, the two in one run at 6.0 GB.
RETAINED = 0.6


@dataclass(frozen=True)
class Mechanism:
    """How a level is evaluated: whole (``tile`` None) or exactly in tiles of ``tile`` px (``tf_nst.tiles``),
    with ``history_size`` L-BFGS pairs or with ``optimizer`` (None: the configured ones)."""

    tile: int | None = None
    history_size: int | None = None
    optimizer: str | None = None

    @property
    def relative_cost(self) -> float:
        """Seconds per evaluation relative to plain's, at the same size (measured: bench/README.md)."""
        return 1.0 if self.tile is None else TILED_COST

    def configure(self, config: StyleTransferConfig) -> StyleTransferConfig:
        """``config`` with this mechanism's optimizer and history."""
        return config.replace(
            optimizer=self.optimizer or config.optimizer, history_size=self.history_size or config.history_size
        )

    def describe(self) -> str:
        """``plain``, or e.g. ``tiles of 1024 px, L-BFGS history 5``."""
        parts = [] if self.tile is None else [f"tiles of {self.tile} px"]
        parts += [] if self.history_size is None else [f"L-BFGS history {self.history_size}"]
        parts += [] if self.optimizer is None else [self.optimizer.replace("adam", "Adam")]
        return ", ".join(parts) or "plain"


PLAIN = Mechanism()


def mechanisms(optimizer: str, history_size: int) -> list[Mechanism]:
    """The ways to run a level, fastest first, each leaner than the one before: plain; tiles of ``LEAN_TILE``
    px; then (L-BFGS) with half the history each time down to ``MIN_HISTORY`` pairs; tiles of half the size;
    last, Adam's state of two images instead of L-BFGS's (the level starts from the level before's result,
    which Adam refines)."""
    lean = [Mechanism(LEAN_TILE)]
    history = history_size // 2
    while optimizer == "lbfgs" and history >= MIN_HISTORY:
        lean.append(Mechanism(LEAN_TILE, history))
        history //= 2
    lean.append(Mechanism(LEAN_TILE // 2, lean[-1].history_size))
    if optimizer == "lbfgs":
        lean.append(Mechanism(LEAN_TILE // 2, optimizer="adam"))
    return [PLAIN, *lean]


def style_tile(style_sizes: Sequence[Size]) -> int | None:
    """The tile size, px, in which style images of ``style_sizes`` are read for their statistics (summed over
    the tiles: ``tf_nst.tiles``), or None to read them whole: ``STYLE_TILE`` once one is longer than that (its
    forward pass would otherwise be the run's largest; a smaller one is a single tile anyway)."""
    return STYLE_TILE if any(max(size) > STYLE_TILE for size in style_sizes) else None


@dataclass(frozen=True)
class Level:
    """One level of a run: output ``size`` and ``style_size``, its ``steps`` (optimizer steps, one VGG
    evaluation each), and the ``mechanism`` that fits it in memory with its estimated peak ``memory_bytes``
    (both set by ``plan``)."""

    size: Size
    style_size: Size
    steps: int
    mechanism: Mechanism = PLAIN
    memory_bytes: int = 0


@dataclass(frozen=True)
class Plan:
    """What a run will do: its ``precision`` (with the reason), its ``levels`` (one without ``scales``), each
    with the mechanism that fits it in memory, and the estimated peak memory ``memory_bytes`` (of the most
    demanding level) against the ``budget``."""

    precision: PrecisionChoice
    levels: tuple[Level, ...]
    memory_bytes: int
    budget: MemoryBudget


def pyramid_sizes(max_size: int, scales: int, coarsest: int = COARSEST) -> list[int]:
    """Longest sides, coarse to fine: ``max_size / 2**k`` for ``k = scales - 1 ... 0``, without those below
    ``coarsest / sqrt(2)`` (nearer in ratio to half of ``coarsest`` than to it), except the half-size level:
    two scales always make two levels."""
    floor = min(coarsest / math.sqrt(2), max_size / 2)
    sizes = [round(max_size / 2**k) for k in range(scales - 1, -1, -1)]
    return [size for size in sizes if size >= floor]


def level_steps(steps: int, levels: int) -> list[int]:
    """Steps per level, coarse to fine: ``steps`` for the first, then half as many each time (at least 1)."""
    return [max(1, math.ceil(steps / 2**k)) for k in range(levels)]


def style_side(style_size: Size, side: int, style_scale: float, first_side: int | None = None) -> int:
    """The longest side of a ``style_size`` painting at a level of longest side ``side``: ``style_scale *
    side``, but in a pyramid whose first level has ``first_side`` never more than the larger of the painting's
    own side and its side at the first level (enlarged further it would have only blur to match)."""
    wanted = max(1, round(style_scale * side))
    if first_side is not None:
        wanted = min(wanted, max(max(style_size), round(style_scale * first_side)))
    return wanted


def level_sizes(
    content_size: Size, style_size: Size, side: int, style_scale: float, first_side: int | None = None
) -> tuple[Size, Size]:
    """(width, height) of the content and of the style image at a level of longest side ``side`` (in a pyramid
    whose first level has ``first_side``: see ``style_side``)."""
    return resized_size(*content_size, side), resized_size(
        *style_size, style_side(style_size, side, style_scale, first_side)
    )


def plan_levels(content_size: Size, style_size: Size | Sequence[Size], config: StyleTransferConfig) -> list[Level]:
    """The levels of a run on a ``content_size`` image with a ``style_size`` painting, both (width, height)
    at their own resolution, or with several paintings (a list of sizes; a level's ``style_size`` is then the
    largest one's), each ``PLAIN``. Coarser levels whose content or any style image would be narrower than
    ``MIN_SIDE`` px are left out (the last level is always kept: there a too-small style is the caller's error
    to report). ``config.tileable``: each level's content sides are rounded down to multiples of
    ``tf_nst.layers.wrap_step``."""
    styles = _sizes(style_size)
    largest = max(styles, key=lambda size: size[0] * size[1])

    def fits(side: int) -> bool:
        sizes = [size for style in styles for size in level_sizes(content_size, style, side, config.style_scale)]
        return min(min(size) for size in sizes) >= MIN_SIDE

    sides = [side for side in pyramid_sizes(config.max_size, config.scales) if fits(side) or side == config.max_size]
    levels = [
        Level(*level_sizes(content_size, largest, side, config.style_scale, sides[0]), steps)
        for side, steps in zip(sides, level_steps(config.steps, len(sides)))
    ]
    if config.tileable:
        layers = config.content_layers + config.style_layers
        levels = [replace(level, size=tileable_size(level.size, layers)) for level in levels]
    return levels


def level_peak_bytes(level: Level, config: StyleTransferConfig, precision: str, device: str = "CPU") -> int:
    """Estimated peak memory of running ``level`` in its mechanism, computing in ``precision`` on ``device``."""
    way = level.mechanism
    tuned = way.configure(config)
    state = optimizer_images(tuned.optimizer, tuned.history_size, config.parameterization)
    layers = config.content_layers + config.style_layers
    depth = HYPERCOLUMN_DEPTH if config.hypercolumn_weight else 0
    return peak_bytes(
        level.size,
        level.style_size,
        layers,
        precision,
        device,
        state,
        way.tile,
        config.content_layers,
        config.tileable,
        depth,
    )


def evaluation_cost(level: Level) -> float:
    """A level's cost per evaluation, in pixels evaluated (tiles evaluate their halos and one more forward pass)."""
    return level.size[0] * level.size[1] * level.mechanism.relative_cost


def plan(content_size: Size, style_size: Size | Sequence[Size], config: StyleTransferConfig) -> Plan:
    """Plan a run on a ``content_size`` photo and a ``style_size`` painting, (width, height) at their own size;
    or several paintings, a list of their sizes (each decides which levels fit; the largest, the memory).

    Resolves ``config.precision`` for this machine and picks the fastest mechanism (``mechanisms``: plain, or
    exact tiles with a shorter L-BFGS history or Adam) whose estimated peak fits the budget's preferred share,
    else the fastest that fits the budget. Coarser levels run as the last one does: memory a level frees stays
    partly with the allocator for the next (``RETAINED``), so a lean last level needs lean levels before it.
    Raises InsufficientMemoryError (a ConfigError) if not even the leanest fits ``config.memory_limit_mb`` or,
    without it, what the machine has free; the message names the largest ``max_size`` that fits.
    """
    precision = resolve_precision(config.precision)
    budget = memory_budget(config.memory_limit_mb, on_gpu=bool(tf.config.list_physical_devices("GPU")))
    # a tileable image runs whole: tiles' crops would not wrap around
    ways = [PLAIN] if config.tileable else mechanisms(config.optimizer, config.history_size)
    styles = _sizes(style_size)

    def run_in(way: Mechanism, levels: Sequence[Level], precision: str = precision.precision) -> list[Level]:
        """``levels`` with the last one in ``way``: the earlier ones too unless it is plain, each with its
        estimate (a level after a lean one also holds what the allocator kept of it: ``RETAINED``)."""
        done, kept = [], 0.0
        for level in levels:
            level = replace(level, mechanism=way)
            need = level_peak_bytes(level, config, precision, budget.device)
            done.append(replace(level, memory_bytes=int(need + kept)))
            if way != PLAIN:
                kept += RETAINED * (need - RUNTIME_BYTES)
        return done

    def leanest(side: int, precision: str = precision.precision) -> int:
        levels = plan_levels(content_size, styles, config.replace(max_size=side))
        return max(level.memory_bytes for level in run_in(ways[-1], levels, precision))

    in_bfloat16 = (lambda side: leanest(side, "bfloat16")) if precision.precision == "float32" else None
    try:
        check_fits(leanest, config.max_size, budget, precision.precision, in_bfloat16)
    except InsufficientMemoryError as err:
        if config.tileable:
            raise InsufficientMemoryError(f"{err} (--tileable runs whole, never in tiles)") from None
        raise
    levels = plan_levels(content_size, styles, config)
    choices = [run_in(way, levels) for way in ways]
    chosen = choices[-1]
    for limit in (budget.limit, budget.preferred):  # the fastest that fits the preferred share, else the limit
        fitting = [c for c in choices if limit is None or max(level.memory_bytes for level in c) <= limit]
        chosen = fitting[0] if fitting else chosen
    return Plan(precision, tuple(chosen), max(level.memory_bytes for level in chosen), budget)


def largest_fitting(estimate: Callable[[int], int], limit: int, upper: int) -> int | None:
    """The largest longest side in [``MIN_SIDE``, ``upper``] whose ``estimate`` (bytes, growing with the side) is
    at most ``limit``; None if not even ``MIN_SIDE`` px fits."""
    if estimate(MIN_SIDE) > limit:
        return None
    low, high = MIN_SIDE, upper  # estimate(low) fits; find the last side that fits
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if estimate(middle) <= limit else (low, middle - 1)
    return low


def check_fits(
    estimate: Callable[[int], int],
    max_size: int,
    budget: MemoryBudget,
    precision: str,
    smaller_estimate: Callable[[int], int] | None = None,
) -> int:
    """Return ``estimate(max_size)`` in bytes, or raise InsufficientMemoryError if it is over ``budget``.

    The message names the largest ``--max_size`` that fits, and with ``smaller_estimate`` (the same run in
    bfloat16) how large bfloat16 would allow.
    """
    needed = estimate(max_size)
    if budget.limit is None or needed <= budget.limit:
        return needed
    largest = largest_fitting(estimate, budget.limit, max_size)
    if largest is None:
        advice = "raise --memory_limit_mb" if "memory_limit_mb" in budget.source else "free some memory"
        fits = f"not even {MIN_SIDE} px fits ({advice})"
    else:
        fits = f"the largest --max_size that fits is {largest}"
        reduced = largest_fitting(smaller_estimate, budget.limit, max_size) if smaller_estimate else None
        if reduced == max_size:
            fits += "; it fits with --precision=bfloat16"
        elif reduced and reduced > largest:
            fits += f"; with --precision=bfloat16, {reduced}"
    raise InsufficientMemoryError(
        f"--max_size={max_size}: needs about {_gb(needed)} at {precision}, more than the {_gb(budget.limit)} "
        f"{budget.source}; {fits}"
    )


def _sizes(style_size: Size | Sequence[Size]) -> list[Size]:
    """One style image's size, or several's, as a list."""
    return [style_size] if isinstance(style_size[0], int) else list(style_size)


def _gb(size: int) -> str:
    return f"{size / GB:.1f} GB" if size >= GB else f"{math.ceil(size / MB)} MB"
