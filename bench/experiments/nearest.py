"""Nearest neighbours: does the painting's nearest feature as a target make a result read as a painting?

Neural Neighbor Style Transfer (NNST, Kolkin et al. 2022) pulls an image's features towards the painting's
nearest ones, by cosine distance after each set's mean is subtracted, in two regimes; each is an extra term
here, beside tf_nst's own objective, through the whole pipeline (levels, L-BFGS, bfloat16), patched in from
outside (tf_nst itself is unchanged):

- ``target``: each position's hypercolumn (the layers' features, each divided by its channel count, resized to
  a quarter of the image's grid and concatenated) is replaced by its nearest painting hypercolumn, once per
  level, the level's start image being the query (the photo, then the coarse result with the photo's detail);
- ``split`` (NNST's last pass): at every evaluation, each layer's features (at most 64x64 positions, on a
  stride from a random offset) against their nearest of ``--samples`` painting features of that layer.

    python -m bench.experiments.nearest --pairs=tubingen:starry_night,taj_mahal:seated-nude --regime=split \
        --weight=1.5 --out=bench/results/split
    python -m bench.blind make bench/results/today bench/results/split --out=bench/results/blind-split

Results are written as ``<photo>__<painting>.png`` for ``bench.blind``, with each run's seconds. What it
found: bench/README.md, "NNST's ideas and two controls, measured blind".
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
import tensorflow as tf

from bench.common import RESULTS, SET_HELP, SHARED_IMAGES, config_overrides, find_image, save_png, write_json
from tf_nst import transfer
from tf_nst.api import stylize
from tf_nst.config import StyleTransferConfig
from tf_nst.transfer import hold

HYPERCOLUMN_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")


def hypercolumns(features: dict[str, tf.Tensor], size: tuple[int, int]) -> tf.Tensor:
    """``[1, h, w, C]``: the layers' maps, each divided by its channel count, resized to ``size`` and concatenated."""
    maps = []
    for name in HYPERCOLUMN_LAYERS:
        layer = tf.cast(features[name], tf.float32)
        maps.append(tf.image.resize(layer / layer.shape[-1], size, method="bilinear", antialias=True))
    return tf.concat(maps, -1)


def centered_unit(rows: tf.Tensor) -> tf.Tensor:
    """Rows ``[N, C]`` less their mean row, each scaled to unit length."""
    return tf.math.l2_normalize(rows - tf.reduce_mean(rows, 0, keepdims=True), -1)


def nearest_target(query: tf.Tensor, style: tf.Tensor, chunk: int = 2048) -> tf.Tensor:
    """``query`` ``[1, h, w, C]`` with each position replaced by its nearest of ``style``'s positions
    (``[N, C]``) by centred cosine distance."""
    shape = query.shape
    rows = tf.reshape(query, [-1, shape[-1]])
    keys, picked = centered_unit(style), []
    queries = centered_unit(rows)
    for start in range(0, int(rows.shape[0]), chunk):
        picked.append(tf.argmax(tf.matmul(queries[start : start + chunk], keys, transpose_b=True), axis=1))
    return tf.reshape(tf.gather(style, tf.concat(picked, 0)), shape)


