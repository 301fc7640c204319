"""End to end on real sample bundles: FHIR load, de-identify, search the output for every
identity value the source holds."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from medmine.privacy.deid import DeidConfig, deidentify
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import TABLES

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "synthea_fhir"
BUNDLES = ["Latashia_Emard_91f21d7d.json.gz", "Lola_Soria_14b42a15.json.gz"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fhir = pytest.importorskip("medmine.ingest.fhir")
    paths = [SAMPLES / b for b in BUNDLES if (SAMPLES / b).exists()]
    if not paths:
        pytest.skip("sample bundles not present")
    path = tmp_path_factory.mktemp("fhir") / "w.duckdb"
    with Warehouse(path) as wh:
        fhir.load(paths, wh)
    return path


def test_no_identity_value_survives_in_output(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "deid.duckdb"
    rep = deidentify(loaded, out, DeidConfig(reference_date=dt.date(2026, 11, 23)), key=b"k")
    assert rep.rows["person"] >= 1 and rep.notes_scrubbed > 0
    src = duckdb.connect(str(loaded), read_only=True)
    values: set[str] = set()
    for row in src.execute(
        "SELECT given_name, family_name, address_line, zip, phone, email, ssn, mrn, "
        "drivers_license, passport FROM mm_person_identity"
    ).fetchall():
        values |= {v for v in row if v and len(v) >= 3}
    values |= {
        v
        for (v,) in src.execute(
            "SELECT value FROM mm_identifier WHERE table_name = 'person'"
        ).fetchall()
    }
    values |= {v for (v,) in src.execute("SELECT person_source_value FROM person").fetchall() if v}
    src.close()
    assert values
    con = duckdb.connect(str(out), read_only=True)
    blob = []
    for spec in TABLES:
        for c in spec.columns:
            if c.type == "varchar":
                blob += [
                    r[0]
                    for r in con.execute(
                        f'SELECT "{c.name}" FROM "{spec.name}" WHERE "{c.name}" IS NOT NULL'
                    ).fetchall()
                ]
    text = "\n".join(blob)
    leaked = [v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text)]
    assert leaked == [], f"{len(leaked)} identity values found in the output"
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)  # no full dates in free text
