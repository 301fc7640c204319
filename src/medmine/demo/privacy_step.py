"""The privacy step of the demo: consent, de-identification, risk, audit and the privacy page."""

from __future__ import annotations

import os
import secrets
from typing import Any

from medmine.privacy import consent
from medmine.privacy.audit import verify
from medmine.privacy.deid import DeidConfig, deidentify
from medmine.privacy.phi_text import Scrubber
from medmine.privacy.phi_text.context import merged, person_contexts, shared_context
from medmine.privacy.pseudonym import KEY_ENV
from medmine.privacy.risk import PERSON_QI_SQL, anonymize, assess
from medmine.report import ReportLink, page_context
from medmine.report.privacy_page import write_privacy_page
from medmine.warehouse import Warehouse


def privacy_step(ctx: Any) -> None:
    """De-identify the demo warehouse, apply the sample consent and write ``privacy.html``."""
    ephemeral = not os.environ.get(KEY_ENV)
    key = secrets.token_bytes(32) if ephemeral else None
    out = ctx.reports_dir.parent / "medmine_deid.duckdb"
    with Warehouse(ctx.warehouse) as wh:
        crep = consent.load_csv(ctx.samples / "consent.csv", wh)
        example = _scrub_example(wh)
    rep = deidentify(ctx.warehouse, out, DeidConfig(), key=key, overwrite=True)
    with Warehouse(out, read_only=True) as dwh:
        risk = assess(dwh.con, PERSON_QI_SQL)
        anon = anonymize(dwh.con, PERSON_QI_SQL, target_k=5)
        out_audit = verify(dwh)
    with Warehouse(ctx.warehouse, read_only=True) as wh:
        src_audit = verify(wh)
        page_ctx = page_context(wh, command="medmine demo")
    page = write_privacy_page(
        ctx.reports_dir / "privacy.html",
        consent_report=crep,
        deid_report=rep,
        risk=risk,
        anonymization=anon,
        source_audit=src_audit,
        output_audit=out_audit,
        example=example,
        ephemeral_key=ephemeral,
        output_name=out.name,
        k_threshold=anon.target_k,
        context=page_ctx,
    )
    ok = src_audit.ok and out_audit.ok
    ctx.links.append(
        ReportLink(
            "Privacy",
            page.name,
            f"{rep.rows.get('person', 0):,} persons de-identified ({rep.mode}), "
            f"{rep.consent_excluded} excluded by consent, k={risk.k}, audit "
            f"{'intact' if ok else 'BROKEN'}",
            "ok" if ok else "fail",
        )
    )
    ctx.console.print(
        f"de-identified warehouse {out} ({rep.duration_s:.1f} s); key "
        f"{'ephemeral (not saved)' if ephemeral else 'from ' + KEY_ENV}"
    )


def _scrub_example(wh: Warehouse) -> str:
    """One note, scrubbed (only the scrubbed text ever leaves this function)."""
    row = wh.con.execute(
        "SELECT person_id, note_text FROM note WHERE note_text LIKE '%is a%' "
        "ORDER BY note_id LIMIT 1"
    ).fetchone()
    if row is None:
        return ""
    pid, text = row
    ctx = merged(shared_context(wh.con), person_contexts(wh.con).get(pid))
    return Scrubber().scrub(text, ctx).text[:1500]
