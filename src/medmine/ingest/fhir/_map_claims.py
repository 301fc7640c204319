"""Claim and ExplanationOfBenefit -> mm_claim, mm_claim_line and cost.

A Claim and its ExplanationOfBenefit (EOB) describe the same claim, so they must not become
two claims:

- **Claim** -> one ``mm_claim`` header (type, status, billing provider: a Practitioner in
  ``billing_provider_id`` or an Organization in ``billing_care_site_id``, with its source id in
  ``billing_source_value``; rendering clinician = the careTeam member with role rendering,
  performing or primary, else the first; referring clinician = role referring; diagnoses
  ``dx_1..dx_12``, billed total) and one ``mm_claim_line`` per item (procedure code with its
  vocabulary, modifiers, units, billed amount). ``claim_id = stable_id("fhir:Claim", id)``.
- **EOB that references its Claim** (``EOB.claim``) -> ``cost`` rows (OMOP's table for
  adjudicated amounts): one for the header (``cost_domain_id = "mm_claim"``, ``cost_event_id =
  claim_id``) and one per item (``cost_domain_id = "mm_claim_line"``, ``cost_event_id`` = the
  line with the same sequence). At the end of the load an SQL pass copies the allowed, paid and
  patient-paid amounts into ``mm_claim`` / ``mm_claim_line``, whichever load brought the Claim.
- **EOB without a claim reference** -> treated as the claim itself: its own ``mm_claim`` and
  ``mm_claim_line`` rows, with amounts taken directly from its adjudications.

Adjudication categories: ``submitted`` = billed, ``benefit`` (or ``payment.amount``) = paid by
the payer, ``copay`` + ``coinsurance`` + ``deductible`` = paid by the patient, ``eligible`` =
allowed; without ``eligible``, allowed = payer paid + patient paid.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from medmine.ingest.codes import TYPE_CLAIM
from medmine.ingest.fhir._map_admin import payer_key, vocabulary
from medmine.ingest.fhir._refs import Context
from medmine.ingest.fhir._values import coding, first_date, money, opt_datetime
from medmine.warehouse import Reason, Rejected, stable_id

Rows = list[tuple[str, dict[str, Any]]]
_PATIENT_SHARE = ("copay", "coinsurance", "deductible")
_NPI = "http://hl7.org/fhir/sid/us-npi|"


def line_id(claim_id: int, sequence: int) -> int:
    """Row id of claim line `sequence` of claim `claim_id` (shared by Claim and EOB)."""
    return stable_id("fhir:Claim.item", f"{claim_id}/{sequence}")


def _npi(ref: Any) -> str | None:
    """The NPI of a conditional ``Practitioner?identifier=…us-npi|N`` reference, if any."""
    r = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(r, str) and _NPI in r:
        return r.split(_NPI, 1)[1].split("&")[0] or None
    return None


#: careTeam roles naming the clinician who rendered the service (CARIN BB and claimcareteamrole).
_RENDERING = ("rendering", "performing", "primary")


def _team_member(care_team: list[dict[str, Any]], roles: tuple[str, ...]) -> Any:
    """The provider reference of the first careTeam entry whose role code is one of `roles`."""
    for member in care_team:
        role = coding(member.get("role"))
        if role is not None and str(role.get("code")) in roles:
            return member.get("provider")
    return None


def _source_id(ref: Any) -> str | None:
    """The source id a Reference names: the identifier value of a conditional reference, else
    the id of ``Type/id`` or ``urn:uuid:id`` (never an internal row id).
    """
    r = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(r, str) or not r:
        ident = ref.get("identifier") if isinstance(ref, dict) else None
        return str(ident["value"]) if isinstance(ident, dict) and ident.get("value") else None
    if "?" in r and "|" in r:
        return r.rsplit("|", 1)[1].split("&")[0] or None
    return r.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or None


def _billing(ref: Any, rtype: str, header: dict[str, Any], ctx: Context) -> None:
    """Claim.provider: a billing clinician (-> provider) or organisation (-> care_site)."""
    r = ref.get("reference") if isinstance(ref, dict) else None
    hit = ctx.bundle.get(r) if isinstance(r, str) else None  # (type, id) within the Bundle
    if hit is not None:
        header["billing_source_value"] = hit[1]
    kind = hit[0] if hit is not None else (r or "").split("?", 1)[0].split("/")[0]
    org = kind == "Organization" or (isinstance(r, str) and r.startswith("Organization"))
    column = "billing_care_site_id" if org else "billing_provider_id"
    header[column] = ctx.ref(
        ref, f"{rtype}.provider", table="mm_claim", row_id=header["claim_id"], column=column,
        target=("Organization",) if org else ("Practitioner",),
    )  # fmt: skip


def _amounts(adjudications: Any, field: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for adj in adjudications if isinstance(adjudications, list) else ():
        if not isinstance(adj, dict):
            continue
        c = coding(adj.get("category"))
        v = money(adj.get("amount"), f"{field}.amount")
        if c is not None and v is not None:
            out[str(c["code"])] += v
    return out


def _split(a: dict[str, float]) -> tuple[float | None, float | None, float | None]:
    """(allowed, payer paid, patient paid) from summed adjudication amounts."""
    payer = a.get("benefit")
    patient = (
        sum(a[k] for k in _PATIENT_SHARE if k in a) if any(k in a for k in _PATIENT_SHARE) else None
    )
    allowed = a.get("eligible")
    if allowed is None and (payer is not None or patient is not None):
        allowed = (payer or 0.0) + (patient or 0.0)
    return allowed, payer, patient


def _sequence(item: dict[str, Any], i: int, field: str) -> int:
    seq = item.get("sequence", i + 1)
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise Rejected(Reason.INVALID_VALUE, f"{field}.sequence is not an integer")
    return seq


def _claim_rows(r: dict[str, Any], rtype: str, fid: str, ctx: Context) -> Rows:
    """Header and lines of a Claim (or of an EOB standing for its claim)."""
    T = "mm_claim"
    cid = stable_id(f"fhir:{rtype}", fid)
    pid = ctx.person(r.get("patient"), f"{rtype}.patient", T, cid)
    start, _ = first_date(r, rtype, "billablePeriod.start", "created")
    bp = r.get("billablePeriod") if isinstance(r.get("billablePeriod"), dict) else {}
    end, _ = opt_datetime(bp.get("end"), f"{rtype}.billablePeriod.end")
    kind = coding(r.get("type"))
    items = [it for it in r.get("item") or () if isinstance(it, dict)]
    care_team = [c for c in r.get("careTeam") or () if isinstance(c, dict)]
    rendering_ref = _team_member(care_team, _RENDERING) or (
        care_team[0].get("provider") if care_team else None
    )
    referring_ref = _team_member(care_team, ("referring",))
    dx: list[tuple[int, str, str]] = []
    for i, d in enumerate(r.get("diagnosis") or ()):
        c = coding(d.get("diagnosisCodeableConcept")) if isinstance(d, dict) else None
        if c is not None:
            seq = d.get("sequence") if isinstance(d.get("sequence"), int) else i + 1
            dx.append((seq, vocabulary(c.get("system")), str(c["code"])))
    dx.sort()
    visit = None
    for it in items:
        enc = it.get("encounter")
        if enc:
            visit = ctx.ref(
                enc[0] if isinstance(enc, list) else enc,
                f"{rtype}.item.encounter",
                table=T,
                row_id=cid,
                column="visit_occurrence_id",
                target=("Encounter",),
            )
            break
    insurer = r.get("insurer") if isinstance(r.get("insurer"), dict) else {}
    pos = coding(items[0].get("locationCodeableConcept")) if items else None
    header: dict[str, Any] = {
        "claim_id": cid,
        "person_id": pid,
        "claim_source_value": f"{rtype}/{fid}",
        "claim_type": str(kind["code"]) if kind else None,
        "claim_status": r.get("status") if isinstance(r.get("status"), str) else None,
        # Organization/<id> whatever the transport wrote (docs/mapping.md, R3)
        "payer_source_value": payer_key(ctx, insurer),
        "billing_provider_id": None,
        "billing_care_site_id": None,
        "billing_npi": _npi(r.get("provider")),
        "billing_source_value": _source_id(r.get("provider")),
        "rendering_provider_id": ctx.ref(
            rendering_ref,
            f"{rtype}.careTeam.provider",
            table=T,
            row_id=cid,
            column="rendering_provider_id",
            target=("Practitioner",),
        ),
        "rendering_npi": _npi(rendering_ref),
        "referring_provider_id": ctx.ref(
            referring_ref,
            f"{rtype}.careTeam.provider",
            table=T,
            row_id=cid,
            column="referring_provider_id",
            target=("Practitioner",),
        ),
        "referring_npi": _npi(referring_ref),
        "place_of_service": str(pos["code"]) if pos else None,
        "claim_start_date": start,
        "claim_end_date": end,
        "visit_occurrence_id": visit,
        "dx_vocabulary_id": dx[0][1] if dx else None,
    }
    _billing(r.get("provider"), rtype, header, ctx)
    for n, (_, _, code) in enumerate(dx[:12], start=1):
        header[f"dx_{n}"] = code
    total = r.get("total")
    header_amounts: dict[str, float] = defaultdict(float)
    if isinstance(total, dict):  # Claim.total is Money
        header["total_billed"] = money(total, f"{rtype}.total")
    elif isinstance(total, list):  # EOB.total is a list of adjudication-like entries
        header_amounts.update(_amounts(total, f"{rtype}.total"))
    rows: Rows = [(T, header)]
    line_amounts: dict[str, float] = defaultdict(float)
    for i, it in enumerate(items):
        seq = _sequence(it, i, f"{rtype}.item")
        c = coding(it.get("productOrService"))
        vocab = vocabulary(c.get("system")) if c else None
        sd, _ = opt_datetime(it.get("servicedDate"), f"{rtype}.item.servicedDate")
        sp = it.get("servicedPeriod") if isinstance(it.get("servicedPeriod"), dict) else {}
        if sd is None:
            sd, _ = opt_datetime(sp.get("start"), f"{rtype}.item.servicedPeriod.start")
        se, _ = opt_datetime(sp.get("end"), f"{rtype}.item.servicedPeriod.end")
        mods = [coding(m) for m in it.get("modifier") or ()]
        mods = [str(m["code"]) for m in mods if m]
        q = it.get("quantity")
        units = money(q, f"{rtype}.item.quantity") if isinstance(q, dict) else None
        billed = money(it.get("net"), f"{rtype}.item.net")
        if billed is None and isinstance(it.get("unitPrice"), dict):
            billed = money(it["unitPrice"], f"{rtype}.item.unitPrice")
            billed = billed * units if billed is not None and units else billed
        adj = _amounts(it.get("adjudication"), f"{rtype}.item.adjudication")
        for k, v in adj.items():
            line_amounts[k] += v
        allowed, paid, _ = _split(adj)
        if billed is None:
            billed = adj.get("submitted")
        rev = coding(it.get("revenue"))
        lpos = coding(it.get("locationCodeableConcept"))
        ptrs = it.get("diagnosisSequence") or it.get("diagnosisLinkId") or ()
        line = {
            "claim_line_id": line_id(cid, seq),
            "claim_id": cid,
            "line_number": seq,
            "person_id": pid,
            "service_date": sd or start,
            "service_end_date": se,
            "procedure_vocabulary_id": vocab,
            "procedure_code": str(c["code"]) if c else None,
            "procedure_display": c.get("display") if c else None,
            "ndc_code": str(c["code"]) if c and vocab == "NDC" else None,
            "revenue_code": str(rev["code"]) if rev else None,
            "units": units,
            "billed_amount": billed,
            "allowed_amount": allowed,
            "paid_amount": paid,
            "place_of_service": str(lpos["code"]) if lpos else None,
            "dx_pointer": ",".join(str(p) for p in ptrs) or None,
        }
        for n, m in enumerate(mods[:4], start=1):
            line[f"modifier_{n}"] = m
        rows.append(("mm_claim_line", line))
    amounts = header_amounts or line_amounts
    if amounts:
        allowed, paid, patient = _split(amounts)
        payment = r.get("payment")
        if isinstance(payment, dict) and money(payment.get("amount"), "payment") is not None:
            paid = money(payment.get("amount"), f"{rtype}.payment.amount")
        header.update(total_allowed=allowed, total_paid=paid, patient_paid=patient)
        if header.get("total_billed") is None:
            header["total_billed"] = amounts.get("submitted")
    return rows


def claim(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """Claim -> mm_claim + mm_claim_line."""
    return _claim_rows(r, "Claim", fid, ctx)


def eob(r: dict[str, Any], fid: str, ctx: Context) -> Rows:
    """ExplanationOfBenefit -> cost rows for the Claim it adjudicates (see module docstring)."""
    eid = stable_id("fhir:ExplanationOfBenefit", fid)
    claim_id = None
    if r.get("claim") is not None:
        claim_id = ctx.ref(
            r.get("claim"),
            "ExplanationOfBenefit.claim",
            table="cost",
            row_id=eid,
            column="cost_event_id",
            target=("Claim",),
        )
    if claim_id is None:
        return _claim_rows(r, "ExplanationOfBenefit", fid, ctx)
    pid = ctx.person(r.get("patient"), "ExplanationOfBenefit.patient", "cost", eid)
    del pid  # the person is the Claim's; resolving it checks the reference all the same
    coverage = None
    for ins in r.get("insurance") or ():
        if isinstance(ins, dict) and ins.get("coverage"):
            coverage = ctx.ref(
                ins["coverage"],
                "ExplanationOfBenefit.insurance.coverage",
                table="cost",
                row_id=eid,
                column="payer_plan_period_id",
                target=("Coverage",),
            )
            break
    rows: Rows = []
    totals: dict[str, float] = defaultdict(float)
    allowed_sum: float | None = None
    item_rows: Rows = []
    for i, it in enumerate(r.get("item") or ()):
        if not isinstance(it, dict):
            continue
        seq = _sequence(it, i, "ExplanationOfBenefit.item")
        adj = _amounts(it.get("adjudication"), "ExplanationOfBenefit.item.adjudication")
        for k, v in adj.items():
            totals[k] += v
        item_allowed = _split(adj)[0]
        if item_allowed is not None:
            allowed_sum = (allowed_sum or 0.0) + item_allowed
        item_rows.append(
            (
                "cost",
                _cost(
                    stable_id("fhir:ExplanationOfBenefit.item", f"{fid}/{seq}"),
                    line_id(claim_id, seq),
                    "mm_claim_line",
                    adj,
                    coverage,
                ),
            )
        )
    header_amounts = _amounts(r.get("total"), "ExplanationOfBenefit.total")
    for k, v in header_amounts.items():
        totals[k] = v  # explicit totals win over item sums
    head = _cost(eid, claim_id, "mm_claim", totals, coverage)
    if "eligible" not in header_amounts and allowed_sum is not None:
        head["amount_allowed"] = allowed_sum  # sum of the lines' allowed amounts
    payment = r.get("payment")
    if isinstance(payment, dict):
        paid = money(payment.get("amount"), "ExplanationOfBenefit.payment.amount")
        if paid is not None:
            head["paid_by_payer"] = paid
    rows.append(("cost", head))
    rows.extend(item_rows)
    return rows


def _cost(
    cost_id: int, event_id: int, domain: str, a: dict[str, float], coverage: int | None
) -> dict[str, Any]:
    allowed, payer, patient = _split(a)
    paid = None if payer is None and patient is None else (payer or 0.0) + (patient or 0.0)
    return {
        "cost_id": cost_id,
        "cost_event_id": event_id,
        "cost_domain_id": domain,
        "cost_type_concept_id": TYPE_CLAIM,
        "total_charge": a.get("submitted"),
        "total_paid": paid,
        "paid_by_payer": payer,
        "paid_by_patient": patient,
        "paid_patient_copay": a.get("copay"),
        "paid_patient_coinsurance": a.get("coinsurance"),
        "paid_patient_deductible": a.get("deductible"),
        "payer_plan_period_id": coverage,
        "amount_allowed": allowed,
    }
