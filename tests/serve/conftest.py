"""A small served warehouse: simulated stays (readmission model saved), one FHIR sample patient
with a real name, a quality run, study outputs, a fraud worklist, and one account per role."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from medmine.ingest import fhir
from medmine.quality.checks import run_checks
from medmine.report import page_context
from medmine.report.study_pages import write_study
from medmine.serve import ROLES, ServeSettings, UserStore, create_app, users_path
from medmine.studies import readmission
from medmine.studies.prediction import StudyConfig
from medmine.synth.population import simulate
from medmine.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
FHIR_PATIENT = REPO / "data" / "samples" / "synthea_fhir" / "Andrew_Beier_1f6d5b69.json.gz"
PASSWORD = "correct horse battery staple"
FAST = StudyConfig(
    n_boot=10,
    models=("l1_logistic",),
    l1_grid={"C": [0.1]},
    shap_rows=20,
    test_size=0.3,
)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """``(settings, phi)``: a warehouse with outputs, and PHI strings that must stay hidden."""
    d = tmp_path_factory.mktemp("serve")
    wh_path, reports = d / "wh.duckdb", d / "reports"
    with Warehouse(wh_path) as wh:
        simulate(800, seed=5, id_base=10_000_000).write_to(wh)
        fhir.load([FHIR_PATIENT], wh)
        run_checks(wh, types=["is_required", "future_date"])
        result = readmission.run(wh, dataclasses.replace(FAST, model_dir=reports / "models"))
        write_study(result, reports, context=page_context(wh))
        ident = wh.con.execute(
            "SELECT person_id, given_name, family_name FROM mm_person_identity LIMIT 1"
        ).fetchone()
        provider = wh.con.execute("SELECT min(provider_id) FROM provider").fetchone()[0]
    _fraud_outputs(reports, provider)
    users = UserStore(users_path(wh_path))
    for role in ROLES:
        users.add(role, role, PASSWORD)
    users.close()
    # warm_outside=0: the start-up scoring of persons outside the cohort runs in one test
    settings = ServeSettings(warehouse=wh_path, reports=reports, warm_outside=0)
    return settings, {"person_id": int(ident[0]), "names": [ident[1], ident[2]]}


def _fraud_outputs(reports: Path, provider_id: int | None) -> None:
    """A claims-fraud worklist in the shape `write_outputs` writes (one provider)."""
    folder = reports / "study_claims_fraud"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {"provider_id": [provider_id or 1], "score": [0.93], "reasons": ["upcoding"]}
    )
    frame.to_parquet(folder / "investigate_providers.parquet")
    frame.to_csv(folder / "investigate_providers.csv", index=False)
    doc = {
        "study": "claims_fraud",
        "title": "Claims fraud",
        "status": "ok",
        "summary": "1 provider to investigate",
        "notes": [],
        "figures": {},
        "tables": ["investigate_providers"],
    }
    (reports / "study_claims_fraud.json").write_text(json.dumps(doc))


@pytest.fixture(scope="session")
def app(served):
    settings, _ = served
    return create_app(settings)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def login(client: TestClient, role: str, password: str = PASSWORD):
    """Log in through the form (with its CSRF cookie); returns the response."""
    client.cookies.clear()
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post(
        "/login",
        data={"username": role, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture(scope="session")
def tokens(app, served):
    """An API token per role."""
    settings, _ = served
    store = app.state.medmine.users
    return {role: store.new_token(role, "tests") for role in ROLES}
