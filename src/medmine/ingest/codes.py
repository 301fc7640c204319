"""Code systems shared by every reader: source-system names to OMOP vocabulary ids, the
``VOCAB:code`` source-value convention, and the handful of standard concept ids medmine sets.

Convention (all readers): ``*_source_value`` holds ``"<vocabulary_id>:<code>"`` so the
vocabulary is never lost; ``*_concept_id`` stays 0 unless a standard concept is known (from the
warehouse ``concept`` table or the small fixed sets below, which are OMOP's published ids).
"""

from __future__ import annotations

import re

#: FHIR code-system URIs -> OMOP vocabulary_id.
FHIR_SYSTEMS: dict[str, str] = {
    "http://snomed.info/sct": "SNOMED",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD10",
    "http://hl7.org/fhir/sid/icd-9-cm": "ICD9CM",
    "http://www.ama-assn.org/go/cpt": "CPT4",
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    "http://www.cms.gov/Medicare/Coding/ICD10": "ICD10PCS",
    "http://hl7.org/fhir/sid/ndc": "NDC",
    "http://unitsofmeasure.org": "UCUM",
    "http://nucc.org/provider-taxonomy": "NUCC",
    "urn:oid:2.16.840.1.113883.6.238": "Race",
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": "ActCode",
    "http://dicom.nema.org/resources/ontology/DCM": "DICOM",
}

#: HL7 v2 coding-system names (CE/CWE component 3) -> OMOP vocabulary_id.
HL7V2_SYSTEMS: dict[str, str] = {
    "LN": "LOINC",
    "LOINC": "LOINC",
    "SCT": "SNOMED",
    "SNM": "SNOMED",
    "SNOMED": "SNOMED",
    "I10": "ICD10CM",
    "I10C": "ICD10CM",
    "ICD10": "ICD10CM",
    "I9": "ICD9CM",
    "I9C": "ICD9CM",
    "RXNORM": "RxNorm",
    "RXN": "RxNorm",
    "CVX": "CVX",
    "C4": "CPT4",
    "CPT": "CPT4",
    "HCPCS": "HCPCS",
    "NDC": "NDC",
    "UCUM": "UCUM",
}

# ---- standard concept ids (OMOP published values) ----
GENDER = {"male": 8507, "female": 8532, "M": 8507, "F": 8532}
GENDER_UNKNOWN = 0
RACE = {
    "white": 8527,
    "black": 8516,
    "black or african american": 8516,
    "asian": 8515,
    "american indian or alaska native": 8657,
    "native hawaiian or other pacific islander": 8557,
}
ETHNICITY = {
    "hispanic": 38003563,
    "hispanic or latino": 38003563,
    "not hispanic": 38003564,
    "non hispanic": 38003564,
    "not hispanic or latino": 38003564,
}
#: OMB race / ethnicity codes (CDC Race & Ethnicity, urn:oid:2.16.840.1.113883.6.238; HL7 v2
#: tables 0005/0189 use the same codes) -> OMOP concept ids.
OMB_RACE = {
    "2106-3": RACE["white"],
    "2054-5": RACE["black"],
    "2028-9": RACE["asian"],
    "1002-5": RACE["american indian or alaska native"],
    "2076-8": RACE["native hawaiian or other pacific islander"],
}
OMB_ETHNICITY = {"2135-2": ETHNICITY["hispanic"], "2186-5": ETHNICITY["not hispanic"]}
VISIT = {
    "IMP": 9201,  # inpatient visit
    "ACUTE": 9201,
    "NONAC": 9201,
    "EMER": 9203,  # emergency room visit
    "AMB": 9202,  # outpatient visit
    "HH": 581476,  # home visit
    "VR": 5083,  # telehealth
    "OBSENC": 9202,
    "SS": 9202,
}
#: OMOP standard visit concepts of the finer classes only some formats carry (CMS Place of
#: Service concepts in the Visit domain).
VISIT_URGENT_CARE = 8782  # "Urgent Care Facility" (POS 20)
VISIT_SNF = 8863  # "Skilled Nursing Facility" (POS 31)
VISIT_HOSPICE = 8546  # "Hospice" (POS 34)
#: Encounter class as a Synthea CSV export names it (``ENCOUNTERCLASS``) -> (OMOP visit concept,
#: the HL7 ActCode class Synthea's own FHIR exporter writes for it). The visit source value is
#: ``ActCode:<class>`` in every format (see docs/mapping.md); the concept keeps the finer class.
SYNTHEA_ENCOUNTER_CLASS: dict[str, tuple[int, str]] = {
    "ambulatory": (VISIT["AMB"], "AMB"),
    "outpatient": (VISIT["AMB"], "AMB"),
    "wellness": (VISIT["AMB"], "AMB"),
    "urgentcare": (VISIT_URGENT_CARE, "AMB"),
    "emergency": (VISIT["EMER"], "EMER"),
    "inpatient": (VISIT["IMP"], "IMP"),
    "snf": (VISIT_SNF, "IMP"),
    "hospice": (VISIT_HOSPICE, "HH"),
    "home": (VISIT["HH"], "HH"),
    "homehealth": (VISIT["HH"], "HH"),
    "virtual": (VISIT["VR"], "VR"),
    "telemedicine": (VISIT["VR"], "VR"),
}
TYPE_EHR = 32817  # "EHR"
TYPE_CLAIM = 32810  # "Claim"
TYPE_SURVEY = 32862  # "Patient filled survey"
NOTE_CLASS_UNKNOWN = 0
ENCODING_UTF8 = 32678  # "UTF-8"
LANGUAGE_ENGLISH = 4180186  # "English language"


