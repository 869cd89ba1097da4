"""The typed configuration of a run: ``StyleTransferConfig`` (every image) and ``VideoOptions`` (a clip).

Their fields are the single source of truth: each is declared with ``option``, which holds its default, its
command-line help and its choices, and the commands build their flags from them (``tf_nst.cli.flags``).
``__post_init__`` checks every value. This module imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from tf_nst.errors import ConfigError, not_one_of
from tf_nst.layers import MIN_SIDE, check_layer_names, layer_channels
from tf_nst.limits import MAX_INPUT_PIXELS
from tf_nst.precision import PRECISIONS

PAPER_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
PAPER_CONTENT_LAYERS = ("block4_conv2",)
# conv5_1's statistics are object parts (faces, eyes): matched at all, even at 0.3, they pasted a portrait's face
# into the photo's water; conv4_1 at half keeps its motifs and strokes without eyes (bench/README.md, "Defaults")
DEFAULT_STYLE_LAYER_WEIGHTS = (1.0, 1.0, 1.0, 0.5, 0.0)
NEIGHBOR_LAYERS = PAPER_STYLE_LAYERS[:3]
HYPERCOLUMN_LAYERS = PAPER_STYLE_LAYERS[:4]  # the hypercolumn target's (tf_nst.hypercolumns)
HYPERCOLUMN_DEPTH = sum(layer_channels(name) for name in HYPERCOLUMN_LAYERS)  # a hypercolumn's channels
EQUAL = "equal"  # style_layer_weights: the paper's equal weights
INITS = ("content", "noise", "style")  # or a path to an image file
COLOR_MODES = ("none", "luminance", "histogram", "palette")
POOLINGS = ("max", "avg")
OPTIMIZERS = ("adam", "lbfgs")
PARAMETERIZATIONS = ("pixels", "pyramid")  # tf_nst.parameterization defines each
STYLE_LOSSES = ("gram", "gaussian")  # tf_nst.objective defines each
FILLS = ("content", "noise")  # a later video frame, where flow is unreliable, starts from
STEPS = 36
STYLE_WEIGHT = 25.0
KEEP_WEIGHT = 20.0
REGION_FEATHER = 6.0
REGION_STYLE = re.compile(r"keep|[1-9][0-9]*(\+[1-9][0-9]*)*")  # a region_styles entry


def option(default: Any, help: str, *, choices: tuple[str, ...] | None = None, flag: str | None = None) -> Any:
    """A dataclass field with its command-line ``help``, the ``choices`` of an enum flag, and the ``flag``'s name
    where it is not the field's: the commands' flags are made from these (``tf_nst.cli.flags``)."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


def _require(ok: bool, flag: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"--{flag}: {message}")


