"""Payers from FHIR (docs/mapping.md, issue 13 R3/R4): insurers are not care sites, and a
payer is named ``Organization/<id>`` whatever the transport wrote."""

from __future__ import annotations

import json

from medmine.ingest.fhir import load
from medmine.warehouse import Warehouse

ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


def _org(oid: str, name: str, code: str) -> dict:
    kind = {"coding": [{"system": ORG_TYPE, "code": code}]}
    return {"resourceType": "Organization", "id": oid, "name": name, "type": [kind]}


def _bundle(payor: dict) -> dict:
    resources = [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1970-02-03", "gender": "female"},
        _org("ins1", "Acme Health Plan", "ins"),
        _org("prov1", "Riverside Clinic", "prov"),
        {
            "resourceType": "Coverage",
            "id": "cov1",
            "status": "active",
            "beneficiary": {"reference": "urn:uuid:p1"},
            "payor": [payor],
            "period": {"start": "2020-01-01"},
        },
    ]
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _load(tmp_path, payor: dict) -> Warehouse:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(payor)))
    wh = Warehouse(tmp_path / "w.duckdb")
    rep = load([path], wh)
    assert rep.reconciles and rep.status == "committed"
    org = rep.counts["Organization"]
    assert (org.read, org.loaded, org.skipped) == (2, 1, 1)
    return wh


def test_an_insurer_is_a_named_payer_not_a_care_site(tmp_path):
    wh = _load(tmp_path, {"reference": "urn:uuid:ins1", "display": "Acme Health Plan"})
    sites = wh.con.execute("SELECT care_site_source_value FROM care_site").fetchall()
    assert sites == [("Organization/prov1",)]
    payer = wh.con.execute("SELECT payer_source_value FROM payer_plan_period").fetchall()
    assert payer == [("Organization/ins1",)]
    names = wh.con.execute(
        "SELECT code, display FROM mm_source_concept WHERE vocabulary_id = 'Payer'"
    ).fetchall()
    assert names == [("Organization/ins1", "Acme Health Plan")]
    wh.close()


def test_a_relative_or_absolute_payer_reference_gives_the_same_key(tmp_path):
    for i, ref in enumerate(("Organization/ins1", "https://h.example/fhir/Organization/ins1")):
        wh = _load(tmp_path / str(i), {"reference": ref})
        payer = wh.con.execute("SELECT payer_source_value FROM payer_plan_period").fetchall()
        assert payer == [("Organization/ins1",)]
        wh.close()


def test_a_payer_named_only_by_display_keeps_the_display(tmp_path):
    wh = _load(tmp_path, {"display": "Self-pay"})
    payer = wh.con.execute("SELECT payer_source_value FROM payer_plan_period").fetchall()
    assert payer == [("Self-pay",)]
    wh.close()
