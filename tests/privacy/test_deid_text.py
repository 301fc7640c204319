"""Default-deny for text (issue 11, item 3): every VARCHAR column of every output table has a
reviewed policy, and identifiers placed in every free-text column, or loaded by every
reader, survive nowhere in a release.

Before the fix: ``measurement.value_source_value`` and ``observation.value_source_value``
(HL7 OBX text), ``mm_source_concept.display``, ``mm_claim_line.procedure_display`` and
``payer_plan_period.payer_source_value`` were copied verbatim, with names, phone numbers, SSNs
and dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from medmine.errors import PrivacyError
from medmine.privacy import deid_policy
from medmine.privacy.deid import DeidConfig, deidentify
from medmine.privacy.deid_policy import TEXT_POLICY, Text, id_family, output_tables
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import TABLES, Column

from .conftest import HOSTILE_EXTRA, Ident, build_rich, default_people

REF = dt.date(2026, 11, 23)
KEY = b"text-test-key-0123456789abcdef01"
DATA = Path(__file__).resolve().parents[1] / "data"
LEAKY = [
    ("measurement", "value_source_value"),
    ("observation", "value_source_value"),
    ("mm_source_concept", "display"),
    ("mm_claim_line", "procedure_display"),
    ("payer_plan_period", "payer_source_value"),
]


def varchar_values(path: Path) -> dict[str, list[str]]:
    """``table.column`` -> every non-NULL value of every VARCHAR column of the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for spec in TABLES:
        for c in spec.columns:
            if c.type == "varchar":
                rows = con.execute(
                    f'SELECT "{c.name}" FROM "{spec.name}" WHERE "{c.name}" IS NOT NULL'
                ).fetchall()
                out[f"{spec.name}.{c.name}"] = [r[0] for r in rows]
    con.close()
    return out


def leaks(path: Path, values: set[str]) -> dict[str, set[str]]:
    """Identifier values found (as whole words) in any VARCHAR column: column -> values."""
    found: dict[str, set[str]] = {}
    pats = {v: re.compile(rf"(?<!\w){re.escape(v)}(?!\w)") for v in values if len(v) >= 3}
    for col, vals in varchar_values(path).items():
        blob = "\n".join(vals)
        hit = {v for v, p in pats.items() if p.search(blob)}
        if hit:
            found[col] = hit
    return found


def identity_values(p: Ident) -> set[str]:
    return {
        p.given,
        p.family,
        p.street,
        p.zip,
        p.zip[:5],
        p.phone,
        p.email,
        p.ssn,
        p.mrn,
        p.license,
        p.passport,
        p.source_value,
        "Marblehead",
        "Fairweather",
        "LEMUEL SHATTUCK HOSPITAL",
        *HOSTILE_EXTRA,
    }


def test_every_output_column_has_a_reviewed_policy() -> None:
    assert deid_policy.unclassified() == []
    for spec in output_tables():
        for c in spec.columns:
            if c.type == "varchar":
                assert isinstance(TEXT_POLICY[spec.name][c.name], Text)
            if c.type == "bigint" and spec.name not in deid_policy.VOCABULARY_TABLES:
                assert id_family(spec.name, c.name), (spec.name, c.name)
    assert all(TEXT_POLICY[t][c] is Text.SCRUB for t, c in LEAKY)


def test_a_new_column_stops_deid_until_classified(monkeypatch, tmp_path: Path) -> None:
    spec = next(t for t in TABLES if t.name == "measurement")
    grown = dataclasses.replace(spec, columns=(*spec.columns, Column("free_comment", "varchar")))
    tables = tuple(grown if t is spec else t for t in TABLES)
    monkeypatch.setattr(deid_policy, "TABLES", tables)
    assert deid_policy.unclassified() == ["measurement.free_comment"]
    src = build_rich(tmp_path / "s.duckdb", default_people(1))
    with pytest.raises(PrivacyError, match=r"measurement\.free_comment"):
        deidentify(src, tmp_path / "o.duckdb", DeidConfig(reference_date=REF), key=KEY)
    assert not (tmp_path / "o.duckdb").exists()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rich(tmp_path_factory.mktemp("h") / "src.duckdb", default_people(), hostile=True)


