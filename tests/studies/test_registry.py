from __future__ import annotations

import dataclasses

import pytest

from medmine.errors import ConfigError
from medmine.privacy.audit import verify
from medmine.studies import (
    MissingDataError,
    Study,
    StudyResult,
    audit_study,
    get_study,
    register,
    study_names,
)
from medmine.warehouse import Warehouse

ALL = {
    "readmission",
    "disease_risk",
    "length_of_stay",
    "phenotypes",
    "comorbidity_rules",
    "claims_fraud",
}


def test_every_study_is_registered_once_under_its_own_name():
    assert set(study_names()) >= ALL
    for name in ALL:
        study = get_study(name)
        assert isinstance(study, Study) and study.name == name
        assert dataclasses.is_dataclass(study.config_class)
    with pytest.raises(ValueError, match="already registered"):
        register("readmission", "medmine.studies.readmission")


def test_unknown_study_names_the_known_ones():
    with pytest.raises(ConfigError, match="unknown study 'readmision'.*readmission"):
        get_study("readmision")


@pytest.mark.parametrize("name", sorted(ALL))
def test_unknown_options_are_refused_with_the_known_ones(name):
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['no_such_option'\].*known"):
        get_study(name).make_config({"no_such_option": "1"})


def test_options_from_the_command_line_take_their_field_types():
    cfg = get_study("comorbidity_rules").make_config(
        {
            "min_support": "0.1",
            "max_len": "2",
            "domains": "condition, drug",
            "claims": "no",
            "purpose": "none",
        }  # fmt: skip
    )
    assert cfg.min_support == 0.1 and cfg.max_len == 2
    assert cfg.domains == ("condition", "drug") and cfg.claims is False and cfg.purpose is None
    cfg = get_study("readmission").make_config({"n_boot": "50", "temporal_cutoff": "2019-01-01"})
    assert cfg.n_boot == 50 and cfg.temporal_cutoff == "2019-01-01"


@pytest.mark.parametrize(
    ("name", "options"),
    [("readmission", {"n_boot": "many"}), ("comorbidity_rules", {"claims": "maybe"})],
)
def test_bad_option_values_are_a_config_error_not_a_traceback(name, options):
    with pytest.raises(ConfigError, match="must be"):
        get_study(name).make_config(options)


def test_a_config_of_another_study_is_refused(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(ConfigError, match="takes a"):
        get_study("phenotypes").run(wh, get_study("comorbidity_rules").make_config())


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("claims_fraud", "mm_claim_line"),
        ("readmission", "visit_occurrence"),
        ("length_of_stay", "visit_occurrence"),
        ("disease_risk", "drug_exposure"),
        ("phenotypes", "person"),
        ("comorbidity_rules", "person"),
    ],
)
def test_missing_warehouse_data_is_named_never_simulated(tmp_path, name, table):
    with Warehouse(tmp_path / "w.duckdb") as wh, pytest.raises(MissingDataError, match=table):
        get_study(name).run(wh)


def test_results_share_the_contract():
    r = StudyResult(name="x", title="X")
    assert r.status == "ok" and r.key_figures() == {} and r.output_tables() == {}


def test_study_runs_are_audited_in_the_chain(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        audit_study(wh, "phenotypes", "3 clusters")
        row = wh.con.execute(
            "SELECT action, object, purpose, detail FROM mm_audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        assert row == ("study", "phenotypes", "research", '{"summary":"3 clusters"}')
        assert verify(wh).ok


def test_read_only_runs_cannot_be_audited(tmp_path):
    Warehouse(tmp_path / "w.duckdb").close()
    with Warehouse(tmp_path / "w.duckdb", read_only=True) as wh:
        assert audit_study(wh, "x", "y") is False
