"""Claims, claim transactions and payer transitions: the money side of a Synthea CSV export.

- ``claims.csv`` -> ``mm_claim`` (payer as ``Organization/<payer Id>``, SNOMED diagnoses).
- ``claims_transactions.csv``: a ``CHARGE`` is a claim line (``mm_claim_line``, billed amount);
  the other transactions of the line are kept for the end of the load, where
  `medmine.ingest.synthea_csv._finish` sums them into one ``cost`` row per line and per claim,
  the same rows an ExplanationOfBenefit gives from FHIR (see docs/mapping.md):

  ====================  ==========================  =========================================
  TYPE                  METHOD                      counts as
  ====================  ==========================  =========================================
  PAYMENT               ECHECK, SYSTEM              paid by the payer (``PAYMENTS``)
  PAYMENT               CASH, CHECK, CC, COPAY      paid by the patient (``PAYMENTS``); COPAY
                                                    also as the copay
  ADJUSTMENT            (any)                       allowed = charge - adjustments
                                                    (``ADJUSTMENTS``)
  TRANSFERIN/OUT        (any)                       moves the balance (``TRANSFERS``), no money
  ====================  ==========================  =========================================

- ``payer_transitions.csv`` -> ``payer_plan_period`` (both the current layout with
  ``START_DATE``/``END_DATE`` and the older one with ``START_YEAR``/``END_YEAR``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from medmine.ingest import codes
from medmine.ingest.synthea_csv._maps import Mapped, _end_after, money, opt, req, row_key, when
from medmine.ingest.synthea_csv._reader import SyntheaReader, Transaction, sid
from medmine.warehouse import Reason, Rejected

CLAIM_TYPES = {"1": "professional", "2": "institutional"}
#: Vocabularies of PROCEDURECODE, told apart by shape: SNOMED (6-18 digits), CVX (1-3 digits),
#: RxNorm (the rest; an RxNorm code of 6+ digits cannot be told from SNOMED and reads SNOMED).
CHARGE_CODES = ("SNOMED", "CVX", "RxNorm")
PAYER_METHODS = frozenset({"ECHECK", "SYSTEM"})
PATIENT_METHODS = frozenset({"CASH", "CHECK", "CC", "COPAY"})
TRANSFER_TYPES = frozenset({"1", "2", "P"})
#: Open-ended coverage ends here (OMOP requires an end date; the FHIR reader uses the same).
OPEN_END = dt.date(2099, 12, 31)


def payer_ref(payer_id: str | None) -> str | None:
    """``Organization/<id>`` for a payer Id; Synthea's ``0`` / empty mean no payer."""
    return None if not payer_id or payer_id == "0" else f"Organization/{payer_id}"


def line_cost_id(claim: str, charge: str) -> int:
    """Row id of the ``cost`` row that sums the transactions of one claim line."""
    return sid("ClaimLineCost", f"{claim}#{charge}")


