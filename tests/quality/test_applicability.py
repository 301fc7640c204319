"""Checks that need a vocabulary are not applicable, with the reason, until one is loaded."""

from __future__ import annotations

import re

import pytest

from medmine.ingest import fhir
from medmine.quality import run_checks
from medmine.quality._registry import NOT_APPLICABLE_REASONS, REGISTRY
from medmine.quality.athena import load_vocabulary
from medmine.quality.checks import Status, load_run, not_applicable_reason
from medmine.warehouse import Warehouse

from ..conftest import FHIR_SAMPLES

NO_VOCABULARY = NOT_APPLICABLE_REASONS["concept"]
#: Check types that read the vocabulary (declared with ``concept`` in their ``requires``).
VOCABULARY_TYPES = sorted(name for name, ct in REGISTRY.items() if "concept" in ct.requires)
#: Two small patients of the FHIR sample: codes as ``VOCAB:code``, every concept id 0.
FILES = ["Latashia_Emard_91f21d7d.json.gz", "Lola_Soria_14b42a15.json.gz"]


@pytest.fixture(scope="module")
def fhir_wh(tmp_path_factory):
    wh = Warehouse(tmp_path_factory.mktemp("fhir_vocab") / "f.duckdb")
    fhir.load([FHIR_SAMPLES / f for f in FILES], wh)
    yield wh
    wh.close()


def test_the_vocabulary_checks_are_declared_in_the_registry():
    assert VOCABULARY_TYPES == [
        "concept_domain",
        "concept_in_vocabulary",
        "plausible_sex_concept",
        "source_concept_completeness",
        "standard_concept_completeness",
        "standard_valid_concept",
    ]


def test_without_vocabulary_they_are_not_applicable_with_the_reason_then_run(fhir_wh, athena_dir):
    counts = fhir_wh.counts()
    assert counts["concept"] == 0 and counts["drug_exposure"] > 0
    before = run_checks(fhir_wh, types=VOCABULARY_TYPES, store=False)
    on_data = [r for r in before.results if counts.get(r.table_name)]
    assert on_data, "the sample has coded rows"
    for r in on_data:
        assert (r.status, r.reason) == (Status.NOT_APPLICABLE, NO_VOCABULARY), r.check_id
    assert before.summary["fail"] == 0
    # Before this rule, standard-concept completeness failed on every coded row of the sample.
    drugs = "standard_concept_completeness:drug_exposure.drug_concept_id"
    assert fhir_wh.con.execute("SELECT max(drug_concept_id) FROM drug_exposure").fetchone() == (0,)

    res = load_vocabulary(athena_dir, fhir_wh)
    assert res.mapping.mapped > 0
    after = run_checks(fhir_wh, types=VOCABULARY_TYPES, store=False)
    assert not [r for r in after.results if r.reason == NO_VOCABULARY]
    drug_outcomes = next(f for f in res.mapping.fields if f.column == "drug_concept_id").outcomes
    r = after.get(drugs)
    assert r.status in (Status.PASS, Status.FAIL) and r.reason is None
    assert r.num_denominator == counts["drug_exposure"]
    assert r.num_violated == r.num_denominator - drug_outcomes["mapped"]
    procedures = after.get(
        "standard_concept_completeness:procedure_occurrence.procedure_concept_id"
    )
    assert (procedures.status, procedures.num_violated) == (Status.PASS, 0)


def test_every_not_applicable_check_says_why(planted):
    run = run_checks(planted, store=False)
    na = run.by_status(Status.NOT_APPLICABLE)
    assert na and all(r.reason for r in na)
    assert run.get("is_required:note.note_text").reason == "no rows in note"
    # concept is loaded in the planted warehouse: its checks run
    assert not [r for r in run.results if r.reason and NO_VOCABULARY in r.reason]
    in_scope = run.get("standard_concept_completeness:drug_exposure.route_concept_id")
    assert (in_scope.status, in_scope.reason) == (
        Status.NOT_APPLICABLE,
        "drug_exposure.route_concept_id is NULL in all 5 rows",
    )
    assert all(r.reason is None for r in run.results if r.status != Status.NOT_APPLICABLE)


def test_reasons_are_stored_and_read_back(tmp_path):
    wh = Warehouse(tmp_path / "bare.duckdb")
    run = run_checks(wh, types=["standard_concept_completeness", "is_required"])
    back = load_run(wh, run.run_id)
    for r in run.results:
        b = back.get(r.check_id)
        assert (b.status, b.reason, b.error) == (r.status, r.reason, None)
    wh.close()


