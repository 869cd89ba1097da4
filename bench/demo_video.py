"""The README's animation: a camera pan and zoom over the built-in demo photo, beside tf_nst's video mode result.

    python bench/demo_video.py                 # writes docs/video.gif

Everything in it is made by tf_nst: the demo photo and painting are drawn by ``tf_nst.io.demo``, the clip is
``bench/video.py``'s pan and zoom, and the result is ``tf_nst.stylize_video`` at the defaults.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--output", default=str(REPO / "docs" / "video.gif"))
    args = parser.parse_args()

    import numpy as np
    from video import synthetic

    import tf_nst
    from tf_nst.io.demo import demo_content, demo_style
    from tf_nst.io.video import VideoFile

    photo = np.asarray(demo_content(), np.float32) / 255
    frames, _ = synthetic(photo, args.frames, (args.size, args.size * 3 // 4))
    config = tf_nst.StyleTransferConfig(max_size=args.size)
    writer = VideoFile(args.output, 8)
    for index, (frame, result) in enumerate(
        zip(frames, tf_nst.stylize_video(frames, np.asarray(demo_style()), config))
    ):
        gap = np.ones((frame.shape[0], 4, 3), np.float32)
        writer.write(np.concatenate([frame, gap, np.asarray(result)[0]], axis=1))
        print(f"frame {index + 1}/{len(frames)}", flush=True)
    writer.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
