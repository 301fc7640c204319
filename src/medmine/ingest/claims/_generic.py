"""The medmine generic claims CSV contract (one row per claim line) -> `mm_claim`, `mm_claim_line`.

The contract is documented in ``docs/claims-format.md``. Lines of one claim must be contiguous;
the claim header is written when the claim's last line has been read, with totals summed over
its loaded lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmine.ingest import codes
from medmine.ingest._emit import Lookup, SourceConcepts, raw_csv_line, undecodable
from medmine.ingest.validate import (
    amount_field,
    date_field,
    is_cpt_shape,
    is_hcpcs_shape,
    is_icd10cm_shape,
    is_modifier_shape,
    is_valid_npi,
    normalize_code,
)
from medmine.warehouse import LoadSession, Reason, Rejected, stable_id

KIND = "claims"
N_DX = 12

#: Columns every file must have (order is free, extra columns are ignored).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "patient_id",
    "claim_type",
    "billing_npi",
    "service_from_date",
    "procedure_code",
    "units",
    "billed_amount",
    "dx_1",
)
#: Columns the reader understands when present.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "patient_birth_date",
    "patient_sex",
    "payer",
    "claim_status",
    "rendering_npi",
    "referring_npi",
    "provider_specialty",
    "place_of_service",
    "service_to_date",
    "admission_date",
    "discharge_date",
    *(f"dx_{i}" for i in range(2, N_DX + 1)),
    "dx_pointer",
    "procedure_description",
    "modifier_1",
    "modifier_2",
    "modifier_3",
    "modifier_4",
    "ndc_code",
    "revenue_code",
    "allowed_amount",
    "paid_amount",
    "patient_paid_amount",
)
CLAIM_TYPES = ("professional", "institutional", "pharmacy", "dental")
#: Header fields that must agree on every line of a claim.
HEADER_FIELDS = ("patient_id", "claim_type", "billing_npi", *(f"dx_{i}" for i in range(1, 13)))
SEX = {"M": ("M", codes.GENDER["M"]), "F": ("F", codes.GENDER["F"])}


def is_generic_header(header: list[str]) -> bool:
    """True when a CSV header has the contract's required columns."""
    return set(REQUIRED_COLUMNS) <= set(header)


@dataclass
class _Claim:
    """The claim being read: its header fields and running totals over loaded lines."""

    key: str
    header: dict[str, str]
    row: dict[str, Any]
    source_file: str
    location: str
    lines: int = 0
    start: dt.date | None = None
    end: dt.date | None = None
    totals: dict[str, float | None] = field(default_factory=dict)


def _npi(rec: dict[str, str], col: str, required: bool = False) -> str | None:
    v = (rec.get(col) or "").strip()
    if not v:
        if required:
            raise Rejected(Reason.MISSING_FIELD, f"{col} is empty")
        return None
    if not is_valid_npi(v):
        raise Rejected(Reason.INVALID_CODE, f"{col} is not a valid NPI (check digit)")
    return v


def icd10cm_dotted(code: str) -> str:
    """ICD-10-CM code in its dotted form (``E119`` -> ``E11.9``)."""
    c = normalize_code(code).replace(".", "")
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


