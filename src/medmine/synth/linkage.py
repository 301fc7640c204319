"""Synthetic identity records with known duplicates, for measuring patient linkage.

Each true person (an *entity*) appears in one to three sources with typical errors: typos,
nicknames, day and month swapped, a move (new address, city and ZIP), a new phone, missing
fields. Households (people sharing family name, address and phone) give hard non-matches.
Names, nicknames and places come from small built-in lists; every value is synthetic.

>>> rows, truth = make_identities(50, seed=1)
>>> len(rows) == len(truth) and len(set(truth.values())) == 50
True
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HARSH_RATES",
    "NICKNAMES",
    "ErrorRates",
    "NamePools",
    "make_identities",
    "name_pools_from",
]

GIVEN_F = (  # noqa: SIM905  (word lists read better as text)
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa "
    "margaret betty sandra ashley dorothy kimberly emily donna michelle carol amanda melissa "
    "deborah stephanie rebecca laura sharon cynthia kathleen amy shirley angela helen anna "
    "brenda pamela nicole samantha katherine christine emma ruth julie olivia victoria "
    "abigail frances alexandra"
).split()
GIVEN_M = (  # noqa: SIM905  (word lists read better as text)
    "james robert john michael david william richard joseph thomas charles christopher daniel "
    "matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy "
    "ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin "
    "scott brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry "
    "henry lawrence"
).split()
FAMILY = (  # noqa: SIM905  (word lists read better as text)
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris "
    "sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen "
    "hill flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez "
    "phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy "
    "cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox "
    "ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
    "alvarez castillo sanders patel myers long ross foster jimenez"
).split()
STREETS = (  # noqa: SIM905  (word lists read better as text)
    "main oak pine maple cedar elm washington lake hill park view sunset river church spring "
    "north south highland forest meadow"
).split()
SUFFIXES = ("st", "ave", "rd", "ln", "dr", "ct", "way")
CITIES = (
    ("boston", "02"),
    ("worcester", "01"),
    ("springfield", "01"),
    ("cambridge", "02"),
    ("lowell", "01"),
    ("quincy", "02"),
    ("newton", "02"),
    ("salem", "01"),
)
SOURCES = ("ehr_a", "ehr_b", "claims")
#: The nickname a duplicate record uses for a given name. The generator keeps its own list (it
#: may not import the quality stage); tests/quality/test_linkage.py checks that the matcher's
#: nickname table knows every pair, so linkage is not measured on nicknames it cannot know.
NICKNAMES = {
    "william": "billy", "elizabeth": "lizzie", "robert": "bobby", "james": "jamie",
    "michael": "mick", "katherine": "kathy", "thomas": "tommy", "richard": "rich",
    "margaret": "meg", "joseph": "joey", "anthony": "tony", "daniel": "danny", "david": "dave",
    "samuel": "sam", "susan": "susie", "christopher": "chris", "christine": "chris",
    "jennifer": "jenny", "alexander": "alex", "alexandra": "alex", "andrew": "drew",
    "benjamin": "ben", "edward": "ted", "francis": "frank", "frances": "fran",
    "gregory": "greg", "john": "johnny", "jonathan": "jon", "lawrence": "larry",
    "matthew": "matt", "nicholas": "nick", "patricia": "patty", "patrick": "pat",
    "steven": "steve", "stephen": "steve", "victoria": "tori", "abigail": "abby",
    "rebecca": "becky", "deborah": "deb", "catherine": "cathy", "ronald": "ron",
    "donald": "don", "kenneth": "ken", "charles": "chuck", "henry": "harry",
}  # fmt: skip


@dataclass(frozen=True)
class NamePools:
    """Given names by sex and family names the generator draws from."""

    given_female: tuple[str, ...] = tuple(GIVEN_F)
    given_male: tuple[str, ...] = tuple(GIVEN_M)
    family: tuple[str, ...] = tuple(FAMILY)


def name_pools_from(wh: Any) -> NamePools:
    """Name pools seeded from the identities in a warehouse (for example the FHIR sample).

    Digits (Synthea appends numbers to names) and case are removed; the names only seed the
    in-memory generator and are never written out.
    """
    rows = wh.con.execute(
        "SELECT lower(regexp_replace(given_name, '[^A-Za-z]', '', 'g')) AS g, "
        "lower(regexp_replace(family_name, '[^A-Za-z]', '', 'g')) AS f, lower(sex) AS s "
        "FROM mm_person_identity WHERE given_name IS NOT NULL AND family_name IS NOT NULL"
    ).fetchall()
    fem = tuple(sorted({g for g, _f, s in rows if g and s in ("female", "f")}))
    male = tuple(sorted({g for g, _f, s in rows if g and s not in ("female", "f")}))
    fam = tuple(sorted({f for _g, f, _s in rows if f}))
    if not (fem and male and fam):
        raise ValueError("the warehouse has too few identities to seed name pools")
    return NamePools(fem, male, fam)


@dataclass(frozen=True)
class ErrorRates:
    """Probability of each kind of error in a duplicate record."""

    typo_given: float = 0.10
    typo_family: float = 0.10
    nickname: float = 0.15
    swap_day_month: float = 0.05
    dob_typo: float = 0.03
    moved: float = 0.15
    new_phone: float = 0.20
    missing_phone: float = 0.15
    missing_email: float = 0.30
    missing_address: float = 0.10
    missing_sex: float = 0.05
    household: float = 0.15  # share of entities living with another entity


#: Harsh error rates: every kind of error two to three times as often, more households.
HARSH_RATES = ErrorRates(
    typo_given=0.3, typo_family=0.3, nickname=0.3, swap_day_month=0.15, dob_typo=0.1,
    moved=0.4, new_phone=0.5, missing_phone=0.3, missing_email=0.6, missing_address=0.3,
    missing_sex=0.1, household=0.3,
)  # fmt: skip


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s) - 1)
    kind = rng.choice(("sub", "del", "ins", "swap"))
    letters = "abcdefghijklmnopqrstuvwxyz"
    if kind == "sub":
        return s[:i] + rng.choice(letters) + s[i + 1 :]
    if kind == "del":
        return s[:i] + s[i + 1 :]
    if kind == "ins":
        return s[:i] + rng.choice(letters) + s[i:]
    return s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :]


def _address(rng: random.Random) -> dict[str, str]:
    city, prefix = rng.choice(CITIES)
    return {
        "address_line": f"{rng.randint(1, 999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}",
        "city": city,
        "state": "MA",
        "zip": prefix + f"{rng.randint(0, 999):03d}",
    }


def _phone(rng: random.Random) -> str:
    return f"{rng.choice(('617', '508', '781', '413'))}{rng.randint(2000000, 9999999)}"


def _entity(
    rng: random.Random, i: int, household: dict[str, Any] | None, names: NamePools
) -> dict[str, Any]:
    sex = rng.choice(("female", "male"))
    given = rng.choice(names.given_female if sex == "female" else names.given_male)
    born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 85))
    e: dict[str, Any] = {"given_name": given, "sex": sex, "birth_date": born}
    if household:
        e.update({k: household[k] for k in ("family_name", "address_line", "city", "state",
                                             "zip", "phone")})  # fmt: skip
    else:
        e["family_name"] = rng.choice(names.family)
        e.update(_address(rng))
        e["phone"] = _phone(rng)
    e["email"] = f"{given}.{e['family_name']}{i}@example.org"
    return e


def _variant(rng: random.Random, e: dict[str, Any], r: ErrorRates) -> dict[str, Any]:
    v = dict(e)
    if rng.random() < r.nickname and v["given_name"] in NICKNAMES:
        v["given_name"] = NICKNAMES[v["given_name"]]
    elif rng.random() < r.typo_given:
        v["given_name"] = _typo(rng, v["given_name"])
    if rng.random() < r.typo_family:
        v["family_name"] = _typo(rng, v["family_name"])
    b: dt.date = v["birth_date"]
    if rng.random() < r.swap_day_month and b.day <= 12 and b.day != b.month:
        v["birth_date"] = b.replace(month=b.day, day=b.month)
    elif rng.random() < r.dob_typo:
        v["birth_date"] = b + dt.timedelta(days=rng.choice((-1, 1, 10, -10)))
    if rng.random() < r.moved:
        v.update(_address(rng))
    if rng.random() < r.new_phone:
        v["phone"] = _phone(rng)
    for key, p in (("phone", r.missing_phone), ("email", r.missing_email)):
        if rng.random() < p:
            v[key] = None
    if rng.random() < r.missing_address:
        v["address_line"] = None
    if rng.random() < r.missing_sex:
        v["sex"] = None
    return v


def _styled(rng: random.Random, v: dict[str, Any]) -> dict[str, Any]:
    """Formatting noise every source adds (case, phone punctuation)."""
    out = dict(v)
    for k in ("given_name", "family_name", "city"):
        if out.get(k):
            out[k] = rng.choice((str.title, str.upper, str.lower))(out[k])
    p = out.get("phone")
    if p and rng.random() < 0.5:
        out["phone"] = f"({p[:3]}) {p[3:6]}-{p[6:]}"
    return out


def make_identities(
    n_entities: int = 1000,
    *,
    seed: int = 0,
    rates: ErrorRates | None = None,
    names: NamePools | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Identity rows for ``mm_person_identity`` and the truth ``{source:person_id: entity}``.

    Each entity gets a record in one to three sources (weights 40/40/20 %); records of one
    entity get distinct person ids, as different systems would assign.
    """
    rng = random.Random(seed)
    r = rates or ErrorRates()
    rows: list[dict[str, Any]] = []
    truth: dict[str, int] = {}
    entities: list[dict[str, Any]] = []
    next_id = 1
    for i in range(n_entities):
        household = entities[rng.randrange(len(entities))] if entities and rng.random() < (
            r.household
        ) else None  # fmt: skip
        e = _entity(rng, i, household, names or NamePools())
        entities.append(e)
        k = rng.choices((1, 2, 3), weights=(40, 40, 20))[0]
        for j, source in enumerate(rng.sample(SOURCES, k)):
            v = e if j == 0 else _variant(rng, e, r)
            row = _styled(rng, v)
            row.update({"person_id": next_id, "source": source})
            rows.append(row)
            truth[f"{source}:{next_id}"] = i
            next_id += 1
    return rows, truth
