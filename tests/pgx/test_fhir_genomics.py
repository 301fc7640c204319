"""Reported diplotypes from FHIR Genomics Reporting Observations (raw FHIR store)."""

from __future__ import annotations

from medmine.ingest import fhir
from medmine.pgx.fhir_genomics import reported_diplotypes
from tests.conftest import TEST_DATA


def test_genotype_observations_are_read_or_explained(wh):
    fhir.load([TEST_DATA / "pgx" / "genomics_bundle.json"], wh)
    df = reported_diplotypes(wh).set_index("raw_id")
    assert len(df) == 4  # every genotype Observation accounted for
    by_status = df.groupby("status")["gene"].apply(sorted).to_dict()
    assert by_status == {
        "ok": ["CYP2C19", "SLCO1B1"],
        "allele unknown to CPIC definitions": ["TPMT"],
        "gene not called by medmine": ["CYP3A5"],
    }
    ok = df[df.status == "ok"].set_index("gene")
    assert ok.loc["CYP2C19", "diplotype"] == "*2/*2"  # subject given as urn:uuid
    assert ok.loc["SLCO1B1", "diplotype"] == "*5/*15"  # subject given as Patient/id
    assert ok["person_id"].nunique() == 1 and ok["person_id"].notna().all()


def test_no_raw_store_means_no_rows(wh):
    assert reported_diplotypes(wh).empty


def test_the_study_uses_reported_diplotypes(wh, tmp_path):
    import datetime as dt

    from medmine.studies import get_study

    fhir.load([TEST_DATA / "pgx" / "genomics_bundle.json"], wh)
    pid = wh.con.execute("SELECT person_id FROM person").fetchone()[0]
    wh.con.execute(
        "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
        "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
        "drug_source_value) VALUES (1, ?, 0, ?, ?, 0, 'RxNorm:32968')",
        [pid, dt.date(2024, 5, 1), dt.date(2024, 6, 1)],
    )
    wh.con.execute(
        "INSERT OR IGNORE INTO mm_source_concept (vocabulary_id, code, display) "
        "VALUES ('RxNorm', '32968', 'clopidogrel 75 MG Oral Tablet')"
    )
    res = get_study("pharmacogenomics").run(wh)
    calls = res.calls.set_index("gene")
    assert calls.loc["CYP2C19", "source"] == "FHIR Observation"
    assert calls.loc["CYP2C19", "phenotype"] == "Poor Metabolizer"
    assert len(res.flagged) == 1 and res.flagged.iloc[0]["drug"] == "clopidogrel"
    assert any("could not be used" in w for w in res.warnings)
    assert "reported_unusable" in res.output_tables()
