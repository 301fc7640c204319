"""The recall-first rule (in the spirit of Philter): a word survives only if it is known to
be safe. Runs in the ``recall`` detection mode only.

For each word of the note (letters; words with digits are left to the id rules):

- a clinical word (shipped clinical terms, drug names, units, abbreviations, plus the
  warehouse's concept names when a context carries them) is safe;
- a census name that is not also an ordinary word ("Garcia", "Maria") is PHI when it is
  capitalised, or anywhere in a note written in lower case (portal messages);
- a name that is also an ordinary word ("Hope", "Will", "Brown") is PHI when capitalised
  inside a sentence, or next to another name;
- another capitalised word is PHI unless it is English (wordfreq, Zipf >= 3), a medical word
  (ICD-10-CM descriptions, drug names generic and brand: `_vocab.lexicon`) or a short
  upper-case abbreviation (up to 6 letters, "COPD");
- a lower-case word that is neither English nor clinical is PHI only in a lower-case note.

Eponyms keep their name when a clinical head word follows ("Wilson disease", "Bell's
palsy", "Smith fracture") or when joined by a hyphen to a clinical word ("Stevens-Johnson").
"""

from __future__ import annotations

import functools
import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Recognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers.census_name import (
    _CUE_AFTER,
    _CUE_BEFORE,
    _EPONYM_HEADS,
    _words,
)

_WORD = re.compile(r"(?<![^\W_])[^\W\d_]+(?:['’][^\W\d_]+)*(?![^\W_])")
_HEADS = _EPONYM_HEADS | _words(
    """palsy catheter score scale criteria fracture cyst blade drain tube stain smear test
    sign triad pentad nodes lesions spots murmur maneuver position point reflex syndrome
    disease class level thickness monitor incision technique suction reservoir dressing
    respiration breathing principle angina cardiomyopathy contracture lymphoma sarcoma
    anemia foot protein cells rods tear esophagus phenomenon thyroiditis encephalopathy
    disorder's disease's rings ring sinuses respirations respiration fingers biplane lift
    boot block pouch model models equation formula rule classification grade stage
    criteria protocol procedure operation repair flap stitch suture knot clamp forceps
    retractor needle line lines pump spots bodies body granules nodules node ulcer hernia
    fistula pad sheet chart curve score's wave waves balloon balance nomogram index
    maneuvre manoeuvre splint traction hood"""
)
#: An unknown capitalised word opening a sentence or line is safe from this Zipf frequency
#: on (below the English list's 3.0): sentences open with verbs and nouns more than names.
START_MIN_ZIPF = 2.5
#: Endings of derived English and medical words: an unknown capitalised word ending so is a
#: word ("Dysphagia", "Sulfonylurea", "Echocardiogram"), not a name. Names with these
#: endings are census names and are judged as names first.
_SUFFIXES = re.compile(
    r"(?:itis|ectomy|otomy|ostomy|plasty|scopy|scopic|gram|graphy|emia|aemia|uria|algia|"
    r"pathy|osis|oma|omas|phagia|plegia|paresis|trophy|lysis|cardia|pnea|ectasis|megaly|genic|"
    r"graphic|scopic|logical|metric|otic|ytic|atic|etic|hotic|stic|sepsis|esis|iasis|"
    r"ical|ative|itive|ular|ous|ing|tion|sion|ment|ness|ism|ize|ized|ise|ised|"
    r"ectal|ictal|urea|idine|azole|mycin|cillin|olol|pril|artan|statin|azepam|oxacin|"
    r"phagia|emia|uria|ase)$"
)
_SENTENCE_END = frozenset(".!?:;\n•*-–—#>|\t")
_NAME_GAP = re.compile(r"[ \t]*(?:,[ \t]*|[ \t]+[A-Z]\.[ \t]*|[ \t]+)?")


def _lowercase_note(text: str, words: list[re.Match[str]]) -> bool:
    """A note written without capitals (portal messages): under 3% of words capitalised."""
    if len(words) < 5:
        return False
    most = 0.03 * len(words)
    caps = 0
    for m in words:
        if m.group()[0].isupper():
            caps += 1
            if caps >= most:
                return False
    return caps < most


