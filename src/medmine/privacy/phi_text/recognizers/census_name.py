"""Person names with no title or warehouse entry ("Bernard fell at home"), recognised as US
Census 1990 first names (the `names` package's ``dist.male.first`` / ``dist.female.first``),
optionally followed by a census surname (``dist.all.last``).

Precision rules: words that are also common English, clinical or drug words
(``phi_text/data/census_name_stop.csv``: Will, Rose, Hope, Bill, Mark, Ella...) are never
flagged; eponyms ("Allen test", "Wilson's disease", "Stevens-Johnson") and place or facility
names ("Dale City", "St. Rose Hospital") are skipped, as is anything in square brackets or in a
coded display string ("... (disorder)"). A first name alone is flagged only if it is common
(rank <= ``BARE_MAX_RANK``) or sits next to a name cue ("wife", "Mr", "fell", "says"...).
Scores (0.55-0.7) stay below the warehouse deny-list (0.95) and the title rules (0.9).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata

from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, LOWER, UPPER

#: A first name alone (no surname, no cue) is flagged only up to this census rank.
BARE_MAX_RANK = 400
#: Surnames are joined to a first name only up to this census rank (of 88,799).
SURNAME_MAX_RANK = 40_000


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


_TOKEN = re.compile(rf"(?<![\w'-]){UPPER}{LOWER}{{2,}}(?![\w-])")
_NEXT = re.compile(rf"(?:'s)?[ \t]+(?:(?P<mi>{UPPER})\.[ \t]+)?(?P<w>{LETTER}[\w'-]*)")
_PREV = re.compile(rf"(?P<w>{LETTER}+)\.?[ \t,]*$")
_SURNAME = re.compile(rf"{UPPER}{LOWER}+(?:[-'](?:{UPPER})?{LOWER}+)?")
_SEMANTIC_TAGS = (
    r"finding|disorder|situation|procedure|substance|qualifier value|observable entity|"
    r"regime/therapy|organism|product|morphologic abnormality|body structure"
)
#: Bracketed text, and coded display strings ("... (disorder)"): no names in there.
_PROTECTED = re.compile(rf"\[[^\]\n]*\]|[^.;:\n()]{{0,80}}\((?:{_SEMANTIC_TAGS})\)")
_TAG = re.compile(rf"\((?:{_SEMANTIC_TAGS})\)")
_BRACKET = re.compile(r"\[[^\]\n]*\]")
_SEPS = ".;:\n()"


def protected_spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``_PROTECTED.finditer(text)``, found from the semantic tags and brackets
    alone (a scan of ``_PROTECTED`` tries up to 80 characters at every position).

    A display-string match ends at a tag ``(finding)`` at `r` and may start anywhere from
    `cur` (the end of the previous match), 80 characters before `r` or just after the last
    separator before it, whichever is latest; the scan takes the leftmost start, a bracket
    first on a tie.
    """
    tags = [(m.start(), m.end()) for m in _TAG.finditer(text)]
    # every '[' that closes on its line may start a match (nested ones too)
    brackets = []
    pos = text.find("[")
    while pos >= 0:
        if (m := _BRACKET.match(text, pos)) is not None:
            brackets.append(m.span())
        pos = text.find("[", pos + 1)
    out: list[tuple[int, int]] = []
    cur = ti = bi = 0
    while True:
        while bi < len(brackets) and brackets[bi][0] < cur:
            bi += 1
        while ti < len(tags) and tags[ti][0] < cur:
            ti += 1
        b_start = brackets[bi][0] if bi < len(brackets) else None
        t_start = None
        if ti < len(tags):
            r = tags[ti][0]
            lo = max(cur, r - 80, max(text.rfind(c, 0, r) for c in _SEPS) + 1)
            t_start = lo if lo <= r else None
            if t_start is None:  # a separator lies between: no match for this tag
                ti += 1
                continue
        if b_start is None and t_start is None:
            return out
        if t_start is None or (b_start is not None and b_start <= t_start):
            out.append(brackets[bi])
        else:
            out.append((t_start, tags[ti][1]))
        cur = out[-1][1]


