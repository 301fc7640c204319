"""The pipeline file is checked in full before anything runs: keys, types, paths, studies."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import secrets

import pytest

from medmine.errors import ConfigError
from medmine.features import CovariateSettings
from medmine.privacy.pseudonym import KEY_ENV
from medmine.run import FORMATS, load_pipeline, starter_text, write_starter

from .conftest import FAST_CHECKS, pipeline_doc, write_pipeline


def test_parses_sources_quality_deid_and_typed_study_configs(project):
    doc = pipeline_doc(
        studies={
            "readmission": {
                "n_boot": 20,
                "models": "l1_logistic",
                "thresholds": [0.1, 0.5],
                "covariates": {"windows": [30, None], "domains": ["condition"]},
                "model_dir": "models",
            },
            "phenotypes": None,
        }
    )
    p = load_pipeline(write_pipeline(project, doc))
    assert p.warehouse == project / "work" / "medmine.duckdb"
    assert p.state_path.name == "medmine.duckdb.run.json"
    assert [s.format for s in p.sources] == ["fhir", "claims"]
    assert p.sources[0].paths == (project / "data" / "fhir",)
    assert p.quality is not None and p.quality.types == tuple(FAST_CHECKS)
    assert p.deid is not None and p.deid.out == project / "work" / "medmine_deid.duckdb"
    assert p.deid.reference_date == dt.date(2024, 1, 1)
    assert p.study_warehouse == p.deid.out
    cfg = p.studies[0].config
    assert (cfg.n_boot, cfg.models, cfg.thresholds) == (20, ("l1_logistic",), (0.1, 0.5))
    assert cfg.covariates == CovariateSettings(windows=(30, None), domains=("condition",))
    assert cfg.model_dir == project / "models"
    assert p.studies[1].name == "phenotypes"


def test_quality_false_and_no_deid_section_leave_those_stages_out(project):
    p = load_pipeline(write_pipeline(project, pipeline_doc(quality=False, deid=None)))
    assert p.quality is None and p.deid is None
    assert p.study_warehouse == p.warehouse


BAD = [
    ({"sorces": []}, "unknown key(s) ['sorces']; known: deid, out, quality, sources, studies"),
    ({"warehouse": None}, "'warehouse' is missing"),
    ({"sources": {"format": "fhir"}}, "sources must be a list"),
    ({"sources": [{"format": "fhir", "path": ["x"]}]}, "sources[0]: unknown key(s) ['path']"),
    ({"sources": [{"format": "csv", "paths": ["data"]}]}, "sources[0].format must be one of"),
    ({"sources": [{"format": "fhir"}]}, "sources[0].paths is missing"),
    ({"sources": [{"format": "fhir", "paths": ["nope/"]}]}, "nope does not exist; expected FHIR"),
    (
        {"sources": [{"format": "omop", "paths": ["data/fhir", "data/claims"]}]},
        "omop takes one path",
    ),
    (
        {"sources": [{"format": "claims", "paths": ["data/claims"], "options": {"sep": ";"}}]},
        "sources[0].options: unknown key(s) ['sep']; known: person_namespace",
    ),
    (
        {"sources": [{"format": "hl7v2", "paths": ["data/claims"], "options": {"x": 1}}]},
        "the hl7v2 reader takes no options",
    ),
    ({"quality": {"checks": "yes please"}}, "quality.checks must be true or false"),
    ({"quality": {"types": ["no_such_check"]}}, "unknown check type(s) ['no_such_check']"),
    ({"deid": {"mode": "k_anon", "key": "ephemeral"}}, "deid: mode must be one of safe_harbor"),
    ({"deid": {"reference_date": "soon", "key": "ephemeral"}}, "deid.reference_date must be a"),
    ({"deid": {}}, f"deid.key is 'env' but {KEY_ENV} is not set"),
    ({"studies": {"readmision": {}}}, "unknown study 'readmision'; choose one of"),
    (
        {"studies": {"readmission": {"n_bot": 20}}},
        "studies.readmission: unknown option(s) ['n_bot'] for study 'readmission'; known:",
    ),
    ({"studies": {"readmission": {"n_boot": "many"}}}, "studies.readmission.n_boot must be a"),
    ({"studies": {"readmission": {"n_boot": [1, 2]}}}, "got a list"),
    ({"studies": {"phenotypes": {"k_range": [2]}}}, "k_range must be a list of 2 items"),
    ({"studies": ["readmission"]}, "studies must be a mapping"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_pipeline_is_refused_in_one_line_naming_where(project, change, message):
    path = write_pipeline(project, pipeline_doc(**change))
    with pytest.raises(ConfigError) as err:
        load_pipeline(path)
    text = str(err.value)
    assert message in text
    assert text.startswith(str(path)) and "\n" not in text
    assert not (project / "work").exists()  # nothing ran


def test_yaml_syntax_error_names_the_line(project):
    path = project / "pipeline.yaml"
    path.write_text("warehouse: w.duckdb\nsources:\n  - format: fhir\n   paths: [x]\n")
    with pytest.raises(ConfigError, match=r"pipeline.yaml line 4: cannot read the YAML"):
        load_pipeline(path)


def test_missing_pipeline_file_points_at_medmine_init(tmp_path):
    with pytest.raises(ConfigError, match="medmine init"):
        load_pipeline(tmp_path / "pipeline.yaml")


def test_starter_is_valid_once_its_paths_exist(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, secrets.token_hex(32))
    path = write_starter(tmp_path)
    assert path == tmp_path / "pipeline.yaml" and path.read_text() == starter_text()
    with pytest.raises(ConfigError, match="fhir does not exist"):
        load_pipeline(path)
    (tmp_path / "fhir").mkdir()
    p = load_pipeline(path)
    assert [s.format for s in p.sources] == ["fhir"]
    assert p.deid is not None and p.deid.key == "env"
    assert [s.name for s in p.studies] == ["comorbidity_rules", "readmission"]
    with pytest.raises(ConfigError, match="exists; pass --force"):
        write_starter(path)
    assert write_starter(path, force=True) == path


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "consent"])
def test_declared_reader_options_are_options_of_the_reader(fmt):
    spec = FORMATS[fmt]
    params = inspect.signature(importlib.import_module(spec.reader).load).parameters
    assert set(spec.options) <= set(params)
