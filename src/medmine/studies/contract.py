"""The one study contract: a `Study` with a name and a typed config runs on a warehouse and
returns a `StudyResult` that the report layer renders and writes as machine-readable output.

Every study (prediction, phenotypes, rules, fraud and those to come) follows it:

* ``Study.config_class`` is a dataclass; `Study.make_config` builds it from options, refusing
  unknown names and converting text (from the command line) to each field's type;
* `Study.run` checks that the warehouse holds what the study needs (`Study.requires`) and
  raises `MissingDataError` naming what is missing: a study never substitutes simulated data;
* a `StudyResult` carries a one-line `summary`, JSON-ready `key_figures`, the
  `output_tables` written as Parquet/CSV beside the page, and the `config` it was run with
  (the page prints it with the command that reproduces it).

>>> from medmine.studies import get_study
>>> get_study("readmission").make_config({"n_boot": "50"}).n_boot
50
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from medmine.errors import ConfigError, MedmineError


class MissingDataError(MedmineError):
    """The warehouse lacks data a study needs (the message says which and how to load it)."""


@dataclass(kw_only=True)
class StudyResult:
    """What every study returns: identity, status and notes, plus three output views.

    Subclasses add their own fields and override `summary`, `key_figures` and
    `output_tables`; the report layer renders any of them from those views and its own
    per-type page. `config` is the study's config object the result was computed with
    (`Study.run` fills it when a study leaves it unset).
    """

    name: str = ""
    title: str = ""
    data_source: str = ""
    status: str = "ok"  # ok | warn | fail
    notes: list[str] = field(default_factory=list)
    config: Any = None

    def summary(self) -> str:
        """One line for the report index and the command line."""
        return self.status

    def key_figures(self) -> dict[str, Any]:
        """Headline figures as JSON-ready values (written as ``study_<name>.json``)."""
        return {}

    def output_tables(self) -> dict[str, pd.DataFrame]:
        """Result tables by file stem (written as Parquet and CSV beside the page)."""
        return {}


class Study(ABC):
    """A runnable analysis: ``run(wh, config) -> StudyResult``.

    Attributes
    ----------
    name, title
        Registry name and page title.
    config_class
        Dataclass of the study's settings.
    requires
        ``(table, what to do when it is empty)`` pairs checked before running.
    """

    name: str
    title: str
    config_class: type
    requires: tuple[tuple[str, str], ...] = ()

    def make_config(self, options: Mapping[str, Any] | None = None) -> Any:
        """Build the config from `options`; unknown names and unparsable values are refused."""
        return parse_config(self.config_class, options or {}, owner=f"study {self.name!r}")

    def check_data(self, wh: Any) -> None:
        """Raise `MissingDataError` when a required table is empty."""
        missing = [(t, hint) for t, hint in self.requires if not wh.count(t)]
        if missing:
            what = "; ".join(f"{t} is empty ({hint})" for t, hint in missing)
            raise MissingDataError(f"study {self.name!r} cannot run on warehouse {wh.path}: {what}")

    def run(self, wh: Any, config: Any = None) -> StudyResult:
        """Check the data, then run with `config` (default settings when None)."""
        if config is None:
            config = self.make_config()
        elif not isinstance(config, self.config_class):
            raise ConfigError(
                f"study {self.name!r} takes a {self.config_class.__name__}; "
                f"got {type(config).__name__} instead"
            )
        self.check_data(wh)
        result = self._run(wh, config)
        if result.config is None:
            result.config = config
        return result

    @abstractmethod
    def _run(self, wh: Any, config: Any) -> StudyResult:
        """Run the analysis (data already checked)."""


class FunctionStudy(Study):
    """A study whose analysis is a module-level ``run(wh, config)`` function.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Cfg:
    ...     n: int = 1
    >>> s = FunctionStudy("demo", "Demo", Cfg, lambda wh, cfg: StudyResult(name="demo"))
    >>> s.make_config({"n": "3"}).n
    3
    """

    def __init__(
        self,
        name: str,
        title: str,
        config_class: type,
        run: Callable[[Any, Any], StudyResult],
        requires: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.name = name
        self.title = title
        self.config_class = config_class
        self.requires = requires
        self._fn = run

    def _run(self, wh: Any, config: Any) -> StudyResult:
        return self._fn(wh, config)


def parse_config(cls: type, options: Mapping[str, Any], *, owner: str = "") -> Any:
    """Instantiate dataclass `cls` from `options`, converting strings to the field types.

    Raises
    ------
    ConfigError
        For an unknown option (the message lists the known ones) or a value that does not
        convert to its field's type.
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} for {owner or cls.__name__}; "
            f"known: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, raw in options.items():
        try:
            values[key] = _convert(raw, hints.get(key, Any))
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"option {key!r} of {owner or cls.__name__} must be {_type_name(hints.get(key))}; "
                f"got {raw!r} ({exc})"
            ) from None
    return cls(**values)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(raw: Any, tp: Any) -> Any:
    """Convert `raw` (often a string from the command line) to type `tp`."""
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("", "none", "null") and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(raw, a)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors))
    if origin is tuple:
        inner = args[0] if args else str
        return tuple(_convert(p.strip(), inner) for p in raw.split(",") if p.strip())
    if tp is bool:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if tp is int:
        return int(raw)
    if tp is float:
        v = float(raw)
        if math.isnan(v):
            raise ValueError("NaN is not a setting")
        return v
    if tp is str or tp is Any:
        return raw
    if tp is dict or origin is dict:
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError('expected a JSON object such as {"C": [0.1, 0.3]}')
        return value
    if tp is Path:
        return Path(raw)
    raise TypeError(f"{_type_name(tp)} cannot be set from the command line")
