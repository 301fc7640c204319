"""Exports (issue 11, item 4) and private files (item 6).

`Warehouse.export_parquet` / `medmine warehouse export` wrote identity tables with no flag and
no audit entry, put paths into SQL unquoted, and left world-readable files; the consent-aware
export (`medmine.privacy.export`) shipped provenance, load, reference and quality tables
unfiltered, so a person who refused sharing still appeared there.
"""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import PrivacyError, WarehouseError
from medmine.privacy.audit import entries, verify
from medmine.privacy.consent import load_csv
from medmine.privacy.export import NEVER_EXPORTED, export_parquet
from medmine.warehouse import Warehouse
from medmine.warehouse.connection import IDENTIFIED_TABLES
from medmine.warehouse.files import hold_private_umask, private_open, private_umask
from tests.privacy.conftest import build_identified, default_people

HOSTILE = "out'); DELETE FROM mm_audit; --"


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture(autouse=True)
def _no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)


@pytest.fixture
def people():
    return default_people()


@pytest.fixture
def ident(tmp_path: Path, people) -> Warehouse:
    path = build_identified(tmp_path / "ident.duckdb", people)
    w = Warehouse(path)
    refused = people[0]
    # Provenance, load and quality rows: the refused person's source file carries the name.
    w.con.execute(
        "INSERT INTO mm_source_record VALUES ('person', ?, 'L1', ?, '1', 'Patient', 'k', 'c')",
        [refused.person_id, f"{refused.family}_{refused.given}_{refused.mrn}.json"],
    )
    w.con.execute(
        "INSERT INTO mm_load (load_id, source_kind, started_at, status) "
        "VALUES ('L1', 'fhir', now(), 'committed')"
    )
    w.con.execute(
        "INSERT INTO mm_quality_result (run_id, check_id, check_type, kahn_category, status) "
        "VALUES ('r', 'c', 't', 'Conformance', 'pass')"
    )
    w.con.execute(
        "INSERT INTO cost (cost_id, cost_event_id, cost_domain_id, cost_type_concept_id, "
        "total_charge) SELECT visit_occurrence_id, visit_occurrence_id, 'Visit', 0, 100 "
        "FROM visit_occurrence"
    )
    yield w
    w.close()


# ---- Warehouse.export_parquet / medmine warehouse export ---------------------------------


def test_identity_tables_need_the_explicit_flag(ident: Warehouse, tmp_path: Path) -> None:
    written = ident.export_parquet(tmp_path / "pq")
    # Before: mm_person_identity and mm_identifier (names, SSNs, MRNs) were written too.
    assert not set(written) & set(IDENTIFIED_TABLES)
    assert {"person", "note", "mm_audit"} <= set(written)
    with pytest.raises(PrivacyError, match="include_identified"):
        ident.export_parquet(tmp_path / "pq2", tables=["person", "mm_person_identity"])
    written = ident.export_parquet(tmp_path / "pq3", include_identified=True)
    assert set(IDENTIFIED_TABLES) <= set(written)
    assert pq.read_table(written["mm_person_identity"]).num_rows == 4


def test_export_writes_an_audit_entry(ident: Warehouse, tmp_path: Path) -> None:
    ident.export_parquet(tmp_path / "pq", tables=["person"])
    ident.export_parquet(tmp_path / "pq2", tables=["mm_identifier"], include_identified=True)
    es = entries(ident.con)
    # Before: no entry at all.
    assert [e.action for e in es][-2:] == ["warehouse.export", "warehouse.export"]
    assert es[-2].row_count == 4 and '"identified_tables":[]' in es[-2].detail
    assert '"identified_tables":["mm_identifier"]' in es[-1].detail
    assert verify(ident).ok


def test_export_from_a_read_only_warehouse_is_refused(ident: Warehouse, tmp_path: Path) -> None:
    path = ident.path
    ident.close()
    with Warehouse(path, read_only=True) as ro, pytest.raises(WarehouseError, match="audited"):
        ro.export_parquet(tmp_path / "pq", tables=["person"])


def test_export_and_import_paths_with_quotes_are_data_not_sql(ident, tmp_path: Path) -> None:
    n_audit = len(entries(ident.con))
    out = tmp_path / HOSTILE
    # Before: the quote ended the COPY path and the rest ran as SQL (or failed to parse).
    written = ident.export_parquet(out, tables=["person", "mm_audit"])
    assert written["person"].parent == out and pq.read_table(written["person"]).num_rows == 4
    assert len(entries(ident.con)) == n_audit + 1
    with Warehouse(tmp_path / "other.duckdb") as other:
        assert other.import_parquet(out)["person"] == 4


