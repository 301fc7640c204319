"""The REST API under ``/api/v1`` (JSON; described at ``/openapi.json``).

Warehouse info, quality results, profiles, study outputs and runs, saved models and scoring,
the fraud lists, a person's record (PHI) and the audit log. Authenticate with a session
cookie (writes then need the ``X-CSRF-Token`` header) or ``Authorization: Bearer mm_…``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from medmine import __version__
from medmine.errors import ConfigError, MedmineError, PrivacyError
from medmine.serve import data
from medmine.serve.auth import Principal
from medmine.serve.deps import guard, principal, state
from medmine.serve.models import (
    PRECOMPUTED_TOP,
    ModelUnavailableError,
    band,
    describe,
    vectorize,
)
from medmine.serve.state import ServeState

router = APIRouter(prefix="/api/v1", tags=["api"])
#: Most feature vectors scored in one request.
MAX_INSTANCES = 1000


class ScoreRequest(BaseModel):
    """Score a person of the warehouse (``person_id``) or feature vectors (``instances``)."""

    model_config = ConfigDict(extra="forbid")
    person_id: int | None = Field(None, ge=0, lt=2**63)
    index_date: dt.date | None = None
    instances: list[dict[str, float]] | None = Field(None, min_length=1, max_length=MAX_INSTANCES)
    top: int = Field(5, ge=0, le=50)


class Contribution(BaseModel):
    """One SHAP contribution (log-odds)."""

    feature: str
    value: float
    contribution: float


class Score(BaseModel):
    """A calibrated probability with its band and top contributions."""

    risk: float
    band: str
    explanation: list[Contribution]
    person_id: int | None = None
    index_date: str | None = None
    notes: list[str] = []
    warnings: list[str] = []


class ScoreResponse(BaseModel):
    """Scores of one request."""

    model: str
    model_sha256: str
    scores: list[Score]


class StudyRun(BaseModel):
    """A background study run."""

    id: str
    study: str
    user: str
    status: str
    created: str
    elapsed_s: float
    summary: str | None = None
    error: str | None = None


class TokenRequest(BaseModel):
    """Label of a new API token."""

    label: str = Field("api", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_. -]+$")


def person_score(
    st: ServeState,
    who: Principal,
    model: str,
    person_id: int,
    index_date: Any = None,
    *,
    top: int = 5,
    audit_entry: bool = True,
) -> dict[str, Any]:
    """Score one person of the warehouse with a saved model; audited with the person id.

    At the default index the score comes from the model's precomputed scores (one batch pass
    over the warehouse at first use, `ModelRegistry.precomputed`); persons outside the
    model's cohort, and explicit index dates, are scored live with `score_person`. Scoring is
    for care (no research consent applies); the audit entry's purpose says so.
    """
    from medmine.studies.scoring import score_person

    registry = st.extra["models"]
    loaded = registry.get(model)
    if audit_entry:
        st.audit(who, "score", model, person_id=person_id, purpose="treatment")
    if index_date is None:
        hit = registry.precomputed(model, st.view()).get(person_id, top)
        if hit is not None:
            return {**hit, "band": band(hit["risk"])[0], "model": model}
    s = score_person(loaded, st.view(), person_id, index_date, top=top, purpose="", audit=False)
    b, _ = band(s.risk)
    return {
        "risk": s.risk,
        "band": b,
        "model": model,
        "person_id": s.person_id,
        "index_date": s.index_date,
        "explanation": [
            {"feature": str(r.feature), "value": float(r.value), "contribution": float(r.shap)}
            for r in s.explanation.itertuples()
        ],
        "notes": s.notes,
        "warnings": s.warnings,
    }


async def person_score_async(
    st: ServeState,
    who: Principal,
    model: str,
    person_id: int,
    index_date: Any = None,
    *,
    top: int = 5,
    audit_entry: bool = True,
) -> dict[str, Any]:
    """`person_score` for async handlers: in memory when the person's score is known.

    At the default index, a precomputed person is answered from memory, and so is a person
    outside the precomputed set who was scored live before (the outcome, a score or the
    reason there is none, is kept with the precomputed scores and dropped with them when the
    model or the warehouse changes). The order stays `person_score`'s: the audit entry is
    committed first. Anything else runs `person_score` in a worker thread.
    """
    registry = st.extra["models"]
    pre = registry.ready(model) if index_date is None else None
    # Outside the precomputed set, outcomes are kept for PRECOMPUTED_TOP contributions and
    # cut to `top` (the ranking is the same, so the first `top` are what `top` would give).
    kept = max(int(top), PRECOMPUTED_TOP)
    if pre is not None:
        if top <= PRECOMPUTED_TOP and person_id in pre:
            if audit_entry:
                await st.audit_async(who, "score", model, person_id=person_id, purpose="treatment")
            hit = pre.get(person_id, top)
            return {**hit, "band": band(hit["risk"])[0], "model": model}
        known = pre.live.get((int(person_id), kept))
        if known is not None:
            if audit_entry:
                await st.audit_async(who, "score", model, person_id=person_id, purpose="treatment")
            if isinstance(known, MedmineError):
                raise _again(known)
            return _cut(known, top)
    try:
        result = await run_in_threadpool(
            person_score, st, who, model, person_id, index_date, top=kept if pre else top,
            audit_entry=audit_entry,
        )  # fmt: skip
    except (ModelUnavailableError, PrivacyError):
        raise
    except MedmineError as exc:
        if pre is not None:
            pre.remember(person_id, kept, exc)
        raise
    if pre is None:
        return result
    pre.remember(person_id, kept, copy.deepcopy(result))
    return _cut(result, top)


def _again(exc: MedmineError) -> MedmineError:
    """A fresh copy of a remembered error (raising one instance from many requests at once
    would tangle their tracebacks).
    """
    try:
        return type(exc)(*exc.args)
    except TypeError:  # a subclass with another signature: same class of answer, same text
        return MedmineError(*exc.args)


def _cut(result: dict[str, Any], top: int) -> dict[str, Any]:
    out = copy.deepcopy(result)
    out["explanation"] = out["explanation"][: max(int(top), 0)]
    return out


def _score_error(exc: Exception) -> HTTPException:
    if isinstance(exc, ModelUnavailableError):
        return HTTPException(404 if "no saved model" in str(exc) else 503, str(exc))
    if isinstance(exc, PrivacyError):
        return HTTPException(403, "this person's consent does not allow this use")
    if isinstance(exc, ConfigError):
        return HTTPException(404, "no such person in this warehouse")
    return HTTPException(422, str(exc).splitlines()[0][:300])


def health(request: Request) -> dict[str, Any]:
    """Liveness: the server answers and the warehouse is open; whether it is still warming."""
    st = state(request)
    st.cursor().execute("SELECT 1").fetchall()
    # "warm": whether start-up precomputation (patient index, CDS scores) is still running
    return {"status": "ok", "version": __version__, "warm": st.extra.get("warm", "done")}


def me(request: Request) -> dict[str, Any]:
    """The caller's name, role and how it authenticated."""
    who = principal(request)
    return {"username": who.username, "role": who.role, "via": who.via}


