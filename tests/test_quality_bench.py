"""The quality benchmark: the judge's maths, its fixed points through ``--judge`` mode, and its arguments."""

import json
import math
import sys

import numpy as np
import pytest
from conftest import REPO, gradient_image
from PIL import Image

sys.path.insert(0, str(REPO / "bench"))

import judge  # noqa: E402
import quality  # noqa: E402


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


def test_set_values_take_the_field_types():
    assert quality.parse_sets(["style_weight=10", "style_layers=block1_conv1,block2_conv1", "optimizer=lbfgs"]) == {
        "style_weight": 10.0,
        "style_layers": ("block1_conv1", "block2_conv1"),
        "optimizer": "lbfgs",
    }
    assert quality.parse_sets(["style_layer_weights=1,0.5", "memory_limit_mb=none", "scales=2"]) == {
        "style_layer_weights": (1.0, 0.5),
        "memory_limit_mb": None,
        "scales": 2,
    }
    for bad in ("nonsense=1", "style_weight", "steps=5", "scales=two"):
        with pytest.raises(ValueError, match="--set"):
            quality.parse_sets([bad])
    config = quality.make_config("old", {"tv_weight": 0.0}, 256, [5, 10])
    assert (config.optimizer, config.style_weight, config.learning_rate, config.tv_weight) == ("adam", 30.0, 0.02, 0.0)
    assert (config.max_size, config.steps, config.style_layer_weights, config.pooling) == (256, 10, None, "max")


def test_judge_sources_from_folders(tmp_path):
    for name in ("photo.jpg", "painting.png"):
        (tmp_path / name).touch()
    image = tmp_path / "photo__painting__e300.png"
    assert quality.sources_for(image, tmp_path, tmp_path) == (tmp_path / "photo.jpg", tmp_path / "painting.png")
    assert quality.sources_for(image, tmp_path / "x.jpg", tmp_path)[0] == tmp_path / "x.jpg"
    with pytest.raises(ValueError, match="<content>__<style>"):
        quality.sources_for(tmp_path / "other.png", tmp_path, tmp_path)


def test_judge_mode_scores_the_photo_the_painting_and_a_mix(tmp_path, monkeypatch):
    # the judge's fixed points through its command line (parsed and run in this process)
    photo, painting = gradient_image(64, 48, 1), gradient_image(64, 48, 2)[::-1]
    collage = np.concatenate([photo[:, :32], painting[:, 32:]], axis=1)  # half of each: features of both
    images = {"photo": photo, "painting": painting, "mix": collage}
    paths = {name: tmp_path / f"{name}.png" for name in images}
    for name, path in paths.items():
        Image.fromarray(images[name]).save(path)
    argv = ["quality.py", "--judge", *map(str, paths.values()), f"--content={paths['photo']}"]
    monkeypatch.setattr(sys, "argv", [*argv, f"--style={paths['painting']}", f"--results={tmp_path}", "--label=j"])
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
    assert set(mix["style_swd"]) == set(judge.STYLE_LAYERS) | {"mean"}
    assert set(mix["gram"]) == set(judge.GRAM_LAYERS) | {"mean"}
    table = (tmp_path / "j" / "judge.md").read_text()
    assert "| mix.png |" in table and "gram_squared per layer" in table
