from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from medmine.errors import LoadInterruptedError, WarehouseError
from medmine.warehouse import (
    CLINICAL_TABLES,
    LoadSession,
    Reason,
    Warehouse,
    stable_id,
    table,
    table_names,
)

PERSON = dict(
    person_id=1,
    gender_concept_id=8507,
    year_of_birth=1980,
    race_concept_id=0,
    ethnicity_concept_id=0,
)


def _person(pid: int) -> dict:
    return {**PERSON, "person_id": pid}


def test_schema_declares_architecture_tables():
    required = {
        "person",
        "observation_period",
        "visit_occurrence",
        "condition_occurrence",
        "drug_exposure",
        "procedure_occurrence",
        "measurement",
        "observation",
        "death",
        "note",
        "note_nlp",
        "provider",
        "care_site",
        "location",
        "payer_plan_period",
        "cost",
        "concept",
        "mm_claim",
        "mm_claim_line",
        "mm_source_record",
        "mm_quarantine",
        "mm_load",
        "mm_consent",
        "mm_audit",
    }
    assert required <= set(table_names())
    assert "person" in CLINICAL_TABLES and "concept" not in CLINICAL_TABLES
    assert table("person").column("person_id").required
    assert table("condition_occurrence").column("person_id").fk == ("person", "person_id")


def test_creates_all_tables_and_counts_them(wh):
    counts = wh.counts()
    assert set(table_names()) <= set(counts)
    assert all(v == 0 for v in counts.values())


def test_column_types_match_spec(wh):
    cols = dict(
        wh.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'measurement'"
        ).fetchall()
    )
    assert cols["value_as_number"] == "DOUBLE"
    assert cols["measurement_date"] == "DATE"
    assert cols["measurement_id"] == "BIGINT"


def test_default_path_from_environment(tmp_path, monkeypatch):
    target = tmp_path / "env.duckdb"
    monkeypatch.setenv("MEDMINE_WAREHOUSE", str(target))
    with Warehouse() as w:
        assert w.path == str(target)
    assert target.exists()


def test_read_only_missing_file_is_clear_error(tmp_path):
    with pytest.raises(WarehouseError, match="does not exist"):
        Warehouse(tmp_path / "nope.duckdb", read_only=True)


def test_load_session_reconciles_and_is_idempotent(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 3)
        s.add_record("Patient", [("person", _person(1))], source_file="a.json", location="1")
        s.add_record("Patient", [("person", _person(2))], source_file="a.json", location="2")
        s.quarantine("a.json", "3", "Patient", Reason.MISSING_FIELD, "Patient.gender missing")
    r = s.report
    assert r.status == "committed" and r.reconciles
    assert (r.counts["Patient"].loaded, r.counts["Patient"].quarantined) == (2, 1)
    assert wh.count("person") == 2 and wh.count("mm_quarantine") == 1
    assert wh.count("mm_source_record") == 2

    with LoadSession(wh, "test") as s2:
        s2.read("Patient", 2)
        s2.add_record("Patient", [("person", _person(1))], source_file="a.json", location="1")
        s2.add_record("Patient", [("person", _person(2))], source_file="a.json", location="2")
    assert s2.report.counts["Patient"].skipped == 2
    assert s2.report.skip_reasons == {"duplicate": 2}
    assert wh.count("person") == 2


def test_flushes_in_batches_inside_one_transaction(wh):
    with LoadSession(wh, "test", batch_rows=10) as s:
        s.read("Patient", 35)
        for i in range(35):
            s.add_record("Patient", [("person", _person(i + 1))], source_file="f", location=str(i))
    assert wh.count("person") == 35


def test_exception_rolls_back_everything(wh):
    with pytest.raises(RuntimeError), LoadSession(wh, "test", batch_rows=5) as s:
        s.read("Patient", 20)
        for i in range(20):
            s.add_record("Patient", [("person", _person(i + 1))], source_file="f", location=str(i))
        raise RuntimeError("disk on fire")
    assert wh.count("person") == 0
    assert wh.count("mm_source_record") == 0
    status = wh.con.execute("SELECT status FROM mm_load").fetchall()
    assert status == [("rolled_back",)]


def test_ctrl_c_rolls_back_and_says_so(wh):
    with pytest.raises(LoadInterruptedError, match="rolled back"), LoadSession(wh, "test") as s:
        s.read("Patient")
        s.add_record("Patient", [("person", _person(1))], source_file="f", location="1")
        raise KeyboardInterrupt
    assert wh.count("person") == 0


