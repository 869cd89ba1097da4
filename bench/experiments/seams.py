"""Seams: does an image made in tiles show its tile borders?

For an output image and the tile size it was evaluated with, it compares the gradient energy (squared
neighbour differences, all channels) across the tile borders with that across every other row and column,
and writes a crop at 100% around the first interior corner of the grid, for looking at.

    python -m bench.experiments.seams print.png --tile=1024        # the tile size the image was made with
    python -m bench.experiments.seams print.png --tile=512 --crop=bench/results/seam.png

A ratio near 1 means the borders are like any other row or column; a seam would show as a ratio well above 1.
tf_nst's tiles are exact (the image is one variable, only its loss is evaluated in tiles), so no seam is
expected; this checks it on real output.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
from PIL import Image

from tf_nst.config import StyleTransferConfig
from tf_nst.layers import tile_halo
from tf_nst.tiles import tile_grid


def border_energy(pixels: np.ndarray, rows: list[int], columns: list[int]) -> tuple[float, float]:
    """(mean squared difference across the border ``rows``/``columns``, the same across all others), of
    ``pixels`` ``[H, W, 3]`` in [0, 1]. A border at ``b`` is the difference between lines ``b - 1`` and ``b``."""
    down = np.square(np.diff(pixels, axis=0)).mean(axis=(1, 2))  # [H - 1]: between row i and i + 1
    across = np.square(np.diff(pixels, axis=1)).mean(axis=(0, 2))  # [W - 1]
    on_rows, on_columns = [b - 1 for b in rows], [b - 1 for b in columns]
    border = np.concatenate([down[on_rows], across[on_columns]])
    others = np.concatenate([np.delete(down, on_rows), np.delete(across, on_columns)])
    return float(border.mean()), float(others.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("--tile", type=int, required=True, help="tile interior the image was made with, px")
    parser.add_argument("--crop", default="bench/results/seam_crop.png")
    args = parser.parse_args()
    pixels = np.asarray(Image.open(args.image).convert("RGB"), np.float32) / 255.0
    height, width = pixels.shape[:2]
    config = StyleTransferConfig()
    halo, align = tile_halo(config.content_layers + config.style_layers)
    tiles = tile_grid(height, width, args.tile, halo, align)
    rows = sorted({t.interior[0] for t in tiles} - {0})
    columns = sorted({t.interior[2] for t in tiles} - {0})
    if not rows and not columns:
        raise SystemExit(f"{args.image}: {width}x{height} is a single tile of {args.tile} px")
    border, others = border_energy(pixels, rows, columns)
    print(f"{args.image}: {width}x{height}, tiles of {args.tile} px, borders at rows {rows} and columns {columns}")
    print(f"gradient energy across borders {border:.5f}, elsewhere {others:.5f}, ratio {border / others:.3f}")
    y, x = (rows or [height // 2])[0], (columns or [width // 2])[0]
    crop = pixels[max(0, y - 256) : y + 256, max(0, x - 256) : x + 256]
    pathlib.Path(args.crop).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((crop * 255).round().astype(np.uint8)).save(args.crop)
    print(f"wrote {args.crop}: 512x512 at 100% centred on the tile corner at x={x}, y={y}")


if __name__ == "__main__":
    main()
