"""``python -m tf_nst.beam`` on Beam's DaskRunner, against a real Dask cluster: a scheduler and two workers, each
its own process group, talking TCP on 127.0.0.1 only. Skipped without the ``dask`` extra."""

import collections
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import BEAM_RUN, REPO, gradient_image, one_line_error, pixels, run_command
from PIL import Image

pytest.importorskip("apache_beam")
pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-task workers on 127.0.0.1, one TensorFlow thread each; stopped afterwards."""
    from tf_nst.beam.local_cluster import LocalDaskCluster

    log_dir = tmp_path_factory.mktemp("dask")
    with LocalDaskCluster(workers=2, log_dir=log_dir, tf_threads=1, env={"PYTHONPATH": str(REPO)}) as cluster:
        assert len(cluster.worker_pids()) == 2
        yield cluster
    assert not cluster.alive(), "a process of the cluster outlived its stop"


def run_on_dask(address: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "tf_nst.beam", *args, "--runner=DaskRunner", f"--dask_client_address={address}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO, env=env)


def test_a_dask_cluster_writes_every_good_input_with_the_clis_pixels(cluster, tmp_path):
    address, worker_logs = cluster.address, cluster.worker_logs
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", address), address
    inputs = tmp_path / "photos"
    inputs.mkdir()
    Image.fromarray(gradient_image(64, 48, 1)).save(inputs / "harbour.png")
    Image.fromarray(gradient_image(48, 64, 3)).save(inputs / "tower.jpg", quality=95)
    Image.fromarray(gradient_image(56, 48, 4)).save(inputs / "street.png")
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"no image data follows")
    style = tmp_path / "style.jpg"
    Image.fromarray(gradient_image(64, 64, 2)[:, ::-1]).save(style)
    output_dir = tmp_path / "painted"
    flags = [f"--input={inputs}/*", f"--style={style}", f"--output_dir={output_dir}", *BEAM_RUN]

    result = run_on_dask(address, *flags)
    one_line_error(result, 1, "1 of 4 images failed", str(inputs / "broken.png"), "failures.jsonl")
    assert sorted(os.listdir(output_dir)) == ["failures.jsonl", "harbour.png", "street.png", "tower.png"]
    records = [json.loads(line) for line in (output_dir / "failures.jsonl").read_text().splitlines()]
    assert [r["input"] for r in records] == [str(inputs / "broken.png")] and "cannot decode" in records[0]["error"]

    # Each worker process set up its stylizer once, whatever number of images it took; one took several.
    text = "".join(log.read_text() for log in worker_logs)
    set_up = collections.Counter(re.findall(r"set up the stylizer in process (\d+)", text))
    wrote = collections.Counter(re.findall(r"wrote \S+ from \S+ in \S+ in process (\d+)", text))
    assert sum(wrote.values()) == 3 and max(wrote.values()) >= 2 and set(wrote) <= set(set_up), text
    assert set(set_up.values()) == {1} and len(set_up) <= 2, set_up

    cli_output = tmp_path / "cli.png"
    cli = run_command(f"--content={inputs / 'tower.jpg'}", f"--style={style}", f"--output={cli_output}", *BEAM_RUN)
    assert cli.returncode == 0, cli.stderr
    assert np.abs(pixels(output_dir / "tower.png") - pixels(cli_output)).max() <= 3

    # A rerun keeps the finished images, deletes what a killed worker left half-written, records the failure again.
    finished = {name: (output_dir / name).stat().st_mtime_ns for name in ("harbour.png", "street.png", "tower.png")}
    (output_dir / ".tf_nst-0123abcd-street.png.tmp").write_bytes(b"\x89PNG partial")
    again = run_on_dask(address, *flags, "--skip_existing")
    one_line_error(again, 1, "1 of 4 images failed", "broken.png")
    assert sorted(os.listdir(output_dir)) == ["failures.jsonl", "harbour.png", "street.png", "tower.png"]
    assert {name: (output_dir / name).stat().st_mtime_ns for name in finished} == finished
    assert (output_dir / "failures.jsonl").read_text().count("\n") == 1
