"""The surveillance and operations step of the demo: syndromic outbreak detection and
admissions / ED / census forecasts on the demo warehouse.

The sample warehouse is small (a few thousand persons): its dense years are 2009-2019 (the
Eunomia sample), so the demo monitors that window; the pages warn where series are too
sparse for a method. The detector evaluation on simulated outbreaks is part of the
surveillance study itself (the study's own simulator, named on the page).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from medmine.report import page_context
from medmine.report.study_pages import write_study
from medmine.studies import audit_study, get_study

#: Window and settings of the demo (the sample's dense years; see the module docstring).
SURVEILLANCE_OPTIONS = {"start": "2009-01-05", "end": "2019-06-24", "eval_n": "5"}
FORECAST_OPTIONS = {"start": "2016-01-01", "end": "2018-12-31", "n_origins": "6"}


def surveillance_step(ctx: Any) -> None:
    """Run the surveillance and operations_forecast studies and add their pages."""
    from medmine.warehouse import Warehouse

    out = Path(ctx.reports_dir)
    with Warehouse(ctx.warehouse) as wh:
        page = page_context(wh, command="medmine demo")
        for name, options in (
            ("surveillance", SURVEILLANCE_OPTIONS),
            ("operations_forecast", FORECAST_OPTIONS),
        ):
            t = time.perf_counter()
            study = get_study(name)
            result = study.run(wh, study.make_config(options))
            link = write_study(result, out, context=page)
            audit_study(wh, name, link.summary)
            ctx.links.append(link)
            ctx.console.print(f"  {link.title}: {link.href} ({time.perf_counter() - t:.0f} s)")
