"""Tileable textures: does a ``tileable`` result repeat without a seam, and does the same run without it show one?

A texture from a painting alone: the content is a flat grey square that only sets the size (content weight 0),
the start is noise, the painting is matched at the texture's size (``style_scale`` 1). The same run is made with
and without ``tileable``; each result is repeated 2x2 and the gradient energy (mean squared neighbour difference,
``bench.experiments.seams.border_energy``) across the tile border is compared with that across every other row
and column (``ratio``), and with that across the other rows and columns on the network's pooled grid, multiples of
``tf_nst.layers.wrap_step`` (``grid_ratio``: pooling makes those lines a little different from the rest). A ratio
near 1 is no seam; without ``tileable`` the border joins two edges the optimisation never compared.

    python -m bench.tileable                                   # starry_night at 256 px, default steps
    python -m bench.tileable --style=mosaic --size=512 --steps=80 --set tv_weight=2

Writes to ``bench/results/`` (not committed) ``tileable_<style>_<size>[_<settings>].json``, each run's 2x2
repeat at 100% (``..._tileable_2x2.png``, ``..._plain_2x2.png``) and ``..._sheet.png``: the two repeats and,
below them, the repeats' middle (where the four tiles meet) enlarged 3x, for a person to look at.
Uses the shared painting when present, else the built-in demo painting.
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from bench import common
from bench.experiments.seams import border_energy

ZOOM = 3  # enlargement of the middle crops
CROP = 96  # px of the repeat around its middle, each side, before enlarging


def seam_energy(result: np.ndarray, step: int) -> dict:
    """Energy across the wrap border of ``result`` ``[H, W, 3]`` repeated 2x2, against all other lines and
    against the other lines on the pooled grid of ``step`` px."""
    height, width = result.shape[:2]
    repeat = np.tile(result, (2, 2, 1))
    border, elsewhere = border_energy(repeat, [height], [width])
    rows = [y for y in range(step, 2 * height, step) if y != height]
    columns = [x for x in range(step, 2 * width, step) if x != width]
    on_grid, _ = border_energy(repeat, rows, columns)
    return {
        "border": border,
        "elsewhere": elsewhere,
        "grid": on_grid,
        "ratio": border / elsewhere,
        "grid_ratio": border / on_grid,
    }


def run_name(style: str, size: int, settings: list[str]) -> str:
    """The stem of a run's result files: ``tileable_<style>_<size>``, then each setting that changed it
    (``--set`` items, steps, seed) with ``=`` as ``-``, so runs with other settings do not overwrite it."""
    changed = [re.sub(r"[^A-Za-z0-9._-]+", "-", setting) for setting in settings]
    return "_".join([f"tileable_{style}_{size}", *changed])


def middle(result: np.ndarray) -> np.ndarray:
    """The 2x2 repeat of ``result`` around the point where its four tiles meet, enlarged ``ZOOM`` x (nearest)."""
    height, width = result.shape[:2]
    crop = np.tile(result, (2, 2, 1))[height - CROP : height + CROP, width - CROP : width + CROP]
    return np.repeat(np.repeat(crop, ZOOM, axis=0), ZOOM, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="starry_night", help="a shared painting (file name, no extension)")
    parser.add_argument("--size", type=int, default=256, help="the texture's side, px")
    parser.add_argument("--steps", type=int, default=None, help="evaluations at the first level (default: config)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help=common.SET_HELP)
    args = parser.parse_args()

    import tf_nst
    from tf_nst.layers import wrap_step

    found = common.shared_images(args.style)
    style, name = (str(found[0]), args.style) if found else (common.demo_images()[1], "demo")
    overrides = common.config_overrides(args.set, reserved=("tileable", "max_size", "init", "content_weight"))
    changes = {"max_size": args.size, "init": "noise", "content_weight": 0.0, "seed": args.seed}
    if args.steps:
        changes["steps"] = args.steps
    config = tf_nst.StyleTransferConfig(**overrides).replace(**changes)
    step = wrap_step(config.content_layers + config.style_layers)
    grey = np.full((args.size, args.size, 3), 0.5, np.float32)
    settings = args.set + [f"steps={args.steps}"] * bool(args.steps) + [f"seed={args.seed}"] * bool(args.seed)
    stem = run_name(name, args.size, settings)
    runs, results = {}, {}
    for tileable in (True, False):
        started = time.perf_counter()
        result = tf_nst.stylize(grey, style, config.replace(tileable=tileable)).numpy()[0]
        key = "tileable" if tileable else "plain"
        runs[key] = {"seconds": time.perf_counter() - started, "size": list(result.shape[1::-1])}
        runs[key].update(seam_energy(result, step))
        results[key] = result
        common.save_png(np.tile(result, (2, 2, 1)), common.RESULTS / f"{stem}_{key}_2x2.png")
        print(
            f"{key:8s} {result.shape[1]}x{result.shape[0]}  across the border {runs[key]['border']:.5f}, elsewhere "
            f"{runs[key]['elsewhere']:.5f}: ratio {runs[key]['ratio']:.2f} (against the {step} px grid's lines: "
            f"{runs[key]['grid_ratio']:.2f})  {runs[key]['seconds']:.0f} s"
        )
    common.write_json(
        common.RESULTS / f"{stem}.json",
        {"style": name, "config": vars(config), "runs": runs, "machine": common.machine()},
    )
    captions = {key: f"{key}: 2x2 repeat, border/elsewhere {runs[key]['ratio']:.2f}" for key in runs}
    sheet = common.contact_sheet(
        [
            [(np.tile(results[key], (2, 2, 1)), [captions[key]]) for key in runs],
            [(middle(results[key]), [f"{key}: where the tiles meet, {ZOOM}x"]) for key in runs],
        ],
        height=2 * args.size,
        title=f"tileable: {name} at {args.size} px, noise start, content weight 0",
        margin=8,
    )
    common.save_png(sheet, common.RESULTS / f"{stem}_sheet.png")
    print(f"wrote {common.RESULTS / stem}.json and {common.RESULTS / stem}_sheet.png")


if __name__ == "__main__":
    main()