def _require_choice(value: str, flag: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(not_one_of(flag, value, choices))


def _require_weights(weights: tuple[float, ...], flag: str) -> None:
    _require(all(math.isfinite(w) and w >= 0 for w in weights), flag, "must be finite numbers >= 0")
    _require(sum(weights) > 0, flag, "must not all be 0")


def _require_non_negative(value: float, flag: str) -> None:
    _require(math.isfinite(value) and value >= 0, flag, f"must be a finite number >= 0, got {value}")


@dataclass(frozen=True)
class StyleTransferConfig:
    """Settings of one run. Weights multiply scale-free losses (see ``tf_nst.losses``)."""

    # Every default below was chosen by bench/quality.py; bench/README.md ("Defaults") has the measurements.
    # longest side of the output in pixels; the content's aspect ratio is kept
    max_size: int = option(512, f"Longest side of the output in pixels (>= {MIN_SIDE}).")
    # VGG evaluations (one forward and backward pass each) at the coarsest level; each finer level gets half.
    # 64 (+ 32 at 512 px) was judged blind against 160 (+ 80), 11 equal and 1 better, in 0.45x the time; 36 (+ 18)
    # against 48 (+ 24), 12 equal: under 40 tutorial steps where VGG computes in float32 too (bench/README.md, "Half
    # the time", "48 evaluations", "36 evaluations")
    steps: int = option(STEPS, "VGG evaluations (one forward and backward pass each; one Adam or L-BFGS step).")
    # L-BFGS reached Adam's 300-step style in 100 evaluations
    optimizer: str = option("lbfgs", "lbfgs (fewer evaluations to a good image) or adam.", choices=OPTIMIZERS)
    # pyramid: with the nearest-neighbour term, 10 of 12 shared pairs preferred blind, no dome melted, no mountain
    # ridges in Gauguin skies; alone, 3 to 3 and 6 equal against pixels (bench/README.md, "The image as a Laplacian
    # pyramid")
    parameterization: str = option(
        "pyramid",
        "What the optimizer moves: the pixels, or the coefficients of the image's Laplacian pyramid down to 64 px "
        "(Neural Neighbor Style Transfer's; colour and large shapes move faster).",
        choices=PARAMETERIZATIONS,
    )
    # 50 was no better, and each pair costs 2 images of memory
    history_size: int = option(20, "L-BFGS: curvature pairs remembered.")
    content_weight: float = option(1.0, "alpha: weight of the content loss.")
    # 25 with the nearest-neighbour term (alone it changed nothing one could see against 15; 30 pasted moons
    # with conv5_1 at 0.1)
    style_weight: float = option(STYLE_WEIGHT, "beta: weight of the style loss.")
    # 3, with the pyramid and style weight 25: preferred blind to the statistics alone on 10 of 12 shared pairs;
    # with pixels only on 6, and it melted a dome (bench/README.md, "The image as a Laplacian pyramid")
    neighbor_weight: float = option(
        3.0,
        "Weight of the nearest-neighbour term (Neural Neighbor Style Transfer's matching): each feature of the "
        "--neighbor_layers pulled towards the most similar of the painting's, so strokes follow the photo's shapes "
        "(0: off; with --regions, each region's own paintings).",
    )
    # conv1_1-conv3_1: with conv4_1 matched too, a drawing of gothic arches built a vault with its ribs into a
    # photo's trees (bench/README.md, "The nearest-neighbour term's layers")
    neighbor_layers: tuple[str, ...] = option(
        NEIGHBOR_LAYERS,
        "Style layers the nearest-neighbour term matches (deeper ones match parts of the painting's objects).",
    )
    # 256: at a 256 px output (levels of 128 and 256 px) the term dissolved the demo's houses into swirls, and one
    # level of 256 px kept them; a 512 px output's levels (256, 512) are as judged (bench/README.md, "The image as a
    # Laplacian pyramid")
    neighbor_min_side: int = option(
        256,
        "The nearest-neighbour term is used at levels whose longer side is at least this many pixels; smaller ones "
        "match the statistics alone.",
    )
    # 0: at 20 it was judged blind 6 to 4 (2 equal) against the defaults, not most pairs: cleaner, with fewer of
    # the painting's strokes in skies (bench/README.md, "The painting's hypercolumns as the target")
    hypercolumn_weight: float = option(
        0.0,
        "Weight of the hypercolumn target (Neural Neighbor Style Transfer's): at each level every 4x4 px cell's "
        "conv1_1-conv4_1 features of the photo (at later levels mostly of the image so far) are matched once to "
        "the painting's most similar, and pulled towards them, so the painting's colours follow the photo's "
        "structure, not its brightness (0: off; off with --regions, on levels evaluated in tiles and with a painting "
        "read in tiles).",
    )
    # mean absolute neighbour difference; kept, not re-tuned
    tv_weight: float = option(1.0, "Weight of the total-variation (smoothness) loss.")
    learning_rate: float = option(0.02, "Adam step size in [0, 1] pixel units (L-BFGS: first step's scale).")
    # conv5_2 beside the paper's conv4_2 keeps the photo's objects (at the same style weight the judged content
    # distance fell 10-40%, style moved 0-8%)
    content_layers: tuple[str, ...] = option(("block4_conv2", "block5_conv2"), "VGG-19 layers of the content loss.")
    style_layers: tuple[str, ...] = option(PAPER_STYLE_LAYERS, "VGG-19 layers of the style loss.")
    # at 512 px gaussian's style distance was about 0.6x gram's at the same evaluations and content, with the
    # painting's strokes in sky and water instead of smooth colour
    style_loss: str = option(
        "gaussian",
        "What each style layer matches: gram (the paper's Gram matrices) or gaussian (mean and covariance, "
        "2-Wasserstein distance).",
        choices=STYLE_LOSSES,
    )
    # one per style layer, or "equal"; None: DEFAULT_STYLE_LAYER_WEIGHTS for the paper's layers, equal for others
    style_layer_weights: tuple[float, ...] | None = option(
        None,
        f"One weight per style layer (normalized to sum 1), or '{EQUAL}' (the paper's); default "
        f"{','.join(map(str, DEFAULT_STYLE_LAYER_WEIGHTS))} for the paper's layers (conv5_1 off, conv4_1 half: "
        "their statistics are object parts, and matched they paste a painting's faces), else equal.",
        choices=(EQUAL,),
    )
    # start from the photo: it keeps the subject, and noise needs many more evaluations
    init: str = option("content", "Starting image: content, noise, style, or a path to an image.")
    seed: int = option(0, "Random seed (noise start, TensorFlow ops).")
    deterministic: bool = option(False, "Turn on TensorFlow op determinism (may be slower).")
    style_blend_weights: tuple[float, ...] | None = option(
        None, "One weight per style image (normalized to sum 1); default equal."
    )
    style_scale: float = option(1.0, "Style image size relative to the output (bigger = larger brush strokes).")
    preserve_colors: str = option(
        "none",
        "Keep the content's colours: luminance (after: result's luminance, content's chroma) or histogram "
        "(before: style recoloured to the content's colour mean and covariance); or palette (after: result's "
        "lightness, the content's chroma mapped to the painting's chroma mean and covariance in OkLab).",
        choices=COLOR_MODES,
    )
    max_input_pixels: int = option(
        MAX_INPUT_PIXELS, "Refuse input images with more pixels than this (before decoding)."
    )
    weights: str = option("embedded", "VGG-19 weights: embedded (offline), imagenet (download) or a .h5 path.")
    # max is what VGG's weights were trained with (avg not re-tuned)
    pooling: str = option("max", "VGG pooling: max (VGG's own) or avg (smoother).", choices=POOLINGS)
    precision: str = option(
        "auto",
        "What VGG computes in (losses and image stay float32); auto: bfloat16 where the hardware runs it fast.",
        choices=PRECISIONS,
    )
    # a half-size start costs a quarter per evaluation and gave a better style at 512 px in fewer full-size
    # evaluations than one level
    region_styles: tuple[str, ...] | None = option(
        None,
        "With regions (--regions): the style of each of the mask's regions, darkest colour first: a style's number "
        "(1 = the first --style), several joined by + (blended), or keep (the photo kept); default: region i, "
        "style i.",
    )
    # 20 kept a face with its photo's statistics (share 0.93); 2 left faint strokes on it (bench/README.md, "Regions")
    keep_weight: float = option(
        KEEP_WEIGHT, "With regions: how close a kept region stays to the photo (0: lightly painted)."
    )
    # 6 px softens a hair line against the painting; 0 and 6 measured alike at the border (bench/README.md, "Regions")
    region_feather: float = option(
        REGION_FEATHER,
        "With regions: the width of the soft edge between regions, in output pixels (a Gaussian's sigma).",
    )
    scales: int = option(2, "Coarse-to-fine levels, each twice the size of the one before, from about 256 px.")
    memory_limit_mb: int | None = option(None, "Refuse runs estimated to need more memory (default: what is free).")
    tileable: bool = option(
        False,
        "A texture that repeats without a seam: the network and the smoothness term see the image wrapping around "
        "(its sides are rounded down to multiples of 2**(poolings before the deepest layer): 16 px with the default "
        "layers). For a texture from a painting alone: --init=noise --content_weight=0.",
    )

    def __post_init__(self) -> None:
        if self.style_layer_weights == EQUAL:
            object.__setattr__(self, "style_layer_weights", (1.0,) * len(self.style_layers))
        _require(self.max_size >= MIN_SIDE, "max_size", f"must be at least {MIN_SIDE}, got {self.max_size}")
        _require(self.steps > 0, "steps", f"must be positive, got {self.steps}")
        _require_choice(self.optimizer, "optimizer", OPTIMIZERS)
        _require_choice(self.style_loss, "style_loss", STYLE_LOSSES)
        _require_choice(self.parameterization, "parameterization", PARAMETERIZATIONS)
        _require(self.history_size >= 1, "history_size", f"must be at least 1, got {self.history_size}")
        _require(self.neighbor_min_side >= 0, "neighbor_min_side", f"must be >= 0, got {self.neighbor_min_side}")
        for name in ("content_weight", "style_weight", "neighbor_weight", "hypercolumn_weight", "tv_weight"):
            _require_non_negative(getattr(self, name), name)
        _require(
            math.isfinite(self.learning_rate) and self.learning_rate > 0,
            "learning_rate",
            f"must be a finite number > 0, got {self.learning_rate}",
        )
        _require(self.max_input_pixels > 0, "max_input_pixels", f"must be positive, got {self.max_input_pixels}")
        _require(len(self.content_layers) > 0, "content_layers", "name at least one layer")
        _require(len(self.style_layers) > 0, "style_layers", "name at least one layer")
        check_layer_names(self.content_layers, "content_layers")
        check_layer_names(self.style_layers, "style_layers")
        check_layer_names(self.neighbor_layers, "neighbor_layers")
        if self.style_layer_weights is not None:
            _require(
                len(self.style_layer_weights) == len(self.style_layers),
                "style_layer_weights",
                f"{len(self.style_layer_weights)} weights for {len(self.style_layers)} style layers",
            )
            _require_weights(self.style_layer_weights, "style_layer_weights")
        if self.init not in INITS and not os.path.isfile(self.init):
            raise ConfigError(not_one_of("init", self.init, INITS, " nor an existing image file"))
        _require(
            math.isfinite(self.style_scale) and self.style_scale > 0,
            "style_scale",
            f"must be positive, got {self.style_scale}",
        )
        if self.style_blend_weights is not None:
            _require_weights(self.style_blend_weights, "style_blend_weights")
        _require_choice(self.preserve_colors, "preserve_colors", COLOR_MODES)
        _require_choice(self.pooling, "pooling", POOLINGS)
        _require_choice(self.precision, "precision", PRECISIONS)
        _require(self.scales >= 1, "scales", f"must be at least 1, got {self.scales}")
        _require(
            not (self.tileable and self.preserve_colors in ("luminance", "palette")),
            "tileable",
            f"not with --preserve_colors={self.preserve_colors}, which takes the photo's chroma, whose edges do not "
            "wrap around (histogram does)",
        )
        for entry in self.region_styles or ():
            _require(
                REGION_STYLE.fullmatch(entry) is not None,
                "region_styles",
                f"'{entry}' is not a style's number (1, 2, ...), numbers joined by + or keep",
            )
        _require_non_negative(self.keep_weight, "keep_weight")
        _require_non_negative(self.region_feather, "region_feather")
        _require(
            self.memory_limit_mb is None or self.memory_limit_mb > 0,
            "memory_limit_mb",
            f"must be positive, got {self.memory_limit_mb}",
        )
        _require(
            not self.neighbor_weight or any(self.layer_weights.get(n, 0) > 0 for n in self.neighbor_layers),
            "neighbor_layers",
            "none is a style layer weighted above 0 (or turn the term off: --neighbor_weight=0)",
        )
        _require(
            not self.hypercolumn_weight or set(HYPERCOLUMN_LAYERS) <= set(self.style_layers + self.content_layers),
            "hypercolumn_weight",
            f"needs {', '.join(HYPERCOLUMN_LAYERS)} among the style or content layers",
        )

    @property
    def layer_weights(self) -> dict[str, float]:
        """Per-style-layer weights w_l, normalized to sum to 1."""
        raw = self.style_layer_weights
        if raw is None:
            paper = self.style_layers == PAPER_STYLE_LAYERS
            raw = DEFAULT_STYLE_LAYER_WEIGHTS if paper else (1.0,) * len(self.style_layers)
        return {name: w / sum(raw) for name, w in zip(self.style_layers, raw)}

    def blend_weights(self, styles: int) -> tuple[float, ...]:
        """Weights of ``styles`` style images, normalized to sum to 1; ConfigError if the count differs."""
        raw = self.style_blend_weights or (1.0,) * styles
        if len(raw) != styles:
            raise ConfigError(f"--style_blend_weights: {len(raw)} weights for {styles} style images")
        return tuple(w / sum(raw) for w in raw)

    def replace(self, **changes) -> StyleTransferConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class VideoOptions:
    """How a clip is stylized beyond ``StyleTransferConfig`` (which applies to every frame)."""

    # 1000 held frames closer still but cost 23% of the judged style (bench/README.md, "Video")
    temporal_weight: float = option(
        200.0,
        "Video: weight of the temporal loss (masked mean squared difference to the previous frame's result, warped).",
    )
    # 40 was no better
    frame_steps: int = option(20, "Video: evaluations of each frame after the first (--steps: the first).")
    fill: str = option(
        "content", "Video: where flow is unreliable, a frame starts from the content or noise.", choices=FILLS
    )

    def __post_init__(self) -> None:
        _require_non_negative(self.temporal_weight, "temporal_weight")
        _require(self.frame_steps >= 1, "frame_steps", f"must be positive, got {self.frame_steps}")
        _require_choice(self.fill, "fill", FILLS)
