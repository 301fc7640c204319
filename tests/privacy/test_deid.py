from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import ConfigError, PrivacyError
from medmine.privacy.audit import verify
from medmine.privacy.deid import RESTRICTED_ZIP3, DeidConfig, deidentify
from medmine.privacy.deid_policy import ZIP3_POPULATION_2020
from medmine.privacy.pseudonym import pseudonyms
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import TABLES

from .conftest import Ident, build_identified, default_people

REF = dt.date(2026, 11, 23)
KEY = b"unit-test-key"


def _all_text(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    parts = []
    for spec in TABLES:
        for c in spec.columns:
            if c.type == "varchar":
                rows = con.execute(
                    f'SELECT "{c.name}" FROM "{spec.name}" WHERE "{c.name}" IS NOT NULL'
                ).fetchall()
                parts += [r[0] for r in rows]
    con.close()
    return "\n".join(parts)


def _identifier_values(p: Ident) -> list[str]:
    return [
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
        "Fairweather",
        "Cornelius",
        "LEMUEL SHATTUCK HOSPITAL",
        "Marblehead",
    ]


_name = st.text("abcdefghijklmnopqrstuvwxyz", min_size=5, max_size=10).map(str.capitalize)


@st.composite
def _people(draw: st.DrawFn) -> list[Ident]:
    base = default_people(3)
    out = []
    for p in base:
        g, f = draw(_name), draw(_name)
        yob = draw(st.integers(1915, 2015))
        # Populated restricted areas only: an unassigned prefix such as 000 makes a ZIP of zeros,
        # which any numeric column would "contain".
        small = sorted(z3 for z3 in RESTRICTED_ZIP3 if ZIP3_POPULATION_2020.get(z3, 0) > 0)
        z = draw(st.sampled_from(small + ["021", "100", "945"]))
        digits = draw(st.text("0123456789", min_size=6, max_size=6))
        out.append(
            Ident(
                **{
                    **p.__dict__,
                    "given": g,
                    "family": f,
                    "birth": dt.date(yob, draw(st.integers(1, 12)), 11),
                    "zip": z + digits,
                    "email": f"{g.lower()}.{f.lower()}@example.com",
                }
            )
        )
    return out


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=_people())
def test_safe_harbor_output_holds_no_identifier(tmp_path_factory, people: list[Ident]) -> None:
    d = tmp_path_factory.mktemp("sh")
    src = build_identified(d / "src.duckdb", people)
    out = d / "out.duckdb"
    deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    blob = _all_text(out)
    for p in people:
        for v in _identifier_values(p):
            assert v not in blob
    con = duckdb.connect(str(out), read_only=True)
    # no five-digit ZIP anywhere, restricted areas become 000
    zips = [r[0] for r in con.execute("SELECT zip FROM location").fetchall()]
    assert all(re.fullmatch(r"\d{3}", z) for z in zips)
    assert not re.search(r"\b\d{5}\b", blob)
    for p, z in zip(people, zips, strict=True):
        assert z == ("000" if p.zip[:3] in RESTRICTED_ZIP3 else p.zip[:3])
    # every date is January 1 of its year
    for spec in TABLES:
        if not spec.person_column:
            continue
        for c in spec.date_columns:
            bad = con.execute(
                f'SELECT count(*) FROM "{spec.name}" WHERE "{c}" IS NOT NULL '
                f'AND (month("{c}") <> 1 OR day("{c}") <> 1 '
                f'OR CAST("{c}" AS TIMESTAMP) <> date_trunc(\'year\', "{c}"))'
            ).fetchone()[0]
            assert bad == 0, (spec.name, c)
    assert (
        con.execute(
            "SELECT count(*) FROM person WHERE month_of_birth IS NOT NULL "
            "OR day_of_birth IS NOT NULL OR birth_datetime IS NOT NULL"
        ).fetchone()[0]
        == 0
    )
    # no age over 89 at the reference date
    assert con.execute(f"SELECT max({REF.year} - year_of_birth) FROM person").fetchone()[0] <= 90
    # notes: only years remain
    for (text,) in con.execute("SELECT note_text FROM note").fetchall():
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    con.close()


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=_people(), key=st.binary(min_size=1, max_size=16))
def test_expert_mode_holds_no_identifier_and_keeps_intervals(
    tmp_path_factory, people: list[Ident], key: bytes
) -> None:
    d = tmp_path_factory.mktemp("ex")
    src = build_identified(d / "src.duckdb", people)
    out = d / "out.duckdb"
    deidentify(src, out, DeidConfig(mode="expert", reference_date=REF), key=key)
    blob = _all_text(out)
    for p in people:
        for v in _identifier_values(p):
            assert v not in blob
    q = (
        "SELECT v.person_id, v.visit_start_date, c.condition_start_date, o.observation_period_"
        "start_date FROM visit_occurrence v JOIN condition_occurrence c USING "
        "(visit_occurrence_id) JOIN observation_period o ON o.person_id = v.person_id"
    )

    def intervals(path: Path) -> list[tuple[int, ...]]:
        con = duckdb.connect(str(path), read_only=True)
        rows = con.execute(q).fetchall()
        con.close()
        return sorted(((c - v).days, (v - o).days) for _, v, c, o in rows)

    assert intervals(src) == intervals(out)


