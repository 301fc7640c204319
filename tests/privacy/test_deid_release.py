"""Release-safe ids (issue 11, item 2): no row id of the source reaches a release, two
releases of one warehouse share no id, and references stay consistent inside a release.

Before the fix: ``observation_period_id`` equalled the original ``person_id``, every event
id (condition, measurement, note, claim...) was copied, and two releases shared all of them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from medmine.privacy.deid import DeidConfig, deidentify
from medmine.warehouse.schema import TABLES

from .conftest import build_rich, default_people

REF = dt.date(2026, 11, 23)
KEY = b"release-test-key-0123456789abcdef"
#: Not row ids of anyone: vocabularies, and the release's own audit log (seq, row counts).
NOT_DATA = {"concept", "concept_ancestor", "concept_relationship", "mm_source_concept", "mm_audit"}


def _ids(path: Path, tables: set[str] | None = None) -> dict[str, set[int]]:
    """``table.column`` -> the BIGINT values it holds (vocabulary tables left out)."""
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for spec in TABLES:
        if spec.name in NOT_DATA or (tables is not None and spec.name not in tables):
            continue
        for c in spec.columns:
            if c.type == "bigint":
                rows = con.execute(
                    f'SELECT DISTINCT "{c.name}" FROM "{spec.name}" WHERE "{c.name}" IS NOT NULL'
                ).fetchall()
                if rows:
                    out[f"{spec.name}.{c.name}"] = {r[0] for r in rows}
    con.close()
    return out


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rich(tmp_path_factory.mktemp("rich") / "src.duckdb", default_people())


@pytest.fixture(scope="module")
def two_releases(rich: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("rel")
    a, b = d / "a.duckdb", d / "b.duckdb"
    deidentify(rich, a, DeidConfig(reference_date=REF), key=KEY)
    deidentify(rich, b, DeidConfig(reference_date=REF), key=KEY)
    return a, b


def test_observation_period_id_is_not_the_person_id(rich: Path, two_releases) -> None:
    src = duckdb.connect(str(rich), read_only=True)
    persons = {r[0] for r in src.execute("SELECT person_id FROM person").fetchall()}
    assert persons == {
        r[0] for r in src.execute("SELECT observation_period_id FROM observation_period").fetchall()
    }
    out = duckdb.connect(str(two_releases[0]), read_only=True)
    released = {
        r[0] for r in out.execute("SELECT observation_period_id FROM observation_period").fetchall()
    }
    assert len(released) == len(persons) and not released & persons


def test_no_source_row_id_survives_in_any_column(rich: Path, two_releases) -> None:
    source_ids = set().union(*_ids(rich).values())
    leaked = {k: len(v & source_ids) for k, v in _ids(two_releases[0]).items() if v & source_ids}
    assert leaked == {}


def test_two_releases_share_no_row_id(two_releases) -> None:
    a, b = (_ids(p) for p in two_releases)
    assert set(a) == set(b) and len(a) >= 40  # every id column of the release is filled
    shared = {k: len(a[k] & b[k]) for k in a if a[k] & b[k]}
    assert shared == {}
    all_a, all_b = set().union(*a.values()), set().union(*b.values())
    assert not all_a & all_b


def test_expert_releases_keep_offsets_but_not_ids(rich: Path, tmp_path: Path) -> None:
    # the offset belongs to the key (so releases cannot be averaged), the ids to the release
    outs = [tmp_path / "x.duckdb", tmp_path / "y.duckdb"]
    for o in outs:
        deidentify(rich, o, DeidConfig(mode="expert", reference_date=REF), key=KEY)
    q = "SELECT visit_start_date FROM visit_occurrence ORDER BY 1"
    dates = [
        [r[0] for r in duckdb.connect(str(o), read_only=True).execute(q).fetchall()] for o in outs
    ]
    assert dates[0] == dates[1]
    pa, pb = (_ids(o, {"person"})["person.person_id"] for o in outs)
    assert not pa & pb


@pytest.mark.parametrize(
    "child,parent",
    [
        ("SELECT person_id FROM observation_period", "SELECT person_id FROM person"),
        (
            "SELECT visit_occurrence_id FROM condition_occurrence",
            "SELECT visit_occurrence_id FROM visit_occurrence",
        ),
        (
            "SELECT visit_occurrence_id FROM visit_detail",
            "SELECT visit_occurrence_id FROM visit_occurrence",
        ),
        ("SELECT visit_detail_id FROM measurement", "SELECT visit_detail_id FROM visit_detail"),
        (
            "SELECT measurement_event_id FROM measurement",
            "SELECT visit_occurrence_id FROM visit_occurrence",
        ),
        ("SELECT note_id FROM note_nlp", "SELECT note_id FROM note"),
        ("SELECT location_id FROM person", "SELECT location_id FROM location"),
        ("SELECT location_id FROM care_site", "SELECT location_id FROM location"),
        ("SELECT care_site_id FROM provider", "SELECT care_site_id FROM care_site"),
        ("SELECT care_site_id FROM visit_occurrence", "SELECT care_site_id FROM care_site"),
        ("SELECT provider_id FROM visit_occurrence", "SELECT provider_id FROM provider"),
        ("SELECT provider_id FROM mm_provider_role", "SELECT provider_id FROM provider"),
        ("SELECT billing_provider_id FROM mm_claim", "SELECT provider_id FROM provider"),
        ("SELECT claim_id FROM mm_claim_line", "SELECT claim_id FROM mm_claim"),
        (
            "SELECT visit_occurrence_id FROM mm_claim",
            "SELECT visit_occurrence_id FROM visit_occurrence",
        ),
        (
            "SELECT measurement_id FROM mm_measurement_norm",
            "SELECT measurement_id FROM measurement",
        ),
        (
            "SELECT cost_event_id FROM cost WHERE cost_domain_id = 'mm_claim_line'",
            "SELECT claim_line_id FROM mm_claim_line",
        ),
        (
            "SELECT cost_event_id FROM cost WHERE cost_domain_id = 'Visit'",
            "SELECT visit_occurrence_id FROM visit_occurrence",
        ),
    ],
)
def test_references_stay_consistent_within_a_release(two_releases, child: str, parent: str) -> None:
    con = duckdb.connect(str(two_releases[0]), read_only=True)
    children = [r[0] for r in con.execute(child).fetchall()]
    parents = {r[0] for r in con.execute(parent).fetchall()}
    assert children and all(c in parents for c in children)


def test_row_counts_survive(rich: Path, two_releases) -> None:
    src = duckdb.connect(str(rich), read_only=True)
    out = duckdb.connect(str(two_releases[0]), read_only=True)
    for t in ("cost", "note_nlp", "measurement", "mm_claim_line", "location", "visit_detail"):
        assert (
            src.execute(f"SELECT count(*) FROM {t}").fetchone()
            == out.execute(f"SELECT count(*) FROM {t}").fetchone()
        ), t


def test_consent_refusal_removes_rows_without_a_person_column(rich: Path, tmp_path: Path) -> None:
    src = tmp_path / "s.duckdb"
    src.write_bytes(rich.read_bytes())
    con = duckdb.connect(str(src))
    pid = default_people()[1].person_id
    con.execute(
        "INSERT INTO mm_consent VALUES (?, 'research', 'deny', NULL, NULL, 't', NULL)", [pid]
    )
    con.close()
    out = tmp_path / "o.duckdb"
    deidentify(src, out, DeidConfig(reference_date=REF), key=KEY)
    o = duckdb.connect(str(out), read_only=True)
    # cost rows of the refused person's claims and visits, note_nlp rows of their notes and
    # their home address are not released
    assert o.execute("SELECT count(*) FROM cost").fetchone()[0] == 3 * 6
    assert o.execute("SELECT count(*) FROM note_nlp").fetchone()[0] == 3 * 3
    assert o.execute("SELECT count(*) FROM location").fetchone()[0] == 3 + 1
