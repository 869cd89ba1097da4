"""Fault tolerance of ``python -m tf_nst.beam`` on a Dask cluster: kill a worker in the middle of a run.

    python -m bench.experiments.cluster_fault               # 6 photos and a broken file, 256 px, 20 steps
    python -m bench.experiments.cluster_fault --kill=nanny  # kill the worker and its nanny: the worker is gone

Starts a scheduler and two workers on 127.0.0.1, runs the pipeline over the photos and one broken file, and
SIGKILLs one worker process as soon as the first image is written (``--kill=worker``: the process that runs
tasks, which its nanny then restarts; ``--kill=nanny``: its whole process group). Then reports the command's exit
status and last line, which images arrived, whether anything half-written is left, how many times each image
was written (work redone after the kill), the largest pixel difference between each image written twice and
the CLI's for the same photo (run with the workers' one TensorFlow thread), and whether a rerun with
``--skip_existing`` redoes nothing. Photos as in ``bench.cluster``.
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

from bench.cluster import make_inputs
from bench.common import REPO

WROTE = re.compile(r"wrote (\S+) from \S+ in ([0-9.]+)s in process (\d+)")


def main() -> None:
    from tf_nst.beam.local_cluster import LocalDaskCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kill", choices=("worker", "nanny"), default="worker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tf_nst-fault-") as tmp:
        root = pathlib.Path(tmp)
        style, source = make_inputs(root, args.images, (args.size, args.size * 3 // 4))
        (root / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"no image data follows")
        out = root / "painted"
        flags = [f"--input={root / 'photos'}/*", f"--style={style}", f"--output_dir={out}", f"--max_size={args.size}"]
        flags += [f"--steps={args.steps}", "--seed=0", "--runner=DaskRunner"]
        env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
        with LocalDaskCluster(2, root / "cluster", tf_threads=1, env={"PYTHONPATH": str(REPO)}) as cluster:
            command = [sys.executable, "-m", "tf_nst.beam", *flags, f"--dask_client_address={cluster.address}"]
            before = cluster.worker_pids()
            print(f"{args.images} {source} + 1 broken file; workers {before}")
            start = time.perf_counter()
            run = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
            victim = None
            while run.poll() is None and victim is None:
                logs = "".join(log.read_text() for log in cluster.worker_logs)
                first = WROTE.search(logs)
                if first:
                    victim = int(first.group(3))
                    if args.kill == "nanny":
                        nanny = next(g for g in cluster.groups[1:] if str(victim) in _children(g))
                        os.killpg(nanny, signal.SIGKILL)
                    else:
                        os.kill(victim, signal.SIGKILL)
                    print(
                        f"{time.perf_counter() - start:.1f}s: killed {args.kill} of process {victim} after it wrote "
                        f"{first.group(1)}"
                    )
                time.sleep(0.2)
            stderr = run.communicate(timeout=1800)[1]
            elapsed = time.perf_counter() - start
            after = cluster.worker_pids()
            logs = "".join(log.read_text() for log in cluster.worker_logs)
            last = [line for line in stderr.splitlines() if line.strip()][-1:]
            print(f"{elapsed:.1f}s: exit status {run.returncode}; last line: {last[0] if last else ''}")
            print(f"traceback on stderr: {'Traceback' in stderr}; workers now {after}")
            files = sorted(os.listdir(out))
            print(f"output directory: {files}")
            print(f"half-written (.tmp) files: {[f for f in files if f.endswith('.tmp')]}")
            writes = collections.Counter(pathlib.Path(path).name for path, _, _ in WROTE.findall(logs))
            print(f"writes per image (1 = not redone): {dict(sorted(writes.items()))}")
            for name in sorted(name for name, count in writes.items() if count > 1):
                difference = cli_difference(root, name, flags)
                print(f"{name}, written twice: largest difference from the CLI's pixels {difference}")
            failures = (out / "failures.jsonl").read_text() if (out / "failures.jsonl").exists() else None
            print(f"failures.jsonl: {failures!r}")
            mtimes = {f: (out / f).stat().st_mtime_ns for f in files if f.endswith(".png")}
            again = subprocess.run([*command, "--skip_existing"], capture_output=True, text=True, env=env)
            kept = {f: (out / f).stat().st_mtime_ns for f in mtimes} == mtimes
            last = [line for line in again.stderr.splitlines() if line.strip()][-1:]
            print(f"rerun with --skip_existing: exit {again.returncode}, images untouched: {kept}")
            print(f"  its last line: {last[0] if last else ''}")


def cli_difference(root: pathlib.Path, name: str, flags: list[str]) -> int:
    """The largest per-channel difference between ``root/painted/name`` and the CLI's output for its photo."""
    import numpy as np
    from PIL import Image

    settings = [f for f in flags if f.split("=")[0] in ("--style", "--max_size", "--steps", "--seed")]
    cli = root / f"cli-{name}"
    command = [sys.executable, str(REPO / "cli.py"), f"--content={root / 'photos' / name}", f"--output={cli}"]
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1")  # as the workers: the thread count changes the rounding
    subprocess.run([*command, *settings], check=True, capture_output=True, env=env)
    images = [np.asarray(Image.open(path).convert("RGB"), np.int16) for path in (root / "painted" / name, cli)]
    return int(np.abs(images[0] - images[1]).max())


def _children(pgid: int) -> str:
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout


if __name__ == "__main__":
    main()