@pytest.mark.parametrize(
    ("requires", "counts", "reason"),
    [
        (("drug_exposure", "concept"), {"drug_exposure": 3}, NO_VOCABULARY),
        (("drug_exposure", "concept"), {"drug_exposure": 3, "concept": 9}, None),
        (("death", "person"), {"person": 2}, "no rows in death"),
        (("note", "concept"), {}, f"no rows in note; {NO_VOCABULARY}"),
        ((), {}, None),
    ],
)
def test_not_applicable_reason_names_each_missing_table(requires, counts, reason):
    assert not_applicable_reason(requires, counts) == reason


def test_a_column_null_in_every_row_says_so(planted):
    run = run_checks(planted, types=["format_conformance"], store=False)
    r = run.get("format_conformance:mm_claim.place_of_service")
    assert (r.status, r.reason) == (
        Status.NOT_APPLICABLE,
        "mm_claim.place_of_service is NULL in all 2 rows",
    )


def test_the_page_says_at_the_top_what_could_not_be_checked(tmp_path):
    from medmine.report.quality_page import write_quality_page

    wh = Warehouse(tmp_path / "novocab.duckdb")
    fhir.load([FHIR_SAMPLES / FILES[0]], wh)
    run = run_checks(wh, types=[*VOCABULARY_TYPES, "start_before_end"], store=False)
    text = write_quality_page(tmp_path / "q.html", run, wh).read_text()
    wh.close()
    notice = text.index("id='vocabulary-notice'")
    assert notice < text.index("Root causes")
    assert "medmine vocab load ATHENA_DIR" in text
    blocked = [r for r in run.results if r.reason and NO_VOCABULARY in r.reason]
    n_types = len({r.check_type for r in blocked})  # the 6 vocabulary types + checks of concept
    assert n_types == 7 and len(blocked) > 100
    assert f"{len(blocked):,} checks of {n_types} types could not run" in text
    assert "<code>standard_concept_completeness</code>" in text


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"thresholds": {"nope": 1}}, "unknown check type 'nope'"),
        ({"thresholds": {"duplicate_rows": 101}}, "must be in [0, 100]"),
        ({"thresholds": {"duplicate_rows": "x"}}, "must be a number"),
        ({"severity": {"duplicate_rows": "fatal"}}, "must be 'error' or 'rate'"),
        ({"limits": {}}, "unknown section"),
    ],
)
def test_settings_errors_name_the_key_and_what_is_expected(doc, words):
    from medmine.errors import ConfigError
    from medmine.quality.settings import QualitySettings

    with pytest.raises(ConfigError, match=re.escape(words)):
        QualitySettings.from_mapping(doc, source="q.toml")


def test_settings_override_by_type_and_by_check_id():
    from medmine.quality.checks import instantiate
    from medmine.quality.settings import QualitySettings

    s = QualitySettings.from_mapping(
        {
            "thresholds": {"duplicate_rows": 1, "duplicate_rows:drug_exposure": 2.5},
            "severity": {"duplicate_rows:measurement": "error"},
        }
    )
    by_id = {i.check_id: i for i in instantiate(["duplicate_rows"], s)}
    assert by_id["duplicate_rows:drug_exposure"].threshold_pct == 2.5
    assert by_id["duplicate_rows:condition_occurrence"].threshold_pct == 1.0
    assert by_id["duplicate_rows:measurement"].severity == "error"
    assert by_id["duplicate_rows:condition_occurrence"].severity == "rate"


def test_written_settings_read_back_the_same():
    import tomllib

    from medmine.quality.settings import QualitySettings, settings_toml

    s = QualitySettings.from_mapping(
        {
            "thresholds": {"duplicate_rows": 1, "duplicate_rows:drug_exposure": 2.5},
            "severity": {"duplicate_rows:measurement": "error"},
        }
    )
    back = QualitySettings.from_mapping(tomllib.loads(settings_toml(s)))
    assert back.thresholds["duplicate_rows:drug_exposure"] == 2.5
    assert back.thresholds["duplicate_rows"] == 1.0
    assert back.severity["duplicate_rows:measurement"] == "error"
    assert back.severity["plausible_lab_range"] == "error"  # every type's default is written
