"""The quality judge: how much of a painting's style and of a photo's content a result carries, measured with a
VGG-19 of its own (float32, embedded weights, max pooling), independent of how the result was made.

Every figure is a ratio to the photo itself, so 1 means "no nearer than the photo" and 0 "as near as it gets":

- **style** (distribution distances at ``STYLE_LAYERS``, several of which no loss of tf_nst uses by default):
  ``style_swd``, the sliced Wasserstein distance between the result's and the painting's feature distributions,
  and ``style_gauss``, the Frechet (Gaussian 2-Wasserstein) distance between their means and covariances; each
  as distance(result, painting) / distance(photo, painting). Neither is what a Gram loss minimizes.
- **content** at ``CONTENT_LAYERS``: |F(result) - F(photo)|^2 / |F(painting) - F(photo)|^2, the painting
  stretched to the photo's size; ``content_ratio`` is its mean over ``block4_conv2`` and ``block5_conv2``.
- **gram** at ``GRAM_LAYERS``: |G(result) - G(painting)|_F / |G(photo) - G(painting)|_F with G = F^T F / (H W),
  and ``gram_squared``, the same ratio squared (the ratio of mean squared Gram differences).

Two more are the terms of tf_nst's own objective, normalized as ``tf_nst.transfer`` normalizes them, but
relative to the painting's and the photo's own size rather than to the photo's distance (so not ratios to the
photo as above): ``gram_vs_painting``, |G(result) - G(painting)|^2 / |G(painting)|^2 at ``GRAM_LAYERS`` (the
style loss with equal layer weights is ``style_weight`` times its mean), and ``content_vs_photo``,
|F(result) - F(photo)|^2 / |F(photo)|^2 at ``CONTENT_LAYERS`` (at ``block4_conv2``: the content loss).
They re-measure what the optimizer minimizes; they are here to compare with figures quoted in those terms.

``Judge.novelty`` is ``bench.pasted``'s check for objects of the painting pasted into the photo.

Each metric has one value per layer and their ``mean``. Images are float32 ``[H, W, 3]`` in [0, 1]; the photo
and painting are resized to the result's size (the painting keeping its aspect ratio for style, longest side
equal to the result's, as a run with ``style_scale=1`` sees it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench import pasted

STYLE_LAYERS = (
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv3",
    "block4_conv1",
    "block4_conv3",
    "block5_conv1",
)
CONTENT_LAYERS = ("block2_conv2", "block3_conv2", "block4_conv2", "block5_conv2")
CONTENT_RATIO_LAYERS = ("block4_conv2", "block5_conv2")
GRAM_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
DIRECTIONS = 128  # random projections of the sliced Wasserstein distance
QUANTILES = 256  # points at which sorted projections are compared (so sizes may differ)
MAX_POSITIONS = 16384  # feature positions sampled per layer for the sliced Wasserstein distance
SEED = 0

Features = dict[str, np.ndarray]  # layer -> [positions, channels] float32


# --- pure maths over feature matrices [positions, channels] ---


def directions(channels: int, count: int = DIRECTIONS, seed: int = SEED) -> np.ndarray:
    """``count`` random unit vectors in ``channels`` dimensions, fixed by ``seed``: ``[channels, count]``."""
    vectors = np.random.default_rng(seed).standard_normal((channels, count))
    return (vectors / np.linalg.norm(vectors, axis=0, keepdims=True)).astype(np.float32)


def subsample(features: np.ndarray, limit: int = MAX_POSITIONS, seed: int = SEED) -> np.ndarray:
    """At most ``limit`` rows of ``features`` ``[N, C]``, chosen at random but fixed by ``seed`` and N."""
    if len(features) <= limit:
        return features
    return features[np.sort(np.random.default_rng(seed).choice(len(features), limit, replace=False))]


def projected_quantiles(features: np.ndarray, quantiles: int = QUANTILES) -> np.ndarray:
    """Quantiles (at the midpoints of ``quantiles`` equal bins, linearly interpolated) of ``features`` ``[N, C]``
    (at most ``MAX_POSITIONS`` of its rows) projected on each of ``directions(C)``: ``[quantiles, DIRECTIONS]``."""
    projected = np.sort(subsample(features) @ directions(features.shape[1]), axis=0)
    position = (np.arange(quantiles) + 0.5) / quantiles * len(projected) - 0.5
    below = np.clip(np.floor(position).astype(int), 0, len(projected) - 1)
    above = np.minimum(below + 1, len(projected) - 1)
    fraction = np.clip(position - below, 0.0, 1.0)[:, None]
    return projected[below] * (1 - fraction) + projected[above] * fraction


def sliced_wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """Sliced 2-Wasserstein distance between two feature distributions given by ``projected_quantiles``
    ``[Q, K]`` (of samples of any sizes): the root mean square of their differences over directions and
    quantiles."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


