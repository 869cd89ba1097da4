"""Pasted objects: does a result carry the painting's objects (faces, eyes, figures) where the photo has none?
(``Judge.novelty`` runs the check; ``python -m bench.quality --judge`` reports it for images made elsewhere.)

Objects get pasted where the photo has little structure: sky, water, reflections, shadow. Strokes and colour
change a photo's shallow features; an eye or a face also changes its deepest ones, the object parts conv5_1
detects. So the check measures, in the photo's less structured half (``low_structure_mask``), how far the
result's conv5_1 features move from the photo's at each position, relative to the photo's mean feature energy:

- ``novelty``: the 99th percentile of that local distance (a pasted object is small: the mean would hide it);
  ``flagged`` when it is above ``NOVELTY_LIMIT``.

It is a measure read beside the contact sheets, never instead of them: bench/README.md says on which results it
was checked by eye. Every sheet also shows a 2x crop of the photo's least structured window
(``low_structure_box``, ``crop_2x``) next to the full result.
"""

from __future__ import annotations

import numpy as np

from tf_nst.color import LUMA_WEIGHTS

OBJECT_LAYER = "block5_conv1"
NOVELTY_LIMIT = 1.0  # between the pasted and the clean results looked at (bench/README.md, "Pasted objects")
BOX_FRACTION = 1 / 3  # each side of the low-structure window, relative to the image's


def structure_map(photo: np.ndarray) -> np.ndarray:
    """Gradient energy of ``photo`` ``[H, W, 3]`` in [0, 1], per pixel ``[H, W]``: squared differences of the
    luminance to the right and below neighbour."""
    luminance = photo @ LUMA_WEIGHTS
    energy = np.zeros_like(luminance)
    energy[:, :-1] += np.square(np.diff(luminance, axis=1))
    energy[:-1, :] += np.square(np.diff(luminance, axis=0))
    return energy


def low_structure_box(photo: np.ndarray, fraction: float = BOX_FRACTION) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the window of ``fraction`` of each side with the least mean gradient
    energy (an integral image over every position, in steps of 1/24 of each side)."""
    energy = structure_map(photo)
    height, width = energy.shape
    box_h, box_w = max(1, round(height * fraction)), max(1, round(width * fraction))
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, where = np.inf, (0, 0)
    for top in range(0, height - box_h + 1, max(1, height // 24)):
        for left in range(0, width - box_w + 1, max(1, width // 24)):
            total = (
                integral[top + box_h, left + box_w]
                - integral[top, left + box_w]
                - integral[top + box_h, left]
                + integral[top, left]
            )
            if total < best:
                best, where = total, (top, left)
    return (*where, box_h, box_w)


def crop_2x(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ``box`` of ``image`` ``[H, W, 3]``, enlarged 2x by pixel repetition (no smoothing hides detail)."""
    top, left, height, width = box
    crop = image[top : top + height, left : left + width]
    return np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)


def low_structure_mask(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boolean ``[h, w]`` (``size`` is (w, h)): the positions of ``photo`` ``[H, W, 3]`` whose gradient energy,
    averaged over the cell each position covers, is at or below the median."""
    from tf_nst.io.images import resize

    energy = resize(np.repeat(structure_map(photo)[..., None], 3, axis=-1), size)[..., 0]
    return energy <= np.median(energy)


def novelty(result_maps: np.ndarray, photo_maps: np.ndarray, photo: np.ndarray) -> float:
    """The 99th percentile, over ``photo``'s less structured half, of the squared distance of ``result_maps``
    from ``photo_maps`` (``OBJECT_LAYER`` features ``[h, w, C]`` of the result and of ``photo`` ``[H, W, 3]``
    in [0, 1], one size) at each position, relative to the photo's mean feature energy: 0 for the photo itself;
    above ``NOVELTY_LIMIT`` is flagged."""
    distance = np.sum(np.square(result_maps - photo_maps), axis=-1)
    distance /= np.mean(np.sum(np.square(photo_maps), axis=-1)) + 1e-12
    mask = low_structure_mask(photo, (distance.shape[1], distance.shape[0]))
    return float(np.quantile(distance[mask], 0.99))
