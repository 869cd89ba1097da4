"""Prints: peak memory, seconds per evaluation and loss of each memory mechanism at 1024, 2048 and 4096 px.

Each row is one fresh process running the last level of a two-level pyramid (the style image as the pyramid
sizes it there) for a few evaluations from the content image, with one mechanism forced (see
``tf_nst.planning.mechanisms``). It reports the plan's estimate of that run, the measured peak (VmHWM), the
median seconds per evaluation (the first, which traces, left out) and the total loss after the last
evaluation. A row whose estimate is over the memory available is not run.

    python -m bench.prints                         # the table of bench/README.md ("Prints")
    python -m bench.prints --sizes=1024 --evaluations=4 --mechanisms=plain,1024

Mechanisms are named ``plain``, ``TILE``, ``TILE/HISTORY`` (tiles of TILE px, L-BFGS history HISTORY) or
``TILE/adam``.
Uses the shared taj_mahal x starry_night when present, else the built-in demo images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench import common

EVALUATIONS = {1024: 6, 2048: 5, 4096: 4}


def images():
    """(content, style) paths, or the demo images as arrays."""
    shared = common.shared_images("taj_mahal", "starry_night")
    return tuple(map(str, shared)) if shared else common.demo_images()


def mechanism(name: str):
    """``plain``, ``TILE`` or ``TILE/HISTORY`` as a ``tf_nst.planning.Mechanism``."""
    from tf_nst.planning import PLAIN, Mechanism

    if name == "plain":
        return PLAIN
    tile, _, history = name.partition("/")
    if history == "adam":
        return Mechanism(int(tile), optimizer="adam")
    return Mechanism(int(tile), int(history) if history else None)


def work(size: str, name: str, evaluations: str, *sets: str) -> dict:
    """One row's run in this process, ``sets`` (``KEY=VALUE``) setting config fields: the row's numbers."""
    import tf_nst
    from tf_nst.api import Stylizer
    from tf_nst.io.images import as_pixels, fit
    from tf_nst.memory import memory_budget
    from tf_nst.planning import Level, level_peak_bytes

    size, evaluations = int(size), int(evaluations)
    config = tf_nst.StyleTransferConfig(**common.config_overrides(sets)).replace(
        max_size=size, scales=1, steps=evaluations
    )
    way = mechanism(name)
    content_image, style_image = images()
    stylizer = Stylizer(style_image, config)
    content = fit(as_pixels(content_image, "content", config.max_input_pixels), size, "content")
    styles = stylizer.styles_for(content, first_side=size // 2)
    level = Level((content.shape[2], content.shape[1]), (styles[0].shape[2], styles[0].shape[1]), evaluations, way)
    estimate = level_peak_bytes(level, stylizer.config, stylizer.config.precision)
    row = {
        "size": f"{level.size[0]}x{level.size[1]}",
        "style": f"{level.style_size[0]}x{level.style_size[1]}",
        "mechanism": way.describe(),
        "estimate_gb": estimate / 2**30,
        "evaluations": evaluations,
    }
    available = memory_budget(None, on_gpu=False).limit
    if available is not None and estimate > available:
        return row  # would not fit: not run
    targets = stylizer.transfer.style_targets(styles)
    times, losses = [], {}

    def record(progress):
        times.append(time.perf_counter())
        losses.update(progress.losses)

    started = time.perf_counter()
    stylizer.transfer.run(content, targets, record, 1, None, evaluations, mechanism=way)
    steps = [b - a for a, b in zip(times, times[1:])]
    return dict(
        row,
        peak_gb=common.vm_peak_bytes() / 2**30,
        seconds=statistics.median(steps) if steps else time.perf_counter() - started,
        loss=losses.get("total", float("nan")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048,4096")
    parser.add_argument("--mechanisms", default="plain,1024,1024/10,1024/5,512/5,512/adam")
    parser.add_argument("--evaluations", type=int, default=0, help="per run; 0: 6, 5, 4 at 1024, 2048, 4096 px")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=common.SET_HELP)
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(work(*args.worker)))
        return
    try:
        common.config_overrides(args.set, reserved=("max_size", "scales", "steps"))
    except ValueError as err:
        parser.error(str(err))
    print("| size | style | mechanism | estimate | peak (VmHWM) | estimate/peak | s/eval | evaluations | loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        evaluations = args.evaluations or EVALUATIONS.get(size, 4)
        for name in args.mechanisms.split(","):
            try:
                row = common.measure_apart("bench.prints", str(size), name, str(evaluations), *args.set)
            except RuntimeError as err:
                print(f"| {size} | | {name} | failed: {str(err).strip().splitlines()[-1]} |||||||", flush=True)
                continue
            if "peak_gb" not in row:
                print(
                    f"| {row['size']} | {row['style']} | {row['mechanism']} | {row['estimate_gb']:.2f} GB | not run: "
                    "over the memory available ||||||",
                    flush=True,
                )
                continue
            print(
                f"| {row['size']} | {row['style']} | {row['mechanism']} | {row['estimate_gb']:.2f} GB | "
                f"{row['peak_gb']:.2f} GB | {row['estimate_gb'] / row['peak_gb']:.2f} | {row['seconds']:.2f} | "
                f"{row['evaluations']} | {row['loss']:.4g} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
