"""Runnable end-to-end analyses: a cohort, models, evaluation, a report page.

`STUDIES` maps a study name to a *runner* ``runner(wh, out_dir) -> ReportLink``: it runs the
study with its default configuration on warehouse `wh`, writes ``out_dir/study_<name>.html``
and returns the index link. ``medmine study NAME`` dispatches through it; stages add their own
studies with `register` (a name registered twice is an error). Runners import their module
lazily, so importing this package stays cheap.

Prediction studies also offer ``run(wh, config) -> StudyResult`` in their module
(`readmission`, `disease_risk`, `length_of_stay`) for use from Python.

>>> {"readmission", "disease_risk", "length_of_stay"} <= set(STUDIES)
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Study name -> runner ``(wh, out_dir, **options) -> ReportLink``.
STUDIES: dict[str, Callable[..., Any]] = {}


def register(name: str, runner: Callable[..., Any]) -> None:
    """Add a study runner under `name` (refused if the name is taken)."""
    if name in STUDIES:
        raise ValueError(f"study {name!r} is already registered")
    STUDIES[name] = runner


def audit_study(wh: Any, name: str, summary: str, purpose: str = "research") -> bool:
    """Append a ``study`` entry (name, purpose, one-line summary) to the warehouse audit log.

    Returns False without writing when the warehouse is open read-only (nothing can be
    written there); studies run through `STUDIES` and the demo open it writable.
    """
    if getattr(wh, "read_only", False):
        return False
    from medmine.warehouse.audit import append

    append(wh.con, None, "study", object=name, purpose=purpose, detail={"summary": summary})
    return True


def lazy_runner(module: str, attribute: str = "run_page") -> Callable[..., Any]:
    """A runner that imports ``medmine.studies.<module>`` only when called; audited."""

    def runner(wh: Any, out_dir: str | Path, **options: Any) -> Any:
        mod = importlib.import_module(f"medmine.studies.{module}")
        link = getattr(mod, attribute)(wh, Path(out_dir), **options)
        audit_study(wh, module, getattr(link, "summary", ""))
        return link

    runner.__name__ = f"run_{module}"
    runner.__doc__ = f"Run study {module!r} and write its page (imports it lazily)."
    return runner


for _name in ("readmission", "disease_risk", "length_of_stay"):
    register(_name, lazy_runner(_name))
for _name in ("phenotypes", "comorbidity_rules", "claims_fraud"):
    register(_name, lazy_runner(_name))
