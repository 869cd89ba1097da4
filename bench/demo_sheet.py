"""The README's picture: the built-in demo photo, the demo painting and tf_nst's result at the defaults.

    python bench/demo_sheet.py                 # writes docs/demo.png

Everything in it is made by tf_nst: the two demo images are drawn by ``tf_nst.io.demo`` and the result is
``tf_nst.stylize`` at ``StyleTransferConfig()``'s defaults.
"""

from __future__ import annotations

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TILE_HEIGHT = 288  # pixels of each tile in the sheet


def main() -> None:
    import numpy as np
    from PIL import Image

    import tf_nst
    from tf_nst.io.demo import demo_content, demo_style

    content, style = demo_content(), demo_style()
    result = tf_nst.stylize(np.asarray(content), np.asarray(style))
    painted = Image.fromarray(np.round(result.numpy()[0] * 255).astype(np.uint8))
    tiles = [
        image.resize((round(image.width * TILE_HEIGHT / image.height), TILE_HEIGHT), Image.LANCZOS)
        for image in (content, style, painted)
    ]
    gap = 8
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1), TILE_HEIGHT), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + gap
    output = REPO / "docs" / "demo.png"
    output.parent.mkdir(exist_ok=True)
    tf_nst.save_image(np.asarray(sheet, np.float32)[None] / 255, str(output))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
