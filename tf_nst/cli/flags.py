"""The absl flags of a command, made from the fields of its option dataclasses, and how a command ends with an
error (``fail``).

Each field declared with ``tf_nst.config.option`` is one flag: its name (or ``option``'s ``flag``), default,
help and choices come from the field, its kind from the field's type (a tuple of strings or numbers is a
comma-separated list, and its choices are words it may be instead). A field whose default is itself such a
dataclass (``RunOptions.video_options``) adds that dataclass's flags. ``define_flags`` defines them,
``from_flags`` builds the dataclass back from parsed flags. Flags are read in the commands' entry points only;
this module imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Iterator
from typing import Any, NoReturn, TypeVar

from absl import flags

from tf_nst.errors import ConfigError

T = TypeVar("T")


def fail(message: str, status: int) -> NoReturn:
    """End the command with one line ``tf_nst: error: <message>`` on stderr and exit ``status``."""
    sys.stderr.write(f"tf_nst: error: {message}\n")
    sys.exit(status)


def _flag_name(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or field.name


def _base_type(annotation: Any) -> Any:
    """``X`` of ``X | None``; ``annotation`` itself otherwise."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if typing.get_origin(annotation) in (typing.Union, _UNION) and len(args) == 1 else annotation


_UNION = type(int | None)


def _fields(options_type: type) -> Iterator[tuple[dataclasses.Field, Any]]:
    """The fields of ``options_type`` that are flags, with their resolved types (nested option types included)."""
    hints = typing.get_type_hints(options_type)
    for field in dataclasses.fields(options_type):
        if "help" in field.metadata:
            yield field, _base_type(hints[field.name])
        elif dataclasses.is_dataclass(field.default):
            yield from _fields(type(field.default))


def _is_list(kind: Any) -> bool:
    return typing.get_origin(kind) is tuple and typing.get_args(kind)[1:] == (Ellipsis,)


def define_flags(options_type: type, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Define one flag per option field of ``options_type`` on ``flag_values`` (a flag already there is kept)."""
    for field, kind in _fields(options_type):
        name, default, help_text = _flag_name(field), field.default, field.metadata["help"]
        if name in flag_values:
            continue
        common = {"flag_values": flag_values}
        if _is_list(kind):
            flags.DEFINE_list(name, None if default is None else list(default), help_text, **common)
        elif field.metadata.get("choices"):
            flags.DEFINE_enum(name, default, field.metadata["choices"], help_text, **common)
        elif kind is bool:
            flags.DEFINE_boolean(name, default, help_text, **common)
        elif kind is int:
            flags.DEFINE_integer(name, default, help_text, **common)
        elif kind is float:
            flags.DEFINE_float(name, default, help_text, **common)
        else:  # a string, or a value parsed from one (RunOptions.frames)
            flags.DEFINE_string(name, default, help_text, **common)


def _float_list(values: list[str], flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in values)
    except ValueError:
        raise ConfigError(f"--{flag}: expected comma-separated numbers, got {','.join(values)}") from None


def _value(field: dataclasses.Field, kind: Any, flag_value: Any, parsers: dict) -> Any:
    name = _flag_name(field)
    if flag_value is None:
        return None
    if name in parsers:
        return parsers[name](flag_value)
    if _is_list(kind):
        if flag_value and flag_value[0] in (field.metadata.get("choices") or ()):
            return flag_value[0]  # a word a list of numbers may be instead (style_layer_weights=equal)
        if typing.get_args(kind)[0] is float:
            return _float_list(flag_value, name)
        return tuple(flag_value)
    return flag_value


def from_flags(
    options_type: type[T], flag_values: flags.FlagValues = flags.FLAGS, parsers: dict | None = None, **given
) -> T:
    """An ``options_type`` from parsed flags (nested option types too); ``parsers`` maps a flag name to a
    function of its text (for values that are not plain text), ``given`` sets fields that are not flags.
    ConfigError, naming the flag, for a bad value."""
    parsers = parsers or {}
    values = {}
    hints = typing.get_type_hints(options_type)
    for field in dataclasses.fields(options_type):
        if field.name in given:
            values[field.name] = given[field.name]
        elif "help" in field.metadata and _flag_name(field) in flag_values:
            kind = _base_type(hints[field.name])
            values[field.name] = _value(field, kind, flag_values[_flag_name(field)].value, parsers)
        elif dataclasses.is_dataclass(field.default):
            values[field.name] = from_flags(type(field.default), flag_values, parsers)
    return options_type(**values)


def flag_names(options_type: type) -> list[str]:
    """The names of the flags made from ``options_type``'s fields."""
    return [_flag_name(field) for field, _ in _fields(options_type)]
