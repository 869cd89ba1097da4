"""A whole command-line run at the defaults, in steps of the float32 TensorFlow-tutorial loop timed in the same run.

    python -m bench.budget                                  # tubingen + starry night at 512 px, 2 rounds
    python -m bench.budget --pairs=tubingen:seated-nude --rounds=3 --set steps=100

Each round times the reference loop (``bench.reference``) at the output's size, then the whole
``python -m tf_nst`` process (start-up, weights, tracing, every evaluation, the PNG written), then the loop
again; the round's figure is the command's wall time over the median loop step of both timings, so a drifting
machine load hits both alike. ``--set`` fields go to both, the loop's config and the command's flags. Prints
one line per round and the median.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import SET_HELP, SHARED_IMAGES, config_overrides, machine, shared_images
from bench.reference import reference_step_seconds


def tutorial_step_seconds(content_path: pathlib.Path, style_path: pathlib.Path, size: int, overrides: dict) -> float:
    """Median seconds of one reference-loop step at ``size`` px (longest side)."""
    from tf_nst.config import StyleTransferConfig
    from tf_nst.io.images import as_pixels, fit

    content, style = (fit(as_pixels(str(path)), size) for path in (content_path, style_path))
    return reference_step_seconds(content, style, StyleTransferConfig(**overrides, max_size=size))


def command_seconds(content_path: pathlib.Path, style_path: pathlib.Path, flags: list[str]) -> float:
    """Wall seconds of ``python -m tf_nst`` on the pair with ``flags``, output to a temporary PNG."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "tf_nst", f"--content={content_path}", f"--style={style_path}"]
        command += [f"--output={os.path.join(folder, 'out.png')}", "--quiet", *flags]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default="tubingen:starry_night", help="content:style,... by file stem")
    parser.add_argument("--size", type=int, default=512, help="--max_size of the command and the loop")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    parser.add_argument("--images", default=str(SHARED_IMAGES), help="folder of the photos and paintings")
    args = parser.parse_args()
    try:
        overrides = config_overrides(args.set, reserved=("max_size",))
    except ValueError as err:
        parser.error(str(err))
    flags = [f"--max_size={args.size}", *(f"--{item}" for item in args.set)]
    print(f"machine: {machine()}")
    figures = []
    for pair in args.pairs.split(","):
        paths = shared_images(*pair.split(":"), folder=pathlib.Path(args.images))
        if paths is None:
            print(f"skipping {pair}: not in {args.images}")
            continue
        for round_ in range(1, args.rounds + 1):
            before = tutorial_step_seconds(*paths, args.size, overrides)
            seconds = command_seconds(*paths, flags)
            after = tutorial_step_seconds(*paths, args.size, overrides)
            step = statistics.median([before, after])
            figures.append(seconds / step)
            print(
                f"{pair} round {round_}: command {seconds:.1f} s, tutorial step {before:.3f}/{after:.3f} s"
                f" -> {seconds / step:.1f} tutorial steps",
                flush=True,
            )
    if figures:
        print(f"median: {statistics.median(figures):.1f} tutorial steps for the whole command")


if __name__ == "__main__":
    main()
