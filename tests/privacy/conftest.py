"""Fixtures: small identified warehouses built with SQL inserts (no FHIR loader needed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from medmine.warehouse import Warehouse

NOTE = """{visit}

# Chief Complaint
- medication review due (situation)

# History of Present Illness
{given} is a {age} year-old non-hispanic white female. Patient has a history of essential
hypertension (disorder). Seen by Dr. {clin_given} {clin_family} at {facility}.
Lives at {street}, {city}, MA {zip}. Phone {phone}, email {email}. SSN {ssn}, MRN {mrn}.

# Medications
lisinopril 10 mg oral tablet; metformin 500 mg

# Vital Signs
- Systolic Blood Pressure: 120 mm[Hg]
"""


@dataclass
class Ident:
    """One synthetic person with direct identifiers."""

    person_id: int
    given: str
    family: str
    birth: dt.date
    street: str
    city: str
    zip: str
    phone: str
    email: str
    ssn: str
    mrn: str
    license: str
    passport: str
    source_value: str


def default_people(n: int = 4) -> list[Ident]:
    base = [
        ("Rosalind", "Quackenbush", dt.date(1931, 5, 17), "036"),
        ("Bartholomew", "Zielinski", dt.date(1970, 11, 27), "021"),
        ("Genevieve", "Okonkwo", dt.date(1988, 2, 29), "893"),
        ("Thaddeus", "Vanderbilt", dt.date(2001, 7, 4), "100"),
    ]
    out = []
    for i in range(n):
        g, f, b, z3 = base[i % len(base)]
        out.append(
            Ident(
                person_id=1000 + i,
                given=g,
                family=f,
                birth=b,
                street=f"{4321 + i} Larkspur Dale Unit {300 + i}",
                city="Marblehead",
                zip=f"{z3}{45 + i:02d}{6789 + i}",
                phone=f"555-80{i}-65{i:02d}",
                email=f"{g.lower()}.{f.lower()}{i}@example.com",
                ssn=f"999-7{i}-23{i:02d}",
                mrn=f"22519{i:02d}",
                license=f"S6132799{i:02d}",
                passport=f"X422061{i:02d}X",
                source_value=f"1f6d5b69f56f91d{i}",
            )
        )
    return out


def build_identified(path: Path, people: list[Ident], *, with_notes: bool = True) -> Path:
    """Write an identified warehouse holding `people` with visits, events and notes."""
    wh = Warehouse(path)
    con = wh.con
    con.execute(
        "INSERT INTO provider (provider_id, provider_name, npi) "
        "VALUES (7, 'Dr. Cornelius Fairweather', '1234567893')"
    )
    con.execute(
        "INSERT INTO care_site (care_site_id, care_site_name) "
        "VALUES (8, 'LEMUEL SHATTUCK HOSPITAL')"
    )
    for k, p in enumerate(people):
        loc = 500 + k
        con.execute(
            "INSERT INTO location (location_id, address_1, city, state, zip, latitude, longitude)"
            " VALUES (?, ?, ?, 'MA', ?, 42.1, -71.2)",
            [loc, p.street, p.city, p.zip],
        )
        con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, month_of_birth, "
            "day_of_birth, birth_datetime, race_concept_id, ethnicity_concept_id, location_id, "
            "person_source_value) VALUES (?, 8532, ?, ?, ?, ?, 0, 0, ?, ?)",
            [p.person_id, p.birth.year, p.birth.month, p.birth.day, p.birth, loc, p.source_value],
        )
        con.execute(
            "INSERT INTO mm_person_identity (person_id, source, given_name, family_name, "
            "birth_date, address_line, city, state, zip, phone, email, ssn, mrn, "
            "drivers_license, passport) VALUES (?, 'fhir', ?, ?, ?, ?, ?, 'MA', ?, ?, ?, ?, ?, "
            "?, ?)",
            [
                p.person_id,
                p.given,
                p.family,
                p.birth,
                p.street,
                p.city,
                p.zip,
                p.phone,
                p.email,
                p.ssn,
                p.mrn,
                p.license,
                p.passport,
            ],
        )
        for sysname, val in (("ssn", p.ssn), ("mrn", p.mrn), ("dl", p.license)):
            con.execute(
                "INSERT INTO mm_identifier VALUES ('person', ?, ?, ?, NULL)",
                [p.person_id, sysname, val],
            )
        prev = None
        for j in range(3):
            vid = p.person_id * 10 + j
            start = dt.date(2019, 3, 4) + dt.timedelta(days=40 * j + k)
            con.execute(
                "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id,"
                " visit_start_date, visit_start_datetime, visit_end_date, visit_type_concept_id,"
                " provider_id, care_site_id, visit_source_value, preceding_visit_occurrence_id)"
                " VALUES (?, ?, 9202, ?, ?, ?, 0, 7, 8, ?, ?)",
                [
                    vid,
                    p.person_id,
                    start,
                    dt.datetime.combine(start, dt.time(9, 30)),
                    start + dt.timedelta(days=2),
                    f"enc-{vid}",
                    prev,
                ],
            )
            con.execute(
                "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
                "condition_concept_id, condition_start_date, condition_type_concept_id, "
                "visit_occurrence_id, condition_source_value) VALUES (?, ?, 320128, ?, 0, ?, "
                "'38341003')",
                [vid, p.person_id, start + dt.timedelta(days=1), vid],
            )
            if with_notes:
                age = start.year - p.birth.year
                text = NOTE.format(
                    visit=start.isoformat(),
                    given=p.given,
                    age=age,
                    clin_given="Cornelius",
                    clin_family="Fairweather",
                    facility="LEMUEL SHATTUCK HOSPITAL",
                    street=p.street,
                    city=p.city,
                    zip=p.zip[:5],
                    phone=p.phone,
                    email=p.email,
                    ssn=p.ssn,
                    mrn=p.mrn,
                )
                con.execute(
                    "INSERT INTO note (note_id, person_id, note_date, note_type_concept_id, "
                    "note_class_concept_id, note_title, note_text, encoding_concept_id, "
                    "language_concept_id, visit_occurrence_id, note_source_value) "
                    "VALUES (?, ?, ?, 0, 0, ?, ?, 0, 0, ?, ?)",
                    [
                        vid,
                        p.person_id,
                        start,
                        f"Visit note for {p.given} {p.family}",
                        text,
                        vid,
                        p.source_value,
                    ],
                )
            prev = vid
        con.execute(
            "INSERT INTO observation_period VALUES (?, ?, ?, ?, 0)",
            [p.person_id, p.person_id, dt.date(2019, 1, 1), dt.date(2021, 12, 31)],
        )
    wh.close()
    return path


@pytest.fixture
def people() -> list[Ident]:
    return default_people()


@pytest.fixture
def identified(tmp_path: Path, people: list[Ident]) -> Path:
    return build_identified(tmp_path / "ident.duckdb", people)


@pytest.fixture
def deid_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "9c1f4e7a2b8d03f6e5a4c7b2d1908f3e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"  # test only
    monkeypatch.setenv("MEDMINE_DEID_KEY", key)
    return key


#: Identifiers that are in no identity table: only the rules can find them.
HOSTILE_EXTRA = (
    "Désirée",
    "Cézanne",
    "617-555-0142",
    "078-05-1120",
    "4471902",
    "77 Rue Saint-Honoré Street",
    "tobias.krüger@example.org",
)


def hostile_text(p: Ident) -> str:
    """Free text carrying every kind of identifier of `p`, and of a relative nobody listed."""
    return (
        f"Call {p.given} {p.family} at {p.phone} or {p.email}, SSN {p.ssn}, MRN {p.mrn}, "
        f"lives at {p.street}, {p.city}, MA {p.zip[:5]}. Her daughter Désirée Cézanne, "
        "phone 617-555-0142, SSN 078-05-1120, MRN 4471902, lives at 77 Rue Saint-Honoré "
        "Street; e-mail tobias.krüger@example.org."
    )


def build_rich(path: Path, people: list[Ident], *, hostile: bool = False) -> Path:
    """`build_identified` plus a row in every other table a release carries.

    Ids repeat across tables on purpose (as in OMOP sources numbered per table), the
    observation period id equals the person id, and coverage ends on the open-ended
    2099-12-31. With `hostile`, every free-text column (policy SCRUB or NULL) of every row
    holds `hostile_text` of its person.
    """
    from medmine.privacy.deid_policy import TEXT_POLICY, Text
    from medmine.warehouse.schema import TABLES

    build_identified(path, people)
    wh = Warehouse(path)
    con = wh.con
    con.execute(
        "INSERT INTO location (location_id, address_1, city, state, zip) "
        "VALUES (900, '1 Hospital Way', 'Boston', 'MA', '02115')"
    )
    con.execute("UPDATE care_site SET location_id = 900, care_site_source_value = 'org-1'")
    con.execute("UPDATE provider SET care_site_id = 8, provider_source_value = 'pr-1'")
    con.execute(
        "INSERT INTO mm_provider_role VALUES (70, 7, 8, 'Cardiology', 'doctor', "
        "'PractitionerRole/9f1c')"
    )
    con.execute("INSERT INTO mm_source_concept VALUES ('LOINC', '8302-2', 'Body height', 'load-1')")
    # the OMOP field concept saying a measurement_event_id is a visit (test-only concept id)
    con.execute(
        "INSERT INTO concept VALUES (9990001, 'visit_occurrence.visit_occurrence_id', "
        "'Metadata', 'CDM', 'Field', NULL, 'CDM9990001', DATE '1970-01-01', "
        "DATE '2099-12-31', NULL)"
    )
    for k, p in enumerate(people):
        pid = p.person_id
        vids = [pid * 10 + j for j in range(3)]
        start = dt.date(2019, 3, 4) + dt.timedelta(days=k)
        for n, vid in enumerate(vids):
            d = start + dt.timedelta(days=40 * n)
            con.execute(
                "INSERT INTO visit_detail (visit_detail_id, person_id, visit_detail_concept_id, "
                "visit_detail_start_date, visit_detail_end_date, visit_detail_type_concept_id, "
                "visit_occurrence_id, care_site_id, visit_detail_source_value) "
                "VALUES (?, ?, 0, ?, ?, 0, ?, 8, ?)",
                [vid, pid, d, d, vid, f"unit-{vid}"],
            )
            con.execute(
                "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
                "measurement_date, measurement_datetime, measurement_time, "
                "measurement_type_concept_id, value_as_number, visit_occurrence_id, "
                "visit_detail_id, provider_id, measurement_source_value, unit_source_value, "
                "value_source_value, measurement_event_id, meas_event_field_concept_id) "
                "VALUES (?, ?, 3036277, ?, ?, '09:30', 0, 170, ?, ?, 7, 'LOINC:8302-2', 'cm', "
                "'170', ?, 9990001)",
                [vid, pid, d, dt.datetime.combine(d, dt.time(9, 30)), vid, vid, vid],
            )
            con.execute(
                "INSERT INTO observation (observation_id, person_id, observation_concept_id, "
                "observation_date, observation_type_concept_id, value_as_string, "
                "visit_occurrence_id, observation_source_value, value_source_value) "
                "VALUES (?, ?, 0, ?, 0, 'Never smoked', ?, 'LOINC:72166-2', 'SNOMED:266919005')",
                [vid, pid, d, vid],
            )
            con.execute(
                "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
                "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
                "sig, stop_reason, lot_number, visit_occurrence_id, drug_source_value) "
                "VALUES (?, ?, 0, ?, ?, 0, 'one tablet daily', NULL, 'LOT42', ?, "
                "'RxNorm:314076')",
                [vid, pid, d, d + dt.timedelta(days=30), vid],
            )
            con.execute(
                "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
                "procedure_concept_id, procedure_date, procedure_type_concept_id, "
                "visit_occurrence_id, procedure_source_value) VALUES (?, ?, 0, ?, 0, ?, "
                "'SNOMED:430193006')",
                [vid, pid, d, vid],
            )
            con.execute(
                "INSERT INTO note_nlp (note_nlp_id, note_id, snippet, lexical_variant, "
                "nlp_date, nlp_system) VALUES (?, ?, 'essential hypertension', "
                "'hypertension', ?, 'medmine')",
                [vid, vid, d],
            )
            claim, line = vid + 5_000_000, vid + 6_000_000
            con.execute(
                "INSERT INTO mm_claim (claim_id, person_id, claim_source_value, "
                "payer_source_value, billing_provider_id, billing_npi, claim_start_date, "
                "visit_occurrence_id, dx_1) VALUES (?, ?, ?, 'Medicaid', 7, '1234567893', ?, ?, "
                "'I10')",
                [claim, pid, f"acct-{p.mrn}-{n}", d, vid],
            )
            con.execute(
                "INSERT INTO mm_claim_line (claim_line_id, claim_id, line_number, person_id, "
                "service_date, procedure_code, procedure_display, rendering_provider_id) "
                "VALUES (?, ?, 1, ?, ?, '99213', 'Office visit', 7)",
                [line, claim, pid, d],
            )
            con.execute(
                "INSERT INTO cost (cost_id, cost_event_id, cost_domain_id, "
                "cost_type_concept_id, total_paid) VALUES (?, ?, 'mm_claim_line', 0, 80.5), "
                "(?, ?, 'Visit', 0, 100.0)",
                [line, line, vid * 7, vid],
            )
        con.execute(
            "INSERT INTO device_exposure (device_exposure_id, person_id, device_concept_id, "
            "device_exposure_start_date, device_type_concept_id, unique_device_id, "
            "device_source_value) VALUES (?, ?, 0, ?, 0, ?, 'SNOMED:705643001')",
            [pid, pid, start, f"(01)0088{pid}"],
        )
        con.execute(
            "INSERT INTO specimen (specimen_id, person_id, specimen_concept_id, "
            "specimen_type_concept_id, specimen_date, specimen_source_id) "
            "VALUES (?, ?, 0, 0, ?, ?)",
            [pid, pid, start, f"ACC-{p.mrn}"],
        )
        con.execute(
            "INSERT INTO payer_plan_period (payer_plan_period_id, person_id, "
            "payer_plan_period_start_date, payer_plan_period_end_date, payer_source_value, "
            "plan_source_value, sponsor_source_value, family_source_value) "
            "VALUES (?, ?, ?, DATE '2099-12-31', 'Blue Cross Blue Shield', '20001', "
            "'Acme Corp', ?)",
            [pid, pid, start, f"SUB{p.mrn}"],
        )
        con.execute(
            "INSERT INTO condition_era VALUES (?, ?, 320128, ?, ?, 3)",
            [pid, pid, start, start + dt.timedelta(days=80)],
        )
        con.execute(
            "INSERT INTO drug_era VALUES (?, ?, 0, ?, ?, 3, 0)",
            [pid, pid, start, start + dt.timedelta(days=110)],
        )
        con.execute(
            "INSERT INTO mm_person_link (cluster_id, person_id, source, run_id) "
            "VALUES (?, ?, 'fhir', 'link-1')",
            [pid, pid],
        )
        con.execute(
            "INSERT INTO mm_measurement_norm (measurement_id, person_id, loinc, status) "
            "VALUES (?, ?, '8302-2', 'ok')",
            [pid * 10, pid],
        )
    if people:
        con.execute(
            "INSERT INTO death (person_id, death_date) VALUES (?, DATE '2024-02-10')",
            [people[0].person_id],
        )
    if hostile:
        by_id = {p.person_id: hostile_text(p) for p in people}
        for spec in TABLES:
            for col, policy in TEXT_POLICY.get(spec.name, {}).items():
                if policy not in (Text.SCRUB, Text.NULL):
                    continue
                if spec.person_column:
                    for pid, text in by_id.items():
                        con.execute(
                            f'UPDATE "{spec.name}" SET "{col}" = ? '
                            f'WHERE "{spec.person_column}" = ?',
                            [text, pid],
                        )
                else:
                    con.execute(f'UPDATE "{spec.name}" SET "{col}" = ?', [hostile_text(people[0])])
    wh.close()
    return path
