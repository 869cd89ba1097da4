"""``bench.cluster``: one DirectRunner run of ``python -m tf_nst.beam`` through the benchmark's command line."""

import json
import sys

import pytest
from conftest import SHALLOW

from bench import cluster

pytest.importorskip("apache_beam")
SHALLOW_SETS = [f"--set={name}={','.join(layers)}" for name, layers in SHALLOW.items()]


def test_tiny_cluster_run_counts_images_per_minute(tmp_path, monkeypatch):
    argv = ["bench.cluster", "--modes=direct", "--images=2", "--size=48", "--steps=1", "--repeats=1"]
    monkeypatch.setattr(sys, "argv", [*argv, f"--results={tmp_path}", "--set=scales=1", *SHALLOW_SETS])
    cluster.main()
    (report,) = tmp_path.glob("cluster-*.json")
    (row,) = json.loads(report.read_text())["summary"]
    assert row["mode"] == "direct" and row["seconds"] > 0
    assert (
        row["images_per_minute"] == pytest.approx(2 * 60 / row["seconds"]) and 0 < row["per_image_s"] < row["seconds"]
    )
