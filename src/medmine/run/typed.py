"""YAML values to the declared types of dataclass fields, with errors that say where.

`yaml.safe_load` already gives numbers, booleans, dates, lists and mappings; this module checks
them against each field's type hint (``int``, ``float``, ``bool``, ``str``, ``Path``,
``datetime.date``, ``tuple[...]``, ``dict``, optional ``None``, nested dataclasses) and says
what was expected where something else was given. Relative paths are resolved against the
folder of the pipeline file.

>>> from dataclasses import dataclass
>>> @dataclass
... class Settings:
...     n_boot: int = 200
...     models: tuple[str, ...] = ("l1_logistic",)
>>> build(Settings, {"n_boot": 20, "models": ["lightgbm"]}, "pipeline.yaml: studies.x", Path("."))
Settings(n_boot=20, models=('lightgbm',))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError

__all__ = ["build", "convert", "describe", "mapping"]

_NONE = type(None)


def describe(raw: Any) -> str:
    """A short description of a YAML value for messages (settings, never data values)."""
    if raw is None:
        return "nothing (an empty value)"
    if isinstance(raw, bool):
        return f"{str(raw).lower()} (a boolean)"
    if isinstance(raw, int | float):
        return f"{raw!r} (a number)"
    if isinstance(raw, str):
        return f"{raw!r} (text)"
    if isinstance(raw, Mapping):
        return "a mapping (key: value lines)"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dt.date):
        return f"the date {raw.isoformat()}"
    return type(raw).__name__


def type_name(tp: Any) -> str:
    """How a type hint reads in a message."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not _NONE]
        text = " or ".join(names)
        return f"{text} (or empty)" if _NONE in args else text
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {type_name(args[0])}"
        return f"a list of {len(args)} items ({', '.join(type_name(a) for a in args)})"
    if tp is dict or origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return f"a mapping of {tp.__name__} settings"
    return {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text",
        Path: "a path",
        dt.date: "a date (YYYY-MM-DD)",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _wrong(where: str, tp: Any, raw: Any) -> ConfigError:
    return ConfigError(f"{where} must be {type_name(tp)}; got {describe(raw)}")


def mapping(raw: Any, where: str, what: str = "settings") -> Mapping[str, Any]:
    """`raw` as a mapping with text keys (None is an empty mapping)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where} must be a mapping of {what} (key: value lines); got {describe(raw)}"
        )
    bad = [k for k in raw if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{where}: keys must be text; got {describe(bad[0])}")
    return raw


def unknown_keys(raw: Mapping[str, Any], known: typing.Iterable[str], where: str) -> None:
    """Refuse keys of `raw` that are not in `known`, listing the known ones."""
    known = sorted(known)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}; fix the spelling "
            "or remove the key"
        )


def build(cls: type, raw: Any, where: str, base: Path) -> Any:
    """An instance of dataclass `cls` from a YAML mapping (None or absent: the defaults).

    Calls the instance's ``validate()`` when it has one.

    Raises
    ------
    ConfigError
        For an unknown key (the known ones are listed) or a value of the wrong type.
    """
    raw = mapping(raw, where)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown_keys(raw, fields, where)
    hints = typing.get_type_hints(cls)
    values = {k: convert(v, hints.get(k, Any), f"{where}.{k}", base) for k, v in raw.items()}
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return obj


def convert(raw: Any, tp: Any, where: str, base: Path) -> Any:
    """`raw` (from YAML) as a value of type `tp`; relative paths are taken from `base`.

    Raises
    ------
    ConfigError
        When `raw` cannot be a `tp`, naming `where`, the expected type and what was given.
    """
    if tp is Any or tp is object:
        return raw
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if raw is None:
            if _NONE in args:
                return None
            raise _wrong(where, tp, raw)
        choices = [a for a in args if a is not _NONE]
        for a in choices:
            try:
                return convert(raw, a, where, base)
            except ConfigError:
                if len(choices) == 1:
                    raise
        raise _wrong(where, tp, raw)
    if raw is None:
        raise ConfigError(
            f"{where} must be {type_name(tp)}; got nothing (an empty value); give a value or "
            "remove the key to keep the default"
        )
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, raw, where, base)
    if origin is tuple or tp is tuple:
        return _tuple(raw, args, where, base, tp)
    if tp is dict or origin is dict:
        return dict(mapping(raw, where))
    if tp is Path:
        if not isinstance(raw, str) or not raw.strip():
            raise _wrong(where, tp, raw)
        p = Path(raw).expanduser()
        return p if p.is_absolute() else base / p
    if tp is dt.date:
        return _date(raw, where)
    return _scalar(raw, tp, where)


def _tuple(raw: Any, args: tuple[Any, ...], where: str, base: Path, tp: Any) -> tuple[Any, ...]:
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        raw = [raw]  # one item may be written without brackets
    if not isinstance(raw, list):
        raise _wrong(where, tp, raw)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(convert(v, args[0], f"{where}[{i}]", base) for i, v in enumerate(raw))
    if args:
        if len(raw) != len(args):
            raise _wrong(where, tp, raw)
        pairs = enumerate(zip(raw, args, strict=True))
        return tuple(convert(v, a, f"{where}[{i}]", base) for i, (v, a) in pairs)
    return tuple(raw)


def _date(raw: Any, where: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise _wrong(where, dt.date, raw)


def _scalar(raw: Any, tp: Any, where: str) -> Any:
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        raise _wrong(where, tp, raw)
    if tp is str:
        if isinstance(raw, str):
            return raw
        raise _wrong(where, tp, raw)
    if isinstance(raw, bool):
        raise _wrong(where, tp, raw)
    if tp is int:
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        raise _wrong(where, tp, raw)
    if tp is float:
        try:
            value = float(raw) if isinstance(raw, int | float | str) else math.nan
        except ValueError:
            value = math.nan
        if math.isnan(value) or math.isinf(value):
            raise _wrong(where, tp, raw)
        return value
    raise ConfigError(f"{where}: {type_name(tp)} cannot be set in a pipeline file")
