"""The privacy page: de-identification operators, rows, consent, risk, audit, a scrubbed note."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from medmine.report.context import PageContext
from medmine.report.html import render_page, table_html

IDENTIFIERS = [
    ("Names", "mm_person_identity; provider.provider_name; notes", "table emptied / NULL / tag"),
    (
        "Geography below state",
        "location address, city, county, lat/long; notes",
        "NULL; ZIP to 3 digits (restricted areas 000); notes tagged",
    ),
    (
        "Dates (except year)",
        "every DATE/TIMESTAMP of a person; notes",
        "Jan 1 of the year (Safe Harbor) or per-person shift (expert)",
    ),
    ("Ages over 89", "person.year_of_birth; notes", "capped so age is 90; notes [AGE 90+]"),
    ("Phone, fax, e-mail", "mm_person_identity; notes", "table emptied; notes tagged"),
    (
        "SSN, MRN, plan, account, licence",
        "mm_person_identity, mm_identifier; notes",
        "tables emptied; notes tagged",
    ),
    (
        "Vehicle / device ids, serials",
        "device_exposure.unique_device_id; notes",
        "NULL; notes tagged",
    ),
    ("URLs, IP addresses", "notes", "tagged"),
    ("Biometrics, photos", "not stored in the warehouse", "n/a"),
    (
        "Other unique ids",
        "person_id, visit ids, *_source_value ids",
        "HMAC-SHA256 pseudonyms; NULL",
    ),
]


def write_privacy_page(
    path: str | Path,
    *,
    consent_report: Any,
    deid_report: Any,
    risk: Any,
    anonymization: Any,
    source_audit: Any,
    output_audit: Any,
    example: str,
    ephemeral_key: bool,
    output_name: str,
    k_threshold: int | None = None,
    context: PageContext | None = None,
) -> Path:
    """Write ``privacy.html`` from the reports of consent, de-identification, risk and audit.

    The measured k is compared with `k_threshold` (default: the anonymisation's target k)
    and the page says plainly when it is below. `output_name` is shown by its file name only.
    """
    threshold = anonymization.target_k if k_threshold is None else k_threshold
    body = k_statement(risk.k, threshold, risk.records) + _body(
        consent_report,
        deid_report,
        risk,
        anonymization,
        source_audit,
        output_audit,
        example,
        ephemeral_key,
        Path(str(output_name)).name,
    )
    return render_page(
        path,
        "Privacy",
        body,
        subtitle="De-identification, consent, re-identification risk, audit",
        context=context,
    )


def k_statement(k: int, threshold: int, records: int) -> str:
    """A card stating the measured k against the configured threshold, in plain words."""
    if not records:
        return (
            "<div class='card'><b>k-anonymity not measured:</b> no persons in the "
            "de-identified warehouse.</div>"
        )
    if k < threshold:
        who = (
            "at least one person is unique"
            if k == 1
            else f"some persons share their quasi-identifiers with only {k - 1} others"
        )
        return (
            f"<div class='card'><b class='fail'>k = {k} is below the configured threshold "
            f"k = {threshold}.</b> On the quasi-identifiers below, {who}: this output is not "
            f"{threshold}-anonymous and can identify people. Generalise further (see "
            "“To reach k” below) or do not share it.</div>"
        )
    return (
        f"<div class='card'><b class='ok'>k = {k} meets the configured threshold k = "
        f"{threshold}</b>: every combination of quasi-identifiers is shared by at least {k} "
        "persons.</div>"
    )


def _body(crep, rep, risk, anon, src_audit, out_audit, example, ephemeral, out_name) -> str:
    key_note = (
        "<p><b>MEDMINE_DEID_KEY was not set: an ephemeral key was generated for this run and "
        "discarded</b>; pseudonyms cannot be reproduced. Set the variable for stable ones.</p>"
        if ephemeral
        else "<p>Pseudonyms keyed with MEDMINE_DEID_KEY.</p>"
    )
    ident = table_html([{"identifier": a, "where": b, "operator": c} for a, b, c in IDENTIFIERS])
    sizes = table_html(
        [{"class size": s, "classes": c} for s, c in sorted(risk.class_sizes.items())[:15]]
    )
    rows = table_html([{"table": t, "rows": n} for t, n in rep.rows.items() if n])
    anon_rows = table_html(
        [{"quasi-identifier": c, "generalisation level": lvl} for c, lvl in anon.levels.items()]
    )
    return f"""
<h2>De-identification ({html.escape(rep.mode)})</h2>
{key_note}
<p>Output <code>{html.escape(out_name)}</code>, {rep.duration_s:.1f} s, {rep.notes_scrubbed:,}
notes scrubbed, {rep.ages_capped} ages capped at 90.</p>
{ident}
<h3>Rows written</h3>{rows}
<h2>Consent</h2>
<p>Consent CSV: {crep.read} rows read, {crep.loaded} loaded,
{crep.unmatched_person} for unknown persons, {crep.invalid} invalid. Policy: opt-out.
Purpose <b>{html.escape(rep.purpose)}</b>: {rep.consent_eligible:,} eligible,
<b>{rep.consent_excluded}</b> excluded.</p>
<h2>Re-identification risk</h2>
<p>Quasi-identifiers {html.escape(", ".join(risk.quasi_identifiers))}: {risk.records:,} persons in
{risk.classes:,} classes, measured k = {risk.k}, prosecutor risk max {risk.prosecutor_max:.3f} /
average {risk.prosecutor_avg:.3f}; {html.escape(risk.journalist_note)}.</p>
{sizes}
<p>To reach k = {anon.target_k}: {"achieved" if anon.achieved else "not achieved"},
{anon.rows_suppressed} of {anon.records} rows suppressed, information loss
{anon.information_loss:.2f}.</p>
{anon_rows}
<h2>Audit trail</h2>
<p>Source warehouse: {_chain(src_audit)}
({src_audit.entries} entries). De-identified warehouse: {_chain(out_audit)}
({out_audit.entries} entries).</p>
<h2>Note scrubbing example (scrubbed text only)</h2>
<pre>{html.escape(example)}</pre>
"""


def _chain(v: Any) -> str:
    """Verification result with its mode: an unkeyed chain is intact but could be rewritten."""
    if not v.ok:
        return f"BROKEN at seq {html.escape(str(v.first_bad_seq))}"
    mode = getattr(v, "mode", "")
    if mode.startswith("keyed"):
        return f"intact ({html.escape(mode)})"
    return (
        f"intact but {html.escape(mode or 'unkeyed')}: anyone who can write the warehouse "
        "could rewrite it; set MEDMINE_AUDIT_KEY"
    )
