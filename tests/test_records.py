"""Records of a coarse-to-fine run: every evaluation counted once, across all levels and a batch."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import SHALLOW, gradient_image
from PIL import Image

import tf_nst
from tf_nst.cli.main import run
from tf_nst.cli.options import RunOptions

# 96x64 content at max_size=128 and scales=2: levels of 64 and 128 px, 4 and 2 evaluations; VGG-19 to block2
TWO_LEVELS = dict(max_size=128, scales=2, steps=4, learning_rate=0.05, **SHALLOW)


def tensorboard_steps(logdir, tag: str) -> list[int]:
    steps = []
    for event_file in sorted(logdir.iterdir()):
        for raw in tf.data.TFRecordDataset(str(event_file)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return steps


@pytest.fixture
def photos(tmp_path):
    """Two 96x64 content photos in a folder and a 64x64 style image."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed, name in enumerate(("a.png", "b.png"), 1):
        Image.fromarray(gradient_image(96, 64, seed)).save(folder / name)
    Image.fromarray(gradient_image(64, 64, 9)[:, ::-1]).save(tmp_path / "style.png")
    return folder, tmp_path / "style.png"


def test_two_levels_record_each_evaluation_once(photos, tmp_path, caplog):
    folder, style = photos
    output, trace, logdir = tmp_path / "out.png", tmp_path / "trace.json", tmp_path / "tb"
    options = RunOptions(
        content=str(folder / "a.png"),
        styles=(str(style),),
        output=str(output),
        save_every=1,
        trace=str(trace),
        logdir=str(logdir),
    )
    with caplog.at_level("INFO"):
        run(options, tf_nst.StyleTransferConfig(**TWO_LEVELS))
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "coarse to fine: 64x43 (4 evaluations), 128x85 (2 evaluations)" in log
    assert "1 image(s) at 128 px, 6 evaluations" in log
    snapshots = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.0"))
    assert snapshots == [f"out.{n:04d}.png" for n in range(1, 7)]
    assert [Image.open(tmp_path / name).size for name in snapshots] == [(64, 43)] * 4 + [(128, 85)] * 2
    evaluations = json.loads(trace.read_text())["images"][0]["evaluations"]
    assert [e["evaluation"] for e in evaluations] == [1, 2, 3, 4, 5, 6]
    assert [e["scale"] for e in evaluations] == [1, 1, 1, 1, 2, 2]
    assert tensorboard_steps(logdir, "loss/total") == [1, 2, 3, 4, 5, 6]


def test_a_batch_keeps_one_tensorboard_series(photos, tmp_path):
    folder, style = photos
    logdir = tmp_path / "tb"
    options = RunOptions(content=str(folder), styles=(str(style),), output=str(tmp_path / "out"), logdir=str(logdir))
    run(options, tf_nst.StyleTransferConfig(**TWO_LEVELS))
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]
    assert tensorboard_steps(logdir, "loss/total") == list(range(1, 13))


def test_a_library_callback_sees_the_run_wide_evaluation():
    config = tf_nst.StyleTransferConfig(**TWO_LEVELS)
    stylizer = tf_nst.Stylizer(gradient_image(64, 64, 9), config)
    reports = []
    stylizer(gradient_image(96, 64, 1), reports.append, report_every=1)
    assert [(p.evaluation, p.evaluations) for p in reports] == [(n, 6) for n in range(1, 7)]
    assert [(p.step, p.steps, p.scale) for p in reports] == [
        (1, 4, 1),
        (2, 4, 1),
        (3, 4, 1),
        (4, 4, 1),
        (1, 2, 2),
        (2, 2, 2),
    ]
    every_third = []
    stylizer(gradient_image(96, 64, 1), every_third.append, report_every=3)
    assert [p.evaluation for p in every_third] == [3, 4, 6]  # multiples of 3, and each level's last
    assert np.all(np.isfinite(every_third[-1].image))