@dataclass(frozen=True)
class Gaussian:
    """Mean ``[C]`` and covariance ``[C, C]`` (float64) of a feature distribution."""

    mean: np.ndarray
    cov: np.ndarray


def gaussian(features: np.ndarray, second_moment: np.ndarray | None = None) -> Gaussian:
    """Mean and covariance of the rows of ``features`` ``[N, C]``; ``second_moment`` is ``gram(features)`` if
    known (the covariance is derived from it: one product of the features serves both)."""
    count = len(features)
    mean = features.mean(axis=0, dtype=np.float64)
    second = gram(features) if second_moment is None else second_moment
    return Gaussian(mean, (second - np.outer(mean, mean)) * count / max(count - 1, 1))


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite ``[C, C]`` matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet(a: Gaussian, b: Gaussian, b_root: np.ndarray | None = None) -> float:
    """Frechet distance (the 2-Wasserstein distance between Gaussians) of two feature distributions,
    sqrt(|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_b^1/2 C_a C_b^1/2)^1/2)) >= 0; ``b_root`` is
    ``psd_sqrt(b.cov)`` if known."""
    root = psd_sqrt(b.cov) if b_root is None else b_root
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root @ a.cov @ root), 0.0, None)))
    squared = np.sum((a.mean - b.mean) ** 2) + np.trace(a.cov) + np.trace(b.cov) - 2 * cross
    return float(np.sqrt(max(squared, 0.0)))


def gram(features: np.ndarray) -> np.ndarray:
    """F^T F / N of ``features`` ``[N, C]``: ``[C, C]`` float64."""
    return (features.T @ features).astype(np.float64) / len(features)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; 0 when both are 0 (the photo already is the painting), inf for x / 0."""
    if denominator == 0:
        return 0.0 if numerator == 0 else float("inf")
    return float(numerator / denominator)


def with_mean(values: dict[str, float]) -> dict[str, float]:
    """``values`` by layer plus their ``mean``."""
    return values | {"mean": float(np.mean(list(values.values())))}


# --- the judge: its own VGG-19, references prepared once per photo, painting and size ---


@dataclass(frozen=True)
class Statistics:
    """What the style metrics compare of one image: per layer the ``projected_quantiles`` and ``gaussian`` of
    its features (``STYLE_LAYERS``) and their ``gram`` (``GRAM_LAYERS``)."""

    quantiles: dict[str, np.ndarray]
    gauss: dict[str, Gaussian]
    grams: dict[str, np.ndarray]


def statistics(features: Features) -> Statistics:
    """The ``Statistics`` of ``features`` ``{layer: [positions, channels]}``."""
    grams = {n: gram(features[n]) for n in dict.fromkeys(STYLE_LAYERS + GRAM_LAYERS)}
    return Statistics(
        {n: projected_quantiles(features[n]) for n in STYLE_LAYERS},
        {n: gaussian(features[n], grams[n]) for n in STYLE_LAYERS},
        {n: grams[n] for n in GRAM_LAYERS},
    )


def style_distances(a: Statistics, b: Statistics, b_roots: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{"style_swd", "style_gauss", "gram": {layer: distance}}`` from ``a`` to ``b``; ``b_roots`` holds
    ``psd_sqrt`` of ``b``'s covariances. The Gram distance is the Frobenius norm of the difference."""
    return {
        "style_swd": {n: sliced_wasserstein(a.quantiles[n], b.quantiles[n]) for n in STYLE_LAYERS},
        "style_gauss": {n: frechet(a.gauss[n], b.gauss[n], b_roots[n]) for n in STYLE_LAYERS},
        "gram": {n: float(np.linalg.norm(a.grams[n] - b.grams[n])) for n in GRAM_LAYERS},
    }


def content_distances(features: Features, photo: Features) -> dict[str, float]:
    """``{layer: |F - F_photo|^2}`` over ``CONTENT_LAYERS`` (features of images of the same size)."""
    return {n: float(np.sum((features[n] - photo[n]) ** 2)) for n in CONTENT_LAYERS}


@dataclass(frozen=True)
class Reference:
    """What results of one size are compared against: the photo's content features, the painting's style
    ``Statistics`` (at its own aspect ratio, longest side the results') and the photo's own distances (to the
    painting; for content, to the painting stretched to the photo's size) that the ratios divide by."""

    size: tuple[int, int]  # (width, height) of the results
    photo: Features  # CONTENT_LAYERS
    painting: Statistics
    painting_roots: dict[str, np.ndarray]  # psd_sqrt of the painting's covariances
    baseline: dict[str, dict[str, float]]  # {"style_swd", "style_gauss", "gram", "content": {layer: distance}}
    norms: dict[str, dict[str, float]]  # {"gram": {layer: |G(painting)|}, "content": {layer: |F(photo)|^2}}