def claim(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    cid = req(rec, "Id")
    person = r.person(rec, "PATIENTID")
    service = when(rec, "SERVICEDATE")
    assert service is not None
    dx = [opt(rec, f"DIAGNOSIS{i}") for i in range(1, 9)]
    for code in dx:
        if code:
            r.concepts.add("SNOMED", code)
    for col in ("OUTSTANDING1", "OUTSTANDING2", "OUTSTANDINGP"):
        money(rec, col)
    # The billing organisation is the encounter's (as FHIR Claim.provider from Synthea).
    org = r.encounter_org.get(opt(rec, "APPOINTMENTID") or "")
    row = {
        "claim_id": sid("Claim", cid),
        "person_id": person,
        "claim_source_value": f"Claim/{cid}",
        "claim_type": CLAIM_TYPES.get((rec.get("HEALTHCARECLAIMTYPEID1") or "").strip()),
        "claim_status": (opt(rec, "STATUS1") or "").lower() or None,
        "payer_source_value": payer_ref(opt(rec, "PRIMARYPATIENTINSURANCEID")),
        "rendering_provider_id": r.ref("providers", "provider", opt(rec, "PROVIDERID"), "Claim"),
        "billing_care_site_id": r.ref("organizations", "care_site", org, "Claim"),
        "billing_source_value": org,
        "claim_start_date": service.date(),
        "claim_end_date": service.date(),
        "visit_occurrence_id": r.ref(
            "encounters", "visit_occurrence", opt(rec, "APPOINTMENTID"), "Claim"
        ),
        "dx_vocabulary_id": "SNOMED" if any(dx) else None,
        **{f"dx_{i}": code for i, code in enumerate(dx, 1)},
    }
    r.claims.add(cid)
    return [("mm_claim", row)], [], f"Claim/{cid}"


def claim_transaction(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    tid = req(rec, "ID")
    cid = req(rec, "CLAIMID")
    charge = req(rec, "CHARGEID")
    person = r.person(rec, "PATIENTID")
    if cid not in r.claims and not r.exists("mm_claim", sid("Claim", cid)):
        raise Rejected(Reason.DANGLING_REFERENCE, "CLAIMID matches no claim")
    ttype = req(rec, "TYPE").upper()
    start = when(rec, "FROMDATE")
    end = when(rec, "TODATE", required=False)
    assert start is not None
    _end_after(start, end, "TODATE")
    try:
        line_number = int(charge)
    except ValueError:
        raise Rejected(Reason.INVALID_VALUE, "CHARGEID is not an integer") from None
    line_id = sid("ClaimLine", f"{cid}#{charge}")
    key = f"ClaimTransaction/{tid}"
    if ttype == "CHARGE":
        code = opt(rec, "PROCEDURECODE")
        # a charge is an encounter or procedure (SNOMED), a vaccine (CVX) or a drug (RxNorm)
        voc = codes.vocabulary_of_code(code, CHARGE_CODES) if code else None
        if code and voc:
            r.concepts.add(voc, code, opt(rec, "NOTES"))
        row = {
            "claim_line_id": line_id,
            "claim_id": sid("Claim", cid),
            "line_number": line_number,
            "person_id": person,
            "service_date": start.date(),
            "service_end_date": end.date() if end else None,
            "procedure_vocabulary_id": voc,
            "procedure_code": code,
            "procedure_display": opt(rec, "NOTES"),
            "modifier_1": opt(rec, "MODIFIER1"),
            "modifier_2": opt(rec, "MODIFIER2"),
            "units": money(rec, "UNITS"),
            "billed_amount": money(rec, "AMOUNT"),
            # PLACEOFSERVICE holds an organization Id in Synthea, not a CMS place-of-service code
            "dx_pointer": ",".join(
                x for x in (opt(rec, f"DIAGNOSISREF{i}") for i in range(1, 5)) if x
            )
            or None,
        }
        return [("mm_claim_line", row)], [], key
    t = _money_movement(rec, ttype)
    cost_id = line_cost_id(cid, charge)
    if r.exists("cost", cost_id):
        raise Rejected(Reason.DUPLICATE, "the claim line's money is loaded already")
    r.transactions.append(
        Transaction(cost_id, line_id, sid("ClaimCost", cid), sid("Claim", cid), *t, key, *r.where)
    )
    return [], [], key


def _money_movement(rec: dict[str, str], ttype: str) -> tuple[float, float, float, float]:
    """(paid by payer, paid by patient, of which copay, adjustment) of one transaction."""
    if ttype == "PAYMENT":
        method = (rec.get("METHOD") or "").strip().upper()
        paid = money(rec, "PAYMENTS")
        if paid is None:
            raise Rejected(Reason.MISSING_FIELD, "PAYMENTS is empty (TYPE PAYMENT)")
        if method in PAYER_METHODS:
            return paid, 0.0, 0.0, 0.0
        if method in PATIENT_METHODS:
            return 0.0, paid, paid if method == "COPAY" else 0.0, 0.0
        raise Rejected(Reason.INVALID_VALUE, "METHOD is not a Synthea payment method")
    if ttype == "ADJUSTMENT":
        adjusted = money(rec, "ADJUSTMENTS", allow_negative=True)
        if adjusted is None:
            raise Rejected(Reason.MISSING_FIELD, "ADJUSTMENTS is empty (TYPE ADJUSTMENT)")
        return 0.0, 0.0, 0.0, adjusted
    if ttype in ("TRANSFERIN", "TRANSFEROUT"):
        if money(rec, "TRANSFERS") is None:
            raise Rejected(Reason.MISSING_FIELD, f"TRANSFERS is empty (TYPE {ttype})")
        kind = (rec.get("TRANSFERTYPE") or "").strip().upper()
        if kind and kind not in TRANSFER_TYPES:
            raise Rejected(Reason.INVALID_VALUE, "TRANSFERTYPE is not 1, 2 or p")
        return 0.0, 0.0, 0.0, 0.0
    raise Rejected(Reason.INVALID_VALUE, "TYPE is not a Synthea transaction type")


def payer_transition(r: SyntheaReader, rec: dict[str, str]) -> Mapped:
    """A payer transition -> payer_plan_period (one coverage span of one payer)."""
    person = r.person(rec, "PATIENT")
    if "START_DATE" in rec:
        start = when(rec, "START_DATE")
        end = when(rec, "END_DATE", required=False)
        assert start is not None
        start_d, end_d = start.date(), end.date() if end else None
    else:  # the older layout: whole calendar years
        start_d = _year(rec, "START_YEAR", 1, 1)
        end_d = _year(rec, "END_YEAR", 12, 31) if opt(rec, "END_YEAR") else None
    if end_d is not None and end_d < start_d:
        raise Rejected(Reason.INVALID_DATE, "END precedes START")
    payer = opt(rec, "PAYER")
    if payer is None:
        raise Rejected(Reason.MISSING_FIELD, "PAYER is empty")
    key = f"PayerTransition#{row_key(rec)}"
    row: dict[str, Any] = {
        "payer_plan_period_id": sid("PayerTransition", key),
        "person_id": person,
        "payer_plan_period_start_date": start_d,
        "payer_plan_period_end_date": end_d or OPEN_END,
        # self-pay (Synthea's NO_INSURANCE payer) names the patient, as FHIR's Coverage does
        "payer_source_value": f"Patient/{req(rec, 'PATIENT')}"
        if payer in r.self_pay
        else payer_ref(payer),
        "family_source_value": opt(rec, "MEMBERID"),
    }
    return [("payer_plan_period", row)], [], key


def _year(rec: dict[str, str], col: str, month: int, day: int) -> dt.date:
    v = req(rec, col)
    if not (v.isdigit() and 1 <= int(v) <= 9999):
        raise Rejected(Reason.INVALID_DATE, f"{col} is not a year")
    return dt.date(int(v), month, day)