class NearestTerm:
    """Patches tf_nst so that every evaluation also has the ``regime``'s nearest-neighbour term, times
    ``weight`` (see the module's docstring): the loop's loss terms gain ``nearest``, each level's run first
    matches (``target``) or samples the painting's features (``split``)."""

    def __init__(
        self,
        weight: float,
        regime: str = "target",
        samples: int = 4096,
        layers: tuple[str, ...] = HYPERCOLUMN_LAYERS,
        search_dtype: str = "float32",
    ):
        self.weight, self.regime, self.samples, self.layers = weight, regime, samples, layers
        self.search_dtype = tf.as_dtype(search_dtype)  # of the split regime's similarity products
        self.keys: dict[tuple[tuple[int, ...], str], tf.Variable] = {}
        self.style_features: list[dict[str, tf.Tensor]] = []
        self.targets: dict[tuple[int, ...], tf.Variable] = {}
        self.loss_terms = transfer.loss_terms
        self.style_targets = transfer.StyleTransfer.style_targets
        self.run = transfer.StyleTransfer.run
        transfer.loss_terms = self.terms
        transfer.StyleTransfer.style_targets = lambda owner, *a, **k: self.recording_style_targets(owner, *a, **k)
        transfer.StyleTransfer.run = lambda owner, *a, **k: self.matching_run(owner, *a, **k)

    def grid(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return max(1, shape[1] // 4), max(1, shape[2] // 4)

    def recording_style_targets(self, owner, styles, *args, **kwargs):
        """tf_nst's own, after keeping the painting's features at this level (the styles as it resized them)."""
        images = styles if isinstance(styles, list) else [styles]
        self.style_features = [owner.model(tf.convert_to_tensor(s, tf.float32), training=False) for s in images]
        return self.style_targets(owner, styles, *args, **kwargs)

    def matching_run(self, owner, content, style, *args, **kwargs):
        """tf_nst's own, after matching (``target``) or sampling (``split``) the painting's features."""
        init_image = kwargs.get("init_image", args[2] if len(args) > 2 else None)
        query = tf.convert_to_tensor(content if init_image is None else init_image, tf.float32)
        shape = tuple(query.shape)
        if self.regime == "split":
            rng = np.random.default_rng(0)
            for name in self.layers:
                hold(self.keys, (shape, name), self.sampled_keys(name, rng), f"{name}_nearest")
        else:
            columns = hypercolumns(owner.model(query, training=False), self.grid(shape))
            keys = [
                # the first layer's map has the painting's size
                tf.reshape(hypercolumns(f, self.grid(f[HYPERCOLUMN_LAYERS[0]].shape)), [-1, columns.shape[-1]])
                for f in self.style_features
            ]
            hold(self.targets, shape, nearest_target(columns, tf.concat(keys, 0)), "nearest_target")
        return self.run(owner, content, style, *args, **kwargs)

    def sampled_keys(self, name: str, rng: np.random.Generator) -> tf.Tensor:
        """``samples`` random positions of all the paintings' features at layer ``name``, centred and of unit
        length, ``[N, C]``."""
        rows = tf.concat(
            [tf.reshape(tf.cast(f[name], tf.float32), [-1, f[name].shape[-1]]) for f in self.style_features], 0
        )
        picked = rng.choice(int(rows.shape[0]), min(self.samples, int(rows.shape[0])), replace=False)
        return centered_unit(tf.gather(rows, picked))

    def split_distance(self, features, shape: tuple[int, ...]) -> tf.Tensor:
        """NNST's last pass: each layer's features (at most 64x64 positions, a random offset of a stride)
        against their nearest sampled style feature, centred cosine distance, averaged, summed over layers."""
        total = 0.0
        for name in self.layers:
            layer = tf.cast(features[name], tf.float32)
            stride = max(1, max(layer.shape[1], layer.shape[2]) // 64)
            offset = tf.random.uniform([2], 0, stride, tf.int32)
            picked = layer[0, offset[0] :: stride, offset[1] :: stride, :]
            rows = centered_unit(tf.reshape(picked, [-1, layer.shape[-1]]))
            keys = self.keys[(shape, name)]
            search = tf.cast(tf.stop_gradient(rows), self.search_dtype), tf.cast(keys, self.search_dtype)
            nearest = tf.argmax(tf.matmul(*search, transpose_b=True), axis=1)
            total += tf.reduce_mean(1.0 - tf.reduce_sum(rows * tf.gather(keys, nearest), 1))
        return total

    def target_distance(self, features, shape: tuple[int, ...]) -> tf.Tensor:
        """The hypercolumn regime: mean cosine distance of the image's hypercolumns to the level's target."""
        target = self.targets[shape]
        columns = hypercolumns(features, tuple(target.shape[1:3]))
        return tf.reduce_mean(
            1.0 - tf.reduce_sum(tf.math.l2_normalize(columns, -1) * tf.math.l2_normalize(target, -1), -1)
        )

    def terms(self, features, image, targets, config):
        terms = self.loss_terms(features, image, targets, config)
        distance = self.split_distance if self.regime == "split" else self.target_distance
        terms["nearest"] = self.weight * distance(features, tuple(image.shape))
        terms["total"] = terms["total"] + terms["nearest"]
        return terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", required=True, help="photo:painting,... (stems of the shared images)")
    parser.add_argument("--weight", type=float, default=5.0, help="weight of the nearest-neighbour term")
    parser.add_argument(
        "--regime",
        choices=("target", "split", "none"),
        default="target",
        help="a target matched per level (NNST's hypercolumn regime), nearest features found at every step (its "
        "last pass), or none (tf_nst as it is, to time beside them)",
    )
    parser.add_argument("--layers", default=",".join(HYPERCOLUMN_LAYERS), help="split: the layers matched")
    parser.add_argument("--samples", type=int, default=4096, help="split: painting features kept per layer")
    parser.add_argument(
        "--search_dtype", choices=("float32", "bfloat16"), default="float32", help="split: the similarities' type"
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS / "nearest")
    parser.add_argument("--set", action="append", default=[], help=SET_HELP)
    args = parser.parse_args()
    if args.regime != "none":  # none: tf_nst as it is, for timing beside a regime
        NearestTerm(args.weight, args.regime, args.samples, tuple(args.layers.split(",")), args.search_dtype)
    config = StyleTransferConfig(**config_overrides(args.set))
    args.out.mkdir(parents=True, exist_ok=True)
    seconds = {}

    def report(progress) -> None:
        if progress.step == progress.steps:
            print({k: round(v, 4) for k, v in progress.losses.items()}, flush=True)

    for pair in args.pairs.split(","):
        photo, painting = pair.split(":")
        out = args.out / f"{photo}__{painting}.png"
        start = time.perf_counter()
        result = stylize(find_image(SHARED_IMAGES, photo), find_image(SHARED_IMAGES, painting), config, report)
        seconds[pair] = round(time.perf_counter() - start, 1)
        save_png(np.asarray(result[0]), out)
        print(pair, seconds[pair], "s", flush=True)
    write_json(args.out / "seconds.json", seconds)


if __name__ == "__main__":
    main()