def test_import_refuses_files_not_named_after_tables(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    duckdb.sql(f"COPY (SELECT 1 AS x) TO '{d / 'person; DROP TABLE person.parquet'}'")
    with Warehouse(tmp_path / "w.duckdb") as w, pytest.raises(WarehouseError, match="not named"):
        w.import_parquet(d)


def test_unknown_table_names_are_refused(ident: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="not a table"):
        ident.export_parquet(tmp_path / "pq", tables=["person\" TO '/tmp/x' --"])


def test_cli_export_needs_include_identified(ident: Warehouse, tmp_path: Path) -> None:
    path = ident.path
    ident.close()
    runner = CliRunner()
    r = runner.invoke(app, ["warehouse", "export", str(tmp_path / "a"), "-w", path])
    assert r.exit_code == 0, r.output
    assert "--include-identified" in r.output
    assert not (tmp_path / "a" / "mm_person_identity.parquet").exists()
    assert (tmp_path / "a" / "person.parquet").exists()
    r = runner.invoke(
        app, ["warehouse", "export", str(tmp_path / "b"), "-w", path, "--include-identified"]
    )
    assert r.exit_code == 0 and (tmp_path / "b" / "mm_person_identity.parquet").exists()
    with Warehouse(path, read_only=True) as w:
        assert [e.action for e in entries(w.con)][-2:] == ["warehouse.export"] * 2


def test_export_files_are_private(ident: Warehouse, tmp_path: Path) -> None:
    written = ident.export_parquet(tmp_path / "pq", tables=["person"])
    # Before: 0644 files in a 0755 folder.
    assert _mode(written["person"]) == 0o600 and _mode(tmp_path / "pq") == 0o700


# ---- the consent-aware export -------------------------------------------------------------


def _refuse_first(w: Warehouse, tmp_path: Path, people) -> None:
    p = tmp_path / "consent.csv"
    p.write_text(
        "person_source_value,person_id,purpose,decision,start,end\n"
        f",{people[0].person_id},external_sharing,deny,,\n"
    )
    load_csv(p, w)


def test_consent_export_never_ships_provenance_or_system_tables(ident, tmp_path, people) -> None:
    _refuse_first(ident, tmp_path, people)
    rep = export_parquet(ident, tmp_path / "rel", "external_sharing")
    shipped = set(rep.files)
    for name in (
        "mm_source_record",
        "mm_load",
        "mm_load_file",
        "mm_reference",
        "mm_quarantine",
        "mm_quality_result",
        "mm_audit",
        "mm_consent",
        "mm_person_link",
        "mm_source_concept",
    ):
        assert name not in shipped and name in NEVER_EXPORTED
    # Before: mm_source_record was shipped whole, with the refusing person's file name.
    assert rep.rows["person"] == 3 and rep.excluded == 1
    for f in rep.files.values():
        text = str(pq.read_table(f).to_pylist())
        assert people[0].mrn not in text and people[0].family not in text
    for name in ("mm_source_record", "mm_load", "mm_quality_result"):
        with pytest.raises(PrivacyError, match="never exported"):
            export_parquet(ident, tmp_path / "x", "external_sharing", [name])


def test_consent_export_filters_location_and_cost_by_person(ident, tmp_path, people) -> None:
    _refuse_first(ident, tmp_path, people)
    rep = export_parquet(ident, tmp_path / "rel", "external_sharing", ["location", "cost"])
    refused_loc = ident.con.execute(
        "SELECT location_id FROM person WHERE person_id = ?", [people[0].person_id]
    ).fetchone()[0]
    locs = pq.read_table(rep.files["location"]).column("location_id").to_pylist()
    assert refused_loc not in locs and len(locs) == 3
    visits = ident.con.execute(
        "SELECT visit_occurrence_id FROM visit_occurrence WHERE person_id = ?",
        [people[0].person_id],
    ).fetchall()
    costs = set(pq.read_table(rep.files["cost"]).column("cost_event_id").to_pylist())
    assert costs and not costs & {v[0] for v in visits}


def test_consent_export_paths_are_quoted_and_files_private(ident, tmp_path) -> None:
    rep = export_parquet(ident, tmp_path / HOSTILE, "research", ["person"])
    assert rep.rows["person"] == 4 and _mode(rep.files["person"]) == 0o600
    assert [e.action for e in entries(ident.con)][-1] == "export"
    assert verify(ident).ok


# ---- files that may hold PHI are created 0600 ----------------------------------------------


def test_new_warehouse_wal_and_head_file_are_private(tmp_path: Path) -> None:
    from medmine.privacy.audit import append

    path = tmp_path / "new.duckdb"
    w = Warehouse(path)
    w.con.execute(
        "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
        "race_concept_id, ethnicity_concept_id) VALUES (1, 0, 1950, 0, 0)"
    )
    append(w.con, None, "load")
    wal = Path(str(path) + ".wal")
    # Before: the database file and its WAL (which holds rows not yet checkpointed) were 0644.
    assert _mode(path) == 0o600
    assert not wal.exists() or _mode(wal) == 0o600
    assert _mode(Path(str(path) + ".audit-head")) == 0o600
    w.close()


def test_the_umask_is_restored_when_the_last_warehouse_closes(tmp_path: Path) -> None:
    import os

    before = os.umask(0o022)
    os.umask(before)
    a = Warehouse(tmp_path / "a.duckdb")
    b = Warehouse(tmp_path / "b.duckdb")
    a.close()
    (tmp_path / "while-open").write_text("x")
    assert _mode(tmp_path / "while-open") == 0o600
    b.close()
    b.close()  # idempotent
    current = os.umask(before)
    assert current == before


def test_private_open_narrows_an_existing_file(tmp_path: Path) -> None:
    p = tmp_path / "old.csv"
    p.write_text("x")
    p.chmod(0o644)
    with private_open(p, "w") as f:
        f.write("y")
    assert _mode(p) == 0o600 and p.read_text() == "y"
    with pytest.raises(ValueError):
        private_open(p, "r")


def test_private_umask_nests(tmp_path: Path, monkeypatch) -> None:
    import os

    from medmine.warehouse import files

    # Start from no holder, whatever an earlier test left open in this process (a writable
    # warehouse still open holds the private umask).
    monkeypatch.setattr(files, "_holders", 0)
    monkeypatch.setattr(files, "_saved", None)
    before = os.umask(0o022)
    try:
        release = hold_private_umask()
        with private_umask():
            pass
        (tmp_path / "still").write_text("x")
        assert _mode(tmp_path / "still") == 0o600
        release()
        release()
        (tmp_path / "after").write_text("x")
        assert _mode(tmp_path / "after") == 0o644
    finally:
        os.umask(before)
