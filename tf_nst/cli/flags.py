"""The absl flags of a style-transfer run, defined once from ``StyleTransferConfig``'s defaults, and how an
entry point ends with an error (``fail``).

Every entry point that stylizes (``tf-nst``, ``python -m tf_nst.beam``) calls ``define_config_flags`` and
builds its one config object with ``config_from_flags``; nothing below the entry points reads flags.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import NoReturn

from absl import flags

from tf_nst.config import (
    COLOR_MODES,
    DEFAULT_STYLE_LAYER_WEIGHTS,
    OPTIMIZERS,
    POOLINGS,
    STYLE_LOSSES,
    StyleTransferConfig,
)
from tf_nst.errors import ConfigError
from tf_nst.precision import PRECISIONS

DEFAULTS = StyleTransferConfig()


def fail(message: str, status: int) -> NoReturn:
    """End the command with one line ``tf_nst: error: <message>`` on stderr and exit ``status``."""
    sys.stderr.write(f"tf_nst: error: {message}\n")
    sys.exit(status)


def _join(values) -> str:
    return ",".join(str(v) for v in values)


def define_config_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Define one flag per ``StyleTransferConfig`` field on ``flag_values`` (once; later calls do nothing)."""
    if "max_size" in flag_values:
        return
    d, fv = DEFAULTS, {"flag_values": flag_values}
    flags.DEFINE_integer("max_size", d.max_size, "Longest side of the output in pixels (>= 32).", **fv)
    flags.DEFINE_integer(
        "steps", d.steps, "VGG evaluations (one forward and backward pass each; one Adam or L-BFGS step).", **fv
    )
    flags.DEFINE_enum("optimizer", d.optimizer, OPTIMIZERS, "lbfgs (fewer evaluations to a good image) or adam.", **fv)
    flags.DEFINE_integer("history_size", d.history_size, "L-BFGS: curvature pairs remembered.", **fv)
    flags.DEFINE_float("content_weight", d.content_weight, "alpha: weight of the content loss.", **fv)
    flags.DEFINE_float("style_weight", d.style_weight, "beta: weight of the style loss.", **fv)
    flags.DEFINE_float("tv_weight", d.tv_weight, "Weight of the total-variation (smoothness) loss.", **fv)
    flags.DEFINE_float(
        "learning_rate", d.learning_rate, "Adam step size in [0, 1] pixel units (L-BFGS: first step's scale).", **fv
    )
    flags.DEFINE_list("content_layers", list(d.content_layers), "VGG-19 layers of the content loss.", **fv)
    flags.DEFINE_list("style_layers", list(d.style_layers), "VGG-19 layers of the style loss.", **fv)
    flags.DEFINE_enum(
        "style_loss",
        d.style_loss,
        STYLE_LOSSES,
        "What each style layer matches: gram (the paper's Gram matrices) or gaussian (mean and covariance, "
        "2-Wasserstein distance).",
        **fv,
    )
    flags.DEFINE_list(
        "style_layer_weights",
        None,
        "One weight per style layer (normalized to sum 1), or 'equal' (the paper's); default "
        f"{_join(DEFAULT_STYLE_LAYER_WEIGHTS)} for the paper's layers (conv5_1 off, conv4_1 half: their statistics "
        "are object parts, and matched they paste a painting's faces), else equal.",
        **fv,
    )
    flags.DEFINE_list(
        "style_blend_weights", None, "One weight per style image (normalized to sum 1); default equal.", **fv
    )
    flags.DEFINE_float(
        "style_scale", d.style_scale, "Style image size relative to the output (bigger = larger brush strokes).", **fv
    )
    flags.DEFINE_enum(
        "preserve_colors",
        d.preserve_colors,
        COLOR_MODES,
        "Keep the content's colours: luminance (after: result's luminance, content's chroma) or histogram "
        "(before: style recoloured to the content's colour mean and covariance).",
        **fv,
    )
    flags.DEFINE_string("init", d.init, "Starting image: content, noise, style, or a path to an image.", **fv)
    flags.DEFINE_integer("seed", d.seed, "Random seed (noise start, TensorFlow ops).", **fv)
    flags.DEFINE_boolean("deterministic", d.deterministic, "Turn on TensorFlow op determinism (may be slower).", **fv)
    flags.DEFINE_string(
        "weights", d.weights, "VGG-19 weights: embedded (offline), imagenet (download) or a .h5 path.", **fv
    )
    flags.DEFINE_enum("pooling", d.pooling, POOLINGS, "VGG pooling: max (VGG's own) or avg (smoother).", **fv)
    flags.DEFINE_enum(
        "precision",
        d.precision,
        PRECISIONS,
        "What VGG computes in (losses and image stay float32); auto: bfloat16 where the hardware runs it fast.",
        **fv,
    )
    flags.DEFINE_integer(
        "scales", d.scales, "Coarse-to-fine levels, each twice the size of the one before, from about 256 px.", **fv
    )
    flags.DEFINE_integer(
        "memory_limit_mb", d.memory_limit_mb, "Refuse runs estimated to need more memory (default: what is free).", **fv
    )
    flags.DEFINE_integer(
        "max_input_pixels",
        d.max_input_pixels,
        "Refuse input images with more pixels than this (before decoding).",
        **fv,
    )


def _float_list(values: list[str] | None, flag: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise ConfigError(f"--{flag}: expected comma-separated numbers, got {','.join(values)}") from None


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> StyleTransferConfig:
    """The run's one config object from parsed flags; ConfigError (naming the flag) for a bad value."""
    names = {field.name for field in dataclasses.fields(StyleTransferConfig)}
    values = {name: flag_values[name].value for name in names if name in flag_values}
    values["content_layers"] = tuple(values["content_layers"])
    values["style_layers"] = tuple(values["style_layers"])
    layer_weights = flag_values.style_layer_weights
    if layer_weights == ["equal"]:
        values["style_layer_weights"] = (1.0,) * len(values["style_layers"])
    else:
        values["style_layer_weights"] = _float_list(layer_weights, "style_layer_weights")
    values["style_blend_weights"] = _float_list(flag_values.style_blend_weights, "style_blend_weights")
    return StyleTransferConfig(**values)
