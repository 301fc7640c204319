"""Syndrome definitions: concept sets over conditions, observations, visits and note mentions.

A syndrome names, per domain, OMOP concept ids and source codes by vocabulary. A source code
matches a row's ``*_source_value`` with or without a ``VOCAB:`` prefix (``J10.1`` and
``ICD10CM:J10.1``), and through the ``concept`` table its standard concept id; a code ending
in ``*`` is a prefix (``J10*``). Only concept ids listed in the OMOP vocabulary are used here
(never invented ones): the defaults rely mainly on codes.

Default definitions (ILI, GI, respiratory, rash) follow the CDC/ESSENCE syndrome categories
and the ICD-10 ranges of the CDC "Syndrome definitions for diseases associated with critical
bioterrorism-associated agents" (2003), reduced to what EHR problem lists code:

* ILI: influenza (ICD-10 J09-J11; SNOMED 6142004), fever (R50; 386661006) and cough
  (R05; 49727002), acute viral pharyngitis (195662009);
* GI: infectious gastroenteritis and diarrhoea (A00-A09, K52, R19.7; 25374005, 62315008),
  nausea and vomiting (R11; 422587007, 422400008);
* respiratory: acute upper and lower respiratory infections (J00-J22, U07.1; pneumonia
  233604007, acute bronchitis 10509002, sinusitis and pharyngitis 444814009, 195662009,
  43878008, COVID-19 840539006);
* rash: rash and exanthems (R21, B01-B09; 271807003, 38907003 varicella, 14189004 measles).

User definitions are YAML or JSON with the same shape::

    name: ILI
    description: influenza-like illness
    conditions: {concept_ids: [4266367], codes: {ICD10CM: ["J09*", "J10*"], SNOMED: ["6142004"]}}
    observations: {codes: {LOINC: ["..."]}}
    visits: {concept_ids: [9203]}
    notes: {codes: {SNOMED: ["6142004"]}}   # affirmed mentions in note_nlp

The defaults also count affirmed note mentions (``note_nlp``) of their condition concepts.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medmine.errors import ConfigError

DOMAINS = ("conditions", "observations", "visits", "notes")


@dataclass(frozen=True)
class ConceptSet:
    """Concept ids and source codes (by vocabulary; ``*`` suffix = prefix) of one domain."""

    concept_ids: tuple[int, ...] = ()
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the set selects nothing."""
        return not self.concept_ids and not any(self.codes.values())


@dataclass(frozen=True)
class Syndrome:
    """A named syndrome: one concept set per domain."""

    name: str
    description: str = ""
    conditions: ConceptSet = field(default_factory=ConceptSet)
    observations: ConceptSet = field(default_factory=ConceptSet)
    visits: ConceptSet = field(default_factory=ConceptSet)
    notes: ConceptSet = field(default_factory=ConceptSet)


def _cs(concept_ids: tuple[int, ...] = (), **codes: tuple[str, ...]) -> ConceptSet:
    return ConceptSet(tuple(concept_ids), {k: tuple(v) for k, v in codes.items()})


#: Default syndromes (see the module docstring for their sources).
DEFAULT_SYNDROMES: dict[str, Syndrome] = {
    "ILI": Syndrome(
        "ILI",
        "Influenza-like illness: influenza, fever, cough, acute viral pharyngitis",
        conditions=_cs(
            (4112343,),
            ICD10CM=("J09*", "J10*", "J11*", "R50*", "R05*"),
            SNOMED=("6142004", "386661006", "49727002", "195662009"),
        ),
    ),
    "GI": Syndrome(
        "GI",
        "Gastrointestinal: infectious gastroenteritis, diarrhoea, nausea and vomiting",
        conditions=_cs(
            ICD10CM=("A0*", "K52*", "R19.7", "R11*"),
            SNOMED=("25374005", "62315008", "422587007", "422400008", "235595009"),
        ),
    ),
    "respiratory": Syndrome(
        "respiratory",
        "Acute respiratory infection: upper and lower tract, pneumonia, COVID-19",
        conditions=_cs(
            (260139, 4112343, 255848),
            ICD10CM=("J0*", "J1*", "J20*", "J21*", "J22*", "U07.1"),
            SNOMED=(
                "10509002",
                "195662009",
                "233604007",
                "444814009",
                "43878008",
                "840539006",
                "36971009",
            ),
        ),
    ),
    "rash": Syndrome(
        "rash",
        "Rash and exanthems: rash, varicella, measles and other viral exanthems",
        conditions=_cs(
            ICD10CM=("R21*", "B01*", "B02*", "B03*", "B04*", "B05*", "B06*", "B08*", "B09*"),
            SNOMED=("271807003", "38907003", "14189004", "36653000"),
        ),
    ),
}


