"""Coarse-to-fine style transfer: optimize a small image, upsample it as the start of a larger one, repeat.

Sizes double from level to level (``max_size / 2**k``), the last being exactly ``max_size``. Levels whose
longest side would be below about 256 px are left out (a coarse level that small gains little), except the
half-size one, so ``scales`` is an upper bound: at 2048 px, ``scales=4`` gives 256, 512, 1024, 2048 and
``scales=6`` the same; at 512 px, ``scales=2`` gives 256, 512.

Steps halve from level to level: the coarsest level gets ``steps`` (it arranges the style from the content
image); each finer level starts from the upsampled result, with the content's finer detail added back, and
refines it in half as many steps. A level has 4x the pixels of the one before and about 4x its cost per step, so
each level costs about twice the one before and the whole pyramid about twice its last level. With 4 levels and
300 steps: 300 steps at 1/8 of the size, 150 at 1/4, 75 at 1/2 and 38 at full size, about 4x less work than 300
steps at full size. It is for large outputs, where VGG sees a small window of the image: the coarse levels lay
out the style's larger structures. At the final size it does not reach a lower loss sooner than a single-scale
run (see bench/README.md).

The style image is resized per level to ``style_scale`` times the level's longest side, and the style targets
are recomputed per level. One feature model serves every level (its step traces once per level's shape). The
loop over the levels is ``tf_nst.Stylizer``; this module plans them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tf_nst.config import StyleTransferConfig
from tf_nst.io.images import resize, resized_size
from tf_nst.layers import MIN_SIDE
from tf_nst.memory import PLAIN, Mechanism

COARSEST = 256  # about the smallest useful longest side of the first level


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


@dataclass(frozen=True)
class Level:
    """One pyramid level: output ``size`` and ``style_size`` as (width, height), its ``steps`` (optimizer
    steps, one VGG evaluation each), and the ``mechanism`` that fits it in memory with its estimated peak
    ``memory_bytes`` (both set by ``tf_nst.plan``)."""

    size: tuple[int, int]
    style_size: tuple[int, int]
    steps: int
    mechanism: Mechanism = PLAIN
    memory_bytes: int = 0


def plan_levels(
    content_size: tuple[int, int], style_size: tuple[int, int] | Sequence[tuple[int, int]], config: StyleTransferConfig
) -> list[Level]:
    """The levels of a run on a ``content_size`` image with a ``style_size`` painting, both (width, height)
    at their own resolution, or with several paintings (a list of sizes; a level's ``style_size`` is then the
    largest one's). Coarser levels whose content or any style image would be narrower than 32 px are left out
    (the last level is always kept: there a too-small style is the caller's error to report)."""
    styles = [style_size] if isinstance(style_size[0], int) else list(style_size)
    largest = max(styles, key=lambda size: size[0] * size[1])

    def fits(side: int) -> bool:
        sizes = [size for style in styles for size in level_sizes(content_size, style, side, config.style_scale)]
        return min(min(size) for size in sizes) >= MIN_SIDE

    sides = [side for side in pyramid_sizes(config.max_size, config.scales) if fits(side) or side == config.max_size]
    return [
        Level(*level_sizes(content_size, largest, side, config.style_scale, sides[0]), steps)
        for side, steps in zip(sides, level_steps(config.steps, len(sides)))
    ]


def style_side(style_size: tuple[int, int], side: int, style_scale: float, first_side: int | None = None) -> int:
    """The longest side of a ``style_size`` painting at a level of longest side ``side``: ``style_scale *
    side``, but in a pyramid whose first level has ``first_side`` never more than the larger of the painting's
    own side and its side at the first level (enlarged further it would have only blur to match)."""
    wanted = max(1, round(style_scale * side))
    if first_side is not None:
        wanted = min(wanted, max(max(style_size), round(style_scale * first_side)))
    return wanted


def level_sizes(
    content_size: tuple[int, int],
    style_size: tuple[int, int],
    side: int,
    style_scale: float,
    first_side: int | None = None,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(width, height) of the content and of the style image at a level of longest side ``side`` (in a pyramid
    whose first level has ``first_side``: see ``style_side``)."""
    return resized_size(*content_size, side), resized_size(
        *style_size, style_side(style_size, side, style_scale, first_side)
    )


def upsample_with_detail(result: np.ndarray, coarse_content: np.ndarray, content: np.ndarray) -> np.ndarray:
    """``result`` of a coarse level upsampled to ``content``'s size, plus the detail the coarse level could
    not see: ``content`` minus ``coarse_content`` upsampled (a Laplacian-pyramid step). All float
    ``[H, W, 3]`` in [0, 1]. Without the detail the finer level starts blurred, far from its content target;
    at 1024 px in 3 levels the final loss was 10% lower with it."""
    size = (content.shape[1], content.shape[0])
    return np.clip(resize(result, size) + content - resize(coarse_content, size), 0.0, 1.0)
