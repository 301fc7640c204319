"""Fixtures for the quality tests: a tiny warehouse with planted defects, Eunomia, and
Eunomia's vocabulary exported in the layout of an OHDSI Athena download."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmine.ingest import omop
from medmine.warehouse import Warehouse

# Each defect is planted once, on known ids (see test_checks.py for the expected answers).
PLANTED_SQL = """
INSERT INTO concept VALUES
 (201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '44054006',
  DATE '1970-01-01', DATE '2099-12-31', NULL),
 (1234, 'Non-standard condition', 'Condition', 'ICD10CM', '3-char nonbill code', NULL, 'E11',
  DATE '1970-01-01', DATE '2099-12-31', NULL),
 (8507, 'MALE', 'Gender', 'Gender', 'Gender', 'S', 'M', DATE '1970-01-01', DATE '2099-12-31', NULL),
 (8532, 'FEMALE', 'Gender', 'Gender', 'Gender', 'S', 'F', DATE '1970-01-01', DATE '2099-12-31',
  NULL),
 (32817, 'EHR', 'Type Concept', 'Type Concept', 'Type Concept', 'S', 'OMOP4976890',
  DATE '1970-01-01', DATE '2099-12-31', NULL),
 (9201, 'Inpatient Visit', 'Visit', 'Visit', 'Visit', 'S', 'IP', DATE '1970-01-01',
  DATE '2099-12-31', NULL),
 (4299535, 'Pregnancy', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '77386006',
  DATE '1970-01-01', DATE '2099-12-31', NULL),
 (4000001, 'Some pregnancy disorder', 'Condition', 'SNOMED', 'Clinical Finding', 'S',
  '1000001', DATE '1970-01-01', DATE '2099-12-31', NULL);
INSERT INTO concept_ancestor VALUES (4299535, 4000001, 1, 1), (4299535, 4299535, 0, 0);
INSERT INTO person (person_id, gender_concept_id, year_of_birth, month_of_birth, birth_datetime,
                    race_concept_id, ethnicity_concept_id) VALUES
 (1, 8507, 1950, 3, TIMESTAMP '1950-03-01 00:00:00', 0, 0),
 (2, 8532, 1980, NULL, NULL, 0, 0),
 (3, 8507, 1890, NULL, NULL, 0, 0),
 (4, 8532, 1985, 13, NULL, 0, 0),
 (5, 8507, 1970, NULL, NULL, 0, 0),
 (6, 8532, 1960, NULL, NULL, 0, 0);
INSERT INTO observation_period VALUES
 (1, 1, DATE '2000-01-01', DATE '2020-12-31', 32817),
 (2, 2, DATE '2000-01-01', DATE '2020-12-31', 32817),
 (3, 3, DATE '2000-01-01', DATE '2020-12-31', 32817),
 (4, 4, DATE '2000-01-01', DATE '2020-12-31', 32817),
 (6, 6, DATE '2000-01-01', DATE '2020-12-31', 32817),
 (7, 99, DATE '2000-01-01', DATE '2020-12-31', 32817);
INSERT INTO death (person_id, death_date) VALUES (6, DATE '1950-01-01'), (2, DATE '2012-01-01');
INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, visit_start_date,
                              visit_start_datetime, visit_end_date, visit_type_concept_id) VALUES
 (1, 1, 9201, DATE '2010-01-01', TIMESTAMP '2010-01-02 00:00:00', DATE '2010-01-05', 32817),
 (2, 2, 9201, DATE '2010-02-10', NULL, DATE '2010-02-01', 32817),
 (3, 2, 9201, DATE '2010-03-10', NULL, DATE '2010-03-01', 32817),
 (4, 2, 9201, DATE '2010-04-10', NULL, DATE '2010-04-01', 32817),
 (5, 1, 9201, DATE '2030-01-01', NULL, DATE '2030-01-02', 32817),
 (6, 98, 9201, DATE '2010-01-01', NULL, DATE '2010-01-01', 32817);
INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id,
  condition_start_date, condition_type_concept_id, visit_occurrence_id, condition_source_value)