class GenericClaimsReader:
    """Reads contract files into one `LoadSession`; persons are resolved across files."""

    def __init__(self, s: LoadSession, concepts: SourceConcepts, person_namespace: str) -> None:
        self.s = s
        self.concepts = concepts
        self.ns = person_namespace
        self.known_persons: dict[int, bool] = {}
        self.lookup = Lookup(s)
        self.closed: set[str] = set()
        self.claim: _Claim | None = None

    # ---- persons ----
    def _person_exists(self, pid: int) -> bool:
        known = self.known_persons.get(pid)
        if known is None:
            known = self.lookup.exists("person", pid)
            self.known_persons[pid] = known
        return known

    def _demographics(self, rec: dict[str, str]) -> tuple[dt.date, str] | None:
        """Birth date and sex from the line, or None when it carries neither."""
        raw_birth = (rec.get("patient_birth_date") or "").strip()
        raw_sex = (rec.get("patient_sex") or "").strip().upper()
        if not raw_birth and not raw_sex:
            return None
        birth = date_field(rec.get("patient_birth_date"), "patient_birth_date", required=True)
        if raw_sex not in ("M", "F", "U", "O"):
            raise Rejected(Reason.INVALID_VALUE, "patient_sex is not one of M, F, U, O")
        assert birth is not None
        return birth, raw_sex

    def _create_person(
        self, rec: dict[str, str], pid: int, demo: tuple[dt.date, str], loc: str, source_file: str
    ) -> None:
        birth, sex = demo
        s = self.s
        patient_id = rec["patient_id"].strip()
        s.read("Patient")
        person = {
            "person_id": pid,
            "gender_concept_id": SEX.get(sex, ("", 0))[1],
            "year_of_birth": birth.year,
            "month_of_birth": birth.month,
            "day_of_birth": birth.day,
            "race_concept_id": 0,
            "ethnicity_concept_id": 0,
            "gender_source_value": sex,
        }
        identity = {
            "person_id": pid,
            "source": KIND,
            "birth_date": birth,
            "sex": sex,
            "mrn": patient_id,
        }
        ident = {
            "table_name": "person",
            "row_id": pid,
            "system": "urn:medmine:claims:patient_id",
            "value": patient_id,
            "type_code": "MB",
        }
        s.add_record(
            "Patient",
            [("person", person)],
            source_file=source_file,
            location=loc,
            source_key=f"patient {pid}",
            secondary=[("mm_person_identity", identity), ("mm_identifier", ident)],
        )
        self.known_persons[pid] = True

    # ---- lines ----
    def read_file(self, path: Path, header: list[str], reader: Any) -> int:
        """Read every line of one contract file; returns the number of records read."""
        n = 0
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            n += 1
            loc = f"line {reader.line_num}"
            self.s.read("ClaimLine")
            if undecodable(values):
                self.s.quarantine(
                    str(path),
                    loc,
                    "ClaimLine",
                    Reason.MALFORMED,
                    "row is not valid UTF-8",
                    record=raw_csv_line(values),
                )
                continue
            if len(values) != len(header):
                self.s.quarantine(
                    str(path),
                    loc,
                    "ClaimLine",
                    Reason.MALFORMED,
                    f"row has {len(values)} columns, header has {len(header)}",
                    record=raw_csv_line(values),
                )
                continue
            rec = dict(zip(header, values, strict=True))
            try:
                self._line(path, loc, rec)
            except Rejected as err:
                self.s.quarantine(
                    str(path),
                    loc,
                    "ClaimLine",
                    err.reason,
                    err.detail,
                    record=raw_csv_line(values),
                )
        self.close_claim()
        return n

    def _line(self, path: Path, loc: str, rec: dict[str, str]) -> None:
        for col in ("claim_id", "line_number", "patient_id", "claim_type"):
            if not (rec.get(col) or "").strip():
                raise Rejected(Reason.MISSING_FIELD, f"{col} is empty")
        key = rec["claim_id"].strip()
        if self.claim is None or self.claim.key != key:
            self.close_claim()
            if key in self.closed:
                raise Rejected(
                    Reason.CONFLICT,
                    "claim_id reappears after other claims; lines of a claim must be contiguous",
                )
            self._open_claim(path, loc, key, rec)
        claim = self.claim
        assert claim is not None
        for col in HEADER_FIELDS:
            if (rec.get(col) or "").strip() != claim.header[col]:
                raise Rejected(Reason.CONFLICT, f"{col} differs from the claim's first line")
        line_row, patient_paid = self._line_row(rec, claim)
        pid = claim.row["person_id"]
        if not self._person_exists(pid):
            demo = self._demographics(rec)
            if demo is None:
                raise Rejected(
                    Reason.DANGLING_REFERENCE,
                    "patient_id matches no person and the line has no patient_birth_date/"
                    "patient_sex to create one",
                )
            self._create_person(rec, pid, demo, loc, str(path))
        self.s.add_record(
            "ClaimLine",
            [("mm_claim_line", line_row)],
            source_file=str(path),
            location=loc,
            source_key=f"{key}#{line_row['line_number']}",
        )
        claim.lines += 1
        start = line_row["service_date"]
        end = line_row["service_end_date"] or start
        claim.start = min(claim.start or start, start)
        claim.end = max(claim.end or end, end)
        for tot, v in (
            ("total_billed", line_row["billed_amount"]),
            ("total_allowed", line_row["allowed_amount"]),
            ("total_paid", line_row["paid_amount"]),
            ("patient_paid", patient_paid),
        ):
            if v is not None:
                claim.totals[tot] = round((claim.totals.get(tot) or 0.0) + v, 2)

    def _open_claim(self, path: Path, loc: str, key: str, rec: dict[str, str]) -> None:
        self.s.read("Claim")
        header = {c: (rec.get(c) or "").strip() for c in HEADER_FIELDS}
        self.claim = _Claim(key, header, {}, str(path), loc)
        try:
            self.claim.row = self._header_row(key, rec)
        except Rejected:
            # The header is re-validated line by line below; keep the claim open so every
            # line of it is quarantined with the header's reason.
            self.claim.row = {}
            raise

    def _header_row(self, key: str, rec: dict[str, str]) -> dict[str, Any]:
        claim_type = rec["claim_type"].strip().lower()
        if claim_type not in CLAIM_TYPES:
            raise Rejected(Reason.INVALID_VALUE, f"claim_type is not one of {CLAIM_TYPES}")
        billing = _npi(rec, "billing_npi", required=True)
        rendering = _npi(rec, "rendering_npi")
        referring = _npi(rec, "referring_npi")
        dx: list[str | None] = []
        for i in range(1, N_DX + 1):
            code = (rec.get(f"dx_{i}") or "").strip()
            if not code:
                if i == 1:
                    raise Rejected(Reason.MISSING_FIELD, "dx_1 is empty")
                dx.append(None)
                continue
            if not is_icd10cm_shape(code):
                raise Rejected(Reason.INVALID_CODE, f"dx_{i} is not an ICD-10-CM code")
            dx.append(icd10cm_dotted(code))
        pos = (rec.get("place_of_service") or "").strip() or None
        if pos is not None and not (len(pos) == 2 and pos.isdigit()):
            raise Rejected(Reason.INVALID_CODE, "place_of_service is not a 2-digit CMS code")
        admission = date_field(rec.get("admission_date"), "admission_date")
        discharge = date_field(rec.get("discharge_date"), "discharge_date")
        if admission and discharge and discharge < admission:
            raise Rejected(Reason.INVALID_DATE, "discharge_date precedes admission_date")
        for code in dx:
            if code:
                self.concepts.add("ICD10CM", code)
        row: dict[str, Any] = {
            "claim_id": stable_id(f"{KIND}:Claim", key),
            "person_id": stable_id(self.ns, rec["patient_id"].strip()),
            "claim_source_value": key,
            "claim_type": claim_type,
            "claim_status": (rec.get("claim_status") or "").strip() or None,
            "payer_source_value": (rec.get("payer") or "").strip() or None,
            "billing_npi": billing,
            "billing_source_value": billing,  # the billing organisation is its NPI here
            "rendering_npi": rendering,
            "referring_npi": referring,
            "provider_specialty": (rec.get("provider_specialty") or "").strip() or None,
            "place_of_service": pos,
            "admission_date": admission,
            "discharge_date": discharge,
            "dx_vocabulary_id": "ICD10CM",
        }
        for i, code in enumerate(dx, 1):
            row[f"dx_{i}"] = code
        return row

    def _line_row(self, rec: dict[str, str], claim: _Claim) -> tuple[dict[str, Any], float | None]:
        if not claim.row:  # the header failed validation on the first line
            self._header_row(claim.key, rec)  # raises the header's error again...
            # ...unless this line's copy of a header-only field (e.g. referring_npi) is valid
            raise Rejected(Reason.INVALID_VALUE, "the claim header was rejected on its first line")
        try:
            line_number = int(rec["line_number"].strip())
        except ValueError:
            raise Rejected(Reason.INVALID_VALUE, "line_number is not an integer") from None
        if line_number < 1:
            raise Rejected(Reason.INVALID_VALUE, "line_number is not positive")
        start = date_field(rec.get("service_from_date"), "service_from_date", required=True)
        end = date_field(rec.get("service_to_date"), "service_to_date")
        if end and start and end < start:
            raise Rejected(Reason.INVALID_DATE, "service_to_date precedes service_from_date")
        proc = normalize_code(rec.get("procedure_code"))
        revenue = (rec.get("revenue_code") or "").strip() or None
        if revenue is not None and not (len(revenue) == 4 and revenue.isdigit()):
            raise Rejected(Reason.INVALID_CODE, "revenue_code is not a 4-digit code")
        if not proc and not revenue:
            raise Rejected(Reason.MISSING_FIELD, "procedure_code and revenue_code are empty")
        vocab = None
        if proc:
            if is_cpt_shape(proc):
                vocab = "CPT4"
            elif is_hcpcs_shape(proc):
                vocab = "HCPCS"
            else:
                raise Rejected(Reason.INVALID_CODE, "procedure_code is not a CPT or HCPCS code")
        mods: list[str | None] = []
        for i in range(1, 5):
            m = normalize_code(rec.get(f"modifier_{i}")) or None
            if m is not None and not is_modifier_shape(m):
                raise Rejected(Reason.INVALID_CODE, f"modifier_{i} is not a 2-character code")
            mods.append(m)
        ndc = (rec.get("ndc_code") or "").strip().replace("-", "") or None
        if ndc is not None and not (len(ndc) == 11 and ndc.isdigit()):
            raise Rejected(Reason.INVALID_CODE, "ndc_code is not an 11-digit NDC")
        units = amount_field(rec.get("units"), "units", required=True)
        if units == 0:
            raise Rejected(Reason.INVALID_VALUE, "units is zero")
        billed = amount_field(rec.get("billed_amount"), "billed_amount", required=True)
        allowed = amount_field(rec.get("allowed_amount"), "allowed_amount")
        paid = amount_field(rec.get("paid_amount"), "paid_amount")
        patient_paid = amount_field(rec.get("patient_paid_amount"), "patient_paid_amount")
        rendering = _npi(rec, "rendering_npi")
        pos = (rec.get("place_of_service") or "").strip() or None
        if proc and vocab:
            self.concepts.add(vocab, proc, (rec.get("procedure_description") or "").strip())
        if ndc:
            self.concepts.add("NDC", ndc)
        row = {
            "claim_line_id": stable_id(f"{KIND}:ClaimLine", f"{claim.key}#{line_number}"),
            "claim_id": claim.row["claim_id"],
            "line_number": line_number,
            "person_id": claim.row["person_id"],
            "service_date": start,
            "service_end_date": end,
            "procedure_vocabulary_id": vocab,
            "procedure_code": proc or None,
            "procedure_display": (rec.get("procedure_description") or "").strip() or None,
            "modifier_1": mods[0],
            "modifier_2": mods[1],
            "modifier_3": mods[2],
            "modifier_4": mods[3],
            "ndc_code": ndc,
            "revenue_code": revenue,
            "units": units,
            "billed_amount": billed,
            "allowed_amount": allowed,
            "paid_amount": paid,
            "place_of_service": pos,
            "rendering_npi": rendering,
            "dx_pointer": (rec.get("dx_pointer") or "").strip() or None,
        }
        return row, patient_paid

    def close_claim(self) -> None:
        """Write the open claim's header (or count it as skipped if no line loaded)."""
        claim, self.claim = self.claim, None
        if claim is None:
            return
        self.closed.add(claim.key)
        if not claim.lines:
            self.s.skip("Claim", "no_valid_lines")
            return
        row = {
            **claim.row,
            "claim_start_date": claim.start,
            "claim_end_date": claim.end,
            "total_billed": claim.totals.get("total_billed"),
            "total_allowed": claim.totals.get("total_allowed"),
            "total_paid": claim.totals.get("total_paid"),
            "patient_paid": claim.totals.get("patient_paid"),
        }
        self.s.add_record(
            "Claim",
            [("mm_claim", row)],
            source_file=claim.source_file,
            location=claim.location,
            source_key=claim.key,
        )
