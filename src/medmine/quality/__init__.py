"""Data quality: Kahn-framework checks, profiling, patient linkage, codes and units.

>>> from medmine.warehouse import Warehouse
>>> from medmine.quality import run_checks
>>> run = run_checks(Warehouse(":memory:"), store=False)
>>> run.summary["check_types"] >= 25
True
"""

from medmine.quality.checks import (
    CheckInstance,
    CheckResult,
    QualityRun,
    Status,
    instantiate,
    load_run,
    run_checks,
)

__all__ = [
    "CheckInstance",
    "CheckResult",
    "QualityRun",
    "Status",
    "instantiate",
    "load_run",
    "run_checks",
]
