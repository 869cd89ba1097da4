"""The controls the page shows, with their defaults, help and choices taken from ``StyleTransferConfig``'s fields,
and the config of a run from a submitted form. No TensorFlow here."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError

# field: the page's label. The controls that matter most (README.md, "The ten flags that matter").
CONTROLS = {
    "max_size": "Output size (px)",
    "style_weight": "Style strength",
    "neighbor_weight": "Stroke matching",
    "preserve_colors": "Colours",
    "style_scale": "Style scale",
    "steps": "Steps",
}
_FIELDS = {field.name: field for field in dataclasses.fields(StyleTransferConfig)}


def controls(base: StyleTransferConfig) -> list[dict]:
    """The page's controls: name, label, help, kind (``int``, ``float`` or ``choice``), default (``base``'s
    value) and choices."""
    listed = []
    for name, label in CONTROLS.items():
        field = _FIELDS[name]
        choices = field.metadata.get("choices")
        kind = "choice" if choices else type(field.default).__name__
        listed.append(
            {
                "name": name,
                "label": label,
                "help": field.metadata["help"],
                "kind": kind,
                "default": getattr(base, name),
                "choices": list(choices or ()),
            }
        )
    return listed


def _number(name: str, text: str, kind: type) -> int | float:
    try:
        value = kind(text.strip())
    except ValueError:
        raise ConfigError(
            f"{CONTROLS[name]}: expected {'a whole number' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{CONTROLS[name]}: expected a finite number, got {text!r}")
    return value


def config_from_form(
    base: StyleTransferConfig, form: Mapping[str, str], weights: tuple[float, ...]
) -> StyleTransferConfig:
    """``base`` with the controls' values from ``form`` (missing ones keep ``base``'s) and the paintings' blend
    ``weights``; ConfigError naming the control for a bad value."""
    changes: dict = {"style_blend_weights": weights if len(weights) > 1 else None}
    for name in CONTROLS:
        if name not in form:
            continue
        field = _FIELDS[name]
        kind = type(field.default)
        changes[name] = form[name] if field.metadata.get("choices") else _number(name, form[name], kind)
    try:
        return base.replace(**changes)
    except ConfigError as err:
        message = str(err)
        for name, label in CONTROLS.items():
            message = message.replace(f"--{name}", label)
        raise ConfigError(message) from None


def describe(config: StyleTransferConfig) -> str:
    """The controls' values in a line: ``512 px, style strength 25, stroke matching 3, colours none, style scale
    1, 48 steps``."""
    return (
        f"{config.max_size} px, style strength {config.style_weight:g}, stroke matching {config.neighbor_weight:g}, "
        f"colours {config.preserve_colors}, style scale {config.style_scale:g}, {config.steps} steps"
    )