def test_unreconciled_load_is_refused(wh):
    with pytest.raises(WarehouseError, match="does not reconcile"), LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        s.add_record("Patient", [("person", _person(1))], source_file="f", location="1")
    assert wh.count("person") == 0


def test_unknown_column_is_an_error(wh):
    with pytest.raises(WarehouseError, match="no column"), LoadSession(wh, "test") as s:
        s.read("Patient")
        s.add_record(
            "Patient", [("person", {**PERSON, "shoe_size": 9})], source_file="f", location="1"
        )


def test_parquet_round_trip(wh, tmp_path):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        for i in (1, 2):
            s.add_record("Patient", [("person", _person(i))], source_file="f", location=str(i))
    files = wh.export_parquet(tmp_path / "pq", tables=["person"])
    import pyarrow.parquet as pq

    assert pq.read_table(files["person"]).num_rows == 2
    other = Warehouse(tmp_path / "other.duckdb")
    assert other.import_parquet(tmp_path / "pq") == {"person": 2}
    assert other.import_parquet(tmp_path / "pq") == {"person": 0}
    other.close()


def test_ibis_expression_and_sql_transpile(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 3)
        for i in (1, 2, 3):
            s.add_record("Patient", [("person", _person(i))], source_file="f", location=str(i))
    t = wh.table("person")
    assert t.filter(t.person_id > 1).count().execute() == 2
    spark_sql = Warehouse.transpile("SELECT list_value(1, 2) AS x", "spark")
    assert "ARRAY" in spark_sql.upper()


def test_stable_ids_are_deterministic_and_namespaced():
    a = stable_id("fhir:Patient", "x")
    assert a == stable_id("fhir:Patient", "x")
    assert a != stable_id("fhir:Encounter", "x")
    assert 2**40 <= a < 2**63


def test_kill_mid_load_leaves_warehouse_unchanged(tmp_path):
    """A hard kill (no Python cleanup at all) during a load must not leave half a load."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "k.duckdb"
    Warehouse(path).close()
    script = textwrap.dedent(
        f"""
        import os
        from medmine.warehouse import Warehouse, LoadSession
        wh = Warehouse({str(path)!r})
        with LoadSession(wh, "kill", batch_rows=100) as s:
            for i in range(1000):
                s.read("Patient")
                s.add_record("Patient", [("person", dict(person_id=i + 1, gender_concept_id=0,
                    year_of_birth=1980, race_concept_id=0, ethnicity_concept_id=0))],
                    source_file="f", location=str(i))
            os.kill(os.getpid(), 9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode != 0
    con = duckdb.connect(str(path))
    assert con.execute("SELECT count(*) FROM person").fetchone()[0] == 0
    con.close()


def test_shared_secondary_rows_do_not_make_a_record_a_duplicate(wh):
    visit = dict(visit_concept_id=9201, visit_type_concept_id=32817)
    visit.update(
        visit_start_date=dt.date(2020, 1, 1), visit_end_date=dt.date(2020, 1, 2), person_id=1
    )
    with LoadSession(wh, "test") as s:
        s.read("Encounter", 2)
        # Two new visits that both carry the same (already known) person as a secondary row.
        s.add_record(
            "Encounter",
            [("visit_occurrence", {**visit, "visit_occurrence_id": 10}), ("person", _person(1))],
            source_file="f",
            location="1",
        )
        s.add_record(
            "Encounter",
            [("visit_occurrence", {**visit, "visit_occurrence_id": 11}), ("person", _person(1))],
            source_file="f",
            location="2",
        )
    assert s.report.counts["Encounter"].loaded == 2
    assert wh.count("visit_occurrence") == 2 and wh.count("person") == 1


def test_same_record_twice_in_one_batch_counts_once(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        for loc in ("1", "2"):
            s.add_record("Patient", [("person", _person(7))], source_file="f", location=loc)
    c = s.report.counts["Patient"]
    assert (c.loaded, c.skipped) == (1, 1) and wh.count("person") == 1


def test_composite_key_rows_get_provenance(wh):
    ident = dict(person_id=1, source="fhir", given_name="X")
    with LoadSession(wh, "test") as s:
        s.read("Patient")
        s.add_record(
            "Patient",
            [("person", _person(1)), ("mm_person_identity", ident)],
            source_file="f",
            location="1",
        )
    assert wh.count("mm_person_identity") == 1
    assert wh.con.execute(
        "SELECT count(*) FROM mm_source_record WHERE table_name = 'mm_person_identity'"
    ).fetchone() == (1,)