#: Words after which a capitalised word is an eponym or a place, not a person here.
_EPONYM_HEADS = _words(
    """disease syndrome palsy sign signs test tests maneuver manoeuvre score scale criteria
    classification procedure operation fracture catheter monitor position tube cyst esophagus
    lymphoma sarcoma tumor tumour reflex phenomenon ulcer node nodes hernia disorder anomaly
    ataxia dystrophy chorea encephalopathy neuralgia neuroma method technique protocol rule
    stage staging grade index formula equation law type"""
)
_PLACE_HEADS = _words(
    """City County Hospital Clinic Center Centre Medical Health Healthcare Street St Ave Avenue
    Road Rd Drive Lane Ln Boulevard Blvd Way Court Ct Place Park Heights Springs Beach Valley
    University College School Pharmacy Family Care Memorial General Associates Group Practice
    Institute Foundation Lake Mountain River Falls Hills Village Township Home Manor House
    Nursing Rehab Rehabilitation Urgent Regional Community Children Women Pediatrics Surgery
    Orthopedics Cardiology Oncology Dental Labs Laboratory Insurance Plan Mutual Deaconess
    Presbyterian Baptist Methodist Lutheran Episcopal Sinai"""
)
_PLACE_BEFORE = _words(
    "St Saint San Santa Fort Ft Mount Mt Lake Port New North South East West Upper Lower"
)
#: Words around a first name that make it a person (lower-cased comparison).
_PROCEDURE = re.compile(r"[a-z]+(?:ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy|lysis)", re.I)
_CUE_BEFORE = _words(
    """mr mrs ms miss mx dr patient pt wife husband son daughter mother father sister brother
    spouse partner friend caregiver guardian neighbor neighbour niece nephew aunt uncle
    grandson granddaughter grandmother grandfather and with named called"""
)
_CUE_AFTER = _words(
    """says said reports reported states stated fell falls visited visits was is has had and
    called calls came comes went lives lived denies denied presented presents complains
    complained returns returned attended attends arrived arrives feels felt notes noted tells
    told wants wanted asked asks agrees agreed declined declines refused refuses walked walks
    lost died passed brought stopped dropped picked drove phoned texted emailed messaged
    requested requests needs needed wanted wishes wished thinks thought knows knew"""
)


@functools.lru_cache(maxsize=65536)
def ascii_upper(word: str) -> str:
    """`word` upper-cased without accents ("Désirée" -> "DESIREE"), as the census lists are."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().upper()


def _read_census(name: str) -> dict[str, int]:
    text = (importlib.resources.files("names") / name).read_text(encoding="ascii")
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out[parts[0]] = int(parts[3])
    return out


@functools.cache
def first_names() -> dict[str, int]:
    """Upper-cased census first name -> best rank over the male and female lists."""
    out = _read_census("dist.male.first")
    for n, r in _read_census("dist.female.first").items():
        out[n] = min(r, out.get(n, r))
    return out


@functools.cache
def surnames() -> dict[str, int]:
    """Upper-cased census surname -> rank."""
    return _read_census("dist.all.last")


@functools.cache
def stop_words() -> frozenset[str]:
    """Lower-cased words never flagged (common English, clinical and drug words)."""
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / "census_name_stop.csv"
    rows = [r for r in path.read_text(encoding="utf-8").splitlines() if r and r[0] != "#"]
    return frozenset(r.split(",")[0].strip().lower() for r in rows[1:])


@RECOGNIZERS.register("census_name")
class CensusNameRecognizer(Recognizer):
    """Capitalised census first names (plus a following census surname) outside clinical text."""

    entities = (Entity.PATIENT,)

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        first, last, stop = first_names(), surnames(), stop_words()
        protected = protected_spans(text)
        out: list[Span] = []
        for m in _TOKEN.finditer(text):
            s, e = m.span()
            if out and s < out[-1].end:  # the surname of the previous span
                continue
            word = m.group()
            rank = first.get(ascii_upper(word))
            if rank is None or word.lower() in stop:
                continue
            if any(a <= s < b for a, b in protected):
                continue
            nxt = _NEXT.match(text, e)
            nword = nxt.group("w") if nxt else ""
            if nword.lower() in _EPONYM_HEADS or nword in _PLACE_HEADS:
                continue
            if _PROCEDURE.fullmatch(nword):
                continue
            prev = _PREV.search(text, max(0, s - 30), s)
            pword = prev.group("w") if prev else ""
            if pword in _PLACE_BEFORE and not text[prev.start() : s].rstrip().endswith(","):
                continue
            if (
                nxt is not None
                and text[e : e + 2] != "'s"
                and _SURNAME.fullmatch(nword)
                and nword.lower() not in stop
                and nword not in _PLACE_HEADS
                and last.get(ascii_upper(nword), SURNAME_MAX_RANK + 1) <= SURNAME_MAX_RANK
                and not (nxt.end() < len(text) and text[nxt.end()] == "-")
            ):
                after = _NEXT.match(text, nxt.end())
                aword = after.group("w") if after else ""
                if not (
                    aword in _PLACE_HEADS
                    or aword.lower() in _EPONYM_HEADS
                    or _PROCEDURE.fullmatch(aword)
                ):
                    out.append(Span(s, nxt.end(), Entity.PATIENT, 0.7, self.name))
                continue
            if pword.lower() in _CUE_BEFORE or nword.lower() in _CUE_AFTER:
                out.append(Span(s, e, Entity.PATIENT, 0.65, self.name))
            elif rank <= BARE_MAX_RANK:
                out.append(Span(s, e, Entity.PATIENT, 0.55, self.name))
        return out
