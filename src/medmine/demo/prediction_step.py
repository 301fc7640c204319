"""The prediction step of the demo: what the bundled data support, with modest settings.

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

from medmine.report import page_context
from medmine.report.labs import lab_units
from medmine.report.scoring_page import write_score_page
from medmine.report.study_pages import write_study
from medmine.studies import audit_study, disease_risk, length_of_stay, readmission
from medmine.studies.prediction import StudyConfig
from medmine.studies.scoring import score_person
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse

#: Persons in the simulated population of the demo (about 11,000 stays).
SIM_PERSONS = 20_000
SIM_SEED = 0
#: What the study command cannot reproduce on the simulated population's page.
TRUTH_NOTE = (
    "The row 'true risk (simulator)' uses the simulator's known risks and is computed only by "
    "'medmine demo'; the command reproduces every other figure on sim.duckdb, which the demo "
    "writes next to the reports folder.",
)


def demo_config(model_dir: Path | None) -> Any:
    """Modest settings: small grids, 200 bootstrap replicates, 300 SHAP rows."""
    return StudyConfig(
        n_boot=200,
        l1_grid={"C": [0.03, 0.1, 0.3]},
        lightgbm_grid={"num_leaves": [7, 15], "n_estimators": [150]},
        shap_rows=300,
        model_dir=model_dir,
    )


def studies_step(ctx: Any) -> None:
    """Run the prediction studies, write ``study_<name>.html`` pages and add index links."""
    out = Path(ctx.reports_dir)
    models = out / "models"
    config = demo_config(models)

    def done(result: Any, started: float, wh: Any = None, **options: Any) -> None:
        link = write_study(result, out, **options)
        ctx.links.append(link)
        if wh is not None:
            audit_study(wh, result.name, link.summary)
        ctx.console.print(f"  {result.name}: {link.href} ({time.perf_counter() - started:.0f} s)")

    with Warehouse(ctx.warehouse) as wh:
        page = page_context(wh, command="medmine demo")
        t = time.perf_counter()
        done(disease_risk.run(wh, config), t, wh, context=page)
        t = time.perf_counter()
        sample = readmission.run(
            wh,
            dataclasses.replace(config, model_dir=None),
            data_source=f"demo warehouse {page.warehouse} (Eunomia + FHIR sample)",
        )
        sample.name = "readmission_sample"
        sample.title = "30-day readmission on the bundled samples"
        done(sample, t, wh, context=page, study="readmission")

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
        sim_page = page_context(sim, command="medmine demo")
        t = time.perf_counter()
        readm = readmission.run(sim, config, truth=truth, data_source=source)
        done(readm, t, context=sim_page, reproduce_notes=TRUTH_NOTE)
        if "LightGBM" in readm.saved_models:
            ctx.links.append(_score_example(sim, readm, out))
        t = time.perf_counter()
        done(length_of_stay.run(sim, config, data_source=source), t, context=sim_page)


def _score_example(wh: Any, result: Any, out: Path) -> Any:
    """Score one person with the saved readmission model and write ``score_example.html``."""
    model = result.saved_models["LightGBM"]
    row = wh.df(
        "SELECT person_id, max(visit_end_date) AS d FROM visit_occurrence "
        "WHERE visit_concept_id = 9201 GROUP BY 1 ORDER BY 1 LIMIT 1"
    ).iloc[0]
    s = score_person(model, wh, int(row.person_id), row.d)
    command = (
        f"medmine score --model reports/models/{model.name} --person {s.person_id} "
        f"--index-date {s.index_date} --warehouse sim.duckdb"
    )
    return write_score_page(
        out / "score_example.html",
        s,
        str(model.relative_to(out)),
        command,
        title="Scoring one person (saved readmission model)",
        context=page_context(wh, command="medmine demo"),
        units=lab_units(wh),
    )
