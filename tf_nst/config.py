"""The one typed configuration object of a style-transfer run. Its defaults are the single source of truth:
the CLI builds its flags from them, and ``__post_init__`` checks every value."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tf_nst.errors import ConfigError
from tf_nst.features import MIN_SIDE, check_layer_names
from tf_nst.precision import PRECISIONS

PAPER_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
PAPER_CONTENT_LAYERS = ("block4_conv2",)
INITS = ("content", "noise")
POOLINGS = ("max", "avg")


@dataclass(frozen=True)
class StyleTransferConfig:
    """Settings of one run. Weights multiply scale-free losses (see ``tf_nst.losses``)."""

    max_size: int = 512  # longest side of the output in pixels; the content's aspect ratio is kept
    steps: int = 300  # Adam steps
    content_weight: float = 1.0  # alpha
    style_weight: float = 30.0  # beta
    tv_weight: float = 0.0  # total-variation smoothness
    learning_rate: float = 0.02  # Adam step size in [0, 1] pixel units
    content_layers: tuple[str, ...] = PAPER_CONTENT_LAYERS
    style_layers: tuple[str, ...] = PAPER_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None  # one per style layer; None = equal
    init: str = "content"  # starting image: content | noise
    seed: int = 0
    weights: str = "embedded"  # embedded | imagenet | path to a Keras .h5 file
    pooling: str = "max"  # max | avg
    precision: str = "auto"  # auto | float32 | bfloat16 | float16: what the feature model computes in
    scales: int = 1  # coarse-to-fine pyramid levels, each twice the size of the one before (see tf_nst.pyramid)
    style_scale: float = 1.0  # multiplies the style image's size relative to the output's longest side
    memory_limit_mb: int | None = None  # refuse runs estimated to need more; None: what the machine has free

    def __post_init__(self) -> None:
        def require(ok: bool, flag: str, message: str) -> None:
            if not ok:
                raise ConfigError(f"--{flag}: {message}")

        require(self.max_size >= MIN_SIDE, "max_size", f"must be at least {MIN_SIDE}, got {self.max_size}")
        require(self.steps > 0, "steps", f"must be positive, got {self.steps}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            require(value >= 0 and value == value, name, f"must be >= 0, got {value}")
        require(self.learning_rate > 0, "learning_rate", f"must be positive, got {self.learning_rate}")
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
            require(all(w >= 0 for w in self.style_layer_weights), "style_layer_weights", "must be >= 0")
        require(self.init in INITS, "init", f"'{self.init}' is not one of {', '.join(INITS)}")
        require(self.pooling in POOLINGS, "pooling", f"'{self.pooling}' is not one of {', '.join(POOLINGS)}")
        require(self.precision in PRECISIONS, "precision", f"'{self.precision}' is not one of {', '.join(PRECISIONS)}")
        require(self.scales >= 1, "scales", f"must be at least 1, got {self.scales}")
        require(self.style_scale > 0, "style_scale", f"must be positive, got {self.style_scale}")
        require(
            self.memory_limit_mb is None or self.memory_limit_mb > 0,
            "memory_limit_mb",
            f"must be positive, got {self.memory_limit_mb}",
        )

    @property
    def layer_weights(self) -> dict[str, float]:
        """Per-style-layer weights w_l, normalized to sum to 1."""
        raw = self.style_layer_weights or (1.0,) * len(self.style_layers)
        total = sum(raw) or 1.0
        return {name: w / total for name, w in zip(self.style_layers, raw)}

    def replace(self, **changes) -> StyleTransferConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)
