"""Concepts, codes and true model coefficients of the simulated population, and its vocabulary."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_EPOCH = np.datetime64("1970-01-01", "D")


def _day(iso: str) -> int:
    return int((np.datetime64(iso, "D") - _EPOCH).astype(int))


STUDY_START, STUDY_END = _day("2014-01-01"), _day("2021-12-31")
EHR = 32817  # OMOP type concept "EHR"
MALE, FEMALE = 8507, 8532
INPATIENT, OUTPATIENT = 9201, 9202

#: Risk-factor conditions: key -> (concept_id, name, SNOMED code, ICD-10-CM source code).
CONDITIONS: dict[str, tuple[int, str, str, str]] = {
    "heart_failure": (316139, "Heart failure", "84114007", "I50.9"),
    "copd": (255573, "Chronic obstructive lung disease", "13645005", "J44.9"),
    "diabetes": (201826, "Type 2 diabetes mellitus", "44054006", "E11.9"),
    "ckd": (46271022, "Chronic kidney disease", "709044004", "N18.9"),
    "atrial_fibrillation": (313217, "Atrial fibrillation", "49436004", "I48.91"),
    "myocardial_infarction": (4329847, "Myocardial infarction", "22298006", "I21.9"),
    "coronary_disease": (317576, "Coronary arteriosclerosis", "53741008", "I25.10"),
}
#: Prevalence model: logit = a + b * (age - 60) / 10 (+ diabetes term for CKD).
_PREVALENCE = {
    "heart_failure": (-3.6, 0.55),
    "copd": (-3.0, 0.35),
    "diabetes": (-2.0, 0.25),
    "ckd": (-3.2, 0.50),
    "atrial_fibrillation": (-3.4, 0.60),
    "myocardial_infarction": (-4.0, 0.45),
    "coronary_disease": (-3.0, 0.50),
}
#: Acute conditions (admission diagnoses and outpatient problems).
ACUTE: tuple[tuple[int, str, str, str], ...] = (
    (255848, "Pneumonia", "233604007", "J18.9"),
    (4116491, "Escherichia coli urinary tract infection", "301011002", "N39.0"),
    (4230399, "Closed fracture of hip", "359817006", "S72.009A"),
    (198199, "Pyelonephritis", "45816000", "N10"),
    (28060, "Streptococcal sore throat", "43878008", "J02.0"),
    (260139, "Acute bronchitis", "10509002", "J20.9"),
    (257012, "Chronic sinusitis", "40055000", "J32.9"),
    (80180, "Osteoarthritis", "396275006", "M19.90"),
)
#: Drugs (RxNorm ingredients) started with each chronic condition; acute drugs.
DRUGS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "heart_failure": ((956874, "Furosemide", "4603"), (1326303, "Digoxin", "3407")),
    "copd": ((1154343, "Albuterol", "435"),),
    "diabetes": ((1503297, "Metformin", "6809"),),
    "ckd": ((1332418, "Amlodipine", "17767"),),
    "atrial_fibrillation": ((1310149, "Warfarin", "11289"),),
    "myocardial_infarction": ((1112807, "Aspirin", "1191"), (1322184, "clopidogrel", "32968")),
    "coronary_disease": ((1539403, "Simvastatin", "36567"),),
    "acute": ((1713332, "Amoxicillin", "723"), (1125315, "Acetaminophen", "161")),
}
#: Labs: key -> (concept_id, name, LOINC, unit concept id, unit).
LABS = {
    "hemoglobin": (3000963, "Hemoglobin", "718-7", 8713, "g/dL"),
    "sodium": (3019550, "Sodium serum/plasma", "2951-2", 8753, "mmol/L"),
    "creatinine": (3016723, "Creatinine serum/plasma", "2160-0", 8840, "mg/dL"),
    "glucose": (3004501, "Glucose lab", "2345-7", 8840, "mg/dL"),
}
#: Procedures that make an admission planned (elective PCI, CABG).
PLANNED_PROCEDURES = (
    (4216130, "Percutaneous coronary intervention", "415070008"),
    (4336464, "Coronary artery bypass graft", "232717009"),
)
#: Charlson ancestors of the simulated conditions (written to concept_ancestor).
ANCESTORS = {
    201826: (201820, "Diabetes mellitus", "73211009"),
    255573: (4063381, "Chronic disease of respiratory system", "17097001"),
    46271022: (4030518, "Renal impairment", "236423003"),
}

#: Ground truth of 30-day readmission: log odds ratios (features as in `SimulatedPopulation.stays`).
READMISSION_COEFFICIENTS: dict[str, float] = {
    "intercept": -2.2,
    "age_per_10y": float(np.log(1.08)),
    "male": float(np.log(1.10)),
    "heart_failure": float(np.log(1.55)),
    "copd": float(np.log(1.40)),
    "diabetes": float(np.log(1.20)),
    "ckd": float(np.log(1.50)),
    "prior_admissions_365d": float(np.log(1.25)),
    "long_stay": float(np.log(1.30)),
    "low_hemoglobin": float(np.log(1.30)),
}
#: Ground truth of length of stay: coefficients of mean log LOS (sd 0.55).
LOS_COEFFICIENTS: dict[str, float] = {
    "intercept": float(np.log(3.2)),
    "age_per_10y": 0.06,
    "heart_failure": 0.20,
    "copd": 0.15,
    "ckd": 0.15,
    "diabetes": 0.05,
    "planned": -0.20,
}
_RISK = ("heart_failure", "copd", "diabetes", "ckd")


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


def _vocabulary() -> tuple[pa.Table, pa.Table]:
    """Concept rows for every concept the simulator writes, and the Charlson ancestry."""
    rows: list[tuple[int, str, str, str, str, str, str]] = [
        (MALE, "MALE", "Gender", "Gender", "Gender", "S", "M"),
        (FEMALE, "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
        (8527, "White", "Race", "Race", "Race", "S", "5"),
        (8516, "Black or African American", "Race", "Race", "Race", "S", "3"),
        (8515, "Asian", "Race", "Race", "Race", "S", "2"),
        (38003563, "Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "S", "Hispanic"),
        (
            38003564,
            "Not Hispanic or Latino",
            "Ethnicity",
            "Ethnicity",
            "Ethnicity",
            "S",
            "Not Hispanic",
        ),
        (INPATIENT, "Inpatient Visit", "Visit", "Visit", "Visit", "S", "IP"),
        (OUTPATIENT, "Outpatient Visit", "Visit", "Visit", "Visit", "S", "OP"),
        (EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", "OMOP4976890"),
    ]
    for cid, name, code, _ in [*CONDITIONS.values(), *ACUTE]:
        rows.append((cid, name, "Condition", "SNOMED", "Clinical Finding", "S", code))
    for cid, name, code in ANCESTORS.values():
        rows.append((cid, name, "Condition", "SNOMED", "Clinical Finding", "S", code))
    for drugs in DRUGS.values():
        for cid, name, code in drugs:
            rows.append((cid, name, "Drug", "RxNorm", "Ingredient", "S", code))
    for cid, name, code, _, _ in LABS.values():
        rows.append((cid, name, "Measurement", "LOINC", "Lab Test", "S", code))
    for cid, name, code in PLANNED_PROCEDURES:
        rows.append((cid, name, "Procedure", "SNOMED", "Procedure", "S", code))
    units = {8713: ("gram per deciliter", "g/dL"), 8753: ("millimole per liter", "mmol/L")}
    units[8840] = ("milligram per deciliter", "mg/dL")
    for cid, (name, code) in units.items():
        rows.append((cid, name, "Unit", "UCUM", "Unit", "S", code))
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    concept = pa.table(
        {
            "concept_id": pa.array(cols[0], pa.int32()),
            "concept_name": cols[1],
            "domain_id": cols[2],
            "vocabulary_id": cols[3],
            "concept_class_id": cols[4],
            "standard_concept": cols[5],
            "concept_code": cols[6],
            "valid_start_date": pa.array([0] * n, pa.int32()).cast(pa.date32()),
            "valid_end_date": pa.array([_day("2099-12-31")] * n, pa.int32()).cast(pa.date32()),
        }
    )
    anc, desc, lvl = [], [], []
    for r in rows:
        anc.append(r[0]), desc.append(r[0]), lvl.append(0)
    for child, (parent, _, _) in ANCESTORS.items():
        anc.append(parent), desc.append(child), lvl.append(1)
    ancestor = pa.table(
        {
            "ancestor_concept_id": pa.array(anc, pa.int32()),
            "descendant_concept_id": pa.array(desc, pa.int32()),
            "min_levels_of_separation": pa.array(lvl, pa.int32()),
            "max_levels_of_separation": pa.array(lvl, pa.int32()),
        }
    )
    return concept, ancestor
