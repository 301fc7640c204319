"""The CMS DE-SynPUF (DE1.0) file layouts: exact column lists in the published codebook's order."""

from __future__ import annotations

import re
from pathlib import Path


def numbered(prefix: str, n: int) -> list[str]:
    """Column names ``PREFIX_1`` .. ``PREFIX_n``."""
    return [f"{prefix}_{i}" for i in range(1, n + 1)]


BENEFICIARY = [
    "DESYNPUF_ID", "BENE_BIRTH_DT", "BENE_DEATH_DT", "BENE_SEX_IDENT_CD", "BENE_RACE_CD",
    "BENE_ESRD_IND", "SP_STATE_CODE", "BENE_COUNTY_CD", "BENE_HI_CVRAGE_TOT_MONS",
    "BENE_SMI_CVRAGE_TOT_MONS", "BENE_HMO_CVRAGE_TOT_MONS", "PLAN_CVRG_MOS_NUM", "SP_ALZHDMTA",
    "SP_CHF", "SP_CHRNKIDN", "SP_CNCR", "SP_COPD", "SP_DEPRESSN", "SP_DIABETES", "SP_ISCHMCHT",
    "SP_OSTEOPRS", "SP_RA_OA", "SP_STRKETIA", "MEDREIMB_IP", "BENRES_IP", "PPPYMT_IP",
    "MEDREIMB_OP", "BENRES_OP", "PPPYMT_OP", "MEDREIMB_CAR", "BENRES_CAR", "PPPYMT_CAR",
]  # fmt: skip
_CARRIER_GROUPS = (
    "PRF_PHYSN_NPI", "TAX_NUM", "HCPCS_CD", "LINE_NCH_PMT_AMT", "LINE_BENE_PTB_DDCTBL_AMT",
    "LINE_BENE_PRMRY_PYR_PD_AMT", "LINE_COINSRNC_AMT", "LINE_ALOWD_CHRG_AMT",
    "LINE_PRCSG_IND_CD", "LINE_ICD9_DGNS_CD",
)  # fmt: skip
CARRIER = [
    "DESYNPUF_ID", "CLM_ID", "CLM_FROM_DT", "CLM_THRU_DT", *numbered("ICD9_DGNS_CD", 8),
    *(c for g in _CARRIER_GROUPS for c in numbered(g, 13)),
]  # fmt: skip
INPATIENT = [
    "DESYNPUF_ID", "CLM_ID", "SEGMENT", "CLM_FROM_DT", "CLM_THRU_DT", "PRVDR_NUM",
    "CLM_PMT_AMT", "NCH_PRMRY_PYR_CLM_PD_AMT", "AT_PHYSN_NPI", "OP_PHYSN_NPI", "OT_PHYSN_NPI",
    "CLM_ADMSN_DT", "ADMTNG_ICD9_DGNS_CD", "CLM_PASS_THRU_PER_DIEM_AMT",
    "NCH_BENE_IP_DDCTBL_AMT", "NCH_BENE_PTA_COINSRNC_LBLTY_AM", "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM",
    "CLM_UTLZTN_DAY_CNT", "NCH_BENE_DSCHRG_DT", "CLM_DRG_CD", *numbered("ICD9_DGNS_CD", 10),
    *numbered("ICD9_PRCDR_CD", 6), *numbered("HCPCS_CD", 45),
]  # fmt: skip
OUTPATIENT = [
    "DESYNPUF_ID", "CLM_ID", "SEGMENT", "CLM_FROM_DT", "CLM_THRU_DT", "PRVDR_NUM",
    "CLM_PMT_AMT", "NCH_PRMRY_PYR_CLM_PD_AMT", "AT_PHYSN_NPI", "OP_PHYSN_NPI", "OT_PHYSN_NPI",
    "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM", *numbered("ICD9_DGNS_CD", 10), *numbered("ICD9_PRCDR_CD", 6),
    "NCH_BENE_PTB_DDCTBL_AMT", "NCH_BENE_PTB_COINSRNC_AMT", "ADMTNG_ICD9_DGNS_CD",
    *numbered("HCPCS_CD", 45),
]  # fmt: skip
PDE = [
    "DESYNPUF_ID", "PDE_ID", "SRVC_DT", "PROD_SRVC_ID", "QTY_DSPNSD_NUM", "DAYS_SUPLY_NUM",
    "PTNT_PAY_AMT", "TOT_RX_CST_AMT",
]  # fmt: skip

#: Layout name -> (columns, record type). Files are recognised by their exact header.
LAYOUTS: dict[str, tuple[list[str], str]] = {
    "beneficiary": (BENEFICIARY, "Beneficiary"),
    "carrier": (CARRIER, "CarrierClaim"),
    "inpatient": (INPATIENT, "InpatientClaim"),
    "outpatient": (OUTPATIENT, "OutpatientClaim"),
    "pde": (PDE, "PrescriptionDrugEvent"),
}
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


#: Beneficiary columns a summary file cannot do without (the others default to empty).
BENEFICIARY_CORE = ("DESYNPUF_ID", "BENE_BIRTH_DT", "BENE_DEATH_DT", "BENE_SEX_IDENT_CD",
                    "BENE_RACE_CD")  # fmt: skip

#: Extension columns read when a claim file carries them after the codebook's columns
#: (DE-SynPUF has no referring clinician; payers' extracts often add one).
EXTENSIONS = {"carrier": ("RFR_PHYSN_NPI",)}


def layout_of(header: list[str]) -> str | None:
    """The DE-SynPUF layout of `header`, if any.

    A header matches a layout when it is exactly the codebook's columns; when it holds every
    codebook column of a claim layout plus extension columns (kept: see `EXTENSIONS`; others
    ignored); or, for beneficiary summaries, when it holds the core columns
    (`BENEFICIARY_CORE`) and only beneficiary columns (extracts often drop the chronic
    condition flags and reimbursement totals).
    """
    for name, (cols, _) in LAYOUTS.items():
        if header == cols:
            return name
    have = set(header)
    for name, (cols, _) in LAYOUTS.items():
        if name != "beneficiary" and have >= set(cols):
            return name
    if have >= set(BENEFICIARY_CORE) and have <= set(BENEFICIARY):
        return "beneficiary"
    return None


def summary_year(path: Path) -> int | None:
    """Year of a beneficiary summary file from its name (``DE1_0_2008_Beneficiary...``)."""
    m = _YEAR.search(path.name)
    return int(m.group(1)) if m else None
