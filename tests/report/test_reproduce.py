"""Study pages print the command and configuration that reproduce them."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from medmine.errors import ConfigError
from medmine.report import page_context
from medmine.report.context import PageContext
from medmine.report.reproduce import changed_options, reproduction
from medmine.report.study_pages import write_study
from medmine.studies import Study, StudyResult, get_study, parse_config
from medmine.studies.claims_fraud import FraudStudyConfig
from medmine.studies.comorbidity_rules import RulesConfig
from medmine.studies.phenotypes import PhenotypeConfig
from medmine.studies.prediction import PredictionResult, StudyConfig

DEMO_LIKE = StudyConfig(
    n_boot=50,
    l1_grid={"C": [0.03, 0.1, 0.3]},
    lightgbm_grid={"num_leaves": [7, 15], "n_estimators": [150]},
    thresholds=(0.2, 0.4),
    temporal_cutoff="2020-01-01",
    model_dir=Path("/home/someone/reports/models"),
)


def _options(command: str) -> dict[str, str]:
    """The ``-o key=value`` pairs of a printed command, as `medmine study` parses them."""
    args = shlex.split(command)
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-o")


@pytest.mark.parametrize(
    "config",
    [
        DEMO_LIKE,
        StudyConfig(),
        RulesConfig(domains=("condition",), min_support=0.1, purpose=None),
        PhenotypeConfig(k_range=(3, 5), n_bootstrap=4),
        FraudStudyConfig(contamination=0.041, consent_purpose="research"),
    ],
)
def test_printed_options_rebuild_the_same_config(config):
    ctx = PageContext("0", page_context(None).generated, "sim.duckdb")
    result = PredictionResult(name="x", cohort_summary={}, attrition=[], config=config)
    repro = reproduction(result, ctx, study="readmission")
    assert repro.command.startswith("medmine study readmission -w sim.duckdb")
    rebuilt = parse_config(type(config), _options(repro.command))
    if isinstance(config, StudyConfig) and config.model_dir is not None:
        assert rebuilt.model_dir == Path("models")  # paths by file name only
        rebuilt.model_dir = config.model_dir
    assert rebuilt == config


def test_only_options_that_differ_from_the_defaults_are_printed():
    changed = changed_options(DEMO_LIKE)
    assert set(changed) == {
        "n_boot",
        "l1_grid",
        "lightgbm_grid",
        "thresholds",
        "temporal_cutoff",
        "model_dir",
    }
    assert changed["thresholds"] == "0.2,0.4" and changed["model_dir"] == "models"
    assert changed_options(StudyConfig()) == {}


def test_a_setting_that_cannot_be_given_on_the_command_line_is_named():
    from medmine.features import CovariateSettings

    cfg = StudyConfig(covariates=CovariateSettings(windows=(365,)))
    result = PredictionResult(name="readmission", cohort_summary={}, attrition=[], config=cfg)
    repro = reproduction(result, page_context(None))
    assert "covariates" not in repro.changed
    assert any("'covariates'" in n for n in repro.notes)
    assert any(r["option"] == "covariates" and r["differs from default"] for r in repro.rows)


def test_study_run_fills_the_config_a_study_left_unset():
    class Tiny(Study):
        name = "tiny"
        title = "Tiny"
        config_class = RulesConfig

        def _run(self, wh, config):
            return StudyResult(name="tiny")

    assert Tiny().run(None, RulesConfig(min_support=0.2)).config == RulesConfig(min_support=0.2)
    assert Tiny().run(None).config == RulesConfig()


def test_dict_options_are_json_and_refused_when_not_an_object():
    cfg = get_study("readmission").make_config({"l1_grid": '{"C": [0.1]}', "model_dir": "m"})
    assert cfg.l1_grid == {"C": [0.1]} and cfg.model_dir == Path("m")
    with pytest.raises(ConfigError, match="l1_grid"):
        get_study("readmission").make_config({"l1_grid": "[1, 2]"})


def test_page_and_json_carry_command_config_and_provenance(tmp_path):
    ctx = PageContext("9.9", page_context(None).generated, "sim.duckdb", ("fhir-1", "omop-2"))
    result = PredictionResult(
        name="readmission",
        title="R",
        cohort_summary={"rows": 0},
        attrition=[],
        config=DEMO_LIKE,
        status="warn",
        notes=["too small"],
    )
    link = write_study(result, tmp_path, context=ctx, reproduce_notes=("a caveat",))
    page = (tmp_path / link.href).read_text()
    assert "medmine study readmission -w sim.duckdb" in page
    assert "l1_grid" in page and "0.03" in page  # the changed grid is on the page
    assert "Configuration as JSON" in page and "a caveat" in page
    assert "fhir-1" in page and "9.9" in page
    assert "/home/someone" not in page
    doc = json.loads((tmp_path / "study_readmission.json").read_text())
    assert doc["reproduce"]["config"]["l1_grid"] == {"C": [0.03, 0.1, 0.3]}
    assert doc["reproduce"]["options_changed_from_defaults"]["n_boot"] == "50"
    assert doc["reproduce"]["command"].startswith("medmine study readmission")
    assert doc["generated_by"]["loads"] == ["fhir-1", "omop-2"]
    assert doc["generated_by"]["warehouse"] == "sim.duckdb"
