from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from medmine.errors import ConfigError, PrivacyError
from medmine.privacy.consent import ConsentPolicy, eligible_persons, load_csv, load_fhir
from medmine.privacy.export import export_parquet
from medmine.warehouse import Warehouse

from .conftest import build_identified


@pytest.fixture
def cwh(identified: Path) -> Warehouse:
    w = Warehouse(identified)
    yield w
    w.close()


def _csv(tmp_path: Path, rows: str) -> Path:
    p = tmp_path / "consent.csv"
    p.write_text("person_source_value,person_id,purpose,decision,start,end\n" + rows)
    return p


def test_opt_out_default_excludes_only_denials(cwh: Warehouse, tmp_path: Path, people) -> None:
    rep = load_csv(
        _csv(
            tmp_path,
            f"{people[0].source_value},,research,deny,2020-01-01,\n"
            f",{people[1].person_id},research,permit,,\n"
            f"{people[2].source_value},,external_sharing,deny,,\n"
            "nobody,,research,deny,,\n"
            f"{people[3].source_value},,gossip,deny,,\n",
        ),
        cwh,
    )
    assert (rep.read, rep.loaded, rep.unmatched_person, rep.invalid) == (5, 3, 1, 1)
    f = eligible_persons(cwh, "research")
    assert (f.eligible, f.excluded) == (3, 1)
    got = {r[0] for r in cwh.con.execute(f.person_ids_sql).fetchall()}
    assert people[0].person_id not in got
    assert eligible_persons(cwh, "external_sharing").excluded == 1
    assert eligible_persons(cwh, "quality_improvement").excluded == 0


def test_opt_in_requires_permit_in_force(cwh: Warehouse, tmp_path: Path, people) -> None:
    load_csv(
        _csv(
            tmp_path,
            f",{people[1].person_id},research,permit,2020-01-01,2020-12-31\n"
            f",{people[2].person_id},research,permit,,\n",
        ),
        cwh,
    )
    f = eligible_persons(cwh, "research", ConsentPolicy("opt_in", as_of=dt.date(2020, 6, 1)))
    assert (f.eligible, f.excluded) == (2, 2)
    f = eligible_persons(cwh, "research", ConsentPolicy("opt_in", as_of=dt.date(2021, 6, 1)))
    assert f.eligible == 1


def test_expired_deny_no_longer_excludes(cwh: Warehouse, tmp_path: Path, people) -> None:
    load_csv(_csv(tmp_path, f",{people[0].person_id},research,deny,2019-01-01,2019-12-31\n"), cwh)
    assert eligible_persons(cwh, "research").excluded == 0
    pol = ConsentPolicy(as_of=dt.date(2019, 6, 1))
    assert eligible_persons(cwh, "research", pol).excluded == 1


def test_bad_policy_and_purpose(cwh: Warehouse) -> None:
    with pytest.raises(ConfigError, match="opt_out"):
        eligible_persons(cwh, "research", ConsentPolicy("maybe"))
    with pytest.raises(ConfigError):
        eligible_persons(cwh, "marketing")


def test_fhir_consent_loader(cwh: Warehouse, tmp_path: Path, people) -> None:
    def consent(pid: str, kind: str, code: str, status: str = "active") -> dict:
        return {
            "resourceType": "Consent",
            "status": status,
            "patient": {"reference": f"Patient/{pid}"},
            "provision": {
                "type": kind,
                "period": {"start": "2020-01-01"},
                "purpose": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": code}
                ],
            },
        }

    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": consent(people[0].source_value, "deny", "HRESCH")},
            {"resource": consent(people[1].source_value, "deny", "HRESCH", "inactive")},
            {"resource": {"resourceType": "Patient", "id": "x"}},
        ],
    }
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    (tmp_path / "c.ndjson").write_text(
        json.dumps(consent(people[2].source_value, "deny", "HQUALIMP"))
        + "\n"
        + json.dumps(consent("unknown", "deny", "HRESCH"))
        + "\n"
    )
    rep = load_fhir([tmp_path / "b.json", tmp_path / "c.ndjson"], cwh)
    assert (rep.read, rep.loaded, rep.skipped_inactive, rep.unmatched_person) == (4, 2, 1, 1)
    assert eligible_persons(cwh, "research").excluded == 1
    assert eligible_persons(cwh, "quality_improvement").excluded == 1
    assert cwh.df("SELECT action FROM mm_audit")["action"].tolist() == ["consent.load"]


def test_export_excludes_non_consenting_and_audits(cwh: Warehouse, tmp_path: Path, people) -> None:
    load_csv(_csv(tmp_path, f",{people[0].person_id},research,deny,,\n"), cwh)
    rep = export_parquet(cwh, tmp_path / "out", "research", ["person", "note", "location"])
    assert rep.excluded == 1 and rep.rows["person"] == 3 and rep.rows["note"] == 9
    n = duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'out' / 'person.parquet'}'").fetchall()
    assert n[0][0] == 3
    assert cwh.df("SELECT action FROM mm_audit ORDER BY seq")["action"].tolist()[-1] == "export"
    with pytest.raises(PrivacyError):
        export_parquet(cwh, tmp_path / "out2", "research", ["mm_person_identity"])


def test_consent_cli(tmp_path: Path, people) -> None:
    from typer.testing import CliRunner

    from medmine.cli import app

    src = build_identified(tmp_path / "w.duckdb", people)
    p = _csv(tmp_path, f",{people[0].person_id},research,deny,,\n")
    r = CliRunner().invoke(app, ["consent", "load", str(p), "-w", str(src)])
    assert r.exit_code == 0 and "1 consent" in r.output, r.output
