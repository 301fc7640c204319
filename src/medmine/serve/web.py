"""The web workspace: server-rendered pages (Jinja2, plain forms, no JavaScript of our own).

Pages: login, home, warehouse overview, quality (filters), profiles, studies (results, model
card, downloads, run as a background job), fraud worklist with drill-down, person view (PHI,
audited) and the audit log. Every page is guarded like the API (`medmine.serve.deps.guard`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from medmine.errors import MedmineError
from medmine.serve import data
from medmine.serve.deps import SESSION_COOKIE, authenticate, guard, principal, state
from medmine.serve.headers import REPORT_CSP
from medmine.serve.models import ModelUnavailableError

router = APIRouter(tags=["web"])
_env = Environment(
    loader=PackageLoader("medmine.serve", "templates"), autoescape=select_autoescape()
)
LOGIN_COOKIE = "mm_login"
HTML = {"response_class": HTMLResponse}
#: Report files served under /reports (rendered pages and their assets; never models).
_REPORT_SUFFIXES = (".html", ".js", ".css", ".png", ".svg")


def render(
    request: Request, template: str, title: str, status: int = 200, **kw: Any
) -> HTMLResponse:
    """Render `template` for the caller (the navigation shows what the role may open)."""
    who = principal(request) or authenticate(request)
    body = _env.get_template(template).render(
        title=title, who=who, may=lambda p: bool(who and who.may(p)), **kw
    )
    return HTMLResponse(body, status)


def error_page(
    request: Request, status: int, message: str, login_url: str | None, headers: Any = None
) -> HTMLResponse:
    """An error page that names the problem, never a submitted value."""
    titles = {
        401: "Log in required",
        403: "Not allowed",
        404: "Not found",
        429: "Too many attempts",
    }
    page = render(
        request, "error.html", titles.get(status, "Error"), status, message=message,
        login_url=login_url,
    )  # fmt: skip
    for k, v in (headers or {}).items():
        page.headers[k] = v
    return page


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---- login ----
@router.get("/login", response_class=HTMLResponse, openapi_extra={"x-medmine-permission": "public"})
def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    """The login form (sets the login CSRF cookie)."""
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", "Log in", csrf=token, next=_safe_next(next), error=None)
    _set_cookie(request, page, LOGIN_COOKIE, token, max_age=1800)
    return page


@router.post(
    "/login", response_class=HTMLResponse, openapi_extra={"x-medmine-permission": "public"}
)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=512)] = "/",  # noqa: A002
) -> Response:
    """Check the password (throttled per name and address) and start a session."""
    st = state(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token; reload the login page")
    wait = st.throttle.retry_after(username, _client(request))
    if wait:
        raise HTTPException(
            429, f"too many failed logins; try again in {wait} s", {"Retry-After": str(wait)}
        )
    user = st.users.verify_password(username, password)
    if user is None:
        st.throttle.failed(username, _client(request))
        token = secrets.token_urlsafe(24)
        page = render(
            request, "login.html", "Log in", 401, csrf=token, next=_safe_next(next),
            error="Wrong user name or password.",
        )  # fmt: skip
        _set_cookie(request, page, LOGIN_COOKIE, token, max_age=1800)
        return page
    sid, _ = st.users.new_session(user)
    resp = RedirectResponse(_safe_next(next), 303)
    _set_cookie(request, resp, SESSION_COOKIE, sid, max_age=8 * 3600)
    resp.delete_cookie(LOGIN_COOKIE, path="/")
    return resp


def _safe_next(target: str) -> str:
    """Only a local path (never another site, never ``//host``) as the post-login target."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _set_cookie(request: Request, resp: Response, name: str, value: str, max_age: int) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=state(request).settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def logout(request: Request) -> Response:
    """End the session."""
    who = principal(request)
    if who and who.session_id:
        state(request).users.end_session(who.session_id)
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


guard(router, "POST", "/logout", "any", response_class=HTMLResponse)(logout)


# ---- pages ----
def home(request: Request) -> HTMLResponse:
    """What the caller's role may open."""
    return render(request, "home.html", "Workspace")


def warehouse_page(request: Request) -> HTMLResponse:
    """Tables, loads with reconciliation, quarantine reasons."""
    return render(
        request, "warehouse.html", "Warehouse", data=data.overview(state(request).cursor())
    )


def quality_page(
    request: Request,
    check_type: Annotated[str | None, Query(max_length=128)] = None,
    table: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Quality results of the newest run, filtered by check type, table and status."""
    f = {"check_type": check_type or None, "table": table or None, "status": status or None}
    result = data.quality(state(request).cursor(), **f)
    return render(request, "quality.html", "Data quality", data=result, f=f)


def profiles_page(request: Request) -> HTMLResponse:
    """Tables that have a profile page."""
    return render(request, "profiles.html", "Profiles", tables=data.profile_tables())


def profile_page(request: Request, table: str) -> HTMLResponse:
    """Completeness and distinct values of each column of one table."""
    result = data.profile(state(request).cursor(), table)
    if result is None:
        raise HTTPException(404, "no profile for this table; see /profiles")
    return render(request, "profile.html", f"Profile: {table}", data=result)


def studies_page(request: Request) -> HTMLResponse:
    """Study outputs in the reports folder, and the form to run one."""
    from medmine.studies import study_names

    return render(
        request, "studies.html", "Studies",
        studies=data.studies(state(request).settings.reports), names=study_names(),
    )  # fmt: skip


def study_page(request: Request, name: str) -> HTMLResponse:
    """One study: status, notes, key figures, downloads, model card."""
    s = data.study(state(request).settings.reports, name)
    if s is None:
        raise HTTPException(404, "no output for this study; run it first")
    return render(request, "study.html", s.title, s=s, card=s.model_card())


def study_table(request: Request, name: str, table: str, ext: str) -> FileResponse:
    """Download one output table (CSV or Parquet) of a study."""
    s = data.study(state(request).settings.reports, name)
    path = s.table_path(table, ext) if s else None
    if path is None:
        raise HTTPException(404, "no such table; the study page lists its downloads")
    media = "text/csv" if ext == "csv" else "application/vnd.apache.parquet"
    return FileResponse(path, media_type=media, filename=f"{name}_{table}.{ext}")


def run_study(request: Request, name: Annotated[str, Form(max_length=64)]) -> Response:
    """Start a study run in the background and go to its progress page."""
    try:
        job = state(request).extra["jobs"].submit(name, principal(request))
    except MedmineError:
        raise HTTPException(404, "no such study; see the list on /studies") from None
    return RedirectResponse(f"/jobs/{job.id}", 303)


def job_page(request: Request, job_id: str) -> HTMLResponse:
    """Progress of a study run (refreshes itself while it runs; no script)."""
    job = state(request).extra["jobs"].get(job_id)
    if job is None:
        raise HTTPException(404, "no such job (jobs are forgotten when the server restarts)")
    return render(request, "job.html", f"Study run: {job.study}", job=job)


def report_file(request: Request, name: str) -> Response:
    """A rendered report page or asset, served in a CSP sandbox (no access to this origin)."""
    reports = state(request).settings.reports.resolve()
    if "/" in name or "\\" in name or not name.endswith(_REPORT_SUFFIXES):
        raise HTTPException(404, "no such report file")
    path = (reports / name).resolve()
    if path.parent != reports or not path.is_file():
        raise HTTPException(404, "no such report file")
    return FileResponse(path, headers={"Content-Security-Policy": REPORT_CSP})


def report_asset(request: Request, name: str) -> Response:
    """A script, style or image of the report pages (library files, no data; public, because
    a sandboxed report page's requests carry no SameSite=Strict cookie).
    """
    folder = (state(request).settings.reports / "assets").resolve()
    if "/" in name or "\\" in name or not name.endswith((".js", ".css", ".png", ".svg")):
        raise HTTPException(404, "no such asset")
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise HTTPException(404, "no such asset")
    return FileResponse(path)


def fraud_page(
    request: Request, min_score: Annotated[float | None, Query(allow_inf_nan=False)] = None
) -> HTMLResponse:
    """The provider worklist of the claims-fraud study, with provider identities (audited)."""
    st = state(request)
    rows = data.fraud_providers(st.settings.reports, st.cursor())
    score_col = next((c for c in (rows[0] if rows else {}) if "score" in c), None)
    if min_score is not None and score_col:
        rows = [r for r in rows if (r.get(score_col) or 0) >= min_score]
    st.audit(principal(request), "view.fraud_worklist", "provider", rows=len(rows))
    columns = list(rows[0]) if rows else []
    return render(
        request, "fraud.html", "Fraud worklist", rows=rows, columns=columns, min_score=min_score
    )


def provider_page(request: Request, provider_id: int) -> HTMLResponse:
    """One provider's identity and claims (audited)."""
    st = state(request)
    result = data.provider_claims(st.cursor(), provider_id)
    if result["provider"] is None and not result["claims"]:
        raise HTTPException(404, "no such provider")
    st.audit(principal(request), "view.provider_claims", "mm_claim", rows=len(result["claims"]),
             detail={"provider_id": provider_id})  # fmt: skip
    columns = list(result["claims"][0]) if result["claims"] else []
    return render(request, "provider.html", f"Provider {provider_id}", data=result, columns=columns)


def persons_page(request: Request) -> HTMLResponse:
    """Open a person by id."""
    return render(request, "persons.html", "Person view")


def person_find(request: Request, person_id: Annotated[str, Query(max_length=20)]) -> Response:
    """Redirect the search form to the person's page."""
    if not person_id.strip().isdigit():
        raise HTTPException(422, "person_id must be a whole number")
    return RedirectResponse(f"/persons/{int(person_id)}", 303)


def person_page(request: Request, person_id: int) -> HTMLResponse:
    """A person's identity, timeline and readmission risk (PHI; audited with the person id)."""
    st = state(request)
    who = principal(request)
    result = data.person(st.cursor(), person_id)
    if result is None:
        raise HTTPException(404, "no such person in this warehouse")
    st.audit(who, "view.person", "person", person_id=person_id, purpose="treatment")
    score, score_error = None, None
    models = st.extra["models"]
    name = st.settings.cds_model or models.default()
    if name:
        from medmine.serve.api import person_score

        try:
            score = person_score(st, who, name, person_id, top=5, audit_entry=False)
        except (ModelUnavailableError, MedmineError) as exc:
            score_error = str(exc).splitlines()[0][:200]
    return render(
        request, "person.html", f"Person {person_id}", data=result, score=score,
        score_error=score_error,
    )  # fmt: skip


def audit_page(request: Request) -> HTMLResponse:
    """The audit log (newest first), its chain check, and consent counts."""
    from medmine.privacy.audit import verify

    st = state(request)
    check = verify(st.view())
    cur = st.cursor()
    entries, spool = data.audit_entries(cur), None
    if st.settings.read_only:
        # several workers: the newest entries wait in the spool until shutdown
        from medmine.serve.spool import pending

        spool = pending(st.settings.warehouse, cur, 200)
        entries = (spool["entries"] + entries)[:200]
    return render(
        request, "audit.html", "Audit and consent", entries=entries,
        consent=data.consent_summary(cur), check=check, spool=spool,
    )  # fmt: skip


for _method, _path, _perm, _fn in (
    ("GET", "/", "any", home),
    ("GET", "/warehouse", "aggregate", warehouse_page),
    ("GET", "/quality", "aggregate", quality_page),
    ("GET", "/profiles", "aggregate", profiles_page),
    ("GET", "/profiles/{table}", "aggregate", profile_page),
    ("GET", "/studies", "aggregate", studies_page),
    ("POST", "/studies/run", "run_study", run_study),
    ("GET", "/studies/{name}", "aggregate", study_page),
    ("GET", "/studies/{name}/tables/{table}.{ext}", "aggregate", study_table),
    ("GET", "/jobs/{job_id}", "run_study", job_page),
    ("GET", "/reports/{name}", "aggregate", report_file),
    ("GET", "/reports/assets/{name}", "public", report_asset),
    ("GET", "/fraud", "fraud", fraud_page),
    ("GET", "/fraud/providers/{provider_id}", "fraud", provider_page),
    ("GET", "/persons", "phi", persons_page),
    ("GET", "/persons/find", "phi", person_find),
    ("GET", "/persons/{person_id}", "phi", person_page),
    ("GET", "/audit", "audit", audit_page),
):
    guard(router, _method, _path, _perm, response_class=HTMLResponse)(_fn)