VALUES
 (1, 1, 201826, DATE '2010-01-02', 32817, 1, 'ICD10CM:E11.9'),
 (2, 2, 201826, DATE '2010-01-02', 32817, NULL, 'ICD10CM:C61'),
 (3, 1, 201826, DATE '2011-01-02', 32817, NULL, 'ICD10CM:N80.0'),
 (4, 1, 201826, DATE '2012-01-02', 32817, NULL, 'ICD10CM:12345'),
 (5, 1, 201826, DATE '2013-01-02', 32817, NULL, 'SNOMED:44054007'),
 (6, 1, 201826, DATE '1940-01-01', 32817, NULL, 'SNOMED:44054006'),
 (7, 1, 201826, DATE '2010-03-01', 32817, 1, 'SNOMED:44054006'),
 (8, 6, 201826, DATE '2015-01-01', 32817, NULL, 'SNOMED:44054006'),
 (9, 1, 201826, DATE '2010-01-02', 32817, 1, 'ICD10CM:E11.9'),
 (10, 1, 0, DATE '2014-01-02', 32817, NULL, 'SNOMED:73211009'),
 (11, 1, 0, DATE '2014-01-03', 32817, NULL, NULL),
 (12, 1, 999999, DATE '2014-01-04', 32817, NULL, 'SNOMED:44054006'),
 (13, 1, 1234, DATE '2014-01-05', 32817, NULL, 'ICD10CM:E11'),
 (14, 1, 8507, DATE '2014-01-06', 32817, NULL, 'SNOMED:44054006'),
 (15, 1, 201826, DATE '2010-02-05', 32817, 2, 'SNOMED:44054006'),
 (16, 2, 201826, DATE '2013-01-02', 32817, NULL, 'SNOMED:44054006'),
 (17, 1, 4000001, DATE '2014-01-07', 32817, NULL, 'LOCAL:P1');
INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, measurement_date,
  measurement_type_concept_id, value_as_number, unit_source_value, measurement_source_value,
  measurement_time) VALUES
 (1, 1, 0, DATE '2010-01-02', 32817, 90, 'mg/dL', 'LOINC:2345-7', '08:30'),
 (2, 1, 0, DATE '2010-01-03', 32817, 5000, 'mg/dL', 'LOINC:2345-7', 'bad'),
 (3, 1, 0, DATE '2010-01-04', 32817, 5.5, 'mmol/L', 'LOINC:2345-7', NULL),
 (4, 1, 0, DATE '2010-01-05', 32817, 100, 'furlong', '2345-7', NULL),
 (5, 1, 0, DATE '2010-01-06', 32817, 12, NULL, '2345-7', NULL),
 (6, 1, 0, DATE '2010-01-07', 32817, NULL, NULL, '2345-7', NULL),
 (7, 1, 0, DATE '2010-01-08', 32817, 100, 'mg/dL', 'LOINC:2345-8', NULL),
 (8, 1, 0, DATE '2010-01-09', 32817, 100, 'kg', 'LOINC:2345-7', NULL),
 (9, 1, 0, DATE '2010-01-10', 32817, 100, 'mmol/L', 'LOINC:2345-7', NULL),
 (10, 1, 0, DATE '2010-01-02', 32856, 90, 'mg/dL', 'LOINC:2345-7', '08:30');
INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, drug_exposure_start_date,
  drug_exposure_end_date, drug_type_concept_id, quantity, drug_source_value, days_supply) VALUES
 (1, 1, 0, DATE '2010-01-02', DATE '2010-01-12', 32817, -1, 'NDC:0002-3227-30', 10),
 (2, 1, 0, DATE '2010-01-02', DATE '2010-01-12', 32817, 10, 'NDC:12345', 10),
 (3, 1, 0, DATE '2010-01-02', DATE '2010-01-12', 32817, 10, 'RxNorm:0123', 10),
 (4, 1, 0, DATE '2010-01-02', DATE '2010-01-12', 32817, 10, 'RxNorm:1191', 10),
 (5, 1, 0, DATE '2010-01-02', DATE '2010-01-12', 32817, 10, 'RxNorm:1191', 10000);
INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, procedure_concept_id,
  procedure_date, procedure_type_concept_id, procedure_source_value, procedure_source_concept_id)
VALUES
 (1, 2, 0, DATE '2010-01-02', 32817, 'SNOMED:90470006', 4),
 (2, 1, 0, DATE '2010-01-02', 32817, 'CPT4:9921', NULL),
 (3, 1, 0, DATE '2010-01-02', 32817, 'HCPCS:J11', NULL),
 (4, 1, 0, DATE '2010-01-02', 32817, 'CPT4:99213', 0);
INSERT INTO provider (provider_id, npi) VALUES (1, '1234567893'), (2, '1234567890');
INSERT INTO mm_person_link (cluster_id, person_id, source) VALUES
 (10, 1, 'a'), (10, 3, 'b'), (11, 2, 'a'), (12, 4, 'a'), (12, 4, 'b');
