"""The terminology: concept names and synonyms from the warehouse's `concept` (and
`concept_synonym`) tables, display texts of source codes (`mm_source_concept`) and the curated
lexicon, indexed by normalised token sequences for longest-match lookup, with one-edit fuzzy
matching of long single words (SymSpell-style deletion index).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from medmine.nlp._text import TOKEN_RE, norm
from medmine.nlp.lexicon import lexicon_entries


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


#: Short surfaces that are also common English words: matched only when written in capitals.
CAPS_ONLY = _words(
    """as us ms mr si hi ca hd ot pet pap pad mono sat k na cr ef lp ra pe bp ct hb cap ana af
    vt ams loc sob ha bg ck cp rf ua tee ns cast tele dm ca pt gad cold sab ida bv gc ssi"""
)
#: Concept names never matched on their own (too generic to name a clinical concept).
STOP_NAMES = _words(
    """no none yes left right other unknown history test tests result finding findings problem
    disease disorder procedure medication medications drug drugs normal abnormal present
    absent patient person family condition symptom symptoms and or the a an of in on at to
    for with time day week month year date level levels value score scale total type status
    note plan care visit encounter clinic office home hospital admission discharge follow up
    check assessment evaluation review screening exam examination therapy treatment well
    good fair poor stable improved change increase decrease high low positive negative mild
    moderate severe acute chronic active complete partial first second new old one two three
    does lasting hearing radiating white blood contrast peanut injection"""
)
#: Semantic tags of SNOMED fully specified names -> OMOP domain.
_TAG_DOMAIN = {
    "disorder": "Condition",
    "finding": "Condition",
    "situation": "Observation",
    "procedure": "Procedure",
    "regime/therapy": "Procedure",
    "observable entity": "Measurement",
    "substance": "Drug",
    "product": "Drug",
    "medicinal product": "Drug",
    "clinical drug": "Drug",
    "morphologic abnormality": "Condition",
    "event": "Observation",
}
_VOCAB_DOMAIN = {
    "RxNorm": "Drug",
    "CVX": "Drug",
    "LOINC": "Measurement",
    "ICD10CM": "Condition",
    "ICD9CM": "Condition",
    "CPT4": "Procedure",
    "HCPCS": "Procedure",
}
_TAG = re.compile(r"\s*\(([a-z /]+)\)\s*$")
_DOMAINS = ("Condition", "Observation", "Drug", "Procedure", "Measurement", "Device")


@dataclass(frozen=True)
class Term:
    """One entry: what a matched token sequence names."""

    name: str
    domain: str
    concept_id: int = 0
    source: str | None = None  # "vocabulary:code" for source codes without a concept id
    negative: bool = False  # a lexical negative ("afebrile" names fever, absent)
    caps_only: bool = False


@dataclass
class Terminology:
    """Normalised token tuple -> Term, with a fuzzy index of long single-word terms."""

    entries: dict[tuple[str, ...], Term] = field(default_factory=dict)
    max_len: int = 1
    _fuzzy: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, surface: str, term: Term, *, origin: str, overwrite: bool = False) -> bool:
        """Index ``surface`` (tokenised, normalised); returns whether it was added."""
        key = tuple(norm(t) for t in TOKEN_RE.findall(surface))
        if not key or key in self.entries and not overwrite:
            return False
        if len(key) == 1 and (key[0] in STOP_NAMES or len(key[0]) < 2 or key[0].isdigit()):
            return False
        if all(k in STOP_NAMES for k in key):
            return False
        self.entries[key] = term
        self.max_len = max(self.max_len, len(key))
        self.sources[origin] = self.sources.get(origin, 0) + 1
        if len(key) == 1 and len(key[0]) >= 7:
            w = key[0]
            for i in range(len(w)):
                self._fuzzy.setdefault(w[:i] + w[i + 1 :], key)
        return True

    def fuzzy(self, word: str) -> tuple[str, ...] | None:
        """Key of a single-word term within one edit (delete/insert/substitute) of ``word``."""
        if len(word) < 7 or not word.isalpha():
            return None
        hit = self._fuzzy.get(word)  # the word lacks one letter of a term
        if hit:
            return hit
        for i in range(len(word)):
            d = word[:i] + word[i + 1 :]
            if len(d) >= 7 and (d,) in self.entries:  # the word has one letter too many
                return (d,)
            hit = self._fuzzy.get(d)  # one letter substituted (same deletion on both)
            if hit:
                return hit
        return None

    def lookup(self, surface: str) -> Term | None:
        """The term a surface text names (exact normalised key, else one-edit fuzzy), or None.

        >>> curated().lookup("DVTs").name
        'deep vein thrombosis'
        """
        key = tuple(norm(t) for t in TOKEN_RE.findall(surface or ""))
        if not key:
            return None
        term = self.entries.get(key)
        if term is None and len(key) == 1:
            fk = self.fuzzy(key[0])
            term = self.entries.get(fk) if fk else None
        return term

    @property
    def fingerprint(self) -> str:
        """Short hash of the indexed entries (part of the pipeline version)."""
        h = hashlib.sha256()
        for k in sorted(self.entries):
            t = self.entries[k]
            h.update(
                f"{' '.join(k)}\t{t.name}\t{t.domain}\t{t.concept_id}\t{t.negative}\n".encode()
            )
        return h.hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.entries)


def clean_name(name: str) -> tuple[str, str | None]:
    """Concept name without its SNOMED semantic tag, and the domain the tag implies.

    >>> clean_name("Acute bronchitis (disorder)")
    ('Acute bronchitis', 'Condition')
    """
    m = _TAG.search(name)
    if m:
        return name[: m.start()].strip(), _TAG_DOMAIN.get(m.group(1))
    return name.strip(), None


def _usable(name: str) -> bool:
    # long drug strings ("Acetaminophen 325 MG Oral Tablet") and free-text displays are not names
    n = len(TOKEN_RE.findall(name))
    return 0 < n <= 6 and not re.search(r"\d+\s*(mg|ml|mcg|unt|hr)\b", name, re.I)


def curated() -> Terminology:
    """A terminology holding the curated lexicon only."""
    t = Terminology()
    _add_curated(t, overwrite=True)
    return t


def _add_curated(t: Terminology, *, overwrite: bool) -> None:
    for surface, preferred, domain, neg in lexicon_entries():
        key = tuple(norm(x) for x in TOKEN_RE.findall(surface))
        caps = len(key) == 1 and key[0] in CAPS_ONLY
        t.add(
            surface,
            Term(preferred, domain, negative=neg, caps_only=caps),
            origin="curated",
            overwrite=overwrite,
        )
        if not neg:  # the preferred name is a surface too ("pneumonia" for "PNA")
            t.add(preferred, Term(preferred, domain), origin="curated")


def build_terminology(
    concepts: Iterable[tuple[Any, str, str]] = (),
    synonyms: Iterable[tuple[Any, str]] = (),
    source_displays: Iterable[tuple[str, str, str | None]] = (),
) -> Terminology:
    """Build the terminology: curated lexicon first (it wins on conflicts: it knows its
    abbreviations), then concept names, synonyms and source-code displays.

    Parameters
    ----------
    concepts
        ``(concept_id, concept_name, domain_id)`` rows.
    synonyms
        ``(concept_id, concept_synonym_name)`` rows.
    source_displays
        ``(vocabulary_id, code, display)`` rows of `mm_source_concept`.
    """
    t = curated()
    by_id: dict[int, Term] = {}
    for cid, name, domain in concepts:
        if not name:
            continue
        cname, tag_domain = clean_name(str(name))
        dom = domain if domain in _DOMAINS else tag_domain
        if dom is None:
            continue
        term = Term(cname.lower(), dom, concept_id=int(cid))
        by_id[int(cid)] = term
        if _usable(cname):
            t.add(cname, term, origin="concept")
    for cid, syn in synonyms:
        base = by_id.get(int(cid))
        if base and syn:
            sname, _ = clean_name(str(syn))
            if _usable(sname):
                t.add(sname, base, origin="concept_synonym")
    for vocab, code, display in source_displays:
        if not display:
            continue
        dname, tag_domain = clean_name(str(display))
        dom = tag_domain or _VOCAB_DOMAIN.get(str(vocab))
        if dom is None or not _usable(dname):
            continue
        t.add(dname, Term(dname.lower(), dom, source=f"{vocab}:{code}"), origin="source_display")
    # link curated names to concept ids where the warehouse has the same name
    by_name = {v.name: v for v in by_id.values()}
    for k, v in list(t.entries.items()):
        if v.concept_id == 0 and v.source is None and v.name in by_name:
            c = by_name[v.name]
            t.entries[k] = Term(v.name, v.domain, c.concept_id, None, v.negative, v.caps_only)
    return t


def terminology_from_duckdb(con: Any, *, upper: bool = False) -> Terminology:
    """Build the terminology from a DuckDB connection holding `concept` (and optionally
    `concept_synonym` and `mm_source_concept`) tables; ``upper`` for upper-case column names
    (the Eunomia file).
    """

    def q(sql: str) -> list[tuple[Any, ...]]:
        try:
            return con.execute(sql).fetchall()
        except Exception:  # table absent in this database: that source adds nothing
            return []

    c = (lambda s: s.upper()) if upper else (lambda s: s)
    concepts = q(
        f"SELECT {c('concept_id')}, {c('concept_name')}, {c('domain_id')} FROM {c('concept')} "
        f"WHERE {c('domain_id')} IN ('Condition','Observation','Drug','Procedure','Measurement')"
    )
    syns = q(f"SELECT {c('concept_id')}, {c('concept_synonym_name')} FROM {c('concept_synonym')}")
    src = q("SELECT vocabulary_id, code, display FROM mm_source_concept")
    return build_terminology(concepts, syns, src)
