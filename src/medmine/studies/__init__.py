"""Runnable end-to-end analyses under one contract: ``Study.run(wh, config) -> StudyResult``.

The registry maps a study name to the module that defines its `Study` object (``STUDY``);
modules are imported only when a study is asked for, so listing studies stays cheap. Stages
add their own with `register` (a name registered twice is an error). Rendering is not done
here: `medmine.report` writes a result's page and machine-readable outputs.

>>> {"readmission", "disease_risk", "length_of_stay"} <= set(study_names())
True
"""

from __future__ import annotations

import importlib
from typing import Any

from medmine.errors import ConfigError
from medmine.studies.contract import (
    FunctionStudy,
    MissingDataError,
    Study,
    StudyResult,
    parse_config,
)

__all__ = [
    "Study",
    "FunctionStudy",
    "MissingDataError",
    "StudyResult",
    "audit_study",
    "get_study",
    "parse_config",
    "register",
    "study_names",
]

#: Study name -> module defining ``STUDY`` (imported lazily).
_REGISTRY: dict[str, str] = {}


def register(name: str, module: str) -> None:
    """Add a study under `name`, defined as ``STUDY`` in `module` (refused if name is taken)."""
    if name in _REGISTRY:
        raise ValueError(f"study {name!r} is already registered")
    _REGISTRY[name] = module


def study_names() -> list[str]:
    """Registered study names, sorted."""
    return sorted(_REGISTRY)


def get_study(name: str) -> Study:
    """The `Study` registered as `name`.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the registered ones).
    """
    if name not in _REGISTRY:
        raise ConfigError(f"unknown study {name!r}; choose one of: {', '.join(study_names())}")
    study = importlib.import_module(_REGISTRY[name]).STUDY
    if study.name != name:
        raise ValueError(f"module {_REGISTRY[name]} defines study {study.name!r}, not {name!r}")
    return study


def audit_study(wh: Any, name: str, summary: str, purpose: str = "research") -> bool:
    """Append a ``study`` entry (name, purpose, one-line summary) to the warehouse audit log.

    Returns False without writing when the warehouse is open read-only (nothing can be
    written there); the CLI and the demo open it writable.
    """
    if getattr(wh, "read_only", False):
        return False
    from medmine.warehouse.audit import append

    append(wh.con, None, "study", object=name, purpose=purpose, detail={"summary": summary})
    return True


for _name in (
    "readmission",
    "disease_risk",
    "length_of_stay",
    "phenotypes",
    "comorbidity_rules",
    "claims_fraud",
    "drug_safety",
    "operations_forecast",
    "pharmacogenomics",
):
    register(_name, f"medmine.studies.{_name}")
# a module named `surveillance` would read like the stage package of that name
register("surveillance", "medmine.studies.syndromic_surveillance")
