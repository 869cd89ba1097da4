"""The quality benchmark: the judge's maths and fixed points, the pasted-object check, a tiny run of
``bench.quality`` and ``bench.compare``'s verdicts."""

import json
import math
import sys

import numpy as np
import pytest
from conftest import SHALLOW, gradient_image
from PIL import Image

from bench import compare, judge, pasted, quality

SHALLOW_SETS = [f"--set={name}={','.join(layers)}" for name, layers in SHALLOW.items()]


@pytest.fixture(scope="module")
def one_judge():
    """The judge both command-line tests use (building it, embedded weights and all, takes seconds)."""
    return judge.Judge()


def test_frechet_distance_of_known_gaussians():
    channels = 8
    standard = judge.Gaussian(np.zeros(channels), np.eye(channels))
    shifted = judge.Gaussian(np.full(channels, 0.5), np.eye(channels))
    wider = judge.Gaussian(np.zeros(channels), 4 * np.eye(channels))
    assert judge.frechet(standard, standard) == pytest.approx(0, abs=1e-6)
    assert judge.frechet(shifted, standard) == pytest.approx(0.5 * math.sqrt(channels))
    assert judge.frechet(wider, standard) == pytest.approx(math.sqrt(channels))  # per axis: sqrt(4) - sqrt(1)


def test_gaussian_and_gram_of_samples():
    features = np.random.default_rng(0).normal(2.0, 3.0, (5000, 4)).astype(np.float32)
    fitted = judge.gaussian(features)
    np.testing.assert_allclose(fitted.cov, np.cov(features.T), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(judge.gram(features), features.T.astype(np.float64) @ features / 5000, rtol=1e-5)


def test_sliced_wasserstein_compares_samples_of_different_sizes():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (4000, 16)), rng.normal(0, 1, (900, 16))
    far = rng.normal(0, 1, (900, 16)) + 1.0
    qa, qb, qfar = (judge.projected_quantiles(x.astype(np.float32)) for x in (a, b, far))
    assert judge.sliced_wasserstein(qa, qa) == 0
    assert judge.sliced_wasserstein(qa, qb) < 0.1 < judge.sliced_wasserstein(qa, qfar)
    # a shift of 1 along every axis moves each unit direction's projection by its sum of components
    assert judge.sliced_wasserstein(qa, qfar) == pytest.approx(1.0, rel=0.25)


def test_old_preset_is_written_out():
    config = quality.make_config("old", {"tv_weight": 0.0}, 256, [5, 10])
    assert (config.optimizer, config.style_weight, config.learning_rate, config.tv_weight) == ("adam", 30.0, 0.02, 0.0)
    assert (config.max_size, config.steps, config.style_layer_weights, config.pooling) == (256, 10, None, "max")


def test_low_structure_box_finds_the_flat_third():
    photo = np.random.default_rng(0).uniform(0, 1, (48, 72, 3)).astype(np.float32)
    photo[16:32, 48:72] = 0.5  # the one flat window of a third of each side
    assert pasted.low_structure_box(photo) == (16, 48, 16, 24)
    assert pasted.crop_2x(photo, (16, 48, 16, 24)).shape == (32, 48, 3)


def test_novelty_is_zero_for_the_photo_and_grows_with_a_pasted_object():
    photo = np.zeros((48, 64, 3), np.float32) + np.linspace(0, 1, 64, dtype=np.float32)[None, :, None]
    photo_maps = np.random.default_rng(0).uniform(0, 1, (3, 4, 8)).astype(np.float32)
    assert pasted.novelty(photo_maps, photo_maps, photo) == 0
    pasted_maps = photo_maps.copy()
    pasted_maps[1, 1] += 3.0  # one strong local change of the deepest features
    assert pasted.novelty(pasted_maps, photo_maps, photo) > pasted.NOVELTY_LIMIT


def test_judge_sources_from_folders(tmp_path):
    for name in ("photo.jpg", "painting.png"):
        (tmp_path / name).touch()
    image = tmp_path / "photo__painting__e300.png"
    assert quality.sources_for(image, tmp_path, tmp_path) == (tmp_path / "photo.jpg", tmp_path / "painting.png")
    assert quality.sources_for(image, tmp_path / "x.jpg", tmp_path)[0] == tmp_path / "x.jpg"
    with pytest.raises(ValueError, match="<content>__<style>"):
        quality.sources_for(tmp_path / "other.png", tmp_path, tmp_path)