INSERT INTO location (location_id, zip) VALUES (1, '0213'), (2, '02139');
INSERT INTO mm_claim (claim_id, person_id, claim_start_date, total_billed, total_paid,
                      dx_vocabulary_id, dx_1) VALUES
 (1, 1, DATE '2010-01-02', 100, 150, 'ICD10CM', 'E119'),
 (2, 1, DATE '2010-01-02', 100, 50, 'ICD10CM', 'XYZ');
ALTER TABLE location DROP COLUMN county;
DROP TABLE note_nlp;
CREATE OR REPLACE TABLE specimen AS SELECT * FROM specimen;
INSERT INTO specimen (specimen_id, person_id, specimen_concept_id, specimen_type_concept_id,
                      specimen_date) VALUES
 (1, 1, NULL, 32817, DATE '2010-01-02'),
 (2, 1, 0, 32817, DATE '2010-01-02'),
 (2, 1, 0, 32817, DATE '2010-01-03');
"""


def planted_warehouse(path) -> Warehouse:
    """A warehouse with one planted defect per check type."""
    w = Warehouse(path)
    w.con.execute(PLANTED_SQL)
    return w


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    w = planted_warehouse(tmp_path_factory.mktemp("planted") / "planted.duckdb")
    yield w
    w.close()


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory):
    w = Warehouse(tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb")
    omop.load(omop.eunomia_path(), w)
    yield w
    w.close()


# ---- an Athena-format vocabulary folder, exported from Eunomia at test time ----
#: Athena's files with the query giving each from Eunomia (lower-case headers, as Athena's).
ATHENA_QUERIES = {
    "CONCEPT": "SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, "
    "standard_concept, concept_code, valid_start_date, valid_end_date, invalid_reason "
    "FROM concept",
    "CONCEPT_RELATIONSHIP": "SELECT concept_id_1, concept_id_2, relationship_id, "
    "valid_start_date, valid_end_date, invalid_reason FROM concept_relationship",
    "CONCEPT_ANCESTOR": "SELECT CAST(ancestor_concept_id AS INTEGER) AS ancestor_concept_id, "
    "descendant_concept_id, "
    "min_levels_of_separation, max_levels_of_separation FROM concept_ancestor",
    "CONCEPT_SYNONYM": "SELECT concept_id, concept_synonym_name, language_concept_id "
    "FROM concept_synonym",
    "VOCABULARY": "SELECT vocabulary_id, vocabulary_name, vocabulary_reference, "
    "vocabulary_version, vocabulary_concept_id FROM vocabulary",
    "DOMAIN": "SELECT domain_id, domain_name, domain_concept_id FROM domain",
    "RELATIONSHIP": "SELECT relationship_id, relationship_name, is_hierarchical, "
    "defines_ancestry, reverse_relationship_id, relationship_concept_id FROM relationship",
}
#: Eunomia holds only a placeholder row for these two: written with Athena's header only.
ATHENA_EMPTY = {
    "CONCEPT_CLASS": "concept_class_id concept_class_name concept_class_concept_id",
    "DRUG_STRENGTH": "drug_concept_id ingredient_concept_id amount_value amount_unit_concept_id "
    "numerator_value numerator_unit_concept_id denominator_value denominator_unit_concept_id "
    "box_size valid_start_date valid_end_date invalid_reason",
}


def write_athena_folder(out: Path) -> dict[str, int]:
    """Export Eunomia's vocabulary tables in Athena's layout into `out`; rows per file."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    src = duckdb.connect(str(omop.eunomia_path()), read_only=True)
    rows = {}
    try:
        for name, query in ATHENA_QUERIES.items():
            rel = src.sql(query)
            header = "\t".join(c.lower() for c in rel.columns)
            body = rel.fetchall()
            lines = [header] + ["\t".join(_athena_value(v) for v in r) for r in body]
            (out / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
            rows[name] = len(body)
    finally:
        src.close()
    for name, cols in ATHENA_EMPTY.items():
        (out / f"{name}.csv").write_text("\t".join(cols.split()) + "\n", encoding="utf-8")
        rows[name] = 0
    return rows


def _athena_value(v) -> str:
    """A value as Athena writes it: empty for null, dates as YYYYMMDD, nothing quoted."""
    import datetime as dt

    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.strftime("%Y%m%d")
    return str(v)


@pytest.fixture(scope="session")
def athena_dir(tmp_path_factory) -> Path:
    """A folder in Athena's layout holding Eunomia's vocabulary (built once per run)."""
    out = tmp_path_factory.mktemp("athena")
    write_athena_folder(out)
    return out
