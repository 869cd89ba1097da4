"""Which features find the painting's: variants of ``--neighbor_weight``'s matching, judged against the defaults.

``--neighbor_weight`` (``tf_nst.objective.neighbor_term``) pulls each matched feature of the image towards the
most similar of the painting's, the image's own feature being the query. It is drawn to the painting's commonest
features: skies and walls go plain, long dark strokes run over a subject. Two guards tried here, patched into
the plain (untiled) loop from outside (tf_nst itself is unchanged):

- ``--query=photo``: the nearest painting feature is found with the photo's feature at the same position (at
  the level's size, less the photo's mean, held fixed), as NNST does; the image's feature is pulled towards it;
  ``--query=mixed``: with the photo's and the image's, each of unit length, added;
- ``--both_ways``: also each painting feature pulled towards the nearest of the image's (the other half of a
  relaxed earth mover's distance, as in STROTSS), so that every painting feature is represented somewhere;
- ``--finest_only``: the term only at the last level (``max_size``), after the coarse level has laid out the
  picture with the style statistics alone.

    python -m bench.experiments.matching --pairs=tubingen:starry_night --query=photo --out=bench/results/photo \
        --set neighbor_weight=3 --set style_weight=25
    python -m bench.blind make bench/results/today bench/results/photo --out=bench/results/blind-photo

Results are written as ``<photo>__<painting>.png`` for ``bench.blind``. What it found: bench/README.md,
"Guards for the nearest-neighbour term".
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import tensorflow as tf

from bench.common import RESULTS, SET_HELP, SHARED_IMAGES, config_overrides, find_image, save_png
from tf_nst import losses, objective, transfer
from tf_nst.api import stylize
from tf_nst.config import StyleTransferConfig
from tf_nst.transfer import hold


class Matching:
    """Replaces ``tf_nst.objective.neighbor_term`` (one painting, no regions) by the variant of ``query``
    (``image``: tf_nst's own, ``photo`` or ``mixed``) with or without the reverse direction ``both_ways``, at
    every level or ``finest_only``; for the photo queries, each level's run first keeps the photo's features at
    the matched layers."""

    def __init__(self, query: str, both_ways: bool, finest_only: bool = False):
        self.query, self.both_ways, self.finest_only = query, both_ways, finest_only
        self.on = tf.Variable(1.0, trainable=False, name="neighbor_on")  # 0 at the levels the term skips
        self.photo: dict[tuple, tf.Variable] = {}  # (layer, h, w): the photo's centred unit features
        self.run = transfer.StyleTransfer.run
        objective.neighbor_term = self.term
        transfer.StyleTransfer.run = lambda owner, *a, **k: self.keeping_run(owner, *a, **k)

    def keeping_run(self, owner, content, style, *args, **kwargs):
        """tf_nst's own run, after holding the photo's features at this level's size."""
        finest = max(content.shape[1:3]) >= owner.config.max_size
        self.on.assign(1.0 if finest or not self.finest_only else 0.0)
        if self.query != "image":
            features = owner.model(tf.convert_to_tensor(content, tf.float32), training=False)
            for name in objective.used_style_layers(owner.config):
                layer = tf.cast(features[name], tf.float32)
                unit = losses.centred_unit(layer, losses.feature_mean(layer)[:, None, None, :])
                hold(self.photo, (name, *layer.shape[1:3]), unit, f"{name}_photo")
        return self.run(owner, content, style, *args, **kwargs)

    def term(self, features, targets, seed: int) -> tf.Tensor:
        """As ``neighbor_term``, found with this variant's queries, plus the reverse direction if asked."""
        total = 0.0
        for index, (name, keys) in enumerate(targets.neighbors.items()):
            layer = features[name]
            queries, stride, offset = objective.grid_queries(layer, seed, targets.draw, index)
            found = queries
            if self.query != "image":
                photo = self.photo[(name, *layer.shape[1:3])]
                photo = tf.reshape(objective.on_grid(photo, stride, offset), [1, -1, layer.shape[-1]])
                found = photo if self.query == "photo" else tf.math.l2_normalize(photo + queries, -1)
            dtype = objective.search_dtype(layer)
            similar = tf.einsum("bpc,nc->bpn", tf.cast(tf.stop_gradient(found), dtype), tf.cast(keys, dtype))
            picked = tf.gather(keys, tf.argmax(similar, axis=-1))  # [B, P, C]
            total += tf.reduce_mean(1.0 - tf.reduce_sum(queries * picked, -1), axis=1)
            if self.both_ways:
                nearest = tf.argmax(similar, axis=1)  # [B, N]: each key's nearest query
                reached = tf.gather(queries, nearest, batch_dims=1)  # [B, N, C]
                total += tf.reduce_mean(1.0 - tf.reduce_sum(reached * keys[None], -1), axis=1)
        return total * self.on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", required=True, help="photo:painting,... (stems of the shared images)")
    parser.add_argument("--query", choices=("image", "photo", "mixed"), default="image", help="what finds the match")
    parser.add_argument("--both_ways", action="store_true", help="also each painting feature to the image's")
    parser.add_argument("--finest_only", action="store_true", help="the term only at the last level")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS / "matching")
    parser.add_argument("--set", action="append", default=[], help=SET_HELP)
    args = parser.parse_args()
    Matching(args.query, args.both_ways, args.finest_only)
    config = StyleTransferConfig(**config_overrides(args.set))
    if not config.neighbor_weight:
        parser.error("set neighbor_weight: the variants change its term")
    args.out.mkdir(parents=True, exist_ok=True)
    for pair in args.pairs.split(","):
        photo, painting = pair.split(":")
        result = stylize(find_image(SHARED_IMAGES, photo), find_image(SHARED_IMAGES, painting), config)
        save_png(np.asarray(result[0]), args.out / f"{photo}__{painting}.png")
        print(pair, flush=True)


if __name__ == "__main__":
    main()