@pytest.mark.parametrize("mode", ["safe_harbor", "expert"])
def test_hostile_identifiers_in_every_free_text_column_survive_nowhere(
    hostile: Path, tmp_path: Path, mode: str
) -> None:
    people = default_people()
    values = set().union(*(identity_values(p) for p in people))
    planted = leaks(hostile, values)
    # the fixture did plant them in every free-text column, including the five leaky ones
    free = {
        f"{t.name}.{c}"
        for t in output_tables()
        for c, pol in TEXT_POLICY.get(t.name, {}).items()
        if pol in (Text.SCRUB, Text.NULL)
    }
    assert free <= set(planted)
    out = tmp_path / "o.duckdb"
    rep = deidentify(hostile, out, DeidConfig(mode=mode, reference_date=REF), key=KEY)
    assert rep.text_values_scrubbed > 0
    assert leaks(out, values) == {}
    # no full date either (Safe Harbor: years; expert: shifted, but never a source date)
    if mode == "safe_harbor":
        blob = "\n".join(v for vals in varchar_values(out).values() for v in vals)
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", blob)


def test_known_leaky_columns_are_scrubbed_not_copied(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.duckdb"
    deidentify(hostile, out, DeidConfig(reference_date=REF), key=KEY)
    vals = varchar_values(out)
    for t, c in LEAKY:
        assert vals[f"{t}.{c}"], (t, c)
        # scrubbed (a value also planted in a shared deny-list may collapse to one tag)
        assert all(re.search(r"\[[A-Z ]+\]", v) for v in vals[f"{t}.{c}"]), (t, c)
    assert any("[SSN]" in v and "[PHONE]" in v for v in vals["measurement.value_source_value"])


def test_code_columns_keep_codes_and_lose_identity_values(tmp_path: Path) -> None:
    people = default_people()
    src = build_rich(tmp_path / "s.duckdb", people)
    con = duckdb.connect(str(src))
    p = people[2]
    con.execute(
        "UPDATE drug_exposure SET drug_source_value = ? WHERE person_id = ?", [p.ssn, p.person_id]
    )
    con.execute(
        "UPDATE specimen SET specimen_source_value = ? WHERE person_id = ?", [p.family, p.person_id]
    )
    con.close()
    out = tmp_path / "o.duckdb"
    rep = deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    assert rep.code_values_guarded == 2
    vals = varchar_values(out)
    assert p.ssn not in vals["drug_exposure.drug_source_value"]
    assert "[SSN]" in vals["drug_exposure.drug_source_value"]
    assert vals["specimen.specimen_source_value"] == ["[NAME]"]
    # codes are kept as they are
    assert "RxNorm:314076" in vals["drug_exposure.drug_source_value"]
    assert set(vals["condition_occurrence.condition_source_value"]) == {"38341003"}
    assert set(vals["measurement.unit_source_value"]) == {"cm"}
    assert set(vals["mm_claim.dx_1"]) == {"I10"}


def _identities(path: Path) -> set[str]:
    """Identity values a loaded warehouse holds (names, addresses, numbers, source ids)."""
    con = duckdb.connect(str(path), read_only=True)
    values: set[str] = set()
    for row in con.execute(
        "SELECT given_name, family_name, address_line, zip, phone, email, ssn, mrn, "
        "drivers_license, passport FROM mm_person_identity"
    ).fetchall():
        values |= {v for v in row if v and len(v) >= 4}
    values |= {
        v
        for (v,) in con.execute(
            "SELECT value FROM mm_identifier WHERE table_name = 'person'"
        ).fetchall()
        if len(v) >= 4
    }
    con.close()
    return values


SOURCES = {
    "hl7v2": ("medmine.ingest.hl7v2", sorted((DATA / "hl7v2").glob("0[123]_*"))),
    "synthea_csv": ("medmine.ingest.synthea_csv", [DATA / "synthea_csv"]),
    "claims": ("medmine.ingest.claims", [DATA / "claims" / "claims_generic.csv"]),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_no_loaded_identity_survives_from_any_reader(source: str, tmp_path: Path) -> None:
    import importlib

    module, paths = SOURCES[source]
    reader = importlib.import_module(module)
    src = tmp_path / "w.duckdb"
    with Warehouse(src) as wh:
        reader.load(paths, wh)
    values = _identities(src)
    assert values, source
    for mode in ("safe_harbor", "expert"):
        out = tmp_path / f"{mode}.duckdb"
        deidentify(src, out, DeidConfig(mode=mode, reference_date=REF), key=KEY)
        assert leaks(out, values) == {}, (source, mode)