@RECOGNIZERS.register("allow_list")
class AllowListRecognizer(Recognizer):
    """Words not known to be safe (recall mode only)."""

    entities = (Entity.PATIENT, Entity.OTHER)
    recall_only = True

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:  # noqa: D102
        english = _vocab.english()
        clinical = _vocab.safe_clinical(ctx.safe_words)
        only, ambiguous = _vocab.name_words()
        words = list(_WORD.finditer(text))
        lower_note = _lowercase_note(text, words)
        flags: list[Entity | None] = [None] * len(words)
        amb_caps: list[bool] = [False] * len(words)
        kinds = _kinds(clinical)
        if len(kinds) > _KIND_CACHE_MAX:
            kinds.clear()
        strs = list(map(re.Match.group, words))
        for w in strs:
            if w not in kinds:
                kinds[w] = _kind(w, english, clinical, only, ambiguous)
        suspects = [i for i, w in enumerate(strs) if kinds[w] is not _SAFE]
        for i in suspects:
            m, w = words[i], strs[i]
            kind = kinds[w]
            cap = w[0].isupper()
            if kind is _ONLY or kind is _AMBIGUOUS:
                if _eponym(text, m.end(), clinical) or (cap and _named_thing(text, m)):
                    continue
                if kind is _ONLY:
                    prev = words[i - 1].group().lower() if i else ""
                    low = _base_word(w)
                    cued = prev in _GREETING_CUES or (low not in english and _cued(text, words, i))
                    if cap or lower_note or cued or _dash_signed(text, m):
                        flags[i] = Entity.PATIENT
                    continue
                if cap and not w.isupper():
                    amb_caps[i] = True
                    if not _sentence_start(text, m.start()) or _cued(text, words, i):
                        flags[i] = Entity.PATIENT
                continue
            if (
                (cap or lower_note)
                and _sentence_start(text, m.start())
                and _vocab.zipf(_base_word(w)) >= START_MIN_ZIPF
            ):
                continue  # a rarer word opening a sentence: "Resubmitted", "Recheck"
            if _DEVICE_AFTER.match(text, m.end()):
                continue  # a product name before what it names: "Micra AV pacemaker"
            if cap and _named_thing(text, m):
                continue  # "Aldrete 8", "Kayser-Fleischer rings", "3-0 Vicryl"
            if cap and _eponym(text, m.end(), clinical):
                continue  # an unknown eponym before its head word: "Bakri balloon"
            if cap or lower_note or _dash_signed(text, m):
                flags[i] = Entity.OTHER
        _spread(text, words, flags, amb_caps, clinical)
        return _spans(text, words, flags, self.name)


#: Device and product head words: an unknown word before one, with at most two model words
#: between (capitalised, with digits, "leadless", "insulin"...), is a brand or model name
#: ("Micra AV leadless pacemaker", "Omnipod 5 pump", "Libre 3 sensor"); "Kwame about the
#: pump" is not.
_DEVICE_AFTER = re.compile(
    r"(?:[ \t-]+(?:[A-Z0-9][\w/+.-]*|[a-z]+less|insulin|glucose|oxygen|cardiac)){0,2}?"
    r"[ \t-]+(?i:pacemaker|defibrillator|icd|crt-?d|lvad|pump|"
    r"cgm|sensor|monitor|meter|glucometer|catheter|stent|valve|implant|inhaler|nebulizer|"
    r"cpap|bipap|concentrator|ventilator|walker|wheelchair|rollator|cane|brace|splint|"
    r"prosthesis|graft|mesh|shunt|port|generator|stimulator|lead|leads|device|lens|pen|"
    r"autoinjector|patch|dressing|tube|sheath|wire|clip|coil|scope|scanner|hearing aid)s?\b"
)
#: What a word is, whatever its context (`_kind`): safe, a name only, a name that is also a
#: word, or unknown.
_SAFE, _ONLY, _AMBIGUOUS, _UNKNOWN = "safe", "only", "ambiguous", "unknown"
#: Kinds cached per word list past this many words are dropped (memory stays bounded).
_KIND_CACHE_MAX = 200_000


