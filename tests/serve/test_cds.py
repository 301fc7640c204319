"""CDS Hooks 2.0: discovery, patient-view cards, JWT client authentication, prefetch checks."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from medmine.serve import CdsClients

URL = "https://testserver/cds-services/readmission-risk"
ISS = "https://ehr.example.org"


@pytest.fixture(scope="module")
def key(app):
    private = ec.generate_private_key(ec.SECP384R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid="k1", alg="ES384", use="sig")
    st = app.state.medmine
    old = st.cds_clients
    st.cds_clients = CdsClients({ISS: {"keys": [jwk]}})
    yield private
    st.cds_clients = old


def token(private, *, aud=URL, iss=ISS, exp=300, alg="ES384", jti=None, kid="k1"):
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "exp": now + exp, "iat": now, "jti": jti or uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def inpatient(app):
    """A person with an inpatient stay (the readmission index event)."""
    return str(app.state.medmine.cursor().execute(
        "SELECT person_id FROM visit_occurrence WHERE visit_concept_id = 9201 LIMIT 1"
    ).fetchone()[0])  # fmt: skip


def hook(patient_id, **extra):
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
        **extra,
    }


def test_discovery_is_public_and_lists_patient_view(client):
    client.cookies.clear()
    services = client.get("/cds-services").json()["services"]
    (s,) = services
    assert s["hook"] == "patient-view" and s["id"] == "readmission-risk"
    assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def test_patient_view_returns_a_valid_risk_card(client, key, inpatient, app):
    r = client.post(URL, json=hook(inpatient),
                    headers={"Authorization": f"Bearer {token(key)}"})  # fmt: skip
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert card["indicator"] in ("info", "warning", "critical")
    assert len(card["summary"]) <= 140 and "readmission risk" in card["summary"]
    assert card["source"]["label"] and "Top contributing factors" in card["detail"]
    actor, detail = (
        app.state.medmine.cursor()
        .execute(
            "SELECT actor, detail FROM mm_audit WHERE action = 'cds.patient-view' "
            "ORDER BY seq DESC LIMIT 1"
        )
        .fetchone()
    )
    assert actor.startswith(f"web:{ISS}") and f'"person_id":{inpatient}' in detail


@pytest.mark.parametrize(
    "make",
    [
        lambda k: token(k, aud="https://elsewhere/cds-services/readmission-risk"),
        lambda k: token(k, iss="https://unknown.example"),
        lambda k: token(k, exp=-120),
        lambda k: token(ec.generate_private_key(ec.SECP384R1())),
        lambda k: jwt.encode(
            {"iss": ISS, "aud": URL, "exp": time.time() + 60, "iat": time.time(), "jti": "x"},
            "secret" * 8,
            algorithm="HS384",
        ),  # fmt: skip
        lambda k: "not.a.jwt",
    ],
    ids=["wrong-aud", "unknown-iss", "expired", "other-key", "hmac", "garbage"],
)
def test_bad_jwts_are_refused(client, key, inpatient, make):
    client.cookies.clear()
    r = client.post(URL, json=hook(inpatient), headers={"Authorization": f"Bearer {make(key)}"})
    assert r.status_code == 401


def test_replayed_jwt_is_refused(client, key, inpatient):
    t = token(key, jti="once")
    assert (
        client.post(URL, json=hook(inpatient), headers={"Authorization": f"Bearer {t}"}).status_code
        == 200
    )
    assert (
        client.post(URL, json=hook(inpatient), headers={"Authorization": f"Bearer {t}"}).status_code
        == 401
    )


def test_jwt_client_cannot_use_the_rest_api(client, key):
    t = token(key)
    assert client.get(
        "/api/v1/warehouse", headers={"Authorization": f"Bearer {t}"}
    ).status_code in (401, 403)


def test_prefetch_patient_must_match_context(client, tokens, inpatient):
    auth = {"Authorization": f"Bearer {tokens['clinician']}"}
    ok = hook(inpatient, prefetch={"patient": {"resourceType": "Patient", "id": inpatient},
              "encounters": {"resourceType": "Bundle", "entry": [{}, {}]}})  # fmt: skip
    r = client.post(URL, json=ok, headers=auth)
    assert r.status_code == 200 and "encounters: 2 resources" in r.json()["cards"][0]["detail"]
    bad = hook(inpatient, prefetch={"patient": {"resourceType": "Patient", "id": "other"}})
    assert client.post(URL, json=bad, headers=auth).status_code == 400


def test_unknown_patient_gets_no_cards(client, tokens):
    auth = {"Authorization": f"Bearer {tokens['clinician']}"}
    assert client.post(URL, json=hook("no-such-patient"), headers=auth).json() == {"cards": []}


@pytest.mark.parametrize(
    "body",
    [
        {"hook": "order-select", "hookInstance": "x", "context": {"userId": "u", "patientId": "1"}},
        {"hook": "patient-view", "hookInstance": "x", "context": {"userId": "u"}},
        {"hook": "patient-view", "context": {"userId": "u", "patientId": "1"}},
    ],
)
def test_malformed_requests_are_422(client, tokens, body):
    auth = {"Authorization": f"Bearer {tokens['clinician']}"}
    assert client.post(URL, json=body, headers=auth).status_code == 422


def test_fhir_patient_id_resolves_through_person_source_value(client, tokens, served, app):
    _, phi = served
    src = (
        app.state.medmine.cursor()
        .execute("SELECT person_source_value FROM person WHERE person_id = ?", [phi["person_id"]])
        .fetchone()[0]
    )
    auth = {"Authorization": f"Bearer {tokens['clinician']}"}
    r = client.post(URL, json=hook(src), headers=auth)
    assert r.status_code == 200
    assert phi["names"][1] not in r.text  # a card never carries the patient's name