def layers() -> tuple[str, ...]:
    """Every layer the judge reads, in VGG order."""
    from tf_nst.layers import CONV_LAYERS

    wanted = set(STYLE_LAYERS + CONTENT_LAYERS + GRAM_LAYERS + (pasted.OBJECT_LAYER,))
    return tuple(name for name in CONV_LAYERS if name in wanted)


class Judge:
    """Scores results against a photo and a painting. ``weights``: ``"embedded"`` (the default; the figures
    quoted are with these) or None for Keras' random initialisation (tests only)."""

    def __init__(self, weights: str | None = "embedded"):
        from tf_nst.features import build_feature_model
        from tf_nst.io.weights import load_conv_weights

        conv_weights = load_conv_weights(weights) if weights else None
        self.model = build_feature_model(layers(), conv_weights, "max", "float32")

    def feature_maps(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """``{layer: [h, w, channels]}`` float32 of ``image`` ``[H, W, 3]`` in [0, 1]."""
        outputs = self.model(np.asarray(image, np.float32)[None], training=False)
        return {name: np.asarray(x)[0] for name, x in outputs.items()}

    def features(self, image: np.ndarray) -> Features:
        """``{layer: [positions, channels]}`` float32 of ``image`` ``[H, W, 3]`` in [0, 1]."""
        return {name: x.reshape(-1, x.shape[-1]) for name, x in self.feature_maps(image).items()}

    def novelty(self, result: np.ndarray, photo: np.ndarray) -> float:
        """``bench.pasted.novelty`` of ``result`` against ``photo`` (``[H, W, 3]`` in [0, 1], one size)."""
        maps = (self.feature_maps(image)[pasted.OBJECT_LAYER] for image in (result, photo))
        return pasted.novelty(*maps, photo)

    def reference(self, photo: np.ndarray, painting: np.ndarray, size: tuple[int, int]) -> Reference:
        """Prepare ``photo`` and ``painting`` (``[H, W, 3]`` in [0, 1], any sizes) for results of ``size``
        (width, height)."""
        from tf_nst.io.images import resize, resized_size

        photo_f = self.features(resize(photo, size))
        painting_stats = statistics(
            self.features(resize(painting, resized_size(painting.shape[1], painting.shape[0], max(size))))
        )
        roots = {n: psd_sqrt(g.cov) for n, g in painting_stats.gauss.items()}
        baseline = style_distances(statistics(photo_f), painting_stats, roots)
        baseline["content"] = content_distances(self.features(resize(painting, size)), photo_f)
        norms = {
            "gram": {n: float(np.linalg.norm(g)) for n, g in painting_stats.grams.items()},
            "content": {n: float(np.sum(photo_f[n] ** 2)) for n in CONTENT_LAYERS},
        }
        photo_content = {n: photo_f[n] for n in CONTENT_LAYERS}
        return Reference(tuple(size), photo_content, painting_stats, roots, baseline, norms)

    def score(self, result: np.ndarray, reference: Reference) -> dict[str, dict[str, float] | float]:
        """The ratios of ``result`` ``[H, W, 3]`` (resized to ``reference.size`` if it differs) described in the
        module docstring: ``{metric: {layer: ratio, "mean": mean}}`` and ``content_ratio``."""
        from tf_nst.io.images import resize

        features = self.features(resize(np.asarray(result, np.float32), reference.size))
        distances = style_distances(statistics(features), reference.painting, reference.painting_roots)
        distances["content"] = content_distances(features, reference.photo)
        ratios = {
            metric: {n: ratio(d, reference.baseline[metric][n]) for n, d in values.items()}
            for metric, values in distances.items()
        }
        return {
            "distances": distances,  # the numerators, for other forms (``reference.baseline`` has the denominators)
            "style_swd": with_mean(ratios["style_swd"]),
            "style_gauss": with_mean(ratios["style_gauss"]),
            "content": with_mean(ratios["content"]),
            "content_ratio": float(np.mean([ratios["content"][n] for n in CONTENT_RATIO_LAYERS])),
            "gram": with_mean(ratios["gram"]),
            "gram_squared": with_mean({n: r**2 for n, r in ratios["gram"].items()}),
            "gram_vs_painting": with_mean(
                {n: ratio(d**2, reference.norms["gram"][n] ** 2) for n, d in distances["gram"].items()}
            ),
            "content_vs_photo": with_mean(
                {n: ratio(d, reference.norms["content"][n]) for n, d in distances["content"].items()}
            ),
        }

    def judge(self, result: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> dict:
        """``score`` of ``result`` against ``photo`` and ``painting`` in one call (all ``[H, W, 3]`` in [0, 1])."""
        result = np.asarray(result, np.float32)
        return self.score(result, self.reference(photo, painting, (result.shape[1], result.shape[0])))
