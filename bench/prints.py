"""Prints: peak memory, seconds per evaluation and loss of each memory mechanism at 1024, 2048 and 4096 px.

Each row is one fresh process running the last level of a two-level pyramid (the style image as the pyramid
sizes it there) for a few evaluations from the content image, with one mechanism forced (see
``tf_nst.memory.mechanisms``). It reports the plan's estimate of that run, the measured peak (VmHWM), the
median seconds per evaluation (the first, which traces, left out) and the total loss after the last
evaluation. A row whose estimate is over the memory available is not run.

    python bench/prints.py                         # the table of bench/README.md ("Prints")
    python bench/prints.py --sizes=1024 --evaluations=4 --mechanisms=plain,1024

Mechanisms are named ``plain``, ``TILE``, ``TILE/HISTORY`` (tiles of TILE px, L-BFGS history HISTORY) or
``TILE/adam``.
Uses the shared taj_mahal.jpg x starry_night.jpg (``TF_NST_SHARED_IMAGES`` or ../shared/images) when present,
else the built-in demo images.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

from bench import vm_peak_bytes

REPO = pathlib.Path(__file__).resolve().parents[1]
EVALUATIONS = {1024: 6, 2048: 5, 4096: 4}


def images():
    """(content, style) paths, or the demo images as arrays."""
    shared = pathlib.Path(os.environ.get("TF_NST_SHARED_IMAGES", REPO.parent / "shared" / "images"))
    content, style = shared / "taj_mahal.jpg", shared / "starry_night.jpg"
    if content.exists() and style.exists():
        return str(content), str(style)
    import numpy as np

    from tf_nst.io.demo import demo_content, demo_style

    return np.asarray(demo_content()), np.asarray(demo_style())


def mechanism(name: str):
    """``plain``, ``TILE`` or ``TILE/HISTORY`` as a ``tf_nst.memory.Mechanism``."""
    from tf_nst.memory import PLAIN, Mechanism

    if name == "plain":
        return PLAIN
    tile, _, history = name.partition("/")
    if history == "adam":
        return Mechanism(int(tile), optimizer="adam")
    return Mechanism(int(tile), int(history) if history else None)


def measure(size: int, name: str, evaluations: int) -> dict:
    """One run in this process: the row's numbers."""
    import tf_nst
    from tf_nst.api import Stylizer, level_peak_bytes
    from tf_nst.io.images import as_pixels, fit
    from tf_nst.memory import memory_budget
    from tf_nst.pyramid import Level

    config = tf_nst.StyleTransferConfig(max_size=size, scales=1, steps=evaluations)
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
        peak_gb=vm_peak_bytes() / 2**30,
        seconds=statistics.median(steps) if steps else time.perf_counter() - started,
        loss=losses.get("total", float("nan")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,2048,4096")
    parser.add_argument("--mechanisms", default="plain,1024,1024/10,1024/5,512/5,512/adam")
    parser.add_argument("--evaluations", type=int, default=0, help="per run; 0: 6, 5, 4 at 1024, 2048, 4096 px")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.mechanisms.split(",")
    if args.one:
        print(json.dumps(measure(int(args.sizes), names[0], args.evaluations)))
        return
    print("| size | style | mechanism | estimate | peak (VmHWM) | estimate/peak | s/eval | evaluations | loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        evaluations = args.evaluations or EVALUATIONS.get(size, 4)
        for name in names:
            command = [sys.executable, __file__, "--one", f"--sizes={size}", f"--mechanisms={name}"]
            command.append(f"--evaluations={evaluations}")
            env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"| {size} | | {name} | failed: {done.stderr.strip().splitlines()[-1]} |||||||", flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
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