def test_judge_mode_scores_the_photo_the_painting_and_a_mix(tmp_path, monkeypatch, one_judge):
    # the judge's fixed points through its command line (parsed and run in this process)
    photo, painting = gradient_image(64, 48, 1), gradient_image(64, 48, 2)[::-1]
    collage = np.concatenate([photo[:, :32], painting[:, 32:]], axis=1)  # half of each: features of both
    images = {"photo": photo, "painting": painting, "mix": collage}
    paths = {name: tmp_path / f"{name}.png" for name in images}
    for name, path in paths.items():
        Image.fromarray(images[name]).save(path)
    argv = ["bench.quality", "--judge", *map(str, paths.values()), f"--content={paths['photo']}"]
    monkeypatch.setattr(sys, "argv", [*argv, f"--style={paths['painting']}", f"--results={tmp_path}", "--label=j"])
    monkeypatch.setattr(quality, "Judge", lambda: one_judge)
    quality.main()
    rows = {row["name"]: row["scores"] for row in json.loads((tmp_path / "j" / "judge.json").read_text())}
    assert list(rows) == ["photo.png", "painting.png", "mix.png"]
    style_metrics = ("style_swd", "style_gauss", "gram", "gram_squared")
    as_photo, as_painting, mix = rows.values()
    for metric in style_metrics:
        assert as_photo[metric] == pytest.approx(dict.fromkeys(as_photo[metric], 1.0), abs=1e-6), metric
        assert as_painting[metric]["mean"] == pytest.approx(0, abs=1e-3), metric
        assert 0 < mix[metric]["mean"] < 1, metric
    assert as_photo["content"]["mean"] == 0 and as_photo["content_ratio"] == 0
    assert as_painting["content_ratio"] == pytest.approx(1.0)
    assert 0 < mix["content_ratio"] < 1
    assert as_photo["novelty"] == 0 and mix["novelty"] > 0
    table = (tmp_path / "j" / "judge.md").read_text()
    assert "| mix.png |" in table and "gram_squared per layer" in table


def test_a_tiny_benchmark_run_snapshots_judges_and_draws_its_sheet(tmp_path, monkeypatch, one_judge):
    Image.fromarray(gradient_image(64, 48, 1)).save(tmp_path / "photo.png")
    Image.fromarray(gradient_image(48, 48, 2)[:, ::-1]).save(tmp_path / "painting.png")
    argv = ["bench.quality", "--pairs=photo:painting", "--size=48", "--evals=1,2", "--set=scales=1", *SHALLOW_SETS]
    monkeypatch.setattr(quality, "REFERENCE_STEPS", 1)
    monkeypatch.setattr(quality, "Judge", lambda: one_judge)
    monkeypatch.setattr(sys, "argv", [*argv, f"--images={tmp_path}", f"--results={tmp_path}", "--label=run"])
    quality.main()
    record = json.loads((tmp_path / "run" / "photo__painting.json").read_text())
    assert [s["evals"] for s in record["snapshots"]] == [1, 2]
    assert record["config"]["content_layers"] == ["block2_conv2"] and record["reference_step_seconds"] > 0
    final = record["snapshots"][-1]["scores"]
    assert 0 < final["content_ratio"] < 1 and 0 < final["style_swd"]["mean"] <= 1.5 and final["novelty"] >= 0
    assert Image.open(tmp_path / "run" / "images" / "photo__painting__e2.png").size == (48, 36)
    sheet = Image.open(tmp_path / "run" / "photo__painting.sheet.png")
    assert sheet.height > quality.SHEET_HEIGHT and sheet.width > 6 * quality.SHEET_HEIGHT  # 6 tiles, one row
    assert "| photo__painting |" in (tmp_path / "run" / "summary.md").read_text()


def test_compare_gives_ratios_and_the_verdict(tmp_path, monkeypatch, capsys):
    def scores(style, content):
        return {"style_swd": {"mean": style}, "content_ratio": content, "gram": {"mean": 0.1, "block5_conv1": 0.2}}

    sides = {"old": [(0.2, 0.6), (0.2, 0.3)], "new": [(0.1, 0.3), (0.24, 0.3)]}
    for side, values in sides.items():
        rows = [{"name": f"{pair}.png", "scores": scores(*v)} for pair, v in zip(("a__x", "b__y"), values)]
        (tmp_path / f"{side}.json").write_text(json.dumps(rows))
    monkeypatch.setattr(sys, "argv", ["bench.compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    compare.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("| a__x | 0.200 | 0.100 | 0.50 | 0.600 | 0.300 | 0.50 |") and "both better" in lines[2]
    assert "| 1.20 |" in lines[3] and lines[3].endswith("| NO |")  # style 20% further: neither within 10%
    assert compare.verdict(0.85, 1.08) == "one clearly better, other within 10%"
