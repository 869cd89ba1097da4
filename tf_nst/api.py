"""The one obvious call: ``tf_nst.stylize(content, style, ...)``, and ``plan``, what a run will do."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.image_io import ImageLike, as_pixels
from tf_nst.memory import MemoryBudget, check_fits, memory_budget, peak_bytes
from tf_nst.precision import PrecisionChoice, resolve_precision
from tf_nst.pyramid import Level, level_sizes, plan_levels, run_levels
from tf_nst.transfer import ProgressCallback, StyleTransfer


@dataclass(frozen=True)
class Plan:
    """What a run will do: its ``precision`` (with the reason), its pyramid ``levels`` (one without
    ``scales``), and its estimated peak memory ``memory_bytes`` against the ``budget``."""

    precision: PrecisionChoice
    levels: tuple[Level, ...]
    memory_bytes: int
    budget: MemoryBudget


def plan(content_size: tuple[int, int], style_size: tuple[int, int], config: StyleTransferConfig) -> Plan:
    """Plan a run on a ``content_size`` photo and a ``style_size`` painting, (width, height) at their own size.

    Resolves ``config.precision`` for this machine and estimates the peak memory of the largest level.
    Raises InsufficientMemoryError (a ConfigError) if that is over ``config.memory_limit_mb`` or, without it,
    over what the machine has free; the message names the largest ``max_size`` that fits.
    """
    precision = resolve_precision(config.precision)
    budget = memory_budget(config.memory_limit_mb, on_gpu=bool(tf.config.list_physical_devices("GPU")))
    layers = config.content_layers + config.style_layers

    def estimate(side: int, precision: str = precision.precision) -> int:
        size, style = level_sizes(content_size, style_size, side, config.style_scale)
        return peak_bytes(size, style, layers, precision, budget.device)

    in_bfloat16 = (lambda side: estimate(side, "bfloat16")) if precision.precision == "float32" else None
    needed = check_fits(estimate, config.max_size, budget, precision.precision, in_bfloat16)
    return Plan(precision, tuple(plan_levels(content_size, style_size, config)), needed, budget)


def stylize(
    content: ImageLike,
    style: ImageLike,
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    **overrides,
) -> tf.Tensor:
    """Paint ``content`` in the style of ``style``; returns float32 ``[1, H, W, 3]`` in [0, 1].

    ``content`` and ``style`` are file paths or pixel arrays/tensors (``[H, W, 3]`` or ``[1, H, W, 3]``, uint8
    or float in [0, 1]). The output's longest side is ``config.max_size`` and keeps the content's aspect ratio;
    the style image is resized to ``config.style_scale`` times that longest side. With ``config.scales`` > 1 it
    runs coarse to fine (``tf_nst.pyramid``). ``overrides`` replace fields of ``config`` (e.g. ``steps=100``).
    Raises InsufficientMemoryError before any work if the run would not fit in memory (see ``plan``).
    """
    config = (config or StyleTransferConfig()).replace(**overrides)
    content_pixels = as_pixels(content, "content")
    style_pixels = as_pixels(style, "style")
    run = plan(_size(content_pixels), _size(style_pixels), config)
    transfer = StyleTransfer(config.replace(precision=run.precision.precision))
    return run_levels(transfer, content_pixels, style_pixels, run.levels, callback, report_every)


def _size(pixels) -> tuple[int, int]:
    return int(pixels.shape[1]), int(pixels.shape[0])
