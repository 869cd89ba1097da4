"""``bench.video`` and ``bench.pictures``: the synthetic clip's exact flow, and tiny runs of both commands."""

import json
import sys

import numpy as np
from conftest import SHALLOW, gradient_image
from PIL import Image

from bench import pictures, video

SHALLOW_SETS = [f"--set={name}={','.join(layers)}" for name, layers in SHALLOW.items()]


def test_the_synthetic_clips_flow_warps_each_frame_onto_the_next():
    from tf_nst.flow import warp

    y, x = np.mgrid[0:120, 0:160].astype(np.float32)
    photo = np.stack([0.5 + 0.4 * np.sin(x / 6), 0.5 + 0.4 * np.cos(y / 5), 0.5 + 0.2 * np.sin((x + y) / 9)], -1)
    frames, flows = video.synthetic(photo, 3, (64, 48))
    for t, (flow, reliable) in enumerate(flows, 1):
        warped = warp(frames[t - 1], flow)
        assert reliable.mean() > 0.8
        assert np.abs(warped - frames[t])[reliable].mean() < 0.25 * np.abs(frames[t - 1] - frames[t]).mean()


def test_tiny_video_run_measures_the_temporal_error_of_each_mode(tmp_path, monkeypatch):
    Image.fromarray(gradient_image(96, 72, 1)).save(tmp_path / "photo.png")
    Image.fromarray(gradient_image(48, 48, 2)).save(tmp_path / "painting.png")
    argv = ["bench.video", "--clips=synthetic", "--frames=3", "--size=48", "--modes=independent,video:200:1"]
    argv += [f"--photo={tmp_path / 'photo.png'}", f"--style={tmp_path / 'painting.png'}", f"--results={tmp_path}"]
    monkeypatch.setattr(sys, "argv", [*argv, "--set=steps=2", "--set=scales=1", *SHALLOW_SETS])
    video.main()
    rows = json.loads((tmp_path / "video" / "summary.json").read_text())["results"]["synthetic"]
    independent, video_mode = rows["independent"], rows["video w=200 n=1"]
    for row in (independent, video_mode):
        assert len(row["temporal_errors"]) == 2 and all(0 < e < 0.1 for e in row["temporal_errors"])
        assert len(row["seconds"]) == 3 and 0 < row["style_swd_median"] < 2
    assert video_mode["temporal_vs_independent"] == video_mode["temporal_error"] / independent["temporal_error"]
    assert Image.open(tmp_path / "video" / "synthetic-sheet.png").height > 2 * video.SHEET_HEIGHT  # a row a mode


def test_tiny_pictures_are_written(tmp_path, monkeypatch):
    argv = [
        "bench.pictures",
        "--pictures=demo,video",
        "--frames=2",
        "--size=48",
        f"--output_dir={tmp_path}",
        "--set=max_size=48",
    ]
    monkeypatch.setattr(sys, "argv", [*argv, "--set=steps=2", "--set=scales=1", *SHALLOW_SETS])
    pictures.main()
    demo = Image.open(tmp_path / "demo.png")  # photo, painting and result side by side, 8 px apart
    assert demo.height == pictures.SHEET_HEIGHT and demo.width > 3 * pictures.SHEET_HEIGHT
    assert not (tmp_path / "style_loss.png").exists()
    with Image.open(tmp_path / "video.gif") as gif:
        assert gif.n_frames == 2 and gif.width == 2 * 48 + 4
