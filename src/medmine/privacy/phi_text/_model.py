"""Value objects joining detection and transformation: entity types, spans, note context."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

#: Placeholder dates that stand for "open-ended" or "unknown", not a day of someone's life:
#: date operators keep them as written (a shifted 2099-12-31 would give the offset away).
DEFAULT_SENTINEL_DATES: frozenset[dt.date] = frozenset(
    {dt.date(2099, 12, 31), dt.date(9999, 12, 31), dt.date(2999, 12, 31), dt.date(1900, 1, 1)}
)


class Entity(enum.StrEnum):
    """PHI entity types found in text."""

    PATIENT = "PATIENT"
    CLINICIAN = "CLINICIAN"
    DATE = "DATE"
    AGE = "AGE"  # ages over 89 only
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    SSN = "SSN"
    ID = "ID"  # MRN, account, plan, licence, device, vehicle and other record numbers
    STREET = "STREET"
    CITY = "CITY"
    ZIP = "ZIP"
    URL = "URL"
    IP = "IP"
    FACILITY = "FACILITY"
    OTHER = "OTHER"  # recall mode: a word not known to be safe


#: Entity -> coarse class used for evaluation and tags.
ENTITY_CLASS: dict[Entity, str] = {
    Entity.PATIENT: "NAME",
    Entity.CLINICIAN: "NAME",
    Entity.DATE: "DATE",
    Entity.AGE: "AGE",
    Entity.PHONE: "CONTACT",
    Entity.FAX: "CONTACT",
    Entity.EMAIL: "CONTACT",
    Entity.URL: "CONTACT",
    Entity.IP: "CONTACT",
    Entity.SSN: "ID",
    Entity.ID: "ID",
    Entity.STREET: "LOCATION",
    Entity.CITY: "LOCATION",
    Entity.ZIP: "LOCATION",
    Entity.FACILITY: "LOCATION",
    Entity.OTHER: "OTHER",
}


@dataclass(frozen=True)
class Span:
    """A detected PHI span: ``text[start:end]`` is of type `entity` with `score` in [0, 1]."""

    start: int
    end: int
    entity: Entity
    score: float
    recognizer: str = ""

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class NoteContext:
    """What the warehouse already knows about the note's person (high-precision deny-lists).

    Values here are PHI: they are used for matching only, never logged.
    """

    person_names: set[str] = field(default_factory=set)
    clinician_names: set[str] = field(default_factory=set)
    streets: set[str] = field(default_factory=set)
    cities: set[str] = field(default_factory=set)
    zips: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)  # phone, email, ssn, mrn, licence, passport...
    facilities: set[str] = field(default_factory=set)
    date_shift_days: int | None = None  # expert mode: the person's offset
    surrogate_seed: str = ""  # makes surrogates consistent per person
    #: Safe Harbor, person over 89: every date (and bare year) becomes this one year.
    aggregate_year: int | None = None
    #: Expert mode, person over 89: shifted dates earlier than this are raised to it.
    date_floor: dt.date | None = None
    #: Placeholder dates ("open-ended" 2099-12-31...) kept as written: never shifted.
    sentinel_dates: frozenset[dt.date] = DEFAULT_SENTINEL_DATES
    #: Recall mode: more lower-case words known to be safe (the warehouse's concept names).
    safe_words: frozenset[str] = frozenset()
    #: Numeric dates with both parts <= 12 read day first (set per text by the scrubber).
    day_first: bool | None = None
