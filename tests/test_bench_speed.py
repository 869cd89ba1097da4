"""``bench.speed`` and ``bench.budget``, against the reference loop: the FLOP count, and tiny runs of both
through their command lines (no timing is asserted, only that each measurement is there and sound)."""

import json
import re
import sys

from conftest import SHALLOW, gradient_image
from PIL import Image

from bench import budget, common, speed

SHALLOW_SETS = [f"--set={name}={','.join(layers)}" for name, layers in SHALLOW.items()]


def test_flop_count_of_vgg19():
    # VGG-19's convolutional part at 224x224 is 19.5 G multiply-adds; a step is twice the forward pass
    assert speed.step_flops(224, 224, "block5_conv4") == 2 * 39_016_857_600
    assert speed.step_flops(64, 64, "block1_conv1") == 2 * 2 * 64 * 64 * 9 * 3 * 64


def test_tiny_speed_run_writes_its_table_and_json(tmp_path, monkeypatch, capsys):
    """The driver with its measurements in this process (each is ``python -m bench.speed --worker`` apart)."""
    monkeypatch.setattr(common, "measure_apart", lambda module, *args: json.loads(json.dumps(speed.work(*args))))
    argv = ["bench.speed", "--sizes=64", "--steps=3", "--warmup=1", "--repeats=1", "--modes=adam:float32"]
    monkeypatch.setattr(sys, "argv", [*argv, *SHALLOW_SETS, "--set=style_loss=gram", f"--results={tmp_path}"])
    speed.main()
    printed = capsys.readouterr().out
    (report,) = tmp_path.glob("speed-*.json")
    report = json.loads(report.read_text())
    reference, tf_nst = report["runs"]
    assert (reference["mode"], tf_nst["mode"], tf_nst["precision"]) == ("naive", "adam:float32", "float32")
    for run in report["runs"]:
        assert (run["width"], run["height"], len(run["step_times"])) == (64, 48, 3)
        assert run["flops_per_step"] == speed.step_flops(48, 64, "block2_conv2") and run["peak_rss"] > 0
        assert run["estimated_peak"] > 0 and 0 < run["loss_float32"] < 10
    # the same (Gram) objective, optimizer and start: the reference loop and tf_nst reach about the same loss
    assert abs(reference["loss_float32"] - tf_nst["loss_float32"]) < 0.05 * tf_nst["loss_float32"]
    assert "| 64x48 | reference | adam | float32 |" in printed and "| 1.00x |" in printed


def test_a_worker_measures_in_a_fresh_process():
    rates = common.measure_apart("bench.speed", "peak", "1")
    assert sorted(rates) == ["bfloat16", "float32"] and all(0 < rate < 1000 for rate in rates.values())


def test_tiny_budget_run_counts_the_command_in_tutorial_steps(tmp_path, monkeypatch, capsys):
    Image.fromarray(gradient_image(64, 48, 1)).save(tmp_path / "photo.png")
    Image.fromarray(gradient_image(48, 48, 2)).save(tmp_path / "painting.png")
    argv = ["bench.budget", "--pairs=photo:painting,photo:absent", "--size=48", "--rounds=1", f"--images={tmp_path}"]
    monkeypatch.setattr(sys, "argv", [*argv, "--set=steps=2", "--set=scales=1", *SHALLOW_SETS])
    budget.main()
    printed = capsys.readouterr().out
    assert "skipping photo:absent" in printed
    command, before, after, steps = map(
        float, re.search(r"command (\S+) s.* (\S+)/(\S+) s -> (\S+) tutorial", printed).groups()
    )
    assert before > 0 and after > 0 and command > 0
    assert steps > 10 and f"median: {steps:.1f} tutorial steps" in printed  # a process start alone is many steps
