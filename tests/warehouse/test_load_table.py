"""`LoadSession.add_table`: column-wise loading with the duplicate check, counts and provenance
every reader relies on; `add_record`'s secondary rows; `Rejected`, the one rejection exception.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from medmine.errors import MedmineError, WarehouseError
from medmine.warehouse import (
    LoadSession,
    Provenance,
    Reason,
    Rejected,
    TableBatch,
    rows_to_arrow,
)

DAY = dt.date(2020, 1, 1)


def _people(*ids: int) -> pa.Table:
    return rows_to_arrow(
        "person",
        [
            {
                "person_id": i,
                "gender_concept_id": 0,
                "year_of_birth": 1980 + i,
                "race_concept_id": 0,
                "ethnicity_concept_id": 0,
            }
            for i in ids
        ],
    )


def _prov(n: int, file: str = "people.csv") -> Provenance:
    return Provenance(file, [f"line {i + 2}" for i in range(n)], [f"p{i}" for i in range(n)])


def _source_records(wh, table_name: str = "person") -> list[tuple]:
    return wh.con.execute(
        "SELECT row_id, source_file, location, resource_type, source_key FROM mm_source_record "
        "WHERE table_name = ? ORDER BY row_id",
        [table_name],
    ).fetchall()


def test_duplicate_keys_in_a_batch_are_skipped_as_duplicates_and_counts_reconcile(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 4)
        keep = s.add_table("person", _people(1, 2, 1, 3), record_type="Patient",
                           provenance=_prov(4))  # fmt: skip
    assert keep.tolist() == [True, True, False, True]
    r = s.report
    c = r.counts["Patient"]
    assert (c.read, c.loaded, c.skipped, c.quarantined) == (4, 3, 1, 0)
    assert r.skip_reasons == {"duplicate": 1} and r.reconciles
    assert r.rows_written == {"person": 3}
    # the first of the repeated rows is the one kept, with its own provenance
    assert wh.con.execute("SELECT year_of_birth FROM person WHERE person_id = 1").fetchone() == (
        1981,
    )
    assert _source_records(wh) == [
        (1, "people.csv", "line 2", "Patient", "p0"),
        (2, "people.csv", "line 3", "Patient", "p1"),
        (3, "people.csv", "line 5", "Patient", "p3"),
    ]


def test_rows_with_provenance_from_an_earlier_load_or_batch_are_duplicates(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        s.add_table("person", _people(1, 2), record_type="Patient", provenance=_prov(2))
    with LoadSession(wh, "test") as s2:
        s2.read("Patient", 4)
        first = s2.add_table("person", _people(2, 3), record_type="Patient", provenance=_prov(2))
        second = s2.add_table("person", _people(3, 4), record_type="Patient", provenance=_prov(2))
    assert first.tolist() == [False, True] and second.tolist() == [False, True]
    c = s2.report.counts["Patient"]
    assert (c.loaded, c.skipped) == (2, 2) and s2.report.reconciles
    assert s2.report.skip_reasons == {"duplicate": 2}
    assert wh.count("person") == 4 and wh.count("mm_source_record") == 4
    loads = wh.con.execute(
        "SELECT row_id, load_id FROM mm_source_record ORDER BY row_id"
    ).fetchall()
    assert [lid for _, lid in loads] == [s.load_id, s.load_id, s2.load_id, s2.load_id]


def test_record_types_are_counted_per_row(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        s.read("Member", 1)
        s.add_table("person", _people(1, 2, 1), record_type=["Patient", "Member", "Patient"],
                    provenance=_prov(3))  # fmt: skip
    counts = s.report.counts
    assert (counts["Patient"].loaded, counts["Patient"].skipped) == (1, 1)
    assert (counts["Member"].loaded, counts["Member"].skipped) == (1, 0)
    assert [r[3] for r in _source_records(wh)] == ["Patient", "Member"]


def test_add_tables_checks_every_table_at_once_and_secondary_rows_ride_along(wh):
    visits = rows_to_arrow(
        "visit_occurrence",
        [
            {
                "visit_occurrence_id": 10,
                "person_id": 1,
                "visit_concept_id": 0,
                "visit_start_date": DAY,
                "visit_end_date": DAY,
                "visit_type_concept_id": 0,
            },
        ],
    )
    ids = rows_to_arrow(
        "mm_identifier", [{"table_name": "person", "row_id": 1, "system": "s", "value": "v"}]
    )
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        s.read("Encounter", 1)
        masks = s.add_tables(
            [
                TableBatch("person", _people(1, 1), "Patient", _prov(2)),
                TableBatch("visit_occurrence", visits, "Encounter", _prov(1, "visits.csv")),
            ]
        )
        s.add_table("mm_identifier", ids, record_type=None, primary=False)
    assert [m.tolist() for m in masks] == [[True, False], [True]]
    assert s.report.reconciles and s.report.counts["Encounter"].loaded == 1
    assert wh.count("mm_identifier") == 1
    assert _source_records(wh, "mm_identifier") == []  # no provenance asked for
    assert _source_records(wh, "visit_occurrence") == [
        (10, "visits.csv", "line 2", "Encounter", "p0")
    ]
    assert s.report.files == 2


def test_writes_are_queued_until_a_flush_and_keep_the_order_of_the_calls(wh):
    with LoadSession(wh, "test") as s:
        s.read("Patient", 2)
        s.add_record("Patient", [("person", {**_people(1).to_pylist()[0], "year_of_birth": 1})],
                     source_file="a", location="1")  # fmt: skip
        s.add_table("person", _people(2), record_type="Patient", provenance=_prov(1))
        assert wh.count("person") == 1  # the add_record row went in first; the batch waits
        s.flush(wait=False)
        s.flush()
        assert wh.count("person") == 2
    assert s.report.reconciles


def test_background_write_failure_rolls_the_load_back(wh, monkeypatch):
    with pytest.raises(RuntimeError, match="disk full"), LoadSession(wh, "test") as s:
        s.read("Patient", 1)
        s.add_table("person", _people(1), record_type="Patient", provenance=_prov(1))

        def boom(queue):
            raise RuntimeError("disk full")

        monkeypatch.setattr(s, "_insert", boom)
        s.flush(wait=False)
        s.register_file("people.csv", "0" * 64, 1, 1)  # waits for the write: raises here
    assert wh.count("person") == 0 and wh.count("mm_source_record") == 0
    assert wh.con.execute("SELECT status FROM mm_load").fetchall() == [("rolled_back",)]


@pytest.mark.parametrize(
    ("name", "rows", "kwargs", "message"),
    [
        ("person", pa.table({"person_id": [1], "shoe_size": [44]}),
         {"record_type": "Patient", "provenance": Provenance("f", "l")}, "no column"),
        ("mm_identifier", pa.table({"row_id": [1]}),
         {"record_type": "X", "provenance": Provenance("f", "l")}, "composite key"),
        ("person", pa.table({"person_id": [1]}), {"record_type": "Patient"}, "provenance"),
        ("person", pa.table({"person_id": [1, 2]}),
         {"record_type": "Patient", "provenance": Provenance("f", ["only one"])}, "values"),
    ],
)  # fmt: skip
def test_refuses_batches_it_cannot_write_as_asked(wh, name, rows, kwargs, message):
    with pytest.raises(WarehouseError, match=message), LoadSession(wh, "test") as s:
        s.add_table(name, rows, **kwargs)
    assert wh.count("person") == 0


def test_add_provenance_records_rows_inserted_in_sql(wh):
    with LoadSession(wh, "test") as s:
        s.add_provenance(
            "person",
            pa.array([5, 6]),
            record_type="person",
            provenance=Provenance("src:person", ["row 1", "row 2"], checksum=["a", "b"]),
        )
    got = wh.con.execute(
        "SELECT row_id, location, checksum, load_id FROM mm_source_record ORDER BY row_id"
    ).fetchall()
    assert got == [(5, "row 1", "a", s.load_id), (6, "row 2", "b", s.load_id)]


def test_secondary_rows_get_provenance_only_in_single_key_tables_and_never_decide(wh):
    identity = {"person_id": 1, "source": "test"}
    death = {"person_id": 1, "death_date": DAY, "death_type_concept_id": 0}
    claim = {"claim_id": 7, "person_id": 1, "claim_start_date": DAY}
    with LoadSession(wh, "test") as s:
        s.read("Claim", 2)
        for loc in ("1", "2"):  # the same person rides along with two claims
            s.add_record(
                "Claim",
                [("mm_claim", {**claim, "claim_id": int(loc)})],
                source_file="c.csv",
                location=loc,
                secondary=[("person", _people(1).to_pylist()[0]), ("death", death),
                           ("mm_person_identity", identity)],
            )  # fmt: skip
    c = s.report.counts["Claim"]
    assert (c.loaded, c.skipped) == (2, 0)
    tables = dict(
        wh.con.execute("SELECT table_name, count(*) FROM mm_source_record GROUP BY 1").fetchall()
    )
    assert tables == {"mm_claim": 2, "person": 1, "death": 1}  # not mm_person_identity
    assert wh.count("person") == 1 and wh.count("mm_person_identity") == 1


def test_rejected_carries_a_reason_code_and_a_detail():
    err = Rejected(Reason.INVALID_DATE, "BIRTHDATE is not a valid date")
    assert err.reason is Reason.INVALID_DATE and err.reason == "invalid_date"
    assert err.detail == str(err) == "BIRTHDATE is not a valid date"
    assert isinstance(err, MedmineError)
    with pytest.raises(Rejected) as caught:
        raise Rejected(Reason.DANGLING_REFERENCE, "PATIENT matches no patient")
    assert caught.value.reason is Reason.DANGLING_REFERENCE