def test_ages_over_89_capped_at_90(tmp_path: Path, people: list[Ident]) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    out = tmp_path / "o.duckdb"
    rep = deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    con = duckdb.connect(str(out), read_only=True)
    yobs = sorted(r[0] for r in con.execute("SELECT year_of_birth FROM person").fetchall())
    assert yobs[0] == REF.year - 90 and rep.ages_capped == 1


def test_expert_mode_preserves_intervals_per_person(tmp_path: Path, people) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    out = tmp_path / "o.duckdb"
    deidentify(src, out, DeidConfig(mode="expert", reference_date=REF), key=KEY)
    s = duckdb.connect(str(src), read_only=True)
    o = duckdb.connect(str(out), read_only=True)
    q = (
        "SELECT v.visit_start_date, c.condition_start_date, n.note_text FROM visit_occurrence v "
        "JOIN condition_occurrence c USING (visit_occurrence_id) JOIN note n "
        "USING (visit_occurrence_id) ORDER BY v.person_id, v.visit_start_date"
    )
    before, after = s.execute(q).fetchall(), o.execute(q).fetchall()
    assert len(before) == len(after) == 12
    shifts = set()
    # intervals between a visit and its condition are preserved
    assert sorted((c - v).days for v, c, _ in before) == sorted((c - v).days for v, c, _ in after)
    for v, _, text in after:
        # the note's first line is the visit date, shifted consistently with the table
        assert text.splitlines()[0] == v.isoformat()
        shifts.add(v.year)
    pairs_b = s.execute("SELECT person_id, visit_start_date FROM visit_occurrence").fetchall()
    pairs_a = o.execute("SELECT person_id, visit_start_date FROM visit_occurrence").fetchall()

    def spans(pairs):
        g: dict[int, list[dt.date]] = {}
        for p, d in pairs:
            g.setdefault(p, []).append(d)
        return sorted(tuple((x - min(v)).days for x in sorted(v)) for v in g.values())

    assert spans(pairs_b) == spans(pairs_a)
    assert pairs_b != pairs_a


