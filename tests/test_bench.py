"""The benchmark script: its FLOP count, and one tiny run end to end (no timing is asserted)."""

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from bench import step_flops  # noqa: E402


def test_flop_count_of_vgg19():
    # VGG-19's convolutional part at 224x224 is 19.5 G multiply-adds; a step is twice the forward pass
    assert step_flops(224, 224, "block5_conv4") == 2 * 39_016_857_600
    assert step_flops(64, 64, "block1_conv1") == 2 * 2 * 64 * 64 * 9 * 3 * 64


def test_tiny_benchmark_run_writes_its_table_and_json(tmp_path, monkeypatch, capsys):
    """The driver with its measurements in this process (each is ``bench.py --worker`` in a fresh one)."""
    import bench

    monkeypatch.setattr(bench, "worker", lambda *args: json.loads(json.dumps(bench.work(*args))))
    argv = ["bench.py", "--sizes=64", "--steps=3", "--warmup=1", "--repeats=1", "--modes=lbfgs:auto"]
    monkeypatch.setattr(sys, "argv", [*argv, f"--results={tmp_path}"])
    bench.main()
    printed = capsys.readouterr().out
    assert "| 64x48 | tf_nst auto | lbfgs |" in printed and "| 64x48 | reference | adam | float32 |" in printed
    (report,) = tmp_path.glob("bench-*.json")
    runs = json.loads(report.read_text())["runs"]
    assert [(run["mode"], run["optimizer"]) for run in runs] == [("naive", "adam"), ("lbfgs:auto", "lbfgs")]
    assert all(run["peak_rss"] > 0 and run["loss_float32"] > 0 for run in runs)


def test_a_worker_runs_in_a_fresh_process():
    from bench import worker

    assert set(worker("peak", "1")) == {"float32", "bfloat16"}
