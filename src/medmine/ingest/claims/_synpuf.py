"""CMS DE-SynPUF files (synthetic Medicare claims, DE1.0 layouts) -> person and claims tables.

Beneficiary summaries give persons (and deaths, and one payer plan period per summary year);
carrier, inpatient, outpatient and prescription drug event files give `mm_claim` headers with
`mm_claim_line` lines. Column layouts are the published DE1.0 codebook's, in its order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from medmine.ingest import codes
from medmine.ingest._emit import Lookup, SourceConcepts
from medmine.ingest.claims._layouts import numbered, summary_year
from medmine.ingest.validate import (
    amount_field,
    date_field,
    is_cpt_shape,
    is_hcpcs_shape,
    is_icd9cm_shape,
    normalize_code,
)
from medmine.warehouse import LoadSession, Reason, Rejected, stable_id

KIND = "synpuf"


SEX = {"1": ("1", codes.GENDER["M"]), "2": ("2", codes.GENDER["F"])}
RACE = {"1": codes.RACE["white"], "2": codes.RACE["black"]}
HISPANIC = "5"
_DATE = ("%Y%m%d",)


def _date(rec: dict[str, str], col: str, required: bool = False) -> dt.date | None:
    """A DE-SynPUF date column (``YYYYMMDD``)."""
    return date_field(rec.get(col), col, required=required, formats=_DATE)


def _amount(rec: dict[str, str], col: str) -> float | None:
    """A DE-SynPUF amount column."""
    return amount_field(rec.get(col), col)


def _sum(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present), 2) if present else None


def _npi(rec: dict[str, str], col: str) -> str | None:
    """A DE-SynPUF provider number: synthetic, so digits only (no NPI check digit test)."""
    v = (rec.get(col) or "").strip()
    if not v:
        return None
    if not v.isdigit() or len(v) > 10:
        raise Rejected(Reason.INVALID_CODE, f"{col} is not a 10-digit provider number")
    return v


class SynpufReader:
    """Reads DE-SynPUF files into one `LoadSession` (beneficiary files first)."""

    def __init__(self, s: LoadSession, concepts: SourceConcepts) -> None:
        self.s = s
        self.concepts = concepts
        self.persons: dict[str, bool] = {}
        self.lookup = Lookup(s)

    def person_id(self, bene: str) -> int:
        """Person id of a DESYNPUF_ID."""
        return stable_id(f"{KIND}:Beneficiary", bene)

    def _known(self, bene: str) -> bool:
        known = self.persons.get(bene)
        if known is None:
            known = self.lookup.exists("person", self.person_id(bene))
            self.persons[bene] = known
        return known

    def record(self, layout: str, path: Path, loc: str, rec: dict[str, str]) -> None:
        """Validate and load one row of `layout`; raises `Rejected` to quarantine it."""
        bene = (rec.get("DESYNPUF_ID") or "").strip()
        if not bene:
            raise Rejected(Reason.MISSING_FIELD, "DESYNPUF_ID is empty")
        if layout == "beneficiary":
            self._beneficiary(path, loc, bene, rec)
            return
        if not self._known(bene):
            raise Rejected(
                Reason.DANGLING_REFERENCE,
                "DESYNPUF_ID matches no beneficiary; load the beneficiary summary files first "
                "or in the same call",
            )
        getattr(self, f"_{layout}")(path, loc, bene, rec)

    # ---- beneficiaries ----
    def _beneficiary(self, path: Path, loc: str, bene: str, rec: dict[str, str]) -> None:
        year = summary_year(path)
        assert year is not None  # checked per file by the caller
        birth = _date(rec, "BENE_BIRTH_DT", required=True)
        death = _date(rec, "BENE_DEATH_DT")
        assert birth is not None
        if death and death < birth:
            raise Rejected(Reason.INVALID_DATE, "BENE_DEATH_DT precedes BENE_BIRTH_DT")
        sex = (rec.get("BENE_SEX_IDENT_CD") or "").strip()
        if sex not in SEX:
            raise Rejected(Reason.INVALID_VALUE, "BENE_SEX_IDENT_CD is not 1 or 2")
        race = (rec.get("BENE_RACE_CD") or "").strip()
        if race not in ("1", "2", "3", "5"):
            raise Rejected(Reason.INVALID_VALUE, "BENE_RACE_CD is not 1, 2, 3 or 5")
        months = {}
        for col in (
            "BENE_HI_CVRAGE_TOT_MONS",
            "BENE_SMI_CVRAGE_TOT_MONS",
            "BENE_HMO_CVRAGE_TOT_MONS",
            "PLAN_CVRG_MOS_NUM",
        ):
            v = (rec.get(col) or "0").strip() or "0"
            if not v.isdigit() or int(v) > 12:
                raise Rejected(Reason.INVALID_VALUE, f"{col} is not a month count 0-12")
            months[col] = int(v)
        pid = self.person_id(bene)
        start = dt.date(year, 1, 1)
        end = dt.date(year, 12, 31)
        if death and death.year == year:
            end = death
        plan = (
            f"partA={months['BENE_HI_CVRAGE_TOT_MONS']};partB={months['BENE_SMI_CVRAGE_TOT_MONS']};"
            f"hmo={months['BENE_HMO_CVRAGE_TOT_MONS']};partD={months['PLAN_CVRG_MOS_NUM']}"
        )
        period = {
            "payer_plan_period_id": stable_id(f"{KIND}:PayerPlanPeriod", f"{bene}:{year}"),
            "person_id": pid,
            "payer_plan_period_start_date": start,
            "payer_plan_period_end_date": end,
            "payer_concept_id": 0,
            "payer_source_value": "Medicare",
            "plan_concept_id": 0,
            "plan_source_value": plan,
        }
        secondary: list[tuple[str, dict[str, Any]]] = []
        if death:
            secondary.append(
                (
                    "death",
                    {
                        "person_id": pid,
                        "death_date": death,
                        "death_type_concept_id": codes.TYPE_CLAIM,
                    },
                )
            )
        if not self._known(bene):
            self._person(path, loc, bene, pid, birth, sex, race)
        self.s.add_record(
            "Beneficiary",
            [("payer_plan_period", period)],
            source_file=str(path),
            location=loc,
            source_key=f"{bene}:{year}",
            secondary=secondary,
        )

    def _person(
        self, path: Path, loc: str, bene: str, pid: int, birth: dt.date, sex: str, race: str
    ) -> None:
        """One `Person` record per beneficiary (derived from the first summary row seen)."""
        s = self.s
        s.read("Person")
        person = {
            "person_id": pid,
            "gender_concept_id": SEX[sex][1],
            "year_of_birth": birth.year,
            "month_of_birth": birth.month,
            "day_of_birth": birth.day,
            "race_concept_id": RACE.get(race, 0),
            "ethnicity_concept_id": codes.ETHNICITY["hispanic"]
            if race == HISPANIC
            else codes.ETHNICITY["not hispanic"],
            "person_source_value": bene,
            "gender_source_value": f"BENE_SEX_IDENT_CD:{sex}",
            "race_source_value": f"BENE_RACE_CD:{race}",
            "ethnicity_source_value": f"BENE_RACE_CD:{race}",
        }
        identity = {"person_id": pid, "source": KIND, "birth_date": birth, "sex": sex}
        ident = {
            "table_name": "person",
            "row_id": pid,
            "system": "urn:cms:desynpuf_id",
            "value": bene,
            "type_code": "MB",
        }
        s.add_record(
            "Person",
            [("person", person)],
            source_file=str(path),
            location=loc,
            source_key=bene,
            secondary=[("mm_person_identity", identity), ("mm_identifier", ident)],
        )
        self.persons[bene] = True

    # ---- claims ----
    def _dx(self, rec: dict[str, str], cols: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for col in cols:
            code = normalize_code(rec.get(col))
            if not code:
                out.append(None)
                continue
            if not is_icd9cm_shape(code):
                raise Rejected(Reason.INVALID_CODE, f"{col} is not an ICD-9-CM code")
            self.concepts.add("ICD9CM", code)
            out.append(code)
        return out

    def _hcpcs(self, rec: dict[str, str], col: str) -> tuple[str | None, str | None]:
        code = normalize_code(rec.get(col))
        if not code:
            return None, None
        if is_cpt_shape(code):
            vocab = "CPT4"
        elif is_hcpcs_shape(code):
            vocab = "HCPCS"
        else:
            raise Rejected(Reason.INVALID_CODE, f"{col} is not a CPT or HCPCS code")
        self.concepts.add(vocab, code)
        return vocab, code

    def _header(
        self, bene: str, clm: str, kind: str, rec: dict[str, str], n_dx: int, start_col: str
    ) -> dict[str, Any]:
        start = _date(rec, start_col, required=True)
        end = _date(rec, "CLM_THRU_DT") if "CLM_THRU_DT" in rec else None
        if start and end and end < start:
            raise Rejected(Reason.INVALID_DATE, "CLM_THRU_DT precedes CLM_FROM_DT")
        row: dict[str, Any] = {
            "claim_id": stable_id(f"{KIND}:Claim", f"{kind}:{clm}"),
            "person_id": self.person_id(bene),
            "claim_source_value": f"{kind}:{clm}",
            "claim_status": "paid",
            "payer_source_value": "Medicare",
            "claim_start_date": start,
            "claim_end_date": end or start,
            "dx_vocabulary_id": "ICD9CM",
        }
        for i, code in enumerate(self._dx(rec, numbered("ICD9_DGNS_CD", n_dx)), 1):
            row[f"dx_{i}"] = code
        return row

    def _line(self, claim: dict[str, Any], n: int, **values: Any) -> dict[str, Any]:
        return {
            "claim_line_id": stable_id(f"{KIND}:ClaimLine", f"{claim['claim_source_value']}#{n}"),
            "claim_id": claim["claim_id"],
            "line_number": n,
            "person_id": claim["person_id"],
            "service_date": claim["claim_start_date"],
            "service_end_date": claim["claim_end_date"],
            **values,
        }

    def _emit_claim(
        self, rtype: str, path: Path, loc: str, claim: dict[str, Any], lines: list[dict[str, Any]]
    ) -> None:
        self.s.add_record(
            rtype,
            [("mm_claim", claim)],
            source_file=str(path),
            location=loc,
            source_key=claim["claim_source_value"],
            secondary=[("mm_claim_line", line) for line in lines],
        )

    def _carrier(self, path: Path, loc: str, bene: str, rec: dict[str, str]) -> None:
        clm = (rec.get("CLM_ID") or "").strip()
        if not clm:
            raise Rejected(Reason.MISSING_FIELD, "CLM_ID is empty")
        claim = self._header(bene, clm, "carrier", rec, 8, "CLM_FROM_DT")
        claim["claim_type"] = "professional"
        lines = []
        for i in range(1, 14):
            vocab, code = self._hcpcs(rec, f"HCPCS_CD_{i}")
            paid = _amount(rec, f"LINE_NCH_PMT_AMT_{i}")
            allowed = _amount(rec, f"LINE_ALOWD_CHRG_AMT_{i}")
            deductible = _amount(rec, f"LINE_BENE_PTB_DDCTBL_AMT_{i}")
            coins = _amount(rec, f"LINE_COINSRNC_AMT_{i}")
            _amount(rec, f"LINE_BENE_PRMRY_PYR_PD_AMT_{i}")
            npi = _npi(rec, f"PRF_PHYSN_NPI_{i}")
            line_dx = self._dx(rec, [f"LINE_ICD9_DGNS_CD_{i}"])[0]
            if code is None and not paid and not allowed:
                continue  # an unused line slot
            lines.append(
                self._line(
                    claim,
                    i,
                    procedure_vocabulary_id=vocab,
                    procedure_code=code,
                    units=1.0,
                    allowed_amount=allowed,
                    paid_amount=paid,
                    rendering_npi=npi,
                    dx_pointer=line_dx,
                    _patient=_sum(deductible, coins),
                )
            )
        if not lines:
            raise Rejected(Reason.MISSING_FIELD, "no line has a HCPCS_CD or an amount")
        claim["rendering_npi"] = lines[0]["rendering_npi"]
        # The billing organisation: the tax number of the first line (DE-SynPUF carrier
        # claims name no billing NPI); the referring clinician only from the extension column.
        claim["billing_source_value"] = (rec.get("TAX_NUM_1") or "").strip() or None
        claim["referring_npi"] = _npi(rec, "RFR_PHYSN_NPI") if "RFR_PHYSN_NPI" in rec else None
        claim["total_paid"] = _sum(*(x["paid_amount"] for x in lines))
        claim["total_allowed"] = _sum(*(x["allowed_amount"] for x in lines))
        claim["patient_paid"] = _sum(*(x.pop("_patient") for x in lines))
        self._emit_claim("CarrierClaim", path, loc, claim, lines)

    def _institutional(
        self, kind: str, rtype: str, path: Path, loc: str, bene: str, rec: dict[str, str]
    ) -> None:
        clm = (rec.get("CLM_ID") or "").strip()
        if not clm:
            raise Rejected(Reason.MISSING_FIELD, "CLM_ID is empty")
        segment = (rec.get("SEGMENT") or "1").strip() or "1"
        claim = self._header(bene, f"{clm}:{segment}", kind, rec, 10, "CLM_FROM_DT")
        claim["claim_type"] = "institutional"
        claim["rendering_npi"] = _npi(rec, "AT_PHYSN_NPI")
        claim["billing_source_value"] = (rec.get("PRVDR_NUM") or "").strip() or None
        _npi(rec, "OP_PHYSN_NPI")
        _npi(rec, "OT_PHYSN_NPI")
        claim["total_paid"] = _amount(rec, "CLM_PMT_AMT")
        _amount(rec, "NCH_PRMRY_PYR_CLM_PD_AMT")
        if kind == "inpatient":
            claim["place_of_service"] = "21"
            claim["admission_date"] = _date(rec, "CLM_ADMSN_DT")
            claim["discharge_date"] = _date(rec, "NCH_BENE_DSCHRG_DT")
            if (
                claim["admission_date"]
                and claim["discharge_date"]
                and claim["discharge_date"] < claim["admission_date"]
            ):
                raise Rejected(Reason.INVALID_DATE, "NCH_BENE_DSCHRG_DT precedes CLM_ADMSN_DT")
            drg = (rec.get("CLM_DRG_CD") or "").strip() or None
            claim["drg_code"] = drg
            patient_cols = (
                "NCH_BENE_IP_DDCTBL_AMT",
                "NCH_BENE_PTA_COINSRNC_LBLTY_AM",
                "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM",
            )
            _amount(rec, "CLM_PASS_THRU_PER_DIEM_AMT")
        else:
            claim["place_of_service"] = "22"
            patient_cols = (
                "NCH_BENE_PTB_DDCTBL_AMT",
                "NCH_BENE_PTB_COINSRNC_AMT",
                "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM",
            )
        claim["patient_paid"] = _sum(*(_amount(rec, c) for c in patient_cols))
        self._dx(rec, ["ADMTNG_ICD9_DGNS_CD"])
        lines = []
        for i in range(1, 46):
            vocab, code = self._hcpcs(rec, f"HCPCS_CD_{i}")
            if code is not None:
                lines.append(
                    self._line(claim, len(lines) + 1, procedure_vocabulary_id=vocab,
                               procedure_code=code, units=1.0)
                )  # fmt: skip
        for i in range(1, 7):
            code = normalize_code(rec.get(f"ICD9_PRCDR_CD_{i}"))
            if not code:
                continue
            if not (code.isdigit() and 2 <= len(code) <= 4):
                raise Rejected(Reason.INVALID_CODE, f"ICD9_PRCDR_CD_{i} is not an ICD-9 code")
            self.concepts.add("ICD9Proc", code)
            lines.append(
                self._line(claim, len(lines) + 1, procedure_vocabulary_id="ICD9Proc",
                           procedure_code=code, units=1.0)
            )  # fmt: skip
        self._emit_claim(rtype, path, loc, claim, lines)

    def _inpatient(self, path: Path, loc: str, bene: str, rec: dict[str, str]) -> None:
        self._institutional("inpatient", "InpatientClaim", path, loc, bene, rec)

    def _outpatient(self, path: Path, loc: str, bene: str, rec: dict[str, str]) -> None:
        self._institutional("outpatient", "OutpatientClaim", path, loc, bene, rec)

    def _pde(self, path: Path, loc: str, bene: str, rec: dict[str, str]) -> None:
        pde = (rec.get("PDE_ID") or "").strip()
        if not pde:
            raise Rejected(Reason.MISSING_FIELD, "PDE_ID is empty")
        start = _date(rec, "SRVC_DT", required=True)
        assert start is not None
        ndc = (rec.get("PROD_SRVC_ID") or "").strip()
        if not (ndc.isdigit() and len(ndc) == 11):
            raise Rejected(Reason.INVALID_CODE, "PROD_SRVC_ID is not an 11-digit NDC")
        qty = _amount(rec, "QTY_DSPNSD_NUM")
        days_raw = (rec.get("DAYS_SUPLY_NUM") or "").strip()
        if days_raw and not days_raw.isdigit():
            raise Rejected(Reason.INVALID_VALUE, "DAYS_SUPLY_NUM is not a whole number")
        days = int(days_raw) if days_raw else None
        patient_paid = _amount(rec, "PTNT_PAY_AMT")
        total = _amount(rec, "TOT_RX_CST_AMT")
        self.concepts.add("NDC", ndc)
        pid = self.person_id(bene)
        claim = {
            "claim_id": stable_id(f"{KIND}:Claim", f"pde:{pde}"),
            "person_id": pid,
            "claim_source_value": f"pde:{pde}",
            "claim_type": "pharmacy",
            "claim_status": "paid",
            "payer_source_value": "Medicare Part D",
            "place_of_service": "01",
            "claim_start_date": start,
            "claim_end_date": start,
            "total_billed": total,
            "total_paid": None if total is None else max(total - (patient_paid or 0.0), 0.0),
            "patient_paid": patient_paid,
        }
        line = self._line(
            claim, 1, ndc_code=ndc, units=qty, billed_amount=total, paid_amount=claim["total_paid"]
        )
        end = start + dt.timedelta(days=max((days or 1) - 1, 0))
        drug = {
            "drug_exposure_id": stable_id(f"{KIND}:DrugExposure", pde),
            "person_id": pid,
            "drug_concept_id": 0,
            "drug_exposure_start_date": start,
            "drug_exposure_end_date": end,
            "drug_type_concept_id": codes.TYPE_CLAIM,
            "quantity": qty,
            "days_supply": days,
            "drug_source_value": codes.source_value("NDC", ndc),
        }
        self.s.add_record(
            "PrescriptionDrugEvent",
            [("mm_claim", claim)],
            source_file=str(path),
            location=loc,
            source_key=f"pde:{pde}",
            secondary=[("mm_claim_line", line), ("drug_exposure", drug)],
        )