def test_foreign_keys_map_consistently(tmp_path: Path, people) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    out = tmp_path / "o.duckdb"
    deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    assert (
        o.execute(
            "SELECT count(*) FROM condition_occurrence c LEFT JOIN visit_occurrence v "
            "USING (visit_occurrence_id, person_id) WHERE v.person_id IS NULL"
        ).fetchone()[0]
        == 0
    )
    assert (
        o.execute(
            "SELECT count(*) FROM note n JOIN visit_occurrence v "
            "USING (visit_occurrence_id, person_id)"
        ).fetchone()[0]
        == 12
    )
    assert (
        o.execute(
            "SELECT count(*) FROM visit_occurrence a JOIN visit_occurrence b "
            "ON a.preceding_visit_occurrence_id = b.visit_occurrence_id "
            "AND a.person_id = b.person_id"
        ).fetchone()[0]
        == 8
    )
    ids = {r[0] for r in o.execute("SELECT person_id FROM person").fetchall()}
    # keyed and salted per release: neither the source ids nor the key's unsalted pseudonyms
    assert len(ids) == len(people)
    assert not ids & set(pseudonyms([p.person_id for p in people], "person", KEY))
    assert not ids & {p.person_id for p in people}


def test_no_table_keeps_an_original_person_id(tmp_path: Path, people) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    with Warehouse(src) as w:  # derived tables that carry person_id too
        w.con.execute(
            "INSERT INTO mm_measurement_norm (measurement_id, person_id, status) "
            "SELECT person_id * 10, person_id, 'ok' FROM person"
        )
        w.con.execute(
            "INSERT INTO mm_person_link (cluster_id, person_id, source) "
            "SELECT person_id, person_id, 'fhir' FROM person"
        )
    out = tmp_path / "o.duckdb"
    deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    originals = {p.person_id for p in people}
    o = duckdb.connect(str(out), read_only=True)
    checked = 0
    for spec in TABLES:
        if "person_id" not in spec.column_names:
            continue
        got = {r[0] for r in o.execute(f'SELECT DISTINCT person_id FROM "{spec.name}"').fetchall()}
        assert not got & originals, spec.name
        checked += bool(got)
    assert checked >= 5


def test_pseudonyms_deterministic_and_key_dependent() -> None:
    ids = list(range(1, 2000))
    a, b = pseudonyms(ids, "person", b"k1"), pseudonyms(ids, "person", b"k1")
    c = pseudonyms(ids, "person", b"k2")
    assert a == b and all(x != y for x, y in zip(a, c, strict=True))
    assert all(0 < x < 2**63 for x in a) and len(set(a)) == len(a)
    import hashlib
    import hmac

    d = hmac.new(b"k1", b"person:5", hashlib.sha256).digest()
    assert a[4] == int.from_bytes(d[:8], "big") & (2**63 - 1)


def test_consent_deny_excludes_person(tmp_path: Path, people) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    with Warehouse(src) as wh:
        wh.con.execute(
            "INSERT INTO mm_consent VALUES (?, 'research', 'deny', NULL, NULL, 'test', NULL)",
            [people[1].person_id],
        )
    rep = deidentify(src, tmp_path / "o.duckdb", DeidConfig(reference_date=REF), key=KEY)
    assert rep.consent_excluded == 1 and rep.rows["person"] == 3 and rep.rows["note"] == 9
    with Warehouse(tmp_path / "o.duckdb", read_only=True) as o:
        assert verify(o).ok and o.count("mm_audit") == 1
    with Warehouse(src, read_only=True) as s:
        assert s.df("SELECT action FROM mm_audit")["action"].tolist() == ["deid.export"]


def test_refuses_to_overwrite_and_needs_key(tmp_path: Path, people, monkeypatch) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    monkeypatch.delenv("MEDMINE_DEID_KEY", raising=False)
    with pytest.raises(ConfigError, match="MEDMINE_DEID_KEY"):
        deidentify(src, tmp_path / "o.duckdb")
    with pytest.raises(PrivacyError):
        deidentify(src, src, key=KEY)


def test_cli_deid(tmp_path: Path, people, deid_key) -> None:
    src = build_identified(tmp_path / "s.duckdb", people)
    r = CliRunner().invoke(app, ["deid", "-w", str(src), "--to", str(tmp_path / "o.duckdb")])
    assert r.exit_code == 0, r.output
    assert "excluded" in r.output and people[0].family not in r.output
