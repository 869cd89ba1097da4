"""A whole command-line run at the defaults, in steps of the float32 TensorFlow-tutorial loop timed in the same run.

    python bench/budget.py                                  # tubingen + starry night at 512 px, 2 rounds
    python bench/budget.py --pairs=tubingen:seated-nude --rounds=3 -- --steps=100   # flags after -- go to tf-nst

Each round times the tutorial loop (``bench.naive_loop``: float32 Keras VGG-19, einsum Grams, Adam) at the
output's size, then the whole ``python -m tf_nst`` process (start-up, weights, tracing, every evaluation, the
PNG written), then the loop again; the round's figure is the command's wall time over the median loop step of
both timings, so a drifting machine load hits both alike. Prints one line per round and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench import SHARED_IMAGES, machine, naive_loop  # bench puts the checkout on sys.path

LOOP_STEPS = 6  # timed tutorial steps per measurement, after one that traces


def tutorial_step_seconds(content_path: str, style_path: str, size: int) -> float:
    """Median seconds of one float32 tutorial-loop step at ``size`` px (longest side)."""
    from tf_nst.config import StyleTransferConfig
    from tf_nst.io.images import as_pixels, fit

    content, style = (fit(as_pixels(path), size) for path in (content_path, style_path))
    _, times, _, _ = naive_loop(content, style, StyleTransferConfig(max_size=size), LOOP_STEPS + 1)
    return statistics.median(times[1:])


def command_seconds(content_path: str, style_path: str, flags: list[str]) -> float:
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
    parser.add_argument("flags", nargs="*", help="extra tf-nst flags (after --)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    figures = []
    for pair in args.pairs.split(","):
        content, style = (str(SHARED_IMAGES / f"{stem}.jpg") for stem in pair.split(":"))
        for round_ in range(1, args.rounds + 1):
            before = tutorial_step_seconds(content, style, args.size)
            seconds = command_seconds(content, style, [f"--max_size={args.size}", *args.flags])
            after = tutorial_step_seconds(content, style, args.size)
            step = statistics.median([before, after])
            figures.append(seconds / step)
            print(
                f"{pair} round {round_}: command {seconds:.1f} s, tutorial step {before:.3f}/{after:.3f} s"
                f" -> {seconds / step:.1f} tutorial steps",
                flush=True,
            )
    print(f"median: {statistics.median(figures):.1f} tutorial steps for the whole command")


if __name__ == "__main__":
    main()
