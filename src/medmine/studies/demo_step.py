"""Demo step for the prediction studies: what the bundled data support, with modest settings.

* `disease_risk` on Eunomia in the demo warehouse;
* `readmission` on the demo warehouse's own stays (Eunomia + FHIR sample): reported as too
  small when it is, never fitted on a handful of stays;
* `readmission` and `length_of_stay` on a simulated population (`medmine.synth`, known truth)
  written to a separate warehouse ``sim.duckdb`` next to the reports folder.

Fitted models are saved under ``reports/models/`` for ``medmine score``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from medmine.warehouse import Warehouse

#: Persons in the simulated population of the demo (about 11,000 stays).
SIM_PERSONS = 20_000
SIM_SEED = 0


def demo_config(model_dir: Path | None) -> Any:
    """Modest settings: small grids, 200 bootstrap replicates, 300 SHAP rows."""
    from medmine.studies._result import StudyConfig

    return StudyConfig(
        n_boot=200,
        l1_grid={"C": [0.03, 0.1, 0.3]},
        lightgbm_grid={"num_leaves": [7, 15], "n_estimators": [150]},
        shap_rows=300,
        model_dir=model_dir,
    )


def studies_step(ctx: Any) -> None:
    """Run the prediction studies, write ``study_<name>.html`` pages and add index links."""
    from medmine.studies import disease_risk, length_of_stay, readmission
    from medmine.studies._report import link_for, write_page
    from medmine.synth.population import simulate

    out = Path(ctx.reports_dir)
    models = out / "models"
    config = demo_config(models)

    def done(result: Any, started: float) -> None:
        page = write_page(result, out)
        ctx.links.append(link_for(result, page))
        ctx.console.print(f"  {result.name}: {page.name} ({time.perf_counter() - started:.0f} s)")

    with Warehouse(ctx.warehouse) as wh:
        t = time.perf_counter()
        done(disease_risk.run(wh, config), t)
        t = time.perf_counter()
        sample = readmission.run(
            wh,
            dataclasses.replace(config, model_dir=None),
            data_source=f"demo warehouse {wh.path} (Eunomia + FHIR sample)",
        )
        sample.name = "readmission_sample"
        sample.title = "30-day readmission on the bundled samples"
        done(sample, t)

    sim_path = out.resolve().parent / "sim.duckdb"
    for suffix in ("", ".wal"):
        Path(str(sim_path) + suffix).unlink(missing_ok=True)
    t = time.perf_counter()
    pop = simulate(SIM_PERSONS, seed=SIM_SEED)
    truth = pop.stays.rename(columns={"discharge_date": "index_date", "p_readmit": "p_true"})
    source = f"simulated population ({SIM_PERSONS:,} persons, seed {SIM_SEED}) in {sim_path.name}"
    with Warehouse(sim_path) as sim:
        pop.write_to(sim)
        ctx.console.print(f"  simulated {SIM_PERSONS:,} persons ({time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        done(readmission.run(sim, config, truth=truth, data_source=source), t)
        t = time.perf_counter()
        done(length_of_stay.run(sim, config, data_source=source), t)
