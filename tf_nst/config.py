"""The one typed configuration object of a style-transfer run. Its defaults are the single source of truth:
the CLI builds its flags from them, and ``__post_init__`` checks every value."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from tf_nst.errors import ConfigError
from tf_nst.layers import MIN_SIDE, check_layer_names
from tf_nst.limits import MAX_INPUT_PIXELS
from tf_nst.precision import PRECISIONS

PAPER_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
PAPER_CONTENT_LAYERS = ("block4_conv2",)
# conv5_1's statistics are object parts (faces, eyes): matched at all, even at 0.3, they pasted a portrait's face
# into the photo's water; conv4_1 at half keeps its motifs and strokes without eyes (bench/README.md, "Defaults")
DEFAULT_STYLE_LAYER_WEIGHTS = (1.0, 1.0, 1.0, 0.5, 0.0)
INITS = ("content", "noise", "style")  # or a path to an image file
COLOR_MODES = ("none", "luminance", "histogram")
POOLINGS = ("max", "avg")
OPTIMIZERS = ("adam", "lbfgs")
STYLE_LOSSES = ("gram", "gaussian")  # tf_nst.objective defines each
STEPS = 160
STYLE_WEIGHT = 15.0


@dataclass(frozen=True)
class StyleTransferConfig:
    """Settings of one run. Weights multiply scale-free losses (see ``tf_nst.losses``)."""

    # Every default below was chosen by bench/quality.py; bench/README.md ("Defaults") has the measurements.
    max_size: int = 512  # longest side of the output in pixels; the content's aspect ratio is kept
    # VGG evaluations (one forward and backward pass each) at the coarsest level; each finer level gets half.
    # 160 (+ 80 at 512 px) is the most that keeps a 512 px run within 80 float32 tutorial-loop steps
    steps: int = STEPS
    optimizer: str = "lbfgs"  # adam | lbfgs; L-BFGS reached Adam's 300-step style in 100 evaluations
    history_size: int = 20  # L-BFGS curvature pairs kept; 50 was no better, and each costs 2 images of memory
    content_weight: float = 1.0  # alpha
    style_weight: float = STYLE_WEIGHT  # beta; 30 pasted objects (moons) even with conv5_1 at 0.1; 25 kept less photo
    tv_weight: float = 1.0  # total-variation smoothness (mean absolute neighbour difference); kept, not re-tuned
    learning_rate: float = 0.02  # Adam's step size; L-BFGS's first step (no pixel moves more), in [0, 1] units
    # conv5_2 beside the paper's conv4_2 keeps the photo's objects (at the same style weight the judged content
    # distance fell 10-40%, style moved 0-8%)
    content_layers: tuple[str, ...] = ("block4_conv2", "block5_conv2")
    style_layers: tuple[str, ...] = PAPER_STYLE_LAYERS
    # gram | gaussian (mean and covariance): at 512 px gaussian's style distance was about 0.6x gram's at the same
    # evaluations and content, with the painting's strokes in sky and water instead of smooth colour
    style_loss: str = "gaussian"
    # one per style layer; None: DEFAULT_STYLE_LAYER_WEIGHTS for the paper's layers, equal weights for others
    style_layer_weights: tuple[float, ...] | None = None
    init: str = "content"  # start from the photo: it keeps the subject, and noise needs many more evaluations
    seed: int = 0
    deterministic: bool = False  # TensorFlow op determinism (bit-identical reruns, some speed cost)
    style_blend_weights: tuple[float, ...] | None = None  # one per style image; None = equal
    style_scale: float = 1.0  # style image's longest side relative to the output's
    preserve_colors: str = "none"  # none | luminance | histogram
    max_input_pixels: int = MAX_INPUT_PIXELS  # larger input images are refused before decoding
    weights: str = "embedded"  # embedded | imagenet | path to a Keras .h5 file
    pooling: str = "max"  # max | avg; max is what VGG's weights were trained with (avg not re-tuned)
    precision: str = "auto"  # auto | float32 | bfloat16 | float16: what the feature model computes in
    # coarse-to-fine levels, each twice the size of the one before (tf_nst.pyramid); a half-size start costs a
    # quarter per evaluation and gave a better style at 512 px in fewer full-size evaluations than one level
    scales: int = 2
    memory_limit_mb: int | None = None  # refuse runs estimated to need more; None: what the machine has free

    def __post_init__(self) -> None:
        def require(ok: bool, flag: str, message: str) -> None:
            if not ok:
                raise ConfigError(f"--{flag}: {message}")

        def require_weights(weights: tuple[float, ...], flag: str) -> None:
            require(all(math.isfinite(w) and w >= 0 for w in weights), flag, "must be finite numbers >= 0")
            require(sum(weights) > 0, flag, "must not all be 0")

        require(self.max_size >= MIN_SIDE, "max_size", f"must be at least {MIN_SIDE}, got {self.max_size}")
        require(self.steps > 0, "steps", f"must be positive, got {self.steps}")
        require(self.optimizer in OPTIMIZERS, "optimizer", f"'{self.optimizer}' is not one of {', '.join(OPTIMIZERS)}")
        require(
            self.style_loss in STYLE_LOSSES,
            "style_loss",
            f"'{self.style_loss}' is not one of {', '.join(STYLE_LOSSES)}",
        )
        require(self.history_size >= 1, "history_size", f"must be at least 1, got {self.history_size}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            require(math.isfinite(value) and value >= 0, name, f"must be a finite number >= 0, got {value}")
        require(
            math.isfinite(self.learning_rate) and self.learning_rate > 0,
            "learning_rate",
            f"must be a finite number > 0, got {self.learning_rate}",
        )
        require(self.max_input_pixels > 0, "max_input_pixels", f"must be positive, got {self.max_input_pixels}")
        require(len(self.content_layers) > 0, "content_layers", "name at least one layer")
        require(len(self.style_layers) > 0, "style_layers", "name at least one layer")
        check_layer_names(self.content_layers, "content_layers")
        check_layer_names(self.style_layers, "style_layers")
        if self.style_layer_weights is not None:
            require(
                len(self.style_layer_weights) == len(self.style_layers),
                "style_layer_weights",
                f"{len(self.style_layer_weights)} weights for {len(self.style_layers)} style layers",
            )
            require_weights(self.style_layer_weights, "style_layer_weights")
        require(
            self.init in INITS or os.path.isfile(self.init),
            "init",
            f"'{self.init}' is not one of {', '.join(INITS)} nor an existing image file",
        )
        require(
            math.isfinite(self.style_scale) and self.style_scale > 0,
            "style_scale",
            f"must be positive, got {self.style_scale}",
        )
        if self.style_blend_weights is not None:
            require_weights(self.style_blend_weights, "style_blend_weights")
        require(
            self.preserve_colors in COLOR_MODES,
            "preserve_colors",
            f"'{self.preserve_colors}' is not one of {', '.join(COLOR_MODES)}",
        )
        require(self.pooling in POOLINGS, "pooling", f"'{self.pooling}' is not one of {', '.join(POOLINGS)}")
        require(self.precision in PRECISIONS, "precision", f"'{self.precision}' is not one of {', '.join(PRECISIONS)}")
        require(self.scales >= 1, "scales", f"must be at least 1, got {self.scales}")
        require(
            self.memory_limit_mb is None or self.memory_limit_mb > 0,
            "memory_limit_mb",
            f"must be positive, got {self.memory_limit_mb}",
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
