"""Helpers for the project's config dataclasses (STARConfig, TrainConfig, the profile sections)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

#: A value as TOML gives it (:mod:`tomllib`): what a profile table holds before it is validated into a config.
TomlValue = str | int | float | bool | list["TomlValue"] | dict[str, "TomlValue"]


class ConfigError(ValueError):
    """A config that cannot be built: an unknown field, a value of the wrong type or out of range, or switches
    that contradict each other. The message names the field and where the value came from (a ValueError, so
    ``except ValueError`` still catches it)."""


def field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()                   # type: ignore[misc]
    return dataclasses.MISSING


def sparse_asdict(instance: Any) -> dict[str, Any]:
    """The fields of a dataclass instance that differ from their defaults (tuples as lists, JSON-ready).

    Run folders are named by a hash of this dict, so a field added later never renames existing runs, and two
    configs that mean the same thing always hash alike. Defaults are therefore part of the meaning of a saved
    config: a default is never changed in place (a new behaviour gets a new field or value).
    """
    out = {}
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if value != field_default(f):
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def check_keys(cls: type, data: Mapping[str, Any], where: str) -> None:
    """Raise a ValueError naming ``where`` (a file and table) if ``data`` has keys that are not fields of ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known keys: {', '.join(sorted(known))}")


def _check_value(name: str, value: Any, hint: Any, where: str) -> Any:
    """``value`` as the type ``hint`` names (lists become tuples); a ValueError naming ``where`` otherwise."""
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    bad = ConfigError(f"{where}: {name} = {value!r} is not {getattr(hint, '__name__', hint)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            raise bad
        return tuple(_check_value(f"{name}[{i}]", v, t, where) for i, (t, v) in enumerate(zip(items, value)))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad
    if hint in (bool, str) and not isinstance(value, hint):
        raise bad
    return value


#: The range of a number a config takes from a file when its class names none for the field (``NUMBER_RANGES``).
DEFAULT_RANGE: tuple[float, float] = (0, 10**8)


def number_range(cls: type, name: str) -> tuple[float, float]:
    """``(lowest, highest)`` a numeric field of ``cls`` may take: its class's ``NUMBER_RANGES`` entry, else
    :data:`DEFAULT_RANGE` (so a section added later is bounded too)."""
    return getattr(cls, "NUMBER_RANGES", {}).get(name, DEFAULT_RANGE)


def check_numbers(cls: type, values: Mapping[str, Any], where: str) -> None:
    """Every number in ``values`` (tuple items included) is finite and within :func:`number_range` of its
    field; else a :class:`ConfigError` naming ``where``, the field and the range."""
    import math

    for name, value in values.items():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            low, high = number_range(cls, name)
            if not (math.isfinite(item) and low <= item <= high):
                raise ConfigError(f"{where}: {name} = {item!r} is out of range; give a finite number from {low:g} "
                                  f"to {high:g}")


def build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """An instance of the dataclass ``cls`` from TOML-like ``data``: unknown keys, values of the wrong type and
    numbers out of range (:func:`check_numbers`) are errors that name ``where`` and the key; missing keys take
    the field's default."""
    import typing

    check_keys(cls, data, where)
    hints = typing.get_type_hints(cls)
    values = {k: _check_value(k, v, hints[k], where) for k, v in data.items()}
    check_numbers(cls, values, where)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