def fhir_vocabulary(system: str | None) -> str:
    """OMOP vocabulary id for a FHIR system URI; unknown systems keep their URI's last part."""
    if not system:
        return "None"
    known = FHIR_SYSTEMS.get(system)
    if known:
        return known
    return system.rstrip("/").rsplit("/", 1)[-1] or system


def hl7v2_vocabulary(name: str | None) -> str:
    """OMOP vocabulary id for an HL7 v2 coding-system name (``LN`` -> ``LOINC``)."""
    if not name:
        return "None"
    return HL7V2_SYSTEMS.get(name.upper(), name)


def source_value(vocabulary_id: str, code: str) -> str:
    """The ``VOCAB:code`` string stored in ``*_source_value`` columns.

    >>> source_value("SNOMED", "44054006")
    'SNOMED:44054006'
    """
    return f"{vocabulary_id}:{code}"


def split_source_value(value: str) -> tuple[str, str]:
    """Inverse of `source_value`.

    >>> split_source_value("ICD10CM:E11.9")
    ('ICD10CM', 'E11.9')
    """
    vocab, _, code = value.partition(":")
    return vocab, code


#: What a code of each vocabulary looks like (the part of the shape that tells them apart):
#: LOINC ``NNNNN-N`` (a check digit after a hyphen), SNOMED CT 6-18 digits (SCTID), RxNorm
#: 1-8 digits, CVX 1-3 digits, ICD-10-CM a letter, two digits and an optional dotted part.
CODE_SHAPES: dict[str, re.Pattern[str]] = {
    "LOINC": re.compile(r"\d{1,7}-\d"),
    "SNOMED": re.compile(r"[1-9]\d{5,17}"),
    "RxNorm": re.compile(r"\d{1,8}"),
    "CVX": re.compile(r"\d{1,3}"),
    "ICD10CM": re.compile(r"[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?"),
}


def vocabulary_of_code(code: str, documented: tuple[str, ...]) -> str:
    """The vocabulary of `code` among those a file documents, told apart by the code's shape.

    The first documented vocabulary whose shape fits wins; a code no shape fits keeps the first
    (the file's main vocabulary).

    >>> vocabulary_of_code("8302-2", ("LOINC", "SNOMED"))
    'LOINC'
    >>> vocabulary_of_code("228450008", ("LOINC", "SNOMED"))
    'SNOMED'
    """
    for vocab in documented:
        shape = CODE_SHAPES.get(vocab)
        if shape is not None and shape.fullmatch(code):
            return vocab
    return documented[0]
