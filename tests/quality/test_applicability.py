"""Checks that need a vocabulary are not applicable, with the reason, until one is loaded."""

from __future__ import annotations

import pytest

from medmine.ingest import fhir
from medmine.quality import run_checks
from medmine.quality._registry import NOT_APPLICABLE_REASONS, NOTHING_TO_CHECK, REGISTRY
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
    assert (in_scope.status, in_scope.reason) == (Status.NOT_APPLICABLE, NOTHING_TO_CHECK)
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
