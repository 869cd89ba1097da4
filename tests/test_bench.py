"""The benchmark script: its FLOP count, and one tiny run end to end (no timing is asserted)."""

import json
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from bench import step_flops  # noqa: E402


def test_flop_count_of_vgg19():
    # VGG-19's convolutional part at 224x224 is 19.5 G multiply-adds; a step is twice the forward pass
    assert step_flops(224, 224, "block5_conv4") == 2 * 39_016_857_600
    assert step_flops(64, 64, "block1_conv1") == 2 * 2 * 64 * 64 * 9 * 3 * 64


def test_tiny_benchmark_run_writes_its_table_and_json(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "bench.py"),
            "--sizes=64",
            "--steps=3",
            "--warmup=1",
            "--repeats=1",
            "--modes=naive,lbfgs:auto",
            f"--results={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "| 64x48 | tf_nst auto | lbfgs |" in result.stdout and "| 64x48 | reference | adam | float32 |" in result.stdout
    )
    (report,) = tmp_path.glob("bench-*.json")
    runs = json.loads(report.read_text())["runs"]
    assert [(run["mode"], run["optimizer"]) for run in runs] == [("naive", "adam"), ("lbfgs:auto", "lbfgs")]
    assert all(run["peak_rss"] > 0 and run["loss_float32"] > 0 for run in runs)
