"""Build `NoteContext` deny-lists from the warehouse: each person's identity rows and
identifiers, plus clinician, facility and city names known anywhere in the warehouse; and the
safe words of the recall-first mode (the warehouse's concept names and code display texts).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from medmine.privacy.phi_text._model import NoteContext

_ID_COLS = ("phone", "email", "ssn", "mrn", "drivers_license", "passport")
_TITLES = {"Dr", "Mr", "Mrs", "Ms", "Miss", "Prof", "MD", "DO", "RN", "NP", "PhD"}


def _split_name(v: str | None) -> set[str]:
    if not v:
        return set()
    out = {v.strip()}
    out |= {p.strip(".,") for p in v.split() if len(p.strip(".,")) >= 2}
    return out - {"Dr", "Mr", "Mrs", "Ms", "Miss", "MD", "Jr", "Sr", "II", "III"}


def shared_context(con: Any) -> NoteContext:
    """Deny-lists that apply to every note: clinicians, facilities and known cities."""
    ctx = NoteContext()
    for (name,) in con.execute(
        "SELECT DISTINCT provider_name FROM provider WHERE provider_name IS NOT NULL"
    ).fetchall():
        # Full names only: single surnames ("Brown", "White") are too often ordinary words;
        # "Dr. Brown" is caught by the name_context recognizer.
        full = " ".join(w for w in name.split() if w.strip(".") not in _TITLES)
        if len(full.split()) >= 2:
            ctx.clinician_names.add(full)
    # Payers loaded as organisations are not facilities and appear in notes ("has Medicaid").
    for (name,) in con.execute(
        "SELECT DISTINCT care_site_name FROM care_site WHERE care_site_name IS NOT NULL "
        "AND care_site_name NOT IN (SELECT payer_source_value FROM payer_plan_period "
        "WHERE payer_source_value IS NOT NULL UNION SELECT payer_source_value FROM mm_claim "
        "WHERE payer_source_value IS NOT NULL)"
    ).fetchall():
        ctx.facilities.add(name)
    for (city,) in con.execute(
        "SELECT DISTINCT city FROM location WHERE city IS NOT NULL UNION "
        "SELECT DISTINCT city FROM mm_person_identity WHERE city IS NOT NULL"
    ).fetchall():
        ctx.cities.add(city)
    ctx.safe_words = vocabulary_words(con)
    return ctx


def vocabulary_words(con: Any) -> frozenset[str]:
    """Lower-case words (3+ letters) of the warehouse's concept names and source-code display
    texts, less person names (census first names and surnames): safe words of the
    recall-first scrubber.
    """
    from medmine.privacy.phi_text import _vocab

    rows = con.execute(
        "SELECT DISTINCT w FROM (SELECT unnest(regexp_split_to_array(lower(concept_name), "
        "'[^a-z]+')) AS w FROM concept UNION ALL SELECT unnest(regexp_split_to_array("
        "lower(display), '[^a-z]+')) AS w FROM mm_source_concept WHERE display IS NOT NULL) "
        "WHERE length(w) >= 3"
    ).fetchall()
    names = _vocab.all_names()
    return frozenset(w for (w,) in rows if w not in names)


def person_contexts(con: Any, person_ids_sql: str | None = None) -> dict[int, NoteContext]:
    """One `NoteContext` per person with identity data (own names, address, identifiers)."""
    where = f"WHERE person_id IN ({person_ids_sql})" if person_ids_sql else ""
    ctxs: dict[int, NoteContext] = defaultdict(NoteContext)
    cols = ", ".join(["given_name", "family_name", "address_line", "city", "zip", *_ID_COLS])
    for row in con.execute(f"SELECT person_id, {cols} FROM mm_person_identity {where}").fetchall():
        pid, given, family, street, city, zip_, *ids = row
        c = ctxs[int(pid)]
        c.person_names |= _split_name(given) | _split_name(family)
        if street:
            c.streets.add(street)
        if city:
            c.cities.add(city)
        if zip_:
            c.zips.add(zip_)
        c.ids |= {v for v in ids if v}
    for pid, value in con.execute(
        "SELECT row_id, value FROM mm_identifier WHERE table_name = 'person'"
        + (f" AND row_id IN ({person_ids_sql})" if person_ids_sql else "")
    ).fetchall():
        if value and len(value) >= 4:
            ctxs[int(pid)].ids.add(value)
    return dict(ctxs)


def merged(shared: NoteContext, own: NoteContext | None, **extra: Any) -> NoteContext:
    """A note's context: the shared lists plus the person's own."""
    own = own or NoteContext()
    return NoteContext(
        person_names=own.person_names,
        clinician_names=shared.clinician_names | own.clinician_names,
        streets=own.streets | shared.streets,
        cities=own.cities | shared.cities,
        zips=own.zips | shared.zips,
        ids=own.ids | shared.ids,
        facilities=shared.facilities | own.facilities,
        safe_words=shared.safe_words | own.safe_words,
        **extra,
    )
