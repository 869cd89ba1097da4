"""The one obvious call, ``tf_nst.stylize(content, style, ...)``, its batch form ``stylize_batch``, and the
``Stylizer`` they use, which follows a run's plan (``tf_nst.planning``: its levels and how each fits in memory).

This is where the artist's controls meet the optimisation: several styles and their blend, style scale,
colour preservation, the start image and the coarse-to-fine levels. Pixels are float32 ``[1, H, W, 3]`` in
[0, 1] throughout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import tensorflow as tf

from tf_nst.color import LUMA_WEIGHTS, match_color_statistics, transfer_luminance, transfer_palette
from tf_nst.config import INITS, StyleTransferConfig
from tf_nst.errors import ConfigError, ImageError, RunStopped
from tf_nst.io.images import ImageLike, as_pixels, fit, read_image, resize, resized_size, style_list
from tf_nst.layers import BELOW_MIN_SIDE, MIN_SIDE
from tf_nst.objective import RegionTargets, StyleTargets, region_style_targets, used_style_layers
from tf_nst.planning import PLAIN, Plan, evaluation_cost, plan, style_side
from tf_nst.precision import resolve_precision
from tf_nst.pyramid import upsample_with_detail
from tf_nst.regions import (
    RegionMap,
    check_aspect,
    check_region_sizes,
    layer_weights,
    parse_region_styles,
    read_regions,
    soft_masks,
)
from tf_nst.transfer import ProgressCallback, StyleTransfer, initial_image


def _style_name(style: ImageLike, index: int) -> str:
    return os.fspath(style) if isinstance(style, (str, os.PathLike)) else f"style image {index + 1}"


def _mask_name(mask: ImageLike, default: str) -> str:
    return os.fspath(mask) if isinstance(mask, (str, os.PathLike)) else default


@dataclass(frozen=True)
class RegionLayout:
    """A content image's regions at one level: the ``targets`` the loop needs (each painted region's weights at
    the style layers' grids, the kept mask) and each painted region's ``shares`` of the image."""

    targets: RegionTargets
    shares: list[float]


def _size(pixels: np.ndarray) -> tuple[int, int]:
    """(width, height) of ``[H, W, 3]`` pixels."""
    return int(pixels.shape[1]), int(pixels.shape[0])


def fit_level(pixels: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    """``pixels`` ``[H, W, 3]`` resized to a level's ``size`` (width, height): float32 ``[1, h, w, 3]``. That is
    ``fit`` to the longest side (which checks the minimum), unless a tileable run rounded the sides."""
    fitted = fit(pixels, max(size), name)
    return fitted if _size(fitted[0]) == tuple(size) else resize(pixels, size)[None].astype(np.float32)


def start_image(
    content: np.ndarray, styles: Sequence[np.ndarray], config: StyleTransferConfig
) -> np.ndarray | tf.Tensor:
    """Start pixels ``[1, H, W, 3]`` in [0, 1] of ``content``'s size for ``config.init``: the content, noise
    (``config.seed``), the first style image or an image file, resized."""
    if config.init in INITS and config.init != "style":
        return initial_image(content, config.init, config.seed)
    source = styles[0][0] if config.init == "style" else read_image(config.init, config.max_input_pixels)
    return resize(source, (content.shape[2], content.shape[1]))[None]


class Stylizer:
    """Stylizes content images with fixed style images, reusing the model, compiled steps and style targets.

    ``transfer``: a ``StyleTransfer`` to share (its model, compiled steps and optimizer); this stylizer's own
    ``config`` still decides everything around them: styles, blend, colours, start image, pyramid and steps.

    ``style``: one or several paths or pixel arrays, decoded once. ``config.precision`` is resolved for this
    machine once (``precision`` says what was chosen and why). Styles are resized and their targets computed
    once per level size (and per content image only with ``preserve_colors="histogram"``, which recolours the
    styles).
    ``on_plan`` is told each image's ``Plan`` before its run starts.

    ``regions``: a mask image (path or pixels) of the content's aspect ratio whose colours are regions, each
    painted by the styles ``config.region_styles`` gives it, or kept (``tf_nst.regions``); ``style_masks``: per
    style, None or a mask of the painting's aspect ratio, white where the painting gives its style.
    """

    def __init__(
        self,
        style: ImageLike | Sequence[ImageLike],
        config: StyleTransferConfig | None = None,
        transfer: StyleTransfer | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        regions: ImageLike | None = None,
        style_masks: Sequence[ImageLike | None] | None = None,
    ):
        config = config or StyleTransferConfig()
        self.on_plan = on_plan
        self.precision = resolve_precision(config.precision)
        self.config = config.replace(precision=self.precision.precision)
        self._transfer = transfer
        self.style_names = [_style_name(s, i) for i, s in enumerate(style_list(style))]
        styles = zip(style_list(style), self.style_names)
        self.styles = [as_pixels(s, name, self.config.max_input_pixels) for s, name in styles]
        self.config.blend_weights(len(self.styles))  # refuse a count mismatch before any work
        self._prepared: dict[tuple, tuple[list[np.ndarray], StyleTargets]] = {}
        self._layouts: dict[tuple, RegionLayout] = {}
        self.regions: RegionMap | None = None
        self.region_styles: list[tuple[int, ...]] = []
        if regions is not None:
            name = _mask_name(regions, "the regions mask")
            self.regions = read_regions(as_pixels(regions, name, self.config.max_input_pixels), name)
            self.region_styles = parse_region_styles(self.config.region_styles, self.regions, len(self.styles))
        elif self.config.region_styles is not None:
            raise ConfigError("--region_styles needs a regions mask (--regions)")
        self.style_masks = self._read_style_masks(style_masks or [None] * len(self.styles))

    def _read_style_masks(self, masks: Sequence[ImageLike | None]) -> list[tuple[str, np.ndarray] | None]:
        """Each style's mask as its name and float32 ``[H, W]`` in [0, 1] (its luma), or None; ImageError for
        one of another aspect ratio than its painting's, or without white."""
        if len(masks) != len(self.styles):
            raise ConfigError(f"--style_masks: {len(masks)} masks for {len(self.styles)} style images")
        read = []
        for index, (mask, style, style_name) in enumerate(zip(masks, self.styles, self.style_names)):
            if mask is None:
                read.append(None)
                continue
            name = _mask_name(mask, f"style mask {index + 1}")
            pixels = as_pixels(mask, name, self.config.max_input_pixels)
            check_aspect(_size(pixels), _size(style), name, style_name)
            luma = pixels @ LUMA_WEIGHTS
            if luma.max() < 0.5:
                raise ImageError(f"{name}: the mask is empty (no white: nothing of the painting is chosen)")
            read.append((name, luma.astype(np.float32)))
        return read

    @property
    def transfer(self) -> StyleTransfer:
        """The optimisation loop and its feature model, built on first use (so a bad image fails before it)."""
        if self._transfer is None:
            self._transfer = StyleTransfer(self.config)
        return self._transfer

    def plan(self, content: np.ndarray) -> Plan:
        """The plan for ``content`` pixels ``[H, W, 3]`` (levels that fit every style image; memory estimated
        with the largest)."""
        styles = [_size(style) for style in self.styles]
        return replace(plan(_size(content), styles, self.config), precision=self.precision)

    def styles_for(self, content: np.ndarray, first_side: int | None = None) -> list[np.ndarray]:
        """The style images resized for ``content`` ``[1, H, W, 3]``: longest side = style_scale * max(H, W), or
        in a pyramid whose first level has longest side ``first_side``, as ``tf_nst.planning.style_side`` says."""
        side = max(content.shape[1:3])
        styles = []
        for name, style in zip(self.style_names, self.styles):
            own = _size(style)
            resized = resize(style, resized_size(*own, style_side(own, side, self.config.style_scale, first_side)))
            if min(resized.shape[:2]) < MIN_SIDE:
                raise ImageError(
                    f"{name}: {resized.shape[1]}x{resized.shape[0]} px at --style_scale={self.config.style_scale}"
                    f" {BELOW_MIN_SIDE}"
                )
            if self.config.preserve_colors == "histogram":
                resized = match_color_statistics(resized, content[0])
            styles.append(resized[None])
        return styles

    def styles_and_targets(
        self, content: np.ndarray, first_side: int | None = None
    ) -> tuple[list[np.ndarray], StyleTargets]:
        """The resized styles for ``content`` (see ``styles_for``) and their targets, prepared once per content
        size (every time with ``preserve_colors="histogram"``, whose styles depend on the content's colours).
        With regions, the targets are each painted region's (``tf_nst.objective.region_style_targets``)."""
        key = (content.shape, first_side)
        if self.config.preserve_colors == "histogram" or key not in self._prepared:
            styles = self.styles_for(content, first_side)
            masks = [None if m is None else self._style_mask_weights(m, s) for m, s in zip(self.style_masks, styles)]
            blend = self.config.blend_weights(len(styles))
            if self.regions is None:
                targets = self.transfer.style_targets(styles, blend, masks)
            else:
                layout = self.region_layout(content)
                per_region = []
                for chosen in (c for c in self.region_styles if c):
                    weights = [blend[i] / sum(blend[j] for j in chosen) for i in chosen]
                    picked = [styles[i] for i in chosen], weights, [masks[i] for i in chosen]
                    per_region.append(self.transfer.style_targets(*picked))
                targets = region_style_targets(per_region, layout.shares)
            self._prepared[key] = (styles, targets)
        return self._prepared[key]

    def _style_mask_weights(self, named_mask: tuple[str, np.ndarray], style: np.ndarray) -> dict[str, np.ndarray]:
        """A style mask ``(name, [H, W])`` at the resized ``style``'s size, as weights at each style layer's
        grid."""
        name, mask = named_mask
        size = _size(style[0])
        resized = np.clip(resize(mask[..., None].repeat(3, -1), size)[..., 0], 0.0, 1.0)[None]
        check_region_sizes(resized, [0], self._deepest_style_layer(), lambda _: f"{name}: the part chosen")
        return layer_weights(resized, self.config.style_layers)

    def _deepest_style_layer(self) -> str:
        return used_style_layers(self.config)[-1]

    def region_layout(self, content: np.ndarray) -> RegionLayout:
        """The regions at ``content``'s size (``[1, H, W, 3]``): each painted region's weights at the style
        layers' grids, its share of the image, and the kept mask (see ``RegionLayout``); made once per size."""
        if content.shape not in self._layouts:
            self._layouts[content.shape] = self._region_layout(content)
        return self._layouts[content.shape]

    def _region_layout(self, content: np.ndarray) -> RegionLayout:
        height, width = content.shape[1:3]
        feather = self.config.region_feather * max(width, height) / self.config.max_size
        masks = soft_masks(self.regions, (width, height), feather)
        painted = [r for r, chosen in enumerate(self.region_styles) if chosen]
        check_region_sizes(masks, painted, self._deepest_style_layer(), self.regions.name_region)
        kept_regions = [r for r, chosen in enumerate(self.region_styles) if not chosen]
        kept = masks[kept_regions].sum(0)[None, ..., None] if kept_regions else None
        weights = layer_weights(masks[painted], used_style_layers(self.config))
        return RegionLayout(RegionTargets(weights, kept), [float(masks[r].mean()) for r in painted])

    def __call__(
        self, content: ImageLike, callback: ProgressCallback | None = None, report_every: int = 10
    ) -> tf.Tensor:
        """Stylize one content image; float32 ``[1, H, W, 3]`` in [0, 1], longest side ``config.max_size``.

        With ``config.scales`` > 1 it runs coarse to fine (see ``tf_nst.planning``): each level starts from the
        previous level's result, upsampled with the content's finer detail added back, and ``callback`` gets
        ``Progress`` with ``scale``/``scales`` set and ``evaluation`` counting across the levels.
        With ``config.tileable`` the result wraps around (its sides rounded down to multiples of
        ``tf_nst.layers.wrap_step``). Raises InsufficientMemoryError before any work if the run would not fit in
        memory.
        """
        config = self.config
        name = os.fspath(content) if isinstance(content, (str, os.PathLike)) else "content"
        pixels = as_pixels(content, name, config.max_input_pixels)
        if self.regions is not None:
            mask_size = self.regions.labels.shape[::-1]
            check_aspect(mask_size, _size(pixels), self.regions.name, name)
        run_plan = self.plan(pixels)
        if self.on_plan is not None:
            self.on_plan(run_plan)
        levels = run_plan.levels
        total = sum(level.steps for level in levels)
        lean = any(level.mechanism != PLAIN for level in levels)
        full = fit_level(pixels, levels[-1].size, name)
        image = previous_content = None
        done = 0
        for index, level in enumerate(levels, 1):
            level_content = full if index == len(levels) else fit_level(pixels, level.size, name)
            styles, targets = self.styles_and_targets(level_content, max(levels[0].size) if index > 1 else None)
            if image is None:
                start = start_image(level_content, styles, config)
            else:
                coarse = image.numpy()[0]
                start = upsample_with_detail(coarse, previous_content[0], level_content[0], config.tileable)[None]
            previous_content = level_content
            after = sum(later.steps * evaluation_cost(later) / evaluation_cost(level) for later in levels[index:])

            def report(progress, index=index, after=after):
                callback(replace(progress, scale=index, scales=len(levels), evaluations=total, work_after=after))

            way = level.mechanism
            try:
                image = self.transfer.run(
                    level_content,
                    targets,
                    report if callback else None,
                    report_every,
                    start,
                    level.steps,
                    evaluations_before=done,
                    mechanism=way,
                    regions=None if self.regions is None else self.region_layout(level_content).targets,
                )
            except RunStopped as stop:
                if index < len(levels):  # the latest image, at the size asked for
                    stop.image = tf.constant(
                        upsample_with_detail(stop.image.numpy()[0], level_content[0], full[0], config.tileable)[None]
                    )
                raise
            finally:
                if lean:  # a level that had to be lean needs the memory the others hold
                    self.transfer.release(level_content.shape, way)
            done += level.steps
        if config.preserve_colors == "luminance":
            image = tf.constant(transfer_luminance(image.numpy(), level_content))
        elif config.preserve_colors == "palette":
            weights = config.blend_weights(len(styles))
            image = tf.constant(transfer_palette(image.numpy(), level_content, styles, weights))
        return image


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
    regions: ImageLike | None = None,
    style_masks: Sequence[ImageLike | None] | None = None,
    **overrides,
) -> tf.Tensor:
    """Paint ``content`` in the style of ``style``; returns float32 ``[1, H, W, 3]`` in [0, 1].

    ``content`` is a file path or pixels (``[H, W, 3]`` or ``[1, H, W, 3]``, uint8 or float in [0, 1]);
    ``style`` one or a list of them (blended by ``config.style_blend_weights``). The output's longest side is
    ``config.max_size`` and keeps the content's aspect ratio; each style image is resized to
    ``config.style_scale`` times that longest side. With ``config.scales`` > 1 it runs coarse to fine; with
    ``config.tileable`` (e.g. ``tileable=True``) the result repeats without a seam. ``regions``: a mask whose
    colours are regions, each painted by the styles ``config.region_styles`` names or kept; ``style_masks``: per
    style, None or the part of the painting that gives its style (see ``Stylizer``).
    ``overrides`` replace fields of ``config`` (e.g. ``steps=100``). Raises InsufficientMemoryError before any
    work if the run would not fit in memory (see ``plan``).
    """
    config = (config or StyleTransferConfig()).replace(**overrides)
    return Stylizer(style, config, regions=regions, style_masks=style_masks)(content, callback, report_every)


def stylize_batch(
    contents: Iterable[ImageLike],
    style: ImageLike | Sequence[ImageLike],
    config: StyleTransferConfig | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 10,
) -> Iterator[tuple[ImageLike, tf.Tensor | ImageError]]:
    """Stylize each of ``contents`` with the same style(s); yields ``(content, result)`` in order, where a
    content image that cannot be read yields its ``ImageError`` instead and the others go on."""
    stylizer = Stylizer(style, config)
    for content in contents:
        try:
            yield content, stylizer(content, callback, report_every)
        except ImageError as err:
            yield content, err
