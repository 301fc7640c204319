"""Check settings a user can change without editing code: thresholds and severities, from TOML.

A settings file overrides the registry's defaults by check type or by check id (a check id
wins over its type)::

    # quality.toml
    [thresholds]            # percent of rows a rate check may violate and still pass
    duplicate_rows = 1.0
    "within_visit_dates:condition_occurrence.condition_start_date" = 10

    [severity]              # "error": any violating row fails; "rate": the threshold decides
    paid_not_above_billed = "error"
    plausible_lab_range = "rate"

`medmine quality --config quality.toml` applies it; `medmine quality thresholds` prints the
settings in force and `--write FILE` writes them as a starting file.

>>> s = QualitySettings.from_mapping({"thresholds": {"duplicate_rows": 1}})
>>> s.threshold_for("duplicate_rows:drug_exposure", "duplicate_rows", 5.0)
1.0
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.errors import ConfigError
from medmine.quality._registry import ERROR, RATE, REGISTRY

__all__ = ["QualitySettings", "load_settings", "settings_toml"]

_SECTIONS = ("thresholds", "severity")


def _check_key(key: str, section: str, source: str) -> None:
    type_name = key.split(":", 1)[0]
    if type_name not in REGISTRY:
        raise ConfigError(
            f"{source}: [{section}] names unknown check type {type_name!r}; run `medmine "
            "quality thresholds` for the list of types and check ids."
        )


@dataclass(frozen=True)
class QualitySettings:
    """Threshold (percent) and severity overrides by check type or check id."""

    thresholds: dict[str, float] = field(default_factory=dict)
    severity: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "settings") -> QualitySettings:
        """Validate a parsed TOML document; every problem names the file, section and key."""
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise ConfigError(
                f"{source}: unknown section(s) {unknown}; expected [thresholds] and [severity]."
            )
        thresholds: dict[str, float] = {}
        for key, value in dict(data.get("thresholds", {})).items():
            _check_key(key, "thresholds", source)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"{source}: [thresholds] {key} must be a number of percent in [0, 100]. "
                    f"Got {type(value).__name__} instead."
                )
            if not 0 <= float(value) <= 100:
                raise ConfigError(
                    f"{source}: [thresholds] {key} must be in [0, 100] (percent). Got {value}."
                )
            thresholds[key] = float(value)
        severity: dict[str, str] = {}
        for key, value in dict(data.get("severity", {})).items():
            _check_key(key, "severity", source)
            if value not in (ERROR, RATE):
                raise ConfigError(
                    f"{source}: [severity] {key} must be 'error' or 'rate'. Got {value!r}."
                )
            severity[key] = value
        return cls(thresholds, severity, source)

    def threshold_for(self, check_id: str, check_type: str, default: float) -> float:
        """The threshold of `check_id` (its own, its type's, else `default`)."""
        return self.thresholds.get(check_id, self.thresholds.get(check_type, default))

    def severity_for(self, check_id: str, check_type: str, default: str) -> str:
        """The severity of `check_id` (its own, its type's, else `default`)."""
        return self.severity.get(check_id, self.severity.get(check_type, default))


def load_settings(path: str | Path | None) -> QualitySettings:
    """Read a settings file (TOML); ``None`` gives the registry's defaults."""
    if path is None:
        return QualitySettings()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"quality settings file {p} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc}); fix the file.") from None
    return QualitySettings.from_mapping(data, source=str(p))


def settings_toml(settings: QualitySettings | None = None) -> str:
    """Every check type's severity and threshold in force, as a TOML settings file."""
    s = settings or QualitySettings()
    lines = [
        "# medmine quality settings: edit and pass with `medmine quality --config FILE`.",
        "# severity: 'error' fails on any violating row; 'rate' fails above the threshold.",
        "# Keys are check types; a check id (type:table.column[:key]) overrides its type.",
        "",
        "[severity]",
    ]
    for name in sorted(REGISTRY):
        lines.append(f'{name} = "{s.severity_for(name, name, REGISTRY[name].severity)}"')
    lines += ["", "[thresholds]  # percent of rows; used by 'rate' checks"]
    for name in sorted(REGISTRY):
        lines.append(f"{name} = {s.threshold_for(name, name, REGISTRY[name].threshold_pct):g}")
    for key in sorted(k for k in s.severity if ":" in k):
        lines.insert(lines.index("[thresholds]  # percent of rows; used by 'rate' checks") - 1,
                     f'"{key}" = "{s.severity[key]}"')  # fmt: skip
    lines += [f'"{k}" = {v:g}' for k, v in sorted(s.thresholds.items()) if ":" in k]
    return "\n".join(lines) + "\n"
