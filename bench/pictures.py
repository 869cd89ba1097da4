"""The README's pictures, from the built-in demo photo and painting.

    python -m bench.pictures       # docs/demo.png, style_loss.png, neighbors.png, video.gif, controls.png, regions.png
    python -m bench.pictures --pictures=video --frames=12 --size=320
    python -m bench.pictures --pictures=controls --controls_size=192
    python -m bench.pictures --pictures=regions --controls_size=256

Everything in them is made by tf_nst: the two demo images are drawn by ``tf_nst.io.demo`` and the results are
``tf_nst.stylize`` at ``StyleTransferConfig()``'s defaults (``--set`` changes them). ``demo.png``: photo,
painting and the result. ``style_loss.png``: photo, painting, the earlier defaults' Gram loss (layer weights
1,1,1,1,0.3) and today's. ``neighbors.png``: photo, painting, the defaults before the pyramid and the
nearest-neighbour term (``PIXELS_ONLY``: pixels, statistics alone, style weight 15, 64 + 32 evaluations) and
today's. ``video.gif``: ``bench.video``'s pan and zoom over the photo beside ``tf_nst.stylize_video``'s result.
``controls.png``: photo, painting and the result at the defaults, then the main controls one at a time
(``CONTROLS``), each labelled with its flag, all at ``--controls_size``.
``regions.png``: the photo, its regions (``tf_nst.io.demo.demo_regions``: town and river black, sky white), the
demo painting and a second one (``demo_style(palette="ember")``); the town in the first painting and the sky in
the second; the sky in the second with the town kept; at ``--controls_size``.
"""

from __future__ import annotations

import argparse
import pathlib

from bench.common import REPO, SET_HELP, config_overrides, contact_sheet, demo_images, save_png

SHEET_HEIGHT = 288  # pixels of each image in the sheets
EARLIER = {"style_loss": "gram", "style_layer_weights": (1.0, 1.0, 1.0, 1.0, 0.3)}
# the defaults before the pyramid, which bench/README.md ("The image as a Laplacian pyramid") judged today's against
PIXELS_ONLY = {"parameterization": "pixels", "neighbor_weight": 0.0, "style_weight": 15.0, "steps": 64}
PICTURES = ("demo", "style_loss", "neighbors", "video", "controls", "regions")
# (label, flag, the config fields it changes): one control turned at a time from the defaults
CONTROLS = (
    ("more painting", "--style_weight=60", {"style_weight": 60.0}),
    ("more photo", "--content_weight=4", {"content_weight": 4.0}),
    ("bigger strokes", "--style_scale=2", {"style_scale": 2.0}),
    ("the photo's colours", "--preserve_colors=luminance", {"preserve_colors": "luminance"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", default=",".join(PICTURES), help=f"comma-separated, of: {', '.join(PICTURES)}")
    parser.add_argument("--frames", type=int, default=16, help="of the video")
    parser.add_argument("--size", type=int, default=256, help="longest side of the video")
    parser.add_argument("--controls_size", type=int, default=192, help="longest side of the controls' results")
    parser.add_argument("--output_dir", default=str(REPO / "docs"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    args = parser.parse_args()
    wanted = [name for name in args.pictures.split(",") if name]
    try:
        overrides = config_overrides(args.set)
        if set(wanted) - set(PICTURES):
            raise ValueError(f"--pictures={args.pictures}: expected some of {', '.join(PICTURES)}")
    except ValueError as err:
        parser.error(str(err))

    import numpy as np

    import tf_nst
    from bench.video import side_by_side_gif, synthetic

    content, style = demo_images()
    output = pathlib.Path(args.output_dir)

    def painted(**changes) -> np.ndarray:
        return tf_nst.stylize(content, style, tf_nst.StyleTransferConfig(**overrides | changes)).numpy()[0]

    today = painted() if {"demo", "style_loss", "neighbors"} & set(wanted) else None
    sheets = {
        "demo": lambda: [content, style, today],
        "style_loss": lambda: [content, style, painted(**EARLIER), today],
        "neighbors": lambda: [content, style, painted(**PIXELS_ONLY), today],
    }
    for name in (name for name in wanted if name in sheets):
        save_png(contact_sheet([[(image, []) for image in sheets[name]()]], SHEET_HEIGHT), output / f"{name}.png")
        print(f"wrote {output / f'{name}.png'}")
    if "controls" in wanted:
        size = {"max_size": args.controls_size}
        default = painted(**size)
        rows = [
            [
                (content, ["photo", "(built-in demo)"]),
                (style, ["painting", "(built-in demo)"]),
                (default, ["defaults", ""]),
            ],
            [(painted(**size | changes), [label, flag]) for label, flag, changes in CONTROLS],
        ]
        height = default.shape[0]
        title = f"tf_nst's main controls, each turned alone from the defaults; all at --max_size={args.controls_size}"
        save_png(contact_sheet(rows, height, title, margin=8), output / "controls.png")
        print(f"wrote {output / 'controls.png'}")
    if "regions" in wanted:
        from tf_nst.io.demo import demo_regions, demo_style

        mask = np.asarray(demo_regions())
        second = np.asarray(demo_style(palette="ember"))
        config = tf_nst.StyleTransferConfig(**overrides | {"max_size": args.controls_size})
        two = tf_nst.stylize(content, [style, second], config, regions=mask).numpy()[0]
        kept = tf_nst.stylize(content, second, config.replace(region_styles=("keep", "1")), regions=mask).numpy()[0]
        rows = [
            [
                (content, ["photo", "(built-in demo)"]),
                (mask, ["regions", "--regions=mask.png"]),
                (style, ["painting 1", ""]),
                (second, ["painting 2", ""]),
            ],
            [
                (two, ["town 1, sky 2", "--style=1.png,2.png"]),
                (kept, ["town kept, sky 2", "--region_styles=keep,1"]),
            ],
        ]
        title = f"regions: black (the town) first, then white (the sky); at --max_size={args.controls_size}"
        save_png(contact_sheet(rows, two.shape[0], title, margin=8), output / "regions.png")
        print(f"wrote {output / 'regions.png'}")
    if "video" in wanted:
        frames, _ = synthetic(content.astype(np.float32) / 255, args.frames, (args.size, args.size * 3 // 4))
        config = tf_nst.StyleTransferConfig(**overrides | {"max_size": args.size})
        results = [np.asarray(result)[0] for result in tf_nst.stylize_video(frames, style, config)]
        side_by_side_gif(output / "video.gif", frames, results, 8)
        print(f"wrote {output / 'video.gif'}")


if __name__ == "__main__":
    main()
