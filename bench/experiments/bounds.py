"""What L-BFGS's bounds change on a photo with many saturated pixels, side by side in one run.

    python -m bench.experiments.bounds                      # 128 px, 60 evaluations, embedded weights (~2 min)
    python -m bench.experiments.bounds --size=256 --steps=100 --contrast=3

The content is the built-in demo photo with its contrast raised (``--contrast``, default 1.8), so many of its
pixel values sit at 0 or 1 (blown highlights, crushed shadows). The same run, one level from the content
image, is made twice: with tf_nst's L-BFGS, which holds the pixels at 0 or 1 whose gradient points out of
[0, 1] (the active set of L-BFGS-B), and with the same optimizer without bounds, its steps only clipped
afterwards (tf_nst before the bounds). Prints the total loss after a few evaluation counts for each.
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--contrast", type=float, default=1.8, help="content = clip(0.5 + contrast * (x - 0.5))")
    args = parser.parse_args()

    import numpy as np

    import tf_nst
    from bench.common import demo_images
    from tf_nst import transfer
    from tf_nst.lbfgs import LBFGS

    photo, painting = (image.astype(np.float32) / 255 for image in demo_images())
    content, style = np.clip(0.5 + args.contrast * (photo - 0.5), 0, 1), painting
    config = tf_nst.StyleTransferConfig(max_size=args.size, steps=args.steps, scales=1, precision="float32")
    saturated = np.mean((content <= 0) | (content >= 1))
    print(
        f"{args.size} px, contrast {args.contrast}: {saturated:.0%} of the content's values at 0 or 1, "
        f"{args.steps} evaluations"
    )
    shown = sorted({args.steps // 6, args.steps // 3, args.steps // 2, args.steps})
    original = transfer.make_optimizer
    for label, bounds in (("bounds (active set)", (0.0, 1.0)), ("no bounds, clipped", None)):

        def make(model, config, bounds=bounds):
            return LBFGS(history_size=config.history_size, initial_step=config.learning_rate, bounds=bounds)

        transfer.make_optimizer = make
        losses = {}
        tf_nst.stylize(
            content, style, config, lambda p, losses=losses: losses.update({p.evaluation: p.losses["total"]}), 1
        )
        transfer.make_optimizer = original
        print(f"{label:>20}: " + "  ".join(f"{n}: {losses[n]:.4g}" for n in shown))


if __name__ == "__main__":
    main()
