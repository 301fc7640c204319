"""Word lists of the recall-first mode: what is known to be safe (English vocabulary from
`wordfreq`, the shipped clinical terms, drug names, units and abbreviations) and which words
are person names (US Census 1990 first names and surnames from the `names` package).

Loaded once per process (about 0.3 s) and cached.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

#: English words at or above this Zipf frequency (wordfreq's scale: 3.0 = once per million
#: words) are safe unless they are names; rarer capitalised words are suspect.
ENGLISH_MIN_ZIPF = 3.0
#: A census surname this frequent in English text is also an ordinary word ("Brown",
#: "Young", "Hill"): suspect only when capitalised inside a sentence.
SURNAME_COMMON_ZIPF = 4.3
#: Census surnames are names up to this rank (of 88,799; the tail holds ordinary words).
SURNAME_MAX_RANK = 40_000
#: A surname past this rank that is also an English word ("drain", "stain") is a word.
SURNAME_WORD_RANK = 5_000
#: A first name past this rank that is also an English word ("colon", "brain") is a word.
FIRST_WORD_RANK = 1_000
#: Names this common (first-name or surname rank) are not made safe by a clinical term
#: they name (Smith fracture, Wilson disease): the eponym rule keeps them before a head word.
COMMON_NAME_RANK = 500

_TOKEN = re.compile(r"[^\W_]+")


@functools.cache
def english() -> frozenset[str]:
    """Lower-case English words at or above `ENGLISH_MIN_ZIPF` (about 30,000)."""
    from wordfreq import get_frequency_dict

    floor = 10 ** (ENGLISH_MIN_ZIPF - 9)
    return frozenset(w for w, f in get_frequency_dict("en").items() if f >= floor and w.isalpha())


@functools.lru_cache(maxsize=65_536)
def zipf(word: str) -> float:
    """Wordfreq's Zipf frequency of `word` in English (0 when unknown)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


@functools.cache
def clinical() -> frozenset[str]:
    """Lower-case tokens of the shipped clinical terms (``data/clinical_terms.csv``), less
    very common names (rank <= `COMMON_NAME_RANK`: "smith", "wilson", "bell").
    """
    from medmine.privacy.phi_text.recognizers.census_name import first_names, surnames

    first, last = first_names(), surnames()
    toks = {t.lower() for term in clinical_terms() for t in _TOKEN.findall(term)}
    toks |= _read_words("clinical_words.csv")
    return frozenset(
        t
        for t in toks
        if min(first.get(t.upper(), 10**6), last.get(t.upper(), 10**6)) > COMMON_NAME_RANK
    )


@functools.cache
def lexicon() -> frozenset[str]:
    """Medical words beyond English: ICD-10-CM descriptions and drug names, generic and brand
    (``data/clinical_lexicon.csv``, made by ``bench/phi_text_lexicon.py``; census names and
    US place words left out). Judged after names: a name stays a name.
    """
    return frozenset(_read_words("clinical_lexicon.csv"))


@functools.lru_cache(maxsize=8)
def safe_clinical(extra: frozenset[str]) -> frozenset[str]:
    """`clinical` plus the warehouse's `extra` safe words (one union per word list, cached:
    every note of a warehouse shares the same list).
    """
    return clinical() | extra if extra else clinical()


def _read_words(name: str) -> set[str]:
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / name
    rows = [r.strip() for r in path.read_text(encoding="utf-8").splitlines()]
    return {r.lower() for r in [r for r in rows if r and not r.startswith("#")][1:]}


@functools.cache
def clinical_terms() -> tuple[str, ...]:
    """The shipped clinical terms, drug names, eponyms, abbreviations and units."""
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / "clinical_terms.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return tuple(rows[1:])  # the first row is the header "term"


@functools.cache
def name_words() -> tuple[frozenset[str], frozenset[str]]:
    """(names only, names that are also common words), lower case.

    Names are census first names and surnames up to `SURNAME_MAX_RANK`; a name is also a
    common word when it is in the census stop list (Will, Hope, Rose...) or is a surname
    at or above `SURNAME_COMMON_ZIPF` in English text.
    """
    from wordfreq import get_frequency_dict

    from medmine.privacy.phi_text.recognizers.census_name import (
        first_names,
        stop_words,
        surnames,
    )

    freq = get_frequency_dict("en")
    common_floor = 10 ** (SURNAME_COMMON_ZIPF - 9)
    stop = stop_words()
    eng = english()
    firsts = {
        n.lower()
        for n, r in first_names().items()
        if not (r > FIRST_WORD_RANK and n.lower() in eng)
    }
    lasts = {
        n.lower()
        for n, r in surnames().items()
        if r <= SURNAME_MAX_RANK and not (r > SURNAME_WORD_RANK and n.lower() in eng)
    }
    ambiguous = {w for w in firsts | lasts if w in stop}
    ambiguous |= {w for w in lasts - firsts if freq.get(w, 0.0) >= common_floor}
    ambiguous -= clinical()
    only = (firsts | lasts) - ambiguous - clinical()
    return frozenset(w for w in only if len(w) > 1), frozenset(ambiguous)


@functools.cache
def all_names() -> frozenset[str]:
    """Every census first name and surname up to `SURNAME_MAX_RANK`, lower case (clinical
    eponyms included: "parkinson", "foley").
    """
    from medmine.privacy.phi_text.recognizers.census_name import first_names, surnames

    firsts = {n.lower() for n in first_names()}
    return frozenset(firsts | {n.lower() for n, r in surnames().items() if r <= SURNAME_MAX_RANK})
