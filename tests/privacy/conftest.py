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
    monkeypatch.setenv("MEDMINE_DEID_KEY", "test-key-not-secret")
    return "test-key-not-secret"
