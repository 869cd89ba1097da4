"""Throughput of ``python -m tf_nst.beam`` on this machine: the DirectRunner (one process, two processes) against
a real Dask cluster on 127.0.0.1 (one worker with all cores, two workers with one core each).

    python -m bench.cluster                          # 6 images at 256 px, 20 steps, 3 repeats (~15 min, 2 cores)
    python -m bench.cluster --images=4 --repeats=1   # less

Each run is the whole command, as a user runs it, into a fresh output directory; its wall-clock time gives
images per minute. A Dask cluster is started for its first ("cold") run, whose workers then import TensorFlow,
and is used again for a second ("warm") run, as a long-lived cluster would be. Per-image seconds are the
median of the pipeline's own ``wrote ... in Ns`` lines (read, decode, stylize, encode, write; the first image of
each process also traces the step). Modes are interleaved within each repeat, so that a change of load on the
machine shows in all of them; the table gives medians over repeats. Photos: the shared photos when present, else
the built-in demo image (cropped differently per input), each resized to 256x192 so that every process traces
its step once. ``--set KEY=VALUE`` passes ``--KEY=VALUE`` to the pipeline. Prints a table and writes it as JSON
to bench/results/.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import REPO, RESULTS, SET_HELP, SHARED_IMAGES, config_overrides, demo_images, machine, write_json

PHOTOS = ("tubingen.jpg", "taj_mahal.jpg", "hoovertowernight.jpg", "reichstag.png", "country_house.png", "face.jpg")
MODES = {  # name: (runner flags, Dask workers, TensorFlow threads per Dask worker)
    "direct": ([], 0, 0),
    "direct 2 processes": (["--direct_num_workers=2", "--direct_running_mode=multi_processing"], 0, 0),
    "dask 1 worker": (["--runner=DaskRunner"], 1, 2),
    "dask 2 workers": (["--runner=DaskRunner"], 2, 1),
}
WROTE = re.compile(r"wrote \S+ from \S+ in ([0-9.]+)s")


def make_inputs(directory: pathlib.Path, count: int, size: tuple[int, int]) -> tuple[pathlib.Path, str]:
    """``count`` photos resized to ``size`` in ``directory/photos``, and a style painting; (style, source)."""
    from PIL import Image

    photos = directory / "photos"
    photos.mkdir()
    shared = [SHARED_IMAGES / name for name in PHOTOS if (SHARED_IMAGES / name).exists()]
    if len(shared) >= count and (SHARED_IMAGES / "starry_night.jpg").exists():
        sources = [Image.open(path).convert("RGB") for path in shared[:count]]
        style, source = Image.open(SHARED_IMAGES / "starry_night.jpg").convert("RGB"), "shared photos"
    else:
        town, painting = (Image.fromarray(image) for image in demo_images())
        sources = [town.crop((8 * i, 6 * i, town.width - 8 * i, town.height - 6 * i)) for i in range(count)]
        style, source = painting, "demo images"
    for i, image in enumerate(sources):
        image.resize(size, Image.LANCZOS).save(photos / f"photo{i}.png")
    style_path = directory / "style.png"
    style.resize((256, 256), Image.LANCZOS).save(style_path)
    return style_path, source


def run(flags: list[str], timeout: float) -> tuple[float, str]:
    """Run ``python -m tf_nst.beam FLAGS``: (wall seconds, stderr); raises on a non-zero exit."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tf_nst.beam", *flags], capture_output=True, text=True, env=env, timeout=timeout
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"tf_nst.beam failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stderr


def per_image(text: str) -> list[float]:
    return [float(s) for s in WROTE.findall(text)]


def measure(mode: str, pipeline_flags: list[str], root: pathlib.Path, repeat: int, timeout: float) -> list[dict]:
    """One repeat of ``mode``: one row per run (the DirectRunner's, or a Dask cluster's cold and warm runs)."""
    from tf_nst.beam.local_cluster import LocalDaskCluster

    flags, workers, threads = MODES[mode]
    out = root / f"{mode.replace(' ', '-')}-{repeat}"
    if not workers:
        seconds, stderr = run([*pipeline_flags, f"--output_dir={out}", *flags], timeout)
        return [{"mode": mode, "run": "", "seconds": seconds, "per_image": per_image(stderr)}]
    rows = []
    with LocalDaskCluster(workers, out / "cluster", tf_threads=threads, env={"PYTHONPATH": str(REPO)}) as cluster:
        for run_name in ("cold", "warm"):
            address = f"--dask_client_address={cluster.address}"
            before = [log.stat().st_size for log in cluster.worker_logs]  # this run's lines follow
            seconds, _ = run([*pipeline_flags, f"--output_dir={out / run_name}", *flags, address], timeout)
            logs = "".join(log.read_bytes()[size:].decode() for log, size in zip(cluster.worker_logs, before))
            rows.append({"mode": mode, "run": run_name, "seconds": seconds, "per_image": per_image(logs)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", type=int, default=256, help="longest side (images are 4:3)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of: {', '.join(MODES)}")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    parser.add_argument("--results", default=str(RESULTS), help="folder for the JSON report")
    args = parser.parse_args()
    try:
        config_overrides(args.set, reserved=("max_size", "steps", "seed"))
    except ValueError as err:
        parser.error(str(err))
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="tf_nst-cluster-bench-") as tmp:
        root = pathlib.Path(tmp)
        style, source = make_inputs(root, args.images, (args.size, args.size * 3 // 4))
        pipeline_flags = [f"--input={root / 'photos'}/*", f"--style={style}", f"--max_size={args.size}"]
        pipeline_flags += [f"--steps={args.steps}", "--seed=0", *(f"--{item}" for item in args.set)]
        about = machine()
        started = time.perf_counter()
        rows = [
            row
            for r in range(args.repeats)
            for mode in modes
            for row in measure(mode, pipeline_flags, root, r, args.timeout)
        ]
        elapsed = time.perf_counter() - started
    summary = []
    for mode in modes:
        for run_name in ("", "cold", "warm"):
            runs = [row for row in rows if row["mode"] == mode and row["run"] == run_name]
            if not runs:
                continue
            seconds = statistics.median(row["seconds"] for row in runs)
            times = [t for row in runs for t in row["per_image"]]
            summary.append(
                {
                    "mode": mode + (f" ({run_name})" if run_name else ""),
                    "seconds": seconds,
                    "images_per_minute": args.images * 60 / seconds,
                    "per_image_s": statistics.median(times) if times else None,
                    "runs": [round(row["seconds"], 1) for row in runs],
                }
            )
    about["load_average_at_end"] = os.getloadavg()
    print(f"{args.images} {source} at {args.size}x{args.size * 3 // 4}, {args.steps} steps, {args.repeats} repeat(s)")
    print(
        f"{about['cpu']}, {about['cores']} CPUs; load {about['load_average'][0]:.2f} before, "
        f"{about['load_average_at_end'][0]:.2f} after"
    )
    print("| mode | wall s (median) | images/min | s/image in a worker | runs (s) |")
    print("|---|---|---|---|---|")
    for row in summary:
        per = f"{row['per_image_s']:.2f}" if row["per_image_s"] is not None else "-"
        runs = ", ".join(map(str, row["runs"]))
        print(f"| {row['mode']} | {row['seconds']:.1f} | {row['images_per_minute']:.1f} | {per} | {runs} |")
    print(f"{elapsed:.0f} s in all")
    result = {"args": vars(args), "source": source, "machine": about, "summary": summary, "rows": rows}
    path = pathlib.Path(args.results) / f"cluster-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(path, result)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
