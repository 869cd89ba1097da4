"""Regions (Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", 2017): a mask image cuts the
photo into regions, each painted by its own style, or kept close to the photo.

A mask's regions are its colours: every colour that covers at least ``MIN_COLOUR_SHARE`` of it, ordered dark to
light (a black-and-white mask: black is region 1, white region 2); a pixel of another colour (an antialiased
edge) joins the region of the nearest colour. ``region_styles`` says which style paints each region: a style's
number (1-based, in the order of the styles), several joined by ``+`` (blended by the styles' blend weights),
or ``keep``. At each level the regions become soft masks that sum to 1 at every pixel (their edges blurred by
``feather`` px), and each layer sees them averaged over the pixels of its grid cells (``layer_weights``): a
region's statistics are its positions' weighted means there. Numpy only; no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tf_nst.color import LUMA_WEIGHTS
from tf_nst.errors import ConfigError, ImageError
from tf_nst.layers import layer_stride

KEEP = "keep"  # a region_styles entry: the region stays the photo
MIN_COLOUR_SHARE = 0.01  # of the mask's pixels: a colour below it is an antialiased edge's, not a region
MIN_REGION_POSITIONS = 4.0  # a painted region's least area at the deepest style layer's grid, in positions
ASPECT_TOLERANCE = 0.02  # relative difference of aspect ratios accepted between a mask and its image


@dataclass(frozen=True)
class RegionMap:
    """A mask image's regions: ``labels`` int ``[H, W]`` (0 to R-1) and their ``colours`` uint8 ``[R, 3]``, dark
    to light; ``name`` names the mask in messages."""

    labels: np.ndarray
    colours: np.ndarray
    name: str

    @property
    def count(self) -> int:
        return len(self.colours)

    def describe(self, region: int) -> str:
        """``region 2 (#ffffff)``, 0-based ``region`` numbered from 1."""
        return f"region {region + 1} (#{''.join(f'{c:02x}' for c in self.colours[region])})"

    def name_region(self, region: int) -> str:
        """``mask.png: region 2 (#ffffff)``."""
        return f"{self.name}: {self.describe(region)}"


def read_regions(pixels: np.ndarray, name: str) -> RegionMap:
    """The regions of mask ``pixels`` (``[H, W, 3]``, uint8 or float in [0, 1]). Raises ImageError for a mask
    of one colour."""
    values = np.asarray(pixels)
    if values.dtype != np.uint8:
        values = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
    flat = values.reshape(-1, values.shape[-1])[:, :3]
    distinct, inverse, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    colours = distinct[counts >= MIN_COLOUR_SHARE * len(flat)]
    if len(colours) < 2:
        raise ImageError(f"{name}: the mask has one colour, so one region: a mask needs at least two")
    colours = colours[np.lexsort((*colours.T[::-1], colours @ np.asarray(LUMA_WEIGHTS)))]
    # each distinct colour joins the region of the nearest region colour (its own, for a region's colour)
    gaps = distinct[:, None, :].astype(np.int32) - colours[None].astype(np.int32)
    nearest = np.argmin((gaps**2).sum(-1), axis=1)
    return RegionMap(nearest[inverse.ravel()].reshape(values.shape[:2]).astype(np.int32), colours, name)


def check_aspect(mask_size: tuple[int, int], image_size: tuple[int, int], name: str, image_name: str) -> None:
    """Raise ImageError unless a mask of ``mask_size`` (width, height) has the image's aspect ratio."""
    mask_aspect, image_aspect = mask_size[0] / mask_size[1], image_size[0] / image_size[1]
    if abs(mask_aspect / image_aspect - 1.0) > ASPECT_TOLERANCE:
        raise ImageError(
            f"{name}: {mask_size[0]}x{mask_size[1]} px is not the aspect ratio of {image_name} "
            f"({image_size[0]}x{image_size[1]} px)"
        )


def parse_region_styles(entries: Sequence[str] | None, regions: RegionMap, styles: int) -> list[tuple[int, ...]]:
    """The styles of each region (0-based indices; empty: kept) from ``region_styles`` entries, or region i to
    style i when there are none. Raises ConfigError for a count mismatch, a style no region uses, or an entry
    that names no style."""
    if entries is None:
        if regions.count > styles:
            raise ConfigError(
                f"{regions.name} has {regions.count} regions and there are {styles} styles: give --region_styles, "
                "one entry per region (a style's number or keep)"
            )
        entries = [str(i + 1) for i in range(regions.count)]
    if len(entries) != regions.count:
        raise ConfigError(
            f"--region_styles: {len(entries)} entries for the {regions.count} regions of {regions.name} "
            f"(dark to light: {', '.join(regions.describe(r) for r in range(regions.count))})"
        )
    chosen = []
    for entry in entries:
        if entry == KEEP:
            chosen.append(())
            continue
        numbers = [int(n) for n in entry.split("+")]
        if any(n < 1 or n > styles for n in numbers):
            raise ConfigError(f"--region_styles: '{entry}' names no style of the {styles} given (1 to {styles})")
        chosen.append(tuple(sorted({n - 1 for n in numbers})))
    unused = sorted(set(range(styles)) - {s for c in chosen for s in c})
    if unused:
        raise ConfigError(
            f"style {unused[0] + 1} has no region in {regions.name}: name it in --region_styles or leave it out"
        )
    return chosen


def soft_masks(regions: RegionMap, size: tuple[int, int], feather: float) -> np.ndarray:
    """Each region's share of every pixel of an image of ``size`` (width, height): float32 ``[R, h, w]`` in
    [0, 1], summing to 1 at each pixel; edges blurred by a Gaussian of ``feather`` px (0: as resized)."""
    width, height = size
    planes = []
    for region in range(regions.count):
        plane = Image.fromarray((regions.labels == region).astype(np.float32), "F")
        planes.append(np.asarray(plane.resize((width, height), Image.BILINEAR), np.float32))
    masks = np.clip(np.stack(planes), 0.0, 1.0)
    if feather > 0:
        masks = _blur(masks, feather)
    return (masks / np.maximum(masks.sum(0, keepdims=True), 1e-12)).astype(np.float32)


def _blur_matrix(length: int, sigma: float) -> np.ndarray:
    """``[length, length]``: a row vector times it is blurred by a Gaussian of ``sigma``, edges reflected."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    matrix = np.zeros((length, length), np.float64)
    for offset, tap in zip(range(-radius, radius + 1), taps):
        source = np.arange(length) + offset
        source = np.abs(source)  # reflect at 0
        source = np.where(source >= length, 2 * length - 2 - source, source).clip(0, length - 1)
        np.add.at(matrix, (source, np.arange(length)), tap)
    return matrix.astype(np.float32)


def _blur(masks: np.ndarray, sigma: float) -> np.ndarray:
    """``masks`` ``[R, h, w]`` blurred by a Gaussian of ``sigma`` px in both directions."""
    return _blur_matrix(masks.shape[1], sigma).T @ masks @ _blur_matrix(masks.shape[2], sigma)


def layer_weights(masks: np.ndarray, layers: Sequence[str]) -> dict[str, np.ndarray]:
    """Masks ``[R, H, W]`` at each layer's grid, as weights: ``{layer: [R, H // s, W // s, 1]}`` for the layer's
    stride s, each cell the mean of its s x s pixels, each region's weights then divided by their sum (a region's
    weighted mean over positions is its statistics' mean). A region with no area at a layer has weights 0."""
    weights = {}
    for name in layers:
        pooled = pooled_masks(masks, layer_stride(name))
        total = pooled.sum(axis=(1, 2), keepdims=True)
        weights[name] = (pooled / np.where(total > 0, total, 1.0))[..., None].astype(np.float32)
    return weights


def pooled_masks(masks: np.ndarray, stride: int) -> np.ndarray:
    """``masks`` ``[R, H, W]`` averaged over ``stride`` x ``stride`` cells (the grid of a layer of that stride;
    a partial last row or column is dropped, as VGG's pooling drops it): ``[R, H // stride, W // stride]``."""
    count, height, width = masks.shape
    rows, columns = height // stride, width // stride
    cells = masks[:, : rows * stride, : columns * stride].reshape(count, rows, stride, columns, stride)
    return cells.mean(axis=(2, 4))


def check_region_sizes(masks: np.ndarray, painted: Sequence[int], deepest: str, describe: Callable[[int], str]) -> None:
    """Raise ImageError if a ``painted`` region of ``masks`` ``[R, H, W]`` covers fewer than
    ``MIN_REGION_POSITIONS`` positions of layer ``deepest``'s grid; ``describe(region)`` names it in the message
    (e.g. ``mask.png: region 2 (#ffffff)``)."""
    area = pooled_masks(masks, layer_stride(deepest)).sum(axis=(1, 2))
    for region in painted:
        if area[region] < MIN_REGION_POSITIONS:
            height, width = masks.shape[1:]
            raise ImageError(
                f"{describe(region)} is too small: {area[region]:.1f} positions of {deepest}'s grid at "
                f"{width}x{height} px, at least {MIN_REGION_POSITIONS:g} needed"
            )
