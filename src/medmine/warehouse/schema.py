"""The warehouse schema, declared once as data: OMOP CDM v5.4 tables plus `mm_` extensions.

Every other module (DDL, loaders, quality checks, de-identification, Spark) reads these specs
instead of writing its own DDL. Column spec mini-language, one string per column::

    "name:type"            nullable column
    "name:type!"           required (NOT NULL in OMOP's conventions)
    "name:type!>tbl.col"   required, with a foreign key to tbl.col
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

#: Logical type -> (DuckDB type, Arrow type).
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "bigint": ("BIGINT", pa.int64()),
    "int": ("INTEGER", pa.int32()),
    "double": ("DOUBLE", pa.float64()),
    "varchar": ("VARCHAR", pa.string()),
    "date": ("DATE", pa.date32()),
    "timestamp": ("TIMESTAMP", pa.timestamp("us")),
    "bool": ("BOOLEAN", pa.bool_()),
}


@dataclass(frozen=True)
class Column:
    """One column: name, logical type, whether it is required, optional foreign key."""

    name: str
    type: str
    required: bool = False
    fk: tuple[str, str] | None = None

    @property
    def sql_type(self) -> str:
        """DuckDB type name."""
        return TYPES[self.type][0]

    @property
    def arrow_type(self) -> pa.DataType:
        """Arrow type, the interchange type for Parquet and Spark."""
        return TYPES[self.type][1]


@dataclass(frozen=True)
class EventDomain:
    """Where the events of one OMOP domain live: the columns every stage looks up.

    Features (concept sets, covariates), quality checks, association-rule baskets,
    de-identification and loaders read these instead of keeping their own lists.
    """

    name: str
    table: str
    id_column: str
    concept_column: str
    start_column: str
    end_column: str | None
    type_concept_column: str
    source_value_column: str
    source_concept_column: str | None


@dataclass(frozen=True)
class TableSpec:
    """One table: columns, primary key, role (clinical, vocabulary, system) and purpose.

    `domain` is set on the OMOP event tables (condition, drug, procedure, ...).
    """

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    role: str
    description: str
    person_column: str | None = None
    date_columns: tuple[str, ...] = field(default=())
    domain: EventDomain | None = None
    #: False: no PRIMARY KEY constraint, so no ART index. DuckDB keeps every ART index in
    #: memory, committed or not, and never spills it (50-80 bytes a key,
    #: bench/duckdb_art_memory.py); on the two tables that get a row per resource read
    #: (provenance, raw FHIR store) that made a 10M-resource load run out of memory. Their key
    #: stays unique through `insert_new_sql` (an anti-join) and the is_primary_key check.
    key_index: bool = True

    def column(self, name: str) -> Column:
        """Return the column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        """Column names in declaration order."""
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the table."""
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=True) for c in self.columns])

    def ddl(self) -> str:
        """`CREATE TABLE IF NOT EXISTS` statement for DuckDB."""
        cols = ",\n  ".join(
            f'"{c.name}" {c.sql_type}{" NOT NULL" if c.required else ""}' for c in self.columns
        )
        pk = ", ".join(f'"{k}"' for k in self.primary_key)
        key = f",\n  PRIMARY KEY ({pk})" if self.key_index else ""
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" (\n  {cols}{key}\n)'

    def insert_new_sql(self, source: str) -> str:
        """``INSERT`` of the rows of `source` (a table name or a parenthesised query, columns
        named as this table's) whose primary key the table does not hold yet; of rows that
        repeat a key within `source`, one is inserted. ``INSERT OR IGNORE`` where the key has
        an index; an anti-join where it has none (`key_index`).
        """
        t = f'"{self.name}"'
        if self.key_index:
            return f"INSERT OR IGNORE INTO {t} BY NAME SELECT * FROM {source}"
        keys = [f'"{k}"' for k in self.primary_key]
        match = " AND ".join(f"o.{k} = n.{k}" for k in keys)
        return (
            f"INSERT INTO {t} BY NAME SELECT * FROM {source} n WHERE NOT EXISTS "
            f"(SELECT 1 FROM {t} o WHERE {match}) "
            f"QUALIFY row_number() OVER (PARTITION BY {', '.join(f'n.{k}' for k in keys)}) = 1"
        )


def _parse(spec: str) -> Column:
    fk = None
    if ">" in spec:
        spec, target = spec.split(">")
        tbl, col = target.split(".")
        fk = (tbl, col)
    name, typ = spec.split(":")
    required = typ.endswith("!")
    typ = typ.rstrip("!")
    if typ not in TYPES:
        raise ValueError(f"unknown column type {typ!r} in spec {spec!r}")
    return Column(name, typ, required, fk)


def _table(
    name: str,
    role: str,
    description: str,
    cols: str,
    pk: tuple[str, ...] | None = None,
    person: str | None = "person_id",
    domain: tuple[str, str, str, str | None] | None = None,
    key_index: bool = True,
) -> TableSpec:
    """Build a spec; `domain` is ``(domain name, column prefix, start column, end column)``."""
    columns = tuple(_parse(s.strip()) for s in cols.split(",") if s.strip())
    dates = tuple(c.name for c in columns if c.type in ("date", "timestamp"))
    person_col = person if person and any(c.name == person for c in columns) else None
    event = None
    if domain is not None:
        dname, prefix, start, end = domain
        event = EventDomain(
            name=dname,
            table=name,
            id_column=columns[0].name,
            concept_column=f"{prefix}_concept_id",
            start_column=start,
            end_column=end,
            type_concept_column=f"{prefix}_type_concept_id",
            source_value_column=f"{prefix}_source_value",
            source_concept_column=(
                f"{prefix}_source_concept_id"
                if any(c.name == f"{prefix}_source_concept_id" for c in columns)
                else None  # OMOP's specimen table has no source concept column
            ),
        )
        names = {c.name for c in columns}
        for col in (event.concept_column, start, end, event.type_concept_column,
                    event.source_value_column, event.source_concept_column):  # fmt: skip
            if col is not None and col not in names:
                raise ValueError(f"domain column {col!r} missing from table {name!r}")
    return TableSpec(
        name=name,
        columns=columns,
        primary_key=pk or (columns[0].name,),
        role=role,
        description=description,
        person_column=person_col,
        date_columns=dates,
        domain=event,
        key_index=key_index,
    )


_P = ">person.person_id"
_V = ">visit_occurrence.visit_occurrence_id"
_PR = ">provider.provider_id"

TABLES: tuple[TableSpec, ...] = (
    # ---- OMOP CDM v5.4 clinical tables ----
    _table(
        "person",
        "clinical",
        "One row per person: demographics. year_of_birth may be NULL (unknown), unlike OMOP's "
        "NOT NULL: a source person without a birth date is loaded rather than orphaning its "
        "records; the person_without_year_of_birth quality check flags it.",
        # Deviation from OMOP CDM v5.4 (year_of_birth NOT NULL): see docs/ingest-fhir.md.
        "person_id:bigint!, gender_concept_id:int!, year_of_birth:int, month_of_birth:int,"
        "day_of_birth:int, birth_datetime:timestamp, race_concept_id:int!,"
        "ethnicity_concept_id:int!, location_id:bigint>location.location_id,"
        f"provider_id:bigint{_PR}, care_site_id:bigint>care_site.care_site_id,"
        "person_source_value:varchar, gender_source_value:varchar,"
        "gender_source_concept_id:int, race_source_value:varchar, race_source_concept_id:int,"
        "ethnicity_source_value:varchar, ethnicity_source_concept_id:int",
    ),
    _table(
        "observation_period",
        "clinical",
        "Spans of time during which a person's clinical events are expected to be recorded.",
        f"observation_period_id:bigint!, person_id:bigint!{_P},"
        "observation_period_start_date:date!, observation_period_end_date:date!,"
        "period_type_concept_id:int!",
    ),
    _table(
        "visit_occurrence",
        "clinical",
        "Encounters: inpatient stays, outpatient and emergency visits.",
        f"visit_occurrence_id:bigint!, person_id:bigint!{_P}, visit_concept_id:int!,"
        "visit_start_date:date!, visit_start_datetime:timestamp, visit_end_date:date!,"
        f"visit_end_datetime:timestamp, visit_type_concept_id:int!, provider_id:bigint{_PR},"
        "care_site_id:bigint>care_site.care_site_id, visit_source_value:varchar,"
        "visit_source_concept_id:int, admitted_from_concept_id:int,"
        "admitted_from_source_value:varchar, discharged_to_concept_id:int,"
        "discharged_to_source_value:varchar, preceding_visit_occurrence_id:bigint",
        domain=("visit", "visit", "visit_start_date", "visit_end_date"),
    ),
    _table(
        "visit_detail",
        "clinical",
        "Parts of a visit (transfers between units).",
        f"visit_detail_id:bigint!, person_id:bigint!{_P}, visit_detail_concept_id:int!,"
        "visit_detail_start_date:date!, visit_detail_start_datetime:timestamp,"
        "visit_detail_end_date:date!, visit_detail_end_datetime:timestamp,"
        f"visit_detail_type_concept_id:int!, provider_id:bigint{_PR}, care_site_id:bigint,"
        "visit_detail_source_value:varchar, visit_detail_source_concept_id:int,"
        "admitted_from_concept_id:int, admitted_from_source_value:varchar,"
        "discharged_to_source_value:varchar, discharged_to_concept_id:int,"
        "preceding_visit_detail_id:bigint, parent_visit_detail_id:bigint,"
        f"visit_occurrence_id:bigint!{_V}",
    ),
    _table(
        "condition_occurrence",
        "clinical",
        "Diagnoses, signs and symptoms.",
        f"condition_occurrence_id:bigint!, person_id:bigint!{_P}, condition_concept_id:int!,"
        "condition_start_date:date!, condition_start_datetime:timestamp,"
        "condition_end_date:date, condition_end_datetime:timestamp,"
        "condition_type_concept_id:int!, condition_status_concept_id:int, stop_reason:varchar,"
        f"provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V}, visit_detail_id:bigint,"
        "condition_source_value:varchar, condition_source_concept_id:int,"
        "condition_status_source_value:varchar",
        domain=("condition", "condition", "condition_start_date", "condition_end_date"),
    ),
    _table(
        "drug_exposure",
        "clinical",
        "Medication orders, administrations, dispensings and vaccinations.",
        f"drug_exposure_id:bigint!, person_id:bigint!{_P}, drug_concept_id:int!,"
        "drug_exposure_start_date:date!, drug_exposure_start_datetime:timestamp,"
        "drug_exposure_end_date:date!, drug_exposure_end_datetime:timestamp,"
        "verbatim_end_date:date, drug_type_concept_id:int!, stop_reason:varchar, refills:int,"
        "quantity:double, days_supply:int, sig:varchar, route_concept_id:int,"
        f"lot_number:varchar, provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V},"
        "visit_detail_id:bigint, drug_source_value:varchar, drug_source_concept_id:int,"
        "route_source_value:varchar, dose_unit_source_value:varchar",
        domain=("drug", "drug", "drug_exposure_start_date", "drug_exposure_end_date"),
    ),
    _table(
        "procedure_occurrence",
        "clinical",
        "Procedures performed on a person.",
        f"procedure_occurrence_id:bigint!, person_id:bigint!{_P}, procedure_concept_id:int!,"
        "procedure_date:date!, procedure_datetime:timestamp, procedure_end_date:date,"
        "procedure_end_datetime:timestamp, procedure_type_concept_id:int!,"
        f"modifier_concept_id:int, quantity:int, provider_id:bigint{_PR},"
        f"visit_occurrence_id:bigint{_V}, visit_detail_id:bigint,"
        "procedure_source_value:varchar, procedure_source_concept_id:int,"
        "modifier_source_value:varchar",
        domain=("procedure", "procedure", "procedure_date", "procedure_end_date"),
    ),
    _table(
        "device_exposure",
        "clinical",
        "Devices used on or implanted in a person.",
        f"device_exposure_id:bigint!, person_id:bigint!{_P}, device_concept_id:int!,"
        "device_exposure_start_date:date!, device_exposure_start_datetime:timestamp,"
        "device_exposure_end_date:date, device_exposure_end_datetime:timestamp,"
        "device_type_concept_id:int!, unique_device_id:varchar, production_id:varchar,"
        f"quantity:int, provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V},"
        "visit_detail_id:bigint, device_source_value:varchar, device_source_concept_id:int,"
        "unit_concept_id:int, unit_source_value:varchar, unit_source_concept_id:int",
        domain=("device", "device", "device_exposure_start_date", "device_exposure_end_date"),
    ),
    _table(
        "measurement",
        "clinical",
        "Laboratory results and vital signs with values and units.",
        f"measurement_id:bigint!, person_id:bigint!{_P}, measurement_concept_id:int!,"
        "measurement_date:date!, measurement_datetime:timestamp, measurement_time:varchar,"
        "measurement_type_concept_id:int!, operator_concept_id:int, value_as_number:double,"
        "value_as_concept_id:int, unit_concept_id:int, range_low:double, range_high:double,"
        f"provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V}, visit_detail_id:bigint,"
        "measurement_source_value:varchar, measurement_source_concept_id:int,"
        "unit_source_value:varchar, unit_source_concept_id:int, value_source_value:varchar,"
        "measurement_event_id:bigint, meas_event_field_concept_id:int",
        domain=("measurement", "measurement", "measurement_date", None),
    ),
    _table(
        "observation",
        "clinical",
        "Facts not fitting elsewhere: social history, surveys, allergies, non-numeric results.",
        f"observation_id:bigint!, person_id:bigint!{_P}, observation_concept_id:int!,"
        "observation_date:date!, observation_datetime:timestamp,"
        "observation_type_concept_id:int!, value_as_number:double, value_as_string:varchar,"
        "value_as_concept_id:int, qualifier_concept_id:int, unit_concept_id:int,"
        f"provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V}, visit_detail_id:bigint,"
        "observation_source_value:varchar, observation_source_concept_id:int,"
        "unit_source_value:varchar, qualifier_source_value:varchar,"
        "value_source_value:varchar, observation_event_id:bigint,"
        "obs_event_field_concept_id:int",
        domain=("observation", "observation", "observation_date", None),
    ),
    _table(
        "death",
        "clinical",
        "Date and cause of death.",
        f"person_id:bigint!{_P}, death_date:date!, death_datetime:timestamp,"
        "death_type_concept_id:int, cause_concept_id:int, cause_source_value:varchar,"
        "cause_source_concept_id:int",
    ),
    _table(
        "note",
        "clinical",
        "Free-text clinical notes.",
        f"note_id:bigint!, person_id:bigint!{_P}, note_date:date!, note_datetime:timestamp,"
        "note_type_concept_id:int!, note_class_concept_id:int!, note_title:varchar,"
        "note_text:varchar!, encoding_concept_id:int!, language_concept_id:int!,"
        f"provider_id:bigint{_PR}, visit_occurrence_id:bigint{_V}, visit_detail_id:bigint,"
        "note_source_value:varchar, note_event_id:bigint, note_event_field_concept_id:int",
    ),
    _table(
        "note_nlp",
        "clinical",
        "Concepts extracted from notes by NLP, with negation and other modifiers.",
        "note_nlp_id:bigint!, note_id:bigint!>note.note_id, section_concept_id:int,"
        "snippet:varchar, offset:varchar, lexical_variant:varchar!, note_nlp_concept_id:int,"
        "note_nlp_source_concept_id:int, nlp_system:varchar, nlp_date:date!,"
        "nlp_datetime:timestamp, term_exists:varchar, term_temporal:varchar,"
        "term_modifiers:varchar",
        person=None,
    ),
    _table(
        "specimen",
        "clinical",
        "Biological samples taken from a person.",
        f"specimen_id:bigint!, person_id:bigint!{_P}, specimen_concept_id:int!,"
        "specimen_type_concept_id:int!, specimen_date:date!, specimen_datetime:timestamp,"
        "quantity:double, unit_concept_id:int, anatomic_site_concept_id:int,"
        "disease_status_concept_id:int, specimen_source_id:varchar,"
        "specimen_source_value:varchar, unit_source_value:varchar,"
        "anatomic_site_source_value:varchar, disease_status_source_value:varchar",
        domain=("specimen", "specimen", "specimen_date", None),
    ),
    # ---- health system ----
    _table(
        "location",
        "system",
        "Addresses of persons and care sites.",
        "location_id:bigint!, address_1:varchar, address_2:varchar, city:varchar,"
        "state:varchar, zip:varchar, county:varchar, location_source_value:varchar,"
        "country_concept_id:int, country_source_value:varchar, latitude:double,"
        "longitude:double",
        person=None,
    ),
    _table(
        "care_site",
        "system",
        "Organisations and units where care is delivered.",
        "care_site_id:bigint!, care_site_name:varchar, place_of_service_concept_id:int,"
        "location_id:bigint>location.location_id, care_site_source_value:varchar,"
        "place_of_service_source_value:varchar",
        person=None,
    ),
    _table(
        "provider",
        "system",
        "Clinicians and other care providers.",
        "provider_id:bigint!, provider_name:varchar, npi:varchar, dea:varchar,"
        "specialty_concept_id:int, care_site_id:bigint>care_site.care_site_id,"
        "year_of_birth:int, gender_concept_id:int, provider_source_value:varchar,"
        "specialty_source_value:varchar, specialty_source_concept_id:int,"
        "gender_source_value:varchar, gender_source_concept_id:int",
        person=None,
    ),
    # ---- economics ----
    _table(
        "payer_plan_period",
        "clinical",
        "Spans of insurance coverage.",
        f"payer_plan_period_id:bigint!, person_id:bigint!{_P},"
        "payer_plan_period_start_date:date!, payer_plan_period_end_date:date!,"
        "payer_concept_id:int, payer_source_value:varchar, payer_source_concept_id:int,"
        "plan_concept_id:int, plan_source_value:varchar, plan_source_concept_id:int,"
        "sponsor_concept_id:int, sponsor_source_value:varchar, sponsor_source_concept_id:int,"
        "family_source_value:varchar, stop_reason_concept_id:int,"
        "stop_reason_source_value:varchar, stop_reason_source_concept_id:int",
    ),
    _table(
        "cost",
        "clinical",
        "Costs and payments attached to clinical events.",
        "cost_id:bigint!, cost_event_id:bigint!, cost_domain_id:varchar!,"
        "cost_type_concept_id:int!, currency_concept_id:int, total_charge:double,"
        "total_cost:double, total_paid:double, paid_by_payer:double, paid_by_patient:double,"
        "paid_patient_copay:double, paid_patient_coinsurance:double,"
        "paid_patient_deductible:double, paid_by_primary:double, paid_ingredient_cost:double,"
        "paid_dispensing_fee:double, payer_plan_period_id:bigint, amount_allowed:double,"
        "revenue_code_concept_id:int, revenue_code_source_value:varchar, drg_concept_id:int,"
        "drg_source_value:varchar",
        person=None,
    ),
    # ---- derived eras (loaded from OMOP sources that have them) ----
    _table(
        "condition_era",
        "derived",
        "Continuous spans of a condition.",
        f"condition_era_id:bigint!, person_id:bigint!{_P}, condition_concept_id:int!,"
        "condition_era_start_date:date!, condition_era_end_date:date!,"
        "condition_occurrence_count:int",
    ),
    _table(
        "drug_era",
        "derived",
        "Continuous spans of exposure to an ingredient.",
        f"drug_era_id:bigint!, person_id:bigint!{_P}, drug_concept_id:int!,"
        "drug_era_start_date:date!, drug_era_end_date:date!, drug_exposure_count:int,"
        "gap_days:int",
    ),
    # ---- vocabulary ----
    _table(
        "concept",
        "vocabulary",
        "Concepts with names, domains and source codes.",
        "concept_id:int!, concept_name:varchar!, domain_id:varchar!, vocabulary_id:varchar!,"
        "concept_class_id:varchar!, standard_concept:varchar, concept_code:varchar!,"
        "valid_start_date:date!, valid_end_date:date!, invalid_reason:varchar",
        person=None,
    ),
    _table(
        "concept_ancestor",
        "vocabulary",
        "Transitive hierarchy between standard concepts.",
        "ancestor_concept_id:int!, descendant_concept_id:int!,"
        "min_levels_of_separation:int!, max_levels_of_separation:int!",
        pk=("ancestor_concept_id", "descendant_concept_id"),
        person=None,
    ),
    _table(
        "concept_relationship",
        "vocabulary",
        "Relationships between concepts (Maps to, Is a, ...).",
        "concept_id_1:int!, concept_id_2:int!, relationship_id:varchar!,"
        "valid_start_date:date!, valid_end_date:date!, invalid_reason:varchar",
        pk=("concept_id_1", "concept_id_2", "relationship_id"),
        person=None,
    ),
    # ---- medmine extensions ----
    _table(
        "mm_claim",
        "claims",
        "Claim header: payer, billing provider (a clinician, or an organisation: "
        "billing_care_site_id, with its source id in billing_source_value), rendering and "
        "referring clinicians, type, service dates, ICD-10 diagnoses, totals.",
        f"claim_id:bigint!, person_id:bigint!{_P}, claim_source_value:varchar,"
        "claim_type:varchar, claim_status:varchar, payer_source_value:varchar,"
        f"billing_provider_id:bigint{_PR}, billing_npi:varchar,"
        f"rendering_provider_id:bigint{_PR}, rendering_npi:varchar,"
        "provider_specialty:varchar, place_of_service:varchar, claim_start_date:date!,"
        "claim_end_date:date, admission_date:date, discharge_date:date,"
        f"visit_occurrence_id:bigint{_V}, dx_vocabulary_id:varchar, dx_1:varchar, dx_2:varchar,"
        "dx_3:varchar, dx_4:varchar, dx_5:varchar, dx_6:varchar, dx_7:varchar, dx_8:varchar,"
        "dx_9:varchar, dx_10:varchar, dx_11:varchar, dx_12:varchar, drg_code:varchar,"
        "total_billed:double, total_allowed:double, total_paid:double,"
        "patient_paid:double, billing_care_site_id:bigint>care_site.care_site_id,"
        "billing_source_value:varchar,"
        f"referring_provider_id:bigint{_PR}, referring_npi:varchar",
    ),
    _table(
        "mm_claim_line",
        "claims",
        "Claim lines: procedure (CPT/HCPCS) with modifiers, units and amounts.",
        "claim_line_id:bigint!, claim_id:bigint!>mm_claim.claim_id, line_number:int!,"
        f"person_id:bigint!{_P}, service_date:date!, service_end_date:date,"
        "procedure_vocabulary_id:varchar, procedure_code:varchar, procedure_display:varchar,"
        "modifier_1:varchar, modifier_2:varchar, modifier_3:varchar, modifier_4:varchar,"
        "ndc_code:varchar, revenue_code:varchar, units:double, billed_amount:double,"
        "allowed_amount:double, paid_amount:double, place_of_service:varchar,"
        f"rendering_npi:varchar, rendering_provider_id:bigint{_PR}, dx_pointer:varchar",
    ),
    _table(
        "mm_person_identity",
        "identity",
        "Direct identifiers of a person as received (PHI; removed by de-identification).",
        f"person_id:bigint!{_P}, source:varchar!, given_name:varchar, family_name:varchar,"
        "name_prefix:varchar, name_suffix:varchar, birth_date:date, sex:varchar,"
        "address_line:varchar, city:varchar, state:varchar, zip:varchar, phone:varchar,"
        "email:varchar, ssn:varchar, mrn:varchar, drivers_license:varchar, passport:varchar,"
        "deceased_datetime:timestamp",
        pk=("person_id", "source"),
    ),
    _table(
        "mm_identifier",
        "identity",
        "Business identifiers of any row (MRN, SSN, NPI, member id...) with their system.",
        "table_name:varchar!, row_id:bigint!, system:varchar!, value:varchar!,type_code:varchar",
        pk=("table_name", "row_id", "system", "value"),
        person=None,
    ),
    _table(
        "mm_source_concept",
        "vocabulary",
        "Source codes seen in loads with their display text, for codes absent from `concept`.",
        "vocabulary_id:varchar!, code:varchar!, display:varchar, load_id:varchar",
        pk=("vocabulary_id", "code"),
        person=None,
    ),
    _table(
        "mm_reference",
        "system",
        "Source references kept verbatim when not resolved at read time (conditional or "
        "dangling optional references); resolved_id is filled when a later pass resolves them.",
        "table_name:varchar!, row_id:bigint!, column_name:varchar!, reference:varchar!,"
        "resource_type:varchar, target_type:varchar, system:varchar, value:varchar,"
        "resolved_id:bigint, load_id:varchar",
        pk=("table_name", "row_id", "column_name"),
        person=None,
    ),
    _table(
        "mm_source_record",
        "system",
        "Provenance: the source file and location of every loaded row.",
        "table_name:varchar!, row_id:bigint!, load_id:varchar!, source_file:varchar!,"
        "location:varchar!, resource_type:varchar, source_key:varchar, checksum:varchar",
        pk=("table_name", "row_id"),
        person=None,
        key_index=False,  # a row per loaded row: kept unique by the loader's anti-joins
    ),
    _table(
        "mm_quarantine",
        "system",
        "Every rejected input record with where it came from and why.",
        "quarantine_id:bigint!, load_id:varchar!, source_file:varchar!, location:varchar!,"
        "resource_type:varchar, reason_code:varchar!, message:varchar!, record:varchar,"
        "quarantined_at:timestamp!",
        person=None,
    ),
    _table(
        "mm_load",
        "system",
        "One row per load: timing, counts and status.",
        "load_id:varchar!, source_kind:varchar!, started_at:timestamp!, finished_at:timestamp,"
        "status:varchar!, files:int, records_read:bigint, records_loaded:bigint,"
        "records_skipped:bigint, records_quarantined:bigint, warnings:bigint, detail:varchar",
        person=None,
    ),
    _table(
        "mm_load_file",
        "system",
        "Files already loaded, by content hash, so that re-runs are idempotent.",
        "sha256:varchar!, source_kind:varchar!, load_id:varchar!, source_file:varchar!,"
        "size_bytes:bigint, records_read:bigint",
        pk=("sha256", "source_kind"),
        person=None,
    ),
    _table(
        "mm_fhir_resource",
        "identity",
        "Raw FHIR store: every resource read by a FHIR load, as its JSON text, with the file "
        "and line or Bundle entry it came from, for running ViewDefinitions later (PHI).",
        "raw_id:bigint!, source_file:varchar!, location:varchar!, checksum:varchar!,"
        "load_id:varchar!, resource_type:varchar!, resource_id:varchar, full_url:varchar,"
        "resource:varchar!",
        person=None,
        key_index=False,  # a row per resource read: kept unique by the loader's anti-joins
    ),
    _table(
        "mm_consent",
        "privacy",
        "Consent decisions per person and purpose.",
        f"person_id:bigint!{_P}, purpose:varchar!, decision:varchar!, start_date:date,"
        "end_date:date, source:varchar, recorded_at:timestamp",
        pk=("person_id", "purpose"),
    ),
    _table(
        "mm_audit",
        "privacy",
        "Append-only, hash-chained audit log of loads, exports, studies and API access.",
        "seq:bigint!, ts:timestamp!, actor:varchar!, action:varchar!, object:varchar,"
        "row_count:bigint, purpose:varchar, detail:varchar, prev_hash:varchar!, hash:varchar!",
        person=None,
    ),
    # ---- quality layer (medmine.quality) ----
    _table(
        "mm_quality_result",
        "system",
        "One row per data-quality check per run: counts, percentage, threshold and status "
        "(example_ids holds row ids only, never values).",
        "run_id:varchar!, check_id:varchar!, check_type:varchar!, check_level:varchar,"
        "kahn_category:varchar!, kahn_subcategory:varchar, context:varchar, table_name:varchar,"
        "column_name:varchar, concept_id:int, description:varchar, threshold_pct:double,"
        "num_violated:bigint, num_denominator:bigint, pct_violated:double, status:varchar!,"
        "has_failing_rows:bool, example_ids:varchar, sql:varchar, error:varchar,"
        "run_at:timestamp",
        pk=("run_id", "check_id"),
        person=None,
    ),
    _table(
        "mm_person_link",
        "identity",
        "Record linkage: identity rows of the same person (from any source) share a cluster_id.",
        f"cluster_id:bigint!, person_id:bigint!{_P}, source:varchar!, match_weight:double,"
        "match_probability:double, run_id:varchar",
        pk=("person_id", "source"),
    ),
    _table(
        "mm_person_link_pair",
        "identity",
        "Record linkage: scored candidate pairs of identity rows (match weight and probability; "
        "linked marks the pairs the run linked; mm_person_link.run_id names the run), so that "
        "users can re-threshold without retraining.",
        "person_id_l:bigint!>person.person_id, source_l:varchar!,"
        "person_id_r:bigint!>person.person_id, source_r:varchar!,"
        "match_weight:double, match_probability:double, linked:bool",
        pk=("person_id_l", "source_l", "person_id_r", "source_r"),
        person="person_id_l",
    ),
    _table(
        "mm_provider_role",
        "system",
        "A provider's role at an organisation with its specialty (FHIR PractitionerRole).",
        f"provider_role_id:bigint!, provider_id:bigint{_PR}, care_site_id:bigint,"
        "specialty_source_value:varchar, role_source_value:varchar,"
        "provider_role_source_value:varchar",
        person=None,
    ),
    _table(
        "mm_genotype",
        "identity",
        "Genotypes at pharmacogene positions (GRCh38) from VCF files, one row per person and "
        "site: the two observed alleles, and whether they are phased (and in which phase set). "
        "Identifying (a few dozen SNPs single a person out): exported only when asked.",
        f"genotype_id:bigint!, person_id:bigint!{_P}, gene:varchar!, chrom:varchar!,"
        "position:bigint!, rsid:varchar, ref:varchar!, allele1:varchar, allele2:varchar,"
        "phased:bool, phase_set:varchar, load_id:varchar",
    ),
    _table(
        "mm_nlp_note",
        "system",
        "Notes already processed by `medmine notes nlp`, by pipeline version, so a rerun skips "
        "them (a note without any mention leaves no note_nlp row); ids and versions, no text.",
        "note_id:bigint!>note.note_id, nlp_system:varchar!, processed_at:timestamp!",
        person=None,
    ),
    _table(
        "mm_measurement_norm",
        "derived",
        "Measurement values converted to the canonical UCUM unit of their LOINC code; the "
        "measurement row is never changed (status says why a value was not converted).",
        "measurement_id:bigint!>measurement.measurement_id, person_id:bigint, loinc:varchar,"
        "source_value:double, source_unit:varchar, value_canonical:double,"
        "unit_canonical:varchar, status:varchar!, reason:varchar, run_id:varchar",
    ),
)

_BY_NAME = {t.name: t for t in TABLES}

#: Clinical tables whose row counts must reconcile with an OMOP source.
CLINICAL_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.role == "clinical")


#: Event domains by name (``condition``, ``drug``, ...), from the table specs.
DOMAINS: dict[str, EventDomain] = {t.domain.name: t.domain for t in TABLES if t.domain}


def domain(name: str) -> EventDomain:
    """Return the event domain called `name`.

    Raises
    ------
    KeyError
        If no table declares that domain (the message lists the known ones).
    """
    try:
        return DOMAINS[name]
    except KeyError:
        raise KeyError(f"unknown event domain {name!r}; use one of {sorted(DOMAINS)}") from None


def table(name: str) -> TableSpec:
    """Return the spec of table `name`.

    Raises
    ------
    KeyError
        If the table is not part of the warehouse schema.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a warehouse table; known: {sorted(_BY_NAME)}") from None


def table_names() -> list[str]:
    """All warehouse table names in declaration order."""
    return [t.name for t in TABLES]
