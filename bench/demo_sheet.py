"""The README's pictures, from the built-in demo photo and painting.

    python bench/demo_sheet.py                 # writes docs/demo.png and docs/style_loss.png

Everything in them is made by tf_nst: the two demo images are drawn by ``tf_nst.io.demo`` and the results are
``tf_nst.stylize``. ``demo.png``: photo, painting and the result at ``StyleTransferConfig()``'s defaults.
``style_loss.png``: photo, painting, the earlier defaults' Gram loss (layer weights 1,1,1,1,0.3) and today's.
"""

from __future__ import annotations

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TILE_HEIGHT = 288  # pixels of each tile in the sheet
EARLIER = {"style_loss": "gram", "style_layer_weights": (1.0, 1.0, 1.0, 1.0, 0.3)}


def sheet(images: list) -> object:
    """PIL images side by side, each ``TILE_HEIGHT`` high, 8 px apart."""
    from PIL import Image

    tiles = [
        image.resize((round(image.width * TILE_HEIGHT / image.height), TILE_HEIGHT), Image.LANCZOS) for image in images
    ]
    gap = 8
    canvas = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1), TILE_HEIGHT), "white")
    x = 0
    for tile in tiles:
        canvas.paste(tile, (x, 0))
        x += tile.width + gap
    return canvas


def main() -> None:
    import numpy as np
    from PIL import Image

    import tf_nst
    from tf_nst.io.demo import demo_content, demo_style

    content, style = demo_content(), demo_style()

    def painted(**overrides) -> Image.Image:
        result = tf_nst.stylize(np.asarray(content), np.asarray(style), **overrides)
        return Image.fromarray(np.round(result.numpy()[0] * 255).astype(np.uint8))

    today = painted()
    (REPO / "docs").mkdir(exist_ok=True)
    for name, images in (
        ("demo", [content, style, today]),
        ("style_loss", [content, style, painted(**EARLIER), today]),
    ):
        output = REPO / "docs" / f"{name}.png"
        tf_nst.save_image(np.asarray(sheet(images), np.float32)[None] / 255, str(output))
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