@functools.lru_cache(maxsize=8)
def _kinds(clinical: frozenset[str]) -> dict[str, str]:
    """Word -> kind, cached per safe-word list (most words of a note were seen before)."""
    return {}


def _base_word(w: str) -> str:
    low = w.lower()
    return low[:-2] if low.endswith(("'s", "’s")) else low


def _kind(
    w: str,
    english: frozenset[str],
    clinical: frozenset[str],
    only: frozenset[str],
    ambiguous: frozenset[str],
) -> str:
    """The context-free part of the allow-list rule for word `w`."""
    if len(w) < 2:
        return _SAFE
    low = _base_word(w)
    if low in clinical:
        return _SAFE
    if low in only:
        return _ONLY
    if low in ambiguous:
        return _AMBIGUOUS
    if low in english or low in _vocab.lexicon():
        return _SAFE
    if len(low) > 4 and low.endswith("s") and low[:-1] in clinical:
        return _SAFE  # a clinical word in the plural: "Apgars"
    if len(w) <= 6 and (w.isupper() or any(c.isupper() for c in w[1:])):
        return _SAFE  # abbreviation: COPD, DTaP, EtOH
    if _brand(w):
        return _SAFE  # a product name in camel case: "CoaguChek", "InterQual", "MyChart"
    if len(w) >= 7 and _SUFFIXES.search(low):
        return _SAFE  # a derived English or medical word: "Postictal", "Ambulating"
    return _UNKNOWN


#: Name prefixes before an inner capital ("DeAndre", "MacAllister", "LaShonda"): names,
#: not camel-case product names.
_NAME_PREFIXES = frozenset(
    """mc mac van von fitz de da di du la le el al ja ke ka ty tr sh st san santa del della
    dos das ter ten o""".split()  # noqa: SIM905
)
_CAMEL = re.compile(r"([A-Z][a-z]+)[A-Z]")


def _brand(w: str) -> bool:
    """A camel-case product name: a lower-case run then an inner capital, its first part
    an English word or three letters or more, and not a name prefix ("ResMed", "CareLink",
    "MyChart"; not "DeAndre", "McKenzie").
    """
    m = _CAMEL.match(w)
    if m is None or len(w) - m.end() < 2:
        return False
    head = m.group(1).lower()
    if head in _NAME_PREFIXES:
        return False
    return len(head) >= 3 or head in ("my", "go", "re", "up", "in", "on", "ez", "iq")


