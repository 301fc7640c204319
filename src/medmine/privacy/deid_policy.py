"""What de-identification does with each column, declared once as data: the reviewed text
policy of every VARCHAR column, the id family of every row-id column, the tables emptied,
the restricted ZIP3 areas and the sentinel dates.

Default-deny: a VARCHAR column of an output table that is not listed in `TEXT_POLICY`, or a
BIGINT column that `id_family` cannot place, stops de-identification (`unclassified`), so a
new column of `medmine.warehouse.schema` cannot reach a release before someone reviews it
(``tests/privacy/test_deid_policy.py`` walks the schema).

>>> TEXT_POLICY["measurement"]["value_source_value"]
<Text.SCRUB: 'scrub'>
>>> id_family("care_site", "location_id"), id_family("cost", "cost_event_id")
('location', 'event')
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from importlib import resources

from medmine.privacy.phi_text import DEFAULT_SENTINEL_DATES
from medmine.warehouse.schema import TABLES, TableSpec


class Text(enum.StrEnum):
    """What happens to a VARCHAR column."""

    CODE = "code"  # reviewed: codes only; kept, each distinct value checked by the code guard
    SCRUB = "scrub"  # free text: through the note scrubber
    NULL = "null"  # identifiers or text nobody needs: emptied (NULL)
    ZIP3 = "zip3"  # location.zip: first three digits, restricted areas 000
    TIME = "time"  # a time of day stored as text: NULL in Safe Harbor, kept in expert mode


_C, _S, _N = Text.CODE, Text.SCRUB, Text.NULL

#: Tables emptied in the output: direct identifiers, raw records and provenance (file names
#: of sources often contain patient names), the source's own audit log, load plumbing holding
#: raw reference strings, and quality results whose example ids point into the source.
EMPTIED_TABLES = (
    "mm_person_identity",
    "mm_identifier",
    "mm_quarantine",
    "mm_source_record",
    "mm_load",
    "mm_load_file",
    "mm_audit",
    "mm_reference",
    "mm_quality_result",
    "mm_fhir_resource",
    "mm_nlp_note",  # NLP bookkeeping: a release's scrubbed notes are processed afresh
    "mm_person_link_pair",  # linkage working table (two person ids a row); clusters are kept
    # Raw genotypes: a few dozen independent SNPs single a person out (Lin et al., Science
    # 2004), and pharmacogene panels hold hundreds; study outputs keep the phenotypes.
    "mm_genotype",
)

#: Vocabulary tables: copied unchanged (no individual's data), except text columns per policy.
VOCABULARY_TABLES = ("concept", "concept_ancestor", "concept_relationship", "mm_source_concept")

#: Standard vocabulary tables (Athena releases): reference data, copied as they are.
REFERENCE_VOCABULARY = ("concept", "concept_ancestor", "concept_relationship")

#: The reviewed policy of every VARCHAR column of every table written to the output.
#: ``docs/deidentification.md`` gives the reason for each CODE column kept.
TEXT_POLICY: dict[str, dict[str, Text]] = {
    "person": {
        "person_source_value": _N,  # source patient id (FHIR id, MRN)
        "gender_source_value": _C,
        "race_source_value": _C,
        "ethnicity_source_value": _C,
    },
    "visit_occurrence": {
        "visit_source_value": _N,  # encounter numbers in OMOP sources
        "admitted_from_source_value": _C,
        "discharged_to_source_value": _C,
    },
    "visit_detail": {
        "visit_detail_source_value": _N,
        "admitted_from_source_value": _C,
        "discharged_to_source_value": _C,
    },
    "condition_occurrence": {
        "stop_reason": _S,
        "condition_source_value": _C,
        "condition_status_source_value": _C,
    },
    "drug_exposure": {
        "stop_reason": _S,
        "sig": _S,
        "lot_number": _C,  # a product batch, not a person
        "drug_source_value": _C,
        "route_source_value": _C,
        "dose_unit_source_value": _C,
    },
    "procedure_occurrence": {"procedure_source_value": _C, "modifier_source_value": _C},
    "device_exposure": {
        "unique_device_id": _N,  # Safe Harbor M: device identifiers and serial numbers
        "production_id": _N,
        "device_source_value": _C,
        "unit_source_value": _C,
    },
    "measurement": {
        "measurement_time": Text.TIME,
        "measurement_source_value": _C,
        "unit_source_value": _C,
        "value_source_value": _S,  # HL7 OBX-5 text, FHIR valueString
    },
    "observation": {
        "value_as_string": _S,
        "observation_source_value": _C,
        "unit_source_value": _C,
        "qualifier_source_value": _C,
        "value_source_value": _S,
    },
    "death": {"cause_source_value": _C},
    "note": {"note_title": _S, "note_text": _S, "note_source_value": _N},
    "note_nlp": {
        "snippet": _S,
        "offset": _C,
        "lexical_variant": _S,
        "nlp_system": _C,
        "term_exists": _C,
        "term_temporal": _C,
        "term_modifiers": _C,
    },
    "specimen": {
        "specimen_source_id": _N,  # accession numbers
        "specimen_source_value": _C,
        "unit_source_value": _C,
        "anatomic_site_source_value": _C,
        "disease_status_source_value": _C,
    },
    "location": {
        "address_1": _N,
        "address_2": _N,
        "city": _N,
        "state": _C,
        "zip": Text.ZIP3,
        "county": _N,
        "location_source_value": _N,
        "country_source_value": _C,
    },
    "care_site": {
        "care_site_name": _N,
        "care_site_source_value": _N,
        "place_of_service_source_value": _C,
    },
    "provider": {
        "provider_name": _N,
        "npi": _C,  # kept on purpose: see docs (clinician, needed by claims analyses)
        "dea": _N,
        "provider_source_value": _N,
        "specialty_source_value": _C,
        "gender_source_value": _C,
    },
    "payer_plan_period": {
        "payer_source_value": _S,  # payer names (or organisation references), may be a person
        "plan_source_value": _C,
        "sponsor_source_value": _N,  # the sponsor is often the employer (Safe Harbor)
        "family_source_value": _N,  # subscriber / family member id
        "stop_reason_source_value": _C,
    },
    "cost": {"cost_domain_id": _C, "revenue_code_source_value": _C, "drg_source_value": _C},
    "concept": {
        "concept_name": _C,
        "domain_id": _C,
        "vocabulary_id": _C,
        "concept_class_id": _C,
        "standard_concept": _C,
        "concept_code": _C,
        "invalid_reason": _C,
    },
    "concept_relationship": {"relationship_id": _C, "invalid_reason": _C},
    "mm_claim": {
        "claim_source_value": _N,  # claim / account number
        "claim_type": _C,
        "claim_status": _C,
        "payer_source_value": _S,
        "billing_npi": _C,
        "rendering_npi": _C,
        "billing_source_value": _C,  # the billing organisation's id (FHIR id, TAX_NUM, NPI)
        "referring_npi": _C,
        "provider_specialty": _C,
        "place_of_service": _C,
        "dx_vocabulary_id": _C,
        **{f"dx_{i}": _C for i in range(1, 13)},
        "drg_code": _C,
    },
    "mm_claim_line": {
        "procedure_vocabulary_id": _C,
        "procedure_code": _C,
        "procedure_display": _S,
        "modifier_1": _C,
        "modifier_2": _C,
        "modifier_3": _C,
        "modifier_4": _C,
        "ndc_code": _C,
        "revenue_code": _C,
        "place_of_service": _C,
        "rendering_npi": _C,
        "dx_pointer": _C,
    },
    "mm_source_concept": {"vocabulary_id": _C, "code": _C, "display": _S, "load_id": _N},
    "mm_consent": {"purpose": _C, "decision": _C, "source": _C},
    "mm_person_link": {"source": _C, "run_id": _N},
    "mm_provider_role": {
        "specialty_source_value": _C,
        "role_source_value": _C,
        "provider_role_source_value": _N,  # FHIR PractitionerRole id: no use in a release
    },
    "mm_measurement_norm": {
        "loinc": _C,
        "source_unit": _C,
        "unit_canonical": _C,
        "status": _C,
        "reason": _C,
        "run_id": _N,
    },
}

#: Numeric columns emptied too (identifying values that are not row ids).
NULLED_NUMBERS: dict[str, tuple[str, ...]] = {
    "location": ("latitude", "longitude"),
    "provider": ("year_of_birth",),
}

#: Row-id columns that reference another table under another name.
_REFERENCES: dict[str, str] = {
    "preceding_visit_occurrence_id": "visit_occurrence",
    "preceding_visit_detail_id": "visit_detail",
    "parent_visit_detail_id": "visit_detail",
    "billing_provider_id": "provider",
    "rendering_provider_id": "provider",
}
#: Polymorphic references (the row's table is named by another column): family ``event``.
EVENT_ID_COLUMNS: dict[str, tuple[str, str]] = {
    "cost": ("cost_event_id", "cost_domain_id"),
    "measurement": ("measurement_event_id", "meas_event_field_concept_id"),
    "observation": ("observation_event_id", "obs_event_field_concept_id"),
    "note": ("note_event_id", "note_event_field_concept_id"),
}
#: Ids that number something other than a table row.
_OWN_FAMILIES = {("mm_person_link", "cluster_id"): "mm_person_link.cluster"}

#: Three-digit ZIP areas that HHS listed as having 20,000 or fewer people in the 2000 Census
#: (OCR, "Guidance Regarding Methods for De-identification of PHI", 2012, section 3.4).
HHS_2000_RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831"}
    | {"878", "879", "884", "890", "893"}
)
#: Safe Harbor's population limit for a ZIP3 area that may be kept.
ZIP3_POPULATION_LIMIT = 20_000


def _zip3_population_2020() -> dict[str, int]:
    """2020 Census population of each three-digit ZIP area (sum of its ZCTA5s).

    Shipped as ``privacy/data/zip3_population_2020.csv`` (Decennial Census 2020 DHC table P1,
    total population by ZCTA5, summed by first three digits; source and checks in
    docs/deidentification.md).
    """
    text = (resources.files("medmine.privacy") / "data" / "zip3_population_2020.csv").read_text()
    rows = csv.DictReader(io.StringIO(text))
    return {r["zip3"]: int(r["population"]) for r in rows}


#: 2020 Census population per ZIP3; a ZIP3 absent here has no residential population.
ZIP3_POPULATION_2020: dict[str, int] = _zip3_population_2020()

#: ZIP3s written as ``000``: every three-digit prefix whose 2020 population is 20,000 or fewer
#: (prefixes with no ZCTA, such as unique-organisation and military ZIPs, count as 0), plus,
#: conservatively, HHS's 2000 list (five of its areas have grown past 20,000 since).
RESTRICTED_ZIP3 = (
    frozenset(
        z3
        for z3 in (f"{i:03d}" for i in range(1000))
        if ZIP3_POPULATION_2020.get(z3, 0) <= ZIP3_POPULATION_LIMIT
    )
    | HHS_2000_RESTRICTED_ZIP3
)

#: Placeholder dates that mean "open-ended" or "unknown", not a day in someone's life: never
#: shifted nor generalised (a shifted 2099-12-31 gives the offset away). `DeidConfig` adds
#: site-specific ones.
SENTINEL_DATES: frozenset[dt.date] = DEFAULT_SENTINEL_DATES


def output_tables() -> list[TableSpec]:
    """Specs of the tables written with rows (every table but the emptied ones)."""
    return [t for t in TABLES if t.name not in EMPTIED_TABLES]


def _pk_tables() -> dict[str, str]:
    """Single-column BIGINT primary key name -> its table."""
    out = {}
    for t in TABLES:
        if len(t.primary_key) == 1 and t.column(t.primary_key[0]).type == "bigint":
            out.setdefault(t.primary_key[0], t.name)
    return out


def id_family(table: str, column: str) -> str | None:
    """The id family of a BIGINT column (the table whose rows it numbers), ``"event"`` for a
    polymorphic reference, or None when the column is not a row id.
    """
    if (table, column) in _OWN_FAMILIES:
        return _OWN_FAMILIES[(table, column)]
    if table in EVENT_ID_COLUMNS and EVENT_ID_COLUMNS[table][0] == column:
        return "event"
    if column in _REFERENCES:
        return _REFERENCES[column]
    spec = next(t for t in TABLES if t.name == table)
    col = spec.column(column)
    if col.fk is not None:
        return _pk_tables().get(col.fk[1], col.fk[0])
    return _pk_tables().get(column)


def unclassified() -> list[str]:
    """``table.column`` of every output column with no reviewed policy (should be empty)."""
    out = []
    for t in output_tables():
        policy = TEXT_POLICY.get(t.name, {})
        for c in t.columns:
            if (
                c.type == "varchar"
                and c.name not in policy
                or (
                    c.type == "bigint"
                    and t.name not in VOCABULARY_TABLES
                    and id_family(t.name, c.name) is None
                )
            ):
                out.append(f"{t.name}.{c.name}")
        out += [f"{t.name}.{n}" for n in policy if n not in t.column_names]
    return out