def new_token(request: Request, body: TokenRequest) -> dict[str, str]:
    """Issue an API token for the caller (shown once; only its hash is kept)."""
    who = principal(request)
    if who.via == "jwt":
        raise HTTPException(403, "CDS clients cannot create tokens")
    token = state(request).users.new_token(who.username, body.label)
    return {"token": token, "username": who.username, "role": who.role}


def warehouse_info(request: Request) -> dict[str, Any]:
    """Row counts, loads with reconciliation and quarantine reasons."""
    return data.overview(state(request).cursor())


def quality(
    request: Request,
    check_type: Annotated[str | None, Query(max_length=128)] = None,
    table: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    run_id: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Quality results of a run (the newest by default), filtered."""
    return data.quality(
        state(request).cursor(), check_type=check_type or None, table=table or None,
        status=status or None, run_id=run_id or None,
    )  # fmt: skip


def profile(request: Request, table: str) -> dict[str, Any]:
    """Column profile of a table (not identity or privacy tables)."""
    result = data.profile(state(request).cursor(), table)
    if result is None:
        raise HTTPException(404, "no profile for this table")
    return result


def studies(request: Request) -> list[dict[str, Any]]:
    """Study outputs in the reports folder: name, title, status, summary, tables."""
    return [
        {
            "name": s.name,
            "title": s.title,
            "status": s.status,
            "summary": s.entries[0].get("summary"),
            "tables": s.tables,
        }  # fmt: skip
        for s in data.studies(state(request).settings.reports)
    ]


def study(request: Request, name: str) -> dict[str, Any]:
    """One study's machine-readable output (``study_<name>.json``)."""
    s = data.study(state(request).settings.reports, name)
    if s is None:
        raise HTTPException(404, "no output for this study")
    return s.doc


def start_run(request: Request, name: str) -> StudyRun:
    """Run a registered study in the background (202; poll ``/api/v1/jobs/{id}``)."""
    try:
        job = state(request).extra["jobs"].submit(name, principal(request))
    except MedmineError:
        raise HTTPException(404, "no such study") from None
    return StudyRun(**job.to_dict())


def job(request: Request, job_id: str) -> StudyRun:
    """Status of a study run."""
    j = state(request).extra["jobs"].get(job_id)
    if j is None:
        raise HTTPException(404, "no such job")
    return StudyRun(**j.to_dict())


def models(request: Request) -> list[str]:
    """Names of the saved models."""
    return state(request).extra["models"].names()


def model(request: Request, model: str) -> dict[str, Any]:
    """A model's study, estimator, feature names, metrics and authentication."""
    try:
        return describe(state(request).extra["models"].get(model))
    except ModelUnavailableError as exc:
        raise _score_error(exc) from None


async def score(request: Request, model: str, body: ScoreRequest) -> ScoreResponse:
    """Score a person (``person_id``, audited) or feature vectors (``instances``).

    Returns the calibrated probability, its band and the top SHAP contributions. Feature
    vectors of concurrent requests are scored together (`ScoringBatcher`).
    """
    st = state(request)
    if (body.person_id is None) == (body.instances is None):
        raise HTTPException(422, "give exactly one of person_id and instances")
    registry = st.extra["models"]
    try:
        # verified once (in a worker thread: loading takes a while), then kept in memory
        loaded = registry.cached(model) or await run_in_threadpool(registry.get, model)
        if body.person_id is not None:
            s = await person_score_async(st, principal(request), model, body.person_id,
                                         body.index_date, top=body.top)  # fmt: skip
            scores = [Score(**{k: v for k, v in s.items() if k != "model"})]
        else:
            try:
                X = vectorize(loaded, body.instances)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            got = await asyncio.wrap_future(registry.batcher(model).submit(X, body.top))
            scores = [
                Score(risk=g.risk, band=band(g.risk)[0], explanation=g.explanation) for g in got
            ]
    except MedmineError as exc:
        raise _score_error(exc) from None
    return ScoreResponse(model=model, model_sha256=loaded.manifest["model_sha256"], scores=scores)


def fraud_providers(request: Request) -> list[dict[str, Any]]:
    """The provider worklist of the claims-fraud study with provider identities (audited)."""
    st = state(request)
    rows = data.fraud_providers(st.settings.reports, st.cursor())
    st.audit(principal(request), "view.fraud_worklist", "provider", rows=len(rows))
    return rows


def claims_of_provider(request: Request, provider_id: int) -> dict[str, Any]:
    """A provider's identity and claims (audited)."""
    st = state(request)
    if not 0 <= provider_id < 2**63:
        raise HTTPException(404, "no such provider")
    result = data.provider_claims(st.cursor(), provider_id)
    if result["provider"] is None and not result["claims"]:
        raise HTTPException(404, "no such provider")
    st.audit(principal(request), "view.provider_claims", "mm_claim", rows=len(result["claims"]),
             detail={"provider_id": provider_id})  # fmt: skip
    return result


def person(request: Request, person_id: int) -> dict[str, Any]:
    """A person's identity and timeline (PHI; audited with the person id)."""
    st = state(request)
    if not 0 <= person_id < 2**63:
        raise HTTPException(404, "no such person")
    result = data.person(st.cursor(), person_id)
    if result is None:
        raise HTTPException(404, "no such person")
    st.audit(principal(request), "view.person", "person", person_id=person_id, purpose="treatment")
    return result


def audit_log(
    request: Request, limit: Annotated[int, Query(ge=1, le=5000)] = 200
) -> dict[str, Any]:
    """The newest audit entries and the chain check."""
    from medmine.privacy.audit import verify

    st = state(request)
    v = verify(st.view())
    log = data.audit_entries(st.cursor(), limit)
    doc = {
        "ok": v.ok, "entries": v.entries, "mode": v.mode, "anchor": v.anchor,
        "first_bad_seq": v.first_bad_seq, "reason": v.reason,
    }  # fmt: skip
    if st.settings.read_only:
        # several workers: the newest entries wait in the spool until shutdown
        from medmine.serve.spool import pending

        p = pending(st.settings.warehouse, st.cursor(), limit)
        doc.update(ok=v.ok and p["problem"] is None, spooled=p["count"],
                   spool_problem=p["problem"])  # fmt: skip
        log = (p["entries"] + log)[:limit]
    doc["log"] = log
    return doc


def consent(request: Request) -> list[dict[str, Any]]:
    """Consent decisions counted by purpose and decision."""
    return data.consent_summary(state(request).cursor())


for _method, _path, _perm, _fn, _kw in (
    ("GET", "/health", "public", health, {}),
    ("GET", "/me", "any", me, {}),
    ("POST", "/tokens", "any", new_token, {"status_code": 201}),
    ("GET", "/warehouse", "aggregate", warehouse_info, {}),
    ("GET", "/quality", "aggregate", quality, {}),
    ("GET", "/profiles/{table}", "aggregate", profile, {}),
    ("GET", "/studies", "aggregate", studies, {}),
    ("GET", "/studies/{name}", "aggregate", study, {}),
    ("POST", "/studies/{name}/runs", "run_study", start_run, {"status_code": 202}),
    ("GET", "/jobs/{job_id}", "run_study", job, {}),
    ("GET", "/models", "score", models, {}),
    ("GET", "/models/{model}", "score", model, {}),
    ("POST", "/score/{model}", "score", score, {}),
    ("GET", "/fraud/providers", "fraud", fraud_providers, {}),
    ("GET", "/fraud/providers/{provider_id}/claims", "fraud", claims_of_provider, {}),
    ("GET", "/persons/{person_id}", "phi", person, {}),
    ("GET", "/audit", "audit", audit_log, {}),
    ("GET", "/consent", "audit", consent, {}),
):
    guard(router, _method, _path, _perm, **_kw)(_fn)
