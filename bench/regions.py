"""Regions: does each region take its own painting's style, does a kept region stay the photo, and does the
border between regions show a seam?

For each portrait photo with its person mask (black background, white person) and two paintings, two runs:
``two`` paints the background with the first painting and the person with the second; ``keep`` paints the
background with the first and keeps the person. Measured with the judge's own VGG-19 (``bench.judge``), at each
of its style layers, on the positions whose grid cell lies wholly in a region (mask cell mean > 0.99):

- ``own``: how much of a region's style statistics come from its own painting: d(other) / (d(own) + d(other)),
  d the Frechet distance between the region's features and a whole painting's; 1 is all its own, 0.5 as near
  to either. For the kept person, ``own`` is the same with the photo's person as "its own" and the painting as
  the other.
- ``border``: the seam. Mean squared neighbour difference (all channels) on the pixels within 2 px of the
  region border, over that on the pixels 6-20 px from it on either side, for the result and for the photo (the
  person's outline is an edge of the photo too). ``added`` = result's ratio / photo's: near 1 or below, no seam
  beyond the photo's own edge.

    python -m bench.regions                                   # the three shared portraits, defaults, 512 px
    python -m bench.regions --portraits=face --size=256 --set steps=40

Writes ``bench/results/regions/`` (not committed): each result, ``<portrait>.json`` and ``<portrait>_sheet.png``
(photo, the two results, the two paintings; then each result's border enlarged 3x) to look at.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

from bench import common

PORTRAITS = {  # photo: (background painting, person painting)
    "face": ("starry_night", "the_scream"),
    "portrait_00017": ("kandinsky", "mosaic"),
    "portrait_00110": ("the_scream", "candy"),
}
INSIDE = 0.99  # a grid cell belongs to a region when this much of it does
BAND = 2  # px each side of the border: the border band
NEAR = (6, 20)  # px from the border: the band it is compared with
ZOOM = 3
CROP = 64  # px each side of the border point shown enlarged


def share(own: float, other: float) -> float:
    """other / (own + other): 1 when a region's statistics are its own painting's, 0.5 when as near to either."""
    return other / (own + other) if own + other > 0 else 0.5


def distance_to_border(mask: np.ndarray) -> np.ndarray:
    """Chessboard distance, px, of each pixel of a boolean ``mask`` ``[H, W]`` to the nearest pixel of the other
    side (1 next to the border), up to ``NEAR[1] + 1``."""
    distance = np.full(mask.shape, NEAR[1] + 1, np.int32)
    frontier = np.zeros_like(mask)
    height, width = mask.shape
    padded = np.pad(mask, NEAR[1], mode="edge")  # the image's edge is no border
    for step in range(1, NEAR[1] + 1):
        grown = np.zeros_like(mask)
        for dy in (-step, 0, step):
            for dx in (-step, 0, step):
                shifted = padded[NEAR[1] + dy : NEAR[1] + dy + height, NEAR[1] + dx : NEAR[1] + dx + width]
                grown |= shifted != mask
        fresh = grown & ~frontier
        distance[fresh] = step
        frontier |= grown
    return distance


def border_ratio(pixels: np.ndarray, distance: np.ndarray) -> float:
    """Mean squared neighbour difference of ``pixels`` ``[H, W, 3]`` on the border band over that on the near
    band (``distance`` from ``distance_to_border``)."""
    energy = np.zeros(pixels.shape[:2], np.float32)
    energy[:-1] += np.square(np.diff(pixels, axis=0)).mean(-1)
    energy[:, :-1] += np.square(np.diff(pixels, axis=1)).mean(-1)
    border = energy[distance <= BAND].mean()
    near = energy[(distance >= NEAR[0]) & (distance <= NEAR[1])].mean()
    return float(border / near)


def region_features(maps: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """``{layer: [N, C]}``: the feature vectors of ``maps`` (``{layer: [h, w, C]}``) whose grid cell lies in
    ``mask`` ``[H, W]`` (float, 1 inside) by at least ``INSIDE``."""
    from tf_nst.layers import layer_stride
    from tf_nst.regions import pooled_masks

    picked = {}
    for name, values in maps.items():
        cells = pooled_masks(mask[None], layer_stride(name))[0]
        h, w = min(cells.shape[0], values.shape[0]), min(cells.shape[1], values.shape[1])
        picked[name] = values[:h, :w][cells[:h, :w] >= INSIDE]
    return picked


def own_share(region: dict[str, np.ndarray], own: dict, other: dict) -> float:
    """Mean over the judge's style layers of ``share`` of a region's features (``{layer: [N, C]}``), against
    the Gaussians of its own source and the other one."""
    from bench.judge import STYLE_LAYERS, frechet, gaussian

    values = []
    for name in STYLE_LAYERS:
        if len(region[name]) < 2:
            continue
        fitted = gaussian(region[name])
        values.append(share(frechet(fitted, own[name]), frechet(fitted, other[name])))
    return float(np.mean(values))


def measure(judge, result: np.ndarray, photo: np.ndarray, person: np.ndarray, sources: dict) -> dict:
    """The figures of one result ``[H, W, 3]`` in [0, 1]: ``sources`` maps ``background`` and ``person`` to
    (own, other) Gaussians ``{layer: Gaussian}``; ``person`` the mask ``[H, W]`` (1 in the person)."""
    maps = judge.feature_maps(result)
    figures = {
        f"own_{where}": own_share(region_features(maps, mask), *sources[where])
        for where, mask in (("background", 1.0 - person), ("person", person))
    }
    distance = distance_to_border(person > 0.5)
    figures["border_result"] = border_ratio(result, distance)
    figures["border_photo"] = border_ratio(photo, distance)
    figures["added"] = figures["border_result"] / figures["border_photo"]
    return figures


def gaussians(judge, image: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """``{layer: Gaussian}`` of ``image``'s features at the judge's style layers (of ``mask``'s cells only)."""
    from bench.judge import STYLE_LAYERS, gaussian

    picked = judge.features(image) if mask is None else region_features(judge.feature_maps(image), mask)
    return {name: gaussian(picked[name]) for name in STYLE_LAYERS}


def border_crop(image: np.ndarray, person: np.ndarray) -> np.ndarray:
    """``image`` around the topmost point of the person's outline, enlarged ``ZOOM`` x."""
    rows = np.flatnonzero(person.max(axis=1) > 0.5)
    top = rows[0] if len(rows) else image.shape[0] // 2
    column = int(np.flatnonzero(person[top] > 0.5).mean()) if len(rows) else image.shape[1] // 2
    y0 = int(np.clip(top - CROP // 2, 0, image.shape[0] - CROP))
    x0 = int(np.clip(column - CROP, 0, image.shape[1] - 2 * CROP))
    crop = image[y0 : y0 + CROP, x0 : x0 + 2 * CROP]
    return np.repeat(np.repeat(crop, ZOOM, axis=0), ZOOM, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", default=",".join(PORTRAITS), help="shared portrait photos (stems)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--set", action="append", default=[], help=common.SET_HELP)
    parser.add_argument("--images", default=str(common.SHARED_IMAGES))
    args = parser.parse_args()

    import tf_nst
    from bench.judge import Judge
    from tf_nst.io.images import as_pixels, resize

    overrides = common.config_overrides(args.set, reserved=("max_size", "region_styles"))
    config = tf_nst.StyleTransferConfig(**overrides).replace(max_size=args.size)
    judge = Judge()
    folder = common.RESULTS / "regions"
    folder.mkdir(parents=True, exist_ok=True)
    images = pathlib.Path(args.images)
    for portrait in args.portraits.split(","):
        background, figure = PORTRAITS[portrait]
        paths = common.shared_images(portrait, f"{portrait}_mask", background, figure, folder=images)
        if paths is None:
            print(f"skipping {portrait}: not in {images}")
            continue
        photo_path, mask_path, *painting_paths = map(str, paths)
        runs = {
            "two": dict(style=painting_paths, region_styles=None),
            "keep": dict(style=painting_paths[:1], region_styles=("1", "keep")),
        }
        results, seconds = {}, {}
        for name, run in runs.items():
            started = time.perf_counter()
            chosen = config.replace(region_styles=run["region_styles"])
            results[name] = tf_nst.stylize(photo_path, run["style"], chosen, regions=mask_path).numpy()[0]
            seconds[name] = time.perf_counter() - started
            common.save_png(results[name], folder / f"{portrait}__{name}.png")
        size = results["two"].shape[1::-1]  # both runs' size
        photo = resize(as_pixels(photo_path), size)
        person = resize(as_pixels(mask_path), size)[..., 0]
        paintings = [gaussians(judge, resize(as_pixels(p), size)) for p in painting_paths]
        kept = gaussians(judge, photo, person)
        sources = {
            "two": {"background": paintings, "person": paintings[::-1]},
            "keep": {"background": [paintings[0], kept], "person": [kept, paintings[0]]},
        }
        figures = {}
        for name, result in results.items():
            figures[name] = {"seconds": seconds[name], **measure(judge, result, photo, person, sources[name])}
            print(portrait, name, {k: round(v, 3) for k, v in figures[name].items()}, flush=True)
        common.write_json(
            folder / f"{portrait}.json",
            {
                "portrait": portrait,
                "paintings": [background, figure],
                "config": vars(config),
                "runs": figures,
                "machine": common.machine(),
            },
        )
        sheet = common.contact_sheet(
            [
                [
                    (photo, ["photo"]),
                    (results["two"], ["two", f"{background}, {figure}"]),
                    (results["keep"], ["keep", f"{background}, kept"]),
                    *[(as_pixels(p), [n]) for p, n in zip(painting_paths, (background, figure))],
                ],
                [(border_crop(results[name], person), [f"{name}: border {ZOOM}x"]) for name in results],
            ],
            height=args.size // 2,
            title=f"regions: {portrait}",
            margin=8,
        )
        common.save_png(sheet, folder / f"{portrait}_sheet.png")


if __name__ == "__main__":
    main()