#: The defaults also count affirmed note mentions of their condition concepts.
DEFAULT_SYNDROMES = {
    k: dataclasses.replace(v, notes=v.conditions) for k, v in DEFAULT_SYNDROMES.items()
}


def _concept_set(raw: Any, where: str) -> ConceptSet:
    if raw is None:
        return ConceptSet()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with concept_ids and/or codes")
    unknown = set(raw) - {"concept_ids", "codes"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; use concept_ids, codes")
    ids = raw.get("concept_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and i > 0 for i in ids):
        raise ConfigError(f"{where}.concept_ids: expected a list of positive integers")
    codes = raw.get("codes") or {}
    if not isinstance(codes, dict):
        raise ConfigError(f"{where}.codes: expected a mapping vocabulary -> list of codes")
    out: dict[str, tuple[str, ...]] = {}
    for vocab, values in codes.items():
        if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
            raise ConfigError(f"{where}.codes.{vocab}: expected a list of codes")
        cleaned = tuple(str(v).strip() for v in values if str(v).strip())
        if any(c == "*" or "*" in c[:-1] for c in cleaned):
            raise ConfigError(f"{where}.codes.{vocab}: '*' is allowed only at the end of a code")
        out[str(vocab)] = cleaned
    return ConceptSet(tuple(ids), out)


def parse_syndrome(raw: Any, where: str = "syndrome") -> Syndrome:
    """A `Syndrome` from a parsed YAML/JSON mapping (errors name the key at fault)."""
    if not isinstance(raw, dict) or not str(raw.get("name", "")).strip():
        raise ConfigError(f"{where}: expected a mapping with a non-empty 'name'")
    unknown = set(raw) - {"name", "description", *DOMAINS}
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; use name, description, "
            + ", ".join(DOMAINS)
        )
    name = str(raw["name"]).strip()
    sets = {d: _concept_set(raw.get(d), f"{where} {name!r}.{d}") for d in DOMAINS}
    if all(s.empty for s in sets.values()):
        raise ConfigError(f"{where} {name!r}: selects nothing; give concept_ids or codes")
    return Syndrome(name, str(raw.get("description", "")), **sets)


def load_syndromes(path: str | Path) -> dict[str, Syndrome]:
    """Syndromes from a YAML or JSON file: one mapping, or a list of them."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p.name}: not valid {p.suffix.lstrip('.').upper()} ({exc})") from None
    items = raw if isinstance(raw, list) else [raw]
    out: dict[str, Syndrome] = {}
    for i, item in enumerate(items):
        s = parse_syndrome(item, f"{p.name} item {i + 1}")
        if s.name in out:
            raise ConfigError(f"{p.name}: syndrome {s.name!r} is defined twice")
        out[s.name] = s
    return out


def get_syndrome(name: str, extra: dict[str, Syndrome] | None = None) -> Syndrome:
    """A user-defined or default syndrome by name (case-insensitive for defaults)."""
    pool = {**DEFAULT_SYNDROMES, **(extra or {})}
    for key, s in pool.items():
        if key == name or key.lower() == name.lower():
            return s
    raise ConfigError(f"unknown syndrome {name!r}; choose one of: {', '.join(pool)}")