#: Name particles joined to a flagged name ("Pieter van der Berg", "Omar al Masri").
_PARTICLES = frozenset(
    [
        "van",
        "der",
        "den",
        "de",
        "la",
        "le",
        "du",
        "von",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "das",
        "bin",
        "ibn",
        "al",
        "el",
        "ter",
        "ten",
        "st",
    ]
)
#: Title-case words never pulled into a name or place by a flagged neighbour.
_NO_SPREAD = frozenset(
    """the a an and or of in at on to for with by from is was are were be has had have he she
    his her they their this that these those patient pt dr mr mrs ms miss md do rn np pa
    mother father mom dad son daughter wife husband brother sister aunt uncle
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()  # noqa: SIM905
)
_GAP_WORD = re.compile(r"[ \t]|[ \t]?-[ \t]?|\.[ \t]")
#: Between the words of a name: also a nickname's quotes ('Curtis "Red" Maddox').
_GAP_NAME = re.compile(
    r"[ \t]|[ \t]?-[ \t]?|\.[ \t]|,[ \t]|[ \t]\(|\)[ \t]|[ \t][\"“‘']|[\"”’'][ \t]"
)


def _spread(
    text: str,
    words: list[re.Match[str]],
    flags: list[Entity | None],
    amb_caps: list[bool],
    clinical: frozenset[str],
) -> None:
    """Grow flagged words over their neighbours on the same line, in place: capitalised
    words ("Kaweah Health", "Matsumoto-Reyes", "Lake Orion"), initials ("Kyle D.
    Hesketh", "T. Greenhalgh") and name particles ("van der Berg").
    """
    n = len(words)
    if all(f is None for f in flags):
        return
    # what each word may take from a neighbour does not change: worked out once, when the
    # word first has a flagged neighbour
    joins: list[tuple[bool, bool] | bool | None] = [None] * n
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if flags[i] is not None or not (
                (i > 0 and flags[i - 1] is not None) or (i + 1 < n and flags[i + 1] is not None)
            ):
                continue
            join = joins[i]
            if join is None:
                join = joins[i] = _joins(text, words[i], amb_caps[i], clinical)
            if join is False:
                continue
            particle, eponym = join
            for j in (i - 1, i + 1):
                if not 0 <= j < len(words) or flags[j] is None:
                    continue
                a, b = (j, i) if j < i else (i, j)
                gap = text[words[a].end() : words[b].start()]
                name = flags[j] is Entity.PATIENT
                if (_GAP_NAME if name else _GAP_WORD).fullmatch(gap) is None:
                    continue
                if gap.startswith(".") and len(words[a].group()) > 1:
                    continue  # a sentence ends here; only an initial takes a dot
                if (particle or eponym) and not name:
                    continue
                if particle and not _flagged_beyond(words, flags, i, j):
                    continue
                flags[i] = flags[j]
                changed = True
                break


def _joins(
    text: str, m: re.Match[str], amb_cap: bool, clinical: frozenset[str]
) -> tuple[bool, bool] | bool:
    """False if word `m` never joins a flagged neighbour, else (particle, eponym)."""
    w = m.group()
    low = w.lower()
    initial = len(w) == 1 and w.isupper()
    particle = low in _PARTICLES
    title = w[0].isupper() and not (w.isupper() and len(w) > 1)
    if not (initial or particle or title) or (low in _NO_SPREAD and not initial):
        return False
    eponym = not (initial or particle) and low in clinical and not amb_cap
    if eponym and not (low in _vocab.all_names() and not _eponym(text, m.end(), clinical)):
        return False
    return particle, eponym


def _flagged_beyond(words: list[re.Match[str]], flags: list[Entity | None], i: int, j: int) -> bool:
    """A particle joins only a name that continues on its other side ("van der Berg")."""
    k = i + (i - j)
    while 0 <= k < len(words) and words[k].group().lower() in _PARTICLES:
        k += i - j
    return 0 <= k < len(words) and words[k].group()[0].isupper()


def _spans(
    text: str, words: list[re.Match[str]], flags: list[Entity | None], name: str
) -> list[Span]:
    """One span per run of flagged words of one type joined by a space, hyphen or initial
    dot on one line (an initial keeps its dot).
    """
    out: list[Span] = []
    for m, e in zip(words, flags, strict=True):
        if e is None:
            continue
        start, end = m.start(), m.end()
        if len(m.group()) == 1 and text[end : end + 1] == ".":
            end += 1
        last = out[-1] if out else None
        if (
            last is not None
            and last.entity is e
            and re.fullmatch(r"[ \t]|[ \t]?-[ \t]?", text[last.end : start])
        ):
            out[-1] = Span(last.start, end, e, 0.5, name)
        else:
            out.append(Span(start, end, e, 0.5, name))
    return out


#: A score value or class after a word: "Aldrete 8", "Apfel 3", "Hinchey III", "Forrest
#: IIa", "Brunnstrom stage III" (not an age: "Ana 34F", "Ruiz 34 yo").
_SCORE_AFTER = re.compile(
    r"(?:[ \t]+(?:stage|grade|class|type|score|scale))?[ \t]+(?:\d{1,2}(?:\.\d)?|"
    r"(?:I{1,3}|IV|V|VI{0,3})[abcABC]?|[A-D](?=[ \t]*[,;)\n]|[ \t]+(?:fracture|fx|injury|lesion)))"
    r"(?![\w/:-]|\.\d|[ \t]*(?:yo|y/o|y\.o|years?|yrs?|[MF]\b|%))"
)


#: A capitalised word just before (a given name): "River Delacroix 14" is a name and age.
_NAME_LEFT = re.compile(r"[A-Z][a-z]+[ \t]$")


#: A suture size before a capitalised word: a suture brand ("3-0 Vicryl", "0 Prolene").
_SUTURE_BEFORE = re.compile(r"(?<![\w/.])(?:\d-0|0)[ \t]+$")


def _named_thing(text: str, m: re.Match[str]) -> bool:
    """A capitalised word that names a score, class, eponym pair or suture, not a person:
    "Aldrete 8", "Hinchey III", "Forrest IIa", "Kayser-Fleischer rings",
    "(Cockcroft-Gault)", "3-0 Vicryl".
    """
    left = text[max(0, m.start() - 30) : m.start()]
    if _SCORE_AFTER.match(text, m.end()) and not _NAME_LEFT.search(left):
        return True
    if _SUTURE_BEFORE.search(left):
        return True
    return _eponym_pair(text, m)


def _eponym_pair(text: str, m: re.Match[str]) -> bool:
    """Two capitalised words joined by a hyphen that no name or title precedes, followed by
    a lower-case word or a closing bracket: an eponym ("Kayser-Fleischer rings",
    "Cheyne-Stokes respirations", "(Tyrer-Cuzick)"), not "Dr. Hsu-Alvarez" or
    "Ruth Abernathy-Sloane".
    """
    a, b = m.start(), m.end()
    pair = _PAIR.match(text, a) or _PAIR_END.search(text, max(0, a - 30), b)
    if pair is None or not (pair.start() <= a and b <= pair.end()):
        return False
    before = text[max(0, pair.start() - 24) : pair.start()]
    if _NAME_BEFORE.search(before):
        return False
    return _PAIR_AFTER.match(text, pair.end()) is not None


_PAIR = re.compile(r"[A-Z][a-z]+(?:['’]s)?-[A-Z][a-z]+(?:['’]s)?")
_PAIR_END = re.compile(r"[A-Z][a-z]+(?:['’]s)?-[A-Z][a-z]+(?:['’]s)?(?![\w])")
#: A title, a label or a capitalised (given) name right before a double-barrelled name.
_NAME_BEFORE = re.compile(
    r"(?:\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?|[A-Z][a-z]+|:|\bby|\bwith|\bto|\bfrom|\bcc|"
    r"\bper|\band)[ \t]*\(?[ \t]*$"
)
_PAIR_AFTER = re.compile(r"(?:[ \t]+[a-z]{3,}|\)|[ \t]+(?:\d|(?:I{1,3}|IV|V|VI{0,3})\b))")


def _dash_signed(text: str, m: re.Match[str]) -> bool:
    """The word opens a dash signature line ("-mika s", "- RBT")."""
    return (
        re.search(r"(?:^|\n)[ \t]*[-–—~][ \t]*$", text[max(0, m.start() - 8) : m.start()])
        is not None
    )


def _cued(text: str, words: list[re.Match[str]], i: int) -> bool:
    """A person cue next to word `i` ("Hope called", "wife Rose")."""
    nxt = words[i + 1].group().lower() if i + 1 < len(words) else ""
    prev = words[i - 1].group().lower() if i > 0 else ""
    return nxt in _CUE_AFTER or prev in _CUE_BEFORE or prev in _GREETING_CUES


#: Words before a first name in messages ("hey nurse becky", "hi maria").
_GREETING_CUES = frozenset(
    ["hi", "hey", "hello", "dear", "nurse", "doctor", "dr", "thanks", "thank", "from", "love"]
)


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END or text[i].isdigit()


def _eponym(text: str, end: int, clinical: frozenset[str]) -> bool:
    """A clinical head word (or a hyphenated clinical word) follows the name at `end`."""
    rest = text[end : end + 40]
    m = re.match(r"(?:['’]s?)?(?:-[^\W\d_]+)*[ \t-]+([^\W\d_]+)", rest)
    if not m:
        return False
    nxt = m.group(1).lower()
    if rest.startswith("-") and (nxt in clinical or nxt in _vocab.name_words()[0]):
        return True
    return nxt in _HEADS
