"""How to reproduce a study page: the exact command and the configuration that produced it.

`reproduction(result, context)` compares the result's config with the study's defaults and
writes the ``medmine study`` command whose ``-o key=value`` options rebuild that config (the
same text `medmine.studies.parse_config` converts back), plus the full configuration as a
table and as JSON. A setting that cannot be given on the command line (a nested settings
object) is named in a note rather than left out silently. Paths are shown by their file name
only: folders can carry a person's name.

>>> from medmine.studies.prediction import StudyConfig
>>> changed_options(StudyConfig(n_boot=50, l1_grid={"C": [0.1]}))
{'n_boot': '50', 'l1_grid': '{"C": [0.1]}'}
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.report.context import PageContext


@dataclass(frozen=True)
class Reproduction:
    """The command and configuration behind one study result."""

    title: str
    command: str
    config: dict[str, Any]
    changed: dict[str, str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()

    @property
    def config_json(self) -> str:
        """The full configuration as indented JSON."""
        return json.dumps(self.config, indent=2, default=str)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form written into ``study_<name>.json``."""
        return {
            "command": self.command,
            "options_changed_from_defaults": dict(self.changed),
            "config": self.config,
            "notes": list(self.notes),
        }


def plain_value(value: Any) -> Any:
    """A config value as JSON-ready data (paths by file name, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return value.name
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(v) for v in value]
    return value


def option_text(value: Any) -> str:
    """The ``-o key=value`` text of a setting, as `parse_config` reads it back."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return value.name
    if isinstance(value, Mapping):
        return json.dumps(plain_value(value))
    if isinstance(value, list | tuple):
        return ",".join(option_text(v) for v in value)
    return str(value)


def settable(value: Any) -> bool:
    """Whether a setting can be given as ``-o key=value`` (nested settings objects cannot)."""
    return not (dataclasses.is_dataclass(value) and not isinstance(value, type))


def _defaults(config: Any) -> Any:
    try:
        return type(config)()
    except TypeError:  # a config with required fields: every field counts as changed
        return None


def changed_options(config: Any) -> dict[str, str]:
    """Settings of `config` that differ from its class's defaults, as option text."""
    if config is None or not dataclasses.is_dataclass(config):
        return {}
    base = _defaults(config)
    out: dict[str, str] = {}
    for f in dataclasses.fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        if base is not None and _same(value, getattr(base, f.name)):
            continue
        if settable(value):
            out[f.name] = option_text(value)
    return out


def _same(a: Any, b: Any) -> bool:
    return plain_value(a) == plain_value(b)


def study_command(study: str, warehouse: str, changed: Mapping[str, str]) -> str:
    """``medmine study NAME -w WAREHOUSE -o key=value ...`` with shell quoting."""
    parts = ["medmine", "study", study, "-w", warehouse]
    for key, text in changed.items():
        parts += ["-o", f"{key}={text}"]
    return shlex.join(parts)


def reproduction(
    result: Any,
    context: PageContext,
    *,
    study: str | None = None,
    title: str = "",
    notes: tuple[str, ...] = (),
) -> Reproduction:
    """The command and configuration that reproduce `result` on the context's warehouse.

    Parameters
    ----------
    study
        Registered study name (default ``result.name``; the demo renames some results).
    notes
        Caveats the caller knows of, e.g. a reference only the simulator can give.
    """
    config = getattr(result, "config", None)
    name = study or result.name
    changed = changed_options(config)
    all_notes = list(notes)
    rows: list[dict[str, Any]] = []
    if config is not None and dataclasses.is_dataclass(config):
        base = _defaults(config)
        for f in dataclasses.fields(config):
            value = getattr(config, f.name)
            default = getattr(base, f.name) if base is not None else None
            differs = base is None or not _same(value, default)
            rows.append(
                {
                    "option": f.name,
                    "value": _display(value),
                    "default": "" if base is None else _display(default),
                    "differs from default": "yes" if differs else "",
                }
            )
            if differs and not settable(value):
                all_notes.append(
                    f"Setting {f.name!r} differs from its default and cannot be given with "
                    "-o on the command line; it is in the configuration below (Python API)."
                )
    else:
        all_notes.append("This result records no configuration: the defaults were used.")
    if context.warehouse_arg != context.warehouse:
        all_notes.append(
            f"The warehouse was {context.warehouse}; give your warehouse file after -w."
        )
    return Reproduction(
        title=title,
        command=study_command(name, context.warehouse_arg, changed),
        config=plain_value(config) if config is not None else {},
        changed=changed,
        rows=rows,
        notes=tuple(all_notes),
    )


def _display(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.dumps(plain_value(value))
    return option_text(value)
