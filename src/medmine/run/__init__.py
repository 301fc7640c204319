"""Your own data to a report: a pipeline file run stage by stage, resumably.

`load_pipeline` reads and checks ``pipeline.yaml`` (sources, quality, de-identification,
studies) before anything runs; `run_pipeline` runs load → quality → de-identify → studies →
report, skipping each stage whose inputs have not changed since it last finished (state in
``<warehouse>.run.json``); `build_report` writes every page for an existing warehouse;
`write_starter` writes the commented starter file.

>>> from medmine.run import starter_text
>>> "sources:" in starter_text() and "studies:" in starter_text()
True
"""

from medmine.run.formats import FORMATS, SourceFormat
from medmine.run.pipeline import (
    DeidSettings,
    Pipeline,
    QualitySettings,
    Source,
    StudySpec,
    load_pipeline,
    parse_pipeline,
)
from medmine.run.rebuild import ReportBuild, build_report, study_configs
from medmine.run.runner import RunResult, StageFailedError, StageOutcome, run_pipeline
from medmine.run.starter import starter_text, write_starter

__all__ = [
    "FORMATS",
    "DeidSettings",
    "Pipeline",
    "QualitySettings",
    "ReportBuild",
    "RunResult",
    "Source",
    "SourceFormat",
    "StageFailedError",
    "StageOutcome",
    "StudySpec",
    "build_report",
    "load_pipeline",
    "parse_pipeline",
    "run_pipeline",
    "starter_text",
    "study_configs",
    "write_starter",
]
