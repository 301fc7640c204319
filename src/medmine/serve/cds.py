"""CDS Hooks 2.0 service: discovery and ``patient-view`` returning a 30-day readmission card.

``GET /cds-services`` lists the service (public, as the specification requires);
``POST /cds-services/readmission-risk`` takes a CDS Hooks request, finds the patient in the
warehouse (``context.patientId``, checked against the ``patient`` prefetch when the EHR sends
one), scores the patient with the saved readmission model and answers one card with the risk,
its band and the top contributing factors. Callers authenticate with a JWT signed by a
configured CDS client (`medmine.serve.auth.CdsClients`) or a clinician's API token. Request
and response shapes are pydantic models of the specification (https://cds-hooks.hl7.org/2.0/).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from medmine.errors import MedmineError
from medmine.serve import data
from medmine.serve.deps import guard, principal, state
from medmine.serve.models import CDS_TOP, ModelUnavailableError, band

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
SERVICE_ID = "readmission-risk"
#: Prefetch templates the service asks for (the EHR may send them, or not).
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "encounters": "Encounter?patient={{context.patientId}}&_count=50",
    "conditions": "Condition?patient={{context.patientId}}&_count=100",
}


class CdsService(BaseModel):
    """One entry of the discovery response."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None  # noqa: N815 (the specification's name)


class Discovery(BaseModel):
    """``GET /cds-services`` response."""

    services: list[CdsService]


class PatientViewContext(BaseModel):
    """``patient-view`` context: the user and the patient in view."""

    model_config = ConfigDict(extra="allow")
    userId: str = Field(min_length=1, max_length=256)  # noqa: N815
    patientId: str = Field(min_length=1, max_length=256)  # noqa: N815
    encounterId: str | None = Field(None, max_length=256)  # noqa: N815


class FhirAuthorization(BaseModel):
    """OAuth 2.0 access for the service to call the EHR's FHIR server (not used here)."""

    model_config = ConfigDict(extra="allow")
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 request for ``patient-view``."""

    model_config = ConfigDict(extra="allow")
    hook: Literal["patient-view"]
    hookInstance: str = Field(min_length=1, max_length=128)  # noqa: N815
    fhirServer: str | None = Field(None, max_length=2048)  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


class Source(BaseModel):
    """Who produced a card."""

    label: str
    url: str | None = None


class Link(BaseModel):
    """A link on a card."""

    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"


class Card(BaseModel):
    """A CDS Hooks card."""

    uuid: str | None = None
    summary: str = Field(max_length=140)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    links: list[Link] | None = None


class HookResponse(BaseModel):
    """A CDS Hooks response."""

    cards: list[Card]


def discovery(request: Request) -> Discovery:
    """CDS Hooks discovery: the readmission-risk ``patient-view`` service."""
    return Discovery(
        services=[
            CdsService(
                hook="patient-view",
                title="30-day readmission risk",
                description="Risk of an unplanned readmission within 30 days of the patient's "
                "last inpatient stay, with its band and the factors contributing most "
                "(medmine readmission model).",
                id=SERVICE_ID,
                prefetch=PREFETCH,
                usageRequirements="Register a JWT signing key (JWKS) with the service operator.",
            )
        ]
    )


def _prefetch_patient(req: HookRequest) -> None:
    """Check a sent ``patient`` prefetch is the patient in context (400 otherwise)."""
    pre = (req.prefetch or {}).get("patient")
    if pre is None:
        return
    if not isinstance(pre, dict) or pre.get("resourceType") != "Patient":
        raise HTTPException(400, "prefetch.patient must be a FHIR Patient resource")
    if str(pre.get("id", "")) != req.context.patientId:
        raise HTTPException(400, "prefetch.patient.id differs from context.patientId")


def _count_bundle(pre: Any) -> int | None:
    if isinstance(pre, dict) and pre.get("resourceType") == "Bundle":
        return len(pre.get("entry") or [])
    return None


async def patient_view(request: Request, body: HookRequest) -> HookResponse:
    """``patient-view``: one card with the 30-day readmission risk (audited with the person).

    Runs on the event loop when the patient and the score are in memory (`PatientIndex`,
    precomputed scores); otherwise the warehouse is queried in a worker thread. The audit
    entry is committed before the card is returned.
    """
    from medmine.serve.api import person_score_async

    st = state(request)
    who = principal(request)
    _prefetch_patient(body)
    index = st.extra.get("patients")
    if index is not None:
        person_id = index.person_id_for(body.context.patientId)
    else:
        person_id = await run_in_threadpool(data.person_id_for, st.cursor(), body.context.patientId)
    hook_instance = body.hookInstance[:64]
    if person_id is None:
        await st.audit_async(who, "cds.patient-view", "person", purpose="treatment",
                             detail={"hookInstance": hook_instance, "found": False})  # fmt: skip
        return HookResponse(cards=[])
    model = st.settings.cds_model or st.extra["models"].default()
    if model is None:
        raise HTTPException(503, "no readmission model is saved on this server")
    try:
        s = await person_score_async(st, who, model, person_id, top=CDS_TOP, audit_entry=False)
    except ModelUnavailableError as exc:
        raise HTTPException(503, str(exc)) from None
    except MedmineError:
        # No inpatient stay to score from (or consent refused): nothing to say.
        await st.audit_async(who, "cds.patient-view", "person", person_id=person_id,
                             purpose="treatment",
                             detail={"hookInstance": hook_instance, "scored": False})  # fmt: skip
        return HookResponse(cards=[])
    await st.audit_async(who, "cds.patient-view", model, person_id=person_id, purpose="treatment",
                         detail={"hookInstance": hook_instance, "scored": True})  # fmt: skip
    return _card(body, s)


def _card(body: HookRequest, s: dict[str, Any]) -> HookResponse:
    b, indicator = band(s["risk"])
    factors = "\n".join(
        f"- {e['feature']} (value {e['value']:g}, {'raises' if e['contribution'] > 0 else 'lowers'}"
        f" risk, {e['contribution']:+.2f} log-odds)"
        for e in s["explanation"]
    )
    sent = {k: _count_bundle(v) for k, v in (body.prefetch or {}).items() if k != "patient"}
    sent_note = ", ".join(f"{k}: {n} resources" for k, n in sent.items() if n is not None)
    detail = (
        f"Probability of readmission within 30 days after the stay ending {s['index_date']}: "
        f"**{100 * s['risk']:.1f}%** ({b} band).\n\nTop contributing factors:\n{factors}\n\n"
        "Computed from the warehouse record"
        + (f" (EHR prefetch received: {sent_note})" if sent_note else "")
        + ". Decision support only; see the model card for validation and limits."
    )
    for w in s["warnings"]:
        detail += f"\n\n⚠ {w}"
    return HookResponse(
        cards=[
            Card(
                uuid=str(uuid.uuid4()),
                summary=f"30-day readmission risk {100 * s['risk']:.0f}% ({b})",
                detail=detail,
                indicator=indicator,
                source=Source(label="medmine readmission model"),
            )
        ]
    )


guard(router, "GET", "", "public", response_model=Discovery)(discovery)
guard(router, "POST", "/" + SERVICE_ID, "cds", response_model=HookResponse,
      response_model_exclude_none=True)(patient_view)  # fmt: skip
