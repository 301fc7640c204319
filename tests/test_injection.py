"""SQL injection canaries: hostile file names, record values and CLI options are data, never SQL.

Every test starts from a warehouse holding canary rows (audit entries, a person) and feeds
quotes, semicolons, comments and path traversal through one reader or command. Afterwards the
canary rows are intact (the audit chain verifies and still starts with the canary entries), no
table was created or dropped, and a hostile value that is data is stored verbatim or
quarantined, never executed.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import MedmineError
from medmine.ingest import claims, fhir, hl7v2, notes, omop, synthea_csv
from medmine.privacy.audit import verify
from medmine.warehouse import Warehouse
from medmine.warehouse import audit as audit_store
from medmine.warehouse.sql import ident

TEST_DATA = Path(__file__).resolve().parent / "data"

DELETE_AUDIT = "x'); DELETE FROM mm_audit; --"
DROP_PERSON = 'x"; DROP TABLE person; --'
TRAVERSAL = "../../etc/passwd"
TAUTOLOGY = "' OR '1'='1"
COMMENT = "a/* */b"
COMMENT_NAME = "a -- b *"
SEMICOLON = ";"
CREATE_PWNED = "x'; CREATE TABLE pwned(a INT); --"
#: Hostile values usable as data (record fields, option values).
HOSTILE = [DELETE_AUDIT, DROP_PERSON, TRAVERSAL, TAUTOLOGY, COMMENT, SEMICOLON, CREATE_PWNED]
#: Hostile values usable as one file or folder name (no slash).
HOSTILE_NAMES = [DELETE_AUDIT, DROP_PERSON, TAUTOLOGY, COMMENT_NAME, SEMICOLON, CREATE_PWNED]
CANARY_PERSON = 42


# ---- canary warehouse and checks -------------------------------------------------------------


def _seed(path: Path) -> None:
    with Warehouse(path) as wh:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id, person_source_value) VALUES (?, 8507, 1950, 0, 0, ?)",
            [CANARY_PERSON, "canary"],
        )
        for i in range(3):
            audit_store.append(wh.con, None, "canary", "person", i, None, {"canary": i})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "canary.duckdb"
    _seed(path)
    return path


def _tables(con) -> set[tuple[str, str, str]]:
    return {
        tuple(r)
        for r in con.execute(
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema <> 'pg_catalog'"
        ).fetchall()
    }


def _state(path: Path) -> dict:
    with Warehouse(path, read_only=True) as wh:
        return {
            "tables": _tables(wh.con),
            "audit": wh.con.execute("SELECT seq, hash FROM mm_audit ORDER BY seq").fetchall(),
            "person": wh.con.execute(
                "SELECT person_id, person_source_value FROM person WHERE person_id = ?",
                [CANARY_PERSON],
            ).fetchall(),
        }


def _assert_intact(path: Path, before: dict) -> dict:
    """The canary rows and the table set are unchanged; the audit chain verifies."""
    after = _state(path)
    assert after["tables"] == before["tables"], after["tables"] ^ before["tables"]
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert after["person"] == [(CANARY_PERSON, "canary")]
    with Warehouse(path, read_only=True) as wh:
        v = verify(wh)
        assert v.ok, v
    return after


def _text_columns(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND data_type = 'VARCHAR'"
    ).fetchall()


def _stored(path: Path, value: str) -> list[str]:
    """Where `value` is stored verbatim (table.column), or quarantined raw input contains it."""
    where = []
    forms = {value, value.replace('"', '""'), json.dumps(value)[1:-1]}  # raw, CSV, JSON
    with Warehouse(path, read_only=True) as wh:
        for t, c in _text_columns(wh.con):
            for form in forms:
                n = wh.con.execute(
                    f"SELECT count(*) FROM {ident(t)} WHERE contains({ident(c)}, ?)", [form]
                ).fetchone()[0]
                if n:
                    where.append(f"{t}.{c}")
    return where


def _assert_data(path: Path, values: list[str]) -> None:
    for v in values:
        assert _stored(path, v), f"{v!r} is neither stored nor quarantined"


def _load(path: Path, reader, *args, **kwargs):
    before = _state(path)
    with Warehouse(path) as wh:
        try:
            reader.load(*args, wh, **kwargs)
        except Exception as exc:  # a refusal is fine; running the hostile text is not
            assert "syntax error" not in str(exc).lower(), exc
    return _assert_intact(path, before)


# ---- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_fhir_file_and_folder_names(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(TEST_DATA / "fhir" / "bulk" / "Patient.ndjson", folder / "Patient.ndjson")
    shutil.copy(TEST_DATA / "fhir" / "bulk" / "Patient.ndjson", folder / f"{name}.ndjson")
    _load(db, fhir, [folder / "Patient.ndjson", folder / f"{name}.ndjson"])
    _assert_data(db, [name])  # the file name is recorded as provenance, verbatim


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hl7v2_file_names(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    src = folder / f"{name}.hl7"
    shutil.copy(TEST_DATA / "hl7v2" / "02_cerner_oru_batch.hl7", src)
    _load(db, hl7v2, [src])
    _assert_data(db, [name])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_claims_file_names(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    src = folder / f"{name}.csv"
    shutil.copy(TEST_DATA / "claims" / "claims_generic.csv", src)
    _load(db, claims, [src])
    _assert_data(db, [name])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_synthea_csv_folder_names(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    shutil.copytree(TEST_DATA / "synthea_csv", folder)
    _load(db, synthea_csv, [folder])
    _assert_data(db, [name])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_omop_folder_names(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    shutil.copytree(TEST_DATA / "omop_csv", folder)
    _load(db, omop, folder)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_omop_duckdb_file_names(db: Path, tmp_path: Path, name: str) -> None:
    src = tmp_path / f"{name}.duckdb"
    with Warehouse(src) as other:
        other.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
            "ethnicity_concept_id, person_source_value) VALUES (7, 8532, 1970, 0, 0, ?)",
            [name],
        )
    _load(db, omop, src)
    _assert_data(db, [name])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_notes_file_names_and_metadata(db: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{name}.txt").write_text(f"Note text {name}\n")
    with open(folder / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "person", "date", "note_type", "title"])
        w.writerow([f"{name}.txt", CANARY_PERSON, "2023-01-02", "progress note", name])
        w.writerow([TRAVERSAL, CANARY_PERSON, "2023-01-02", "progress note", "t"])
    _load(db, notes, [folder])
    _assert_data(db, [name, f"Note text {name}"])


def test_path_traversal_in_a_path_is_just_a_path(db: Path, tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    src = tmp_path / "a" / "b" / ".." / ".." / "Patient.ndjson"
    shutil.copy(TEST_DATA / "fhir" / "bulk" / "Patient.ndjson", tmp_path / "Patient.ndjson")
    _load(db, fhir, [src])


# ---- record values ----------------------------------------------------------------------------


def test_fhir_ids_codes_and_identifiers(db: Path, tmp_path: Path) -> None:
    lines = []
    for i, v in enumerate(HOSTILE):
        lines.append(
            {
                "resourceType": "Patient",
                "id": v,
                "gender": "female",
                "birthDate": "1960-01-01",
                "identifier": [{"system": "http://hospital.example.org", "value": v}],
            }
        )
        lines.append(
            {
                "resourceType": "Observation",
                "id": f"obs-{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": v, "display": v}]},
                "subject": {"reference": f"Patient/{v}"},
                "effectiveDateTime": "2020-01-01",
                "valueString": v,
            }
        )
    src = tmp_path / "bundle.ndjson"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    _load(db, fhir, [src])
    _assert_data(db, HOSTILE)


def test_hl7v2_fields(db: Path, tmp_path: Path) -> None:
    text = (TEST_DATA / "hl7v2" / "02_cerner_oru_batch.hl7").read_text()
    msgs = []
    for i, v in enumerate(HOSTILE):
        m = (
            f"MSH|^~\\&|CERNER|UMCLAB|MEDMINE|UMC|20230302080000||ORU^R01^ORU_R01|INJ{i}|P|2.5.1\r"
            f"PID|1||{v}^^^UMC^MR||SMITH^ANNA||19560412|F\r"
            f"OBR|1|ORD{i}|FIL{i}|24323-8^Comprehensive metabolic panel^LN|||202303020600\r"
            f"OBX|1|ST|{v}^{v}^LN||{v}||||||F|||202303020610\r"
        )
        msgs.append(m)
    assert "MSH|" in text
    src = tmp_path / "hostile.hl7"
    src.write_text("".join(msgs))
    _load(db, hl7v2, [src])
    _assert_data(db, HOSTILE)


def test_claims_csv_values(db: Path, tmp_path: Path) -> None:
    with open(TEST_DATA / "claims" / "claims_generic.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for i, v in enumerate(HOSTILE):
        r = dict(rows[0])
        r.update(
            claim_id=f"{v}-{i}",
            patient_id=v,
            payer=v,
            dx_1=v,
            procedure_code=v,
            procedure_description=v,
        )
        out.append(r)
    src = tmp_path / "claims.csv"
    with open(src, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(out)
    _load(db, claims, [src])
    _assert_data(db, HOSTILE)


def test_synthea_csv_values(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "synthea"
    shutil.copytree(TEST_DATA / "synthea_csv", folder)
    with open(folder / "conditions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    base = rows[0]
    for v in HOSTILE:
        rows.append({**base, "CODE": v, "DESCRIPTION": v})
    with open(folder / "conditions.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(base))
        w.writeheader()
        w.writerows(rows)
    _load(db, synthea_csv, [folder])
    _assert_data(db, HOSTILE)


@pytest.mark.parametrize("value", HOSTILE)
def test_omop_csv_values(db: Path, tmp_path: Path, value: str) -> None:
    folder = tmp_path / "omop"
    shutil.copytree(TEST_DATA / "omop_csv", folder)
    with open(folder / "person.csv", "a", newline="") as f:
        csv.writer(f).writerow([100, 8507, 1950, "", "", 8527, 38003564, value])
    before = _state(db)
    with Warehouse(db) as wh:
        try:
            omop.load(folder, wh)
        except MedmineError as exc:  # DuckDB's CSV sniffer may misread the file as a whole
            assert "syntax error" not in str(exc).lower(), exc
            refused = True
        else:
            refused = False
    _assert_intact(db, before)
    if not refused:
        _assert_data(db, [value])


def test_note_text(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    with open(folder / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "person", "date", "note_type", "title"])
        for i, v in enumerate(HOSTILE):
            (folder / f"n{i}.txt").write_text(f"text {v}\n")
            w.writerow([f"n{i}.txt", CANARY_PERSON, "2023-01-02", v, v])
    _load(db, notes, [folder])
    _assert_data(db, [f"text {v}" for v in HOSTILE])


# ---- the warehouse's own table names ----------------------------------------------------------


def test_counts_quote_table_names_from_the_database(db: Path) -> None:
    """A warehouse file from elsewhere may hold a table with a hostile name."""
    with Warehouse(db) as wh:
        for n in HOSTILE:
            wh.con.execute(f"CREATE TABLE {ident(n)} (a INTEGER)")
    before = _state(db)
    with Warehouse(db) as wh:
        got = wh.counts()
        for n in HOSTILE:
            assert got[n] == 0 and wh.count(n) == 0
    _assert_intact(db, before)


# ---- CLI options ------------------------------------------------------------------------------


def _cli(db: Path, args: list[str], *, refusals: tuple[str, ...] = ()):
    before = _state(db)
    res = CliRunner().invoke(app, args)
    refused = any(f"{r}:" in res.output for r in refusals)
    assert refused or "Traceback" not in res.output, res.output
    low = res.output.lower()
    assert not any(e in low for e in ("parser error", "catalog error", "binder error")), low
    assert "syntax error" not in res.output.lower(), res.output
    _assert_intact(db, before)
    return res


@pytest.mark.parametrize("value", HOSTILE)
def test_quarantine_options(db: Path, tmp_path: Path, value: str) -> None:
    bad = tmp_path / "Patient.ndjson"
    bad.write_text("{not json\n" + json.dumps({"resourceType": "Patient", "id": value}) + "\n")
    with Warehouse(db) as wh:
        fhir.load([bad], wh)
    for opt in ("--reason", "--load"):
        res = _cli(db, ["warehouse", "quarantine", "-w", str(db), opt, value])
        assert res.exit_code != 0, res.output  # no reason or load matches: nothing listed
    out = tmp_path / f"{value.replace('/', '_')}.csv"
    _cli(db, ["warehouse", "quarantine", "-w", str(db), "--export", str(out)])
    assert out.exists()


@pytest.mark.parametrize("value", HOSTILE)
def test_consent_load_values(db: Path, tmp_path: Path, value: str) -> None:
    p = tmp_path / "consent.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_source_value", "person_id", "purpose", "decision", "start", "end"])
        w.writerow([value, "", "research", "deny", "", ""])
        w.writerow(["", CANARY_PERSON, value, "deny", "", ""])
        w.writerow(["", CANARY_PERSON, "research", value, value, value])
        w.writerow(["", value, "research", "deny", "", ""])
    _cli(db, ["consent", "load", str(p), "-w", str(db)])


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_warehouse_export_folder_name(db: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    res = _cli(db, ["warehouse", "export", str(out), "-w", str(db)])
    assert res.exit_code == 0, res.output
    assert (out / "person.parquet").exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_vocab_load_folder_name(db: Path, tmp_path: Path, name: str) -> None:
    from .quality.conftest import write_athena_folder

    folder = tmp_path / name
    write_athena_folder(folder)
    res = _cli(db, ["vocab", "load", str(folder), "-w", str(db)])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("study", "key"),
    [
        ("comorbidity_rules", "by"),
        ("comorbidity_rules", "domains"),
        ("comorbidity_rules", "outcome"),
        ("comorbidity_rules", "purpose"),
        ("phenotypes", "purpose"),
        ("claims_fraud", "consent_purpose"),
    ],
)
@pytest.mark.parametrize("value", [DELETE_AUDIT, DROP_PERSON, TAUTOLOGY, CREATE_PWNED])
def test_study_options(db: Path, tmp_path: Path, study: str, key: str, value: str) -> None:
    _cli(
        db,
        ["study", study, "-w", str(db), "--out", str(tmp_path / "out"), "-o", f"{key}={value}"],
    )  # an invalid option is refused in one line (ConfigError), never with a traceback
