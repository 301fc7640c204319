"""ConText (Harkema et al. 2009, J Biomed Inform 42:839): modifiers of concept mentions from
trigger phrases and their scope inside a sentence.

A trigger has a category (negated, historical, hypothetical, uncertain, an experiencer, a
pseudo-trigger that blocks others, or a terminator) and a direction. Its scope runs from the
trigger to the sentence edge, stopped early by a terminator ("but", "however", "which", ";",
"reports") and by a window of tokens. Pseudo-triggers ("no increase in", "not only", "gram
negative", "cannot rule out" for negation) are matched first and hide the shorter triggers
inside them. Implemented on plain Python regular expressions (see docs/nlp.md for why not
medspaCy).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum


class Cat(StrEnum):
    """Trigger category."""

    NEG = "negated"
    HIST = "historical"
    HYPO = "hypothetical"
    UNC = "uncertain"
    EXP = "experiencer"
    PSEUDO = "pseudo"
    TERM = "terminate"


F, B, BI = "forward", "backward", "bidirectional"

# (phrases separated by "|", category, direction, window in tokens, value)
_RULES: list[tuple[str, Cat, str, int, str]] = [
    # pseudo-triggers: look like a trigger, modify nothing
    (
        r"no increase|no significant increase|no change|no significant change|no interval change|"
        r"no significant interval change|not only|gram negative|gram-negative|not without|"
        r"not due to|not caused by|not necessarily|no longer than|not certain whether|"
        r"without difficulty|not drain|negative predictive|no growth to date|"
        r"history of present illness|family history of present|year old|years old|yr old|"
        r"y/o|yo|month old|months old|week old|day old|old age|negative predictive value",
        Cat.PSEUDO,
        F,
        0,
        "",
    ),
    # double negation of ruling out: uncertain, not negated
    (
        r"cannot rule out|can't rule out|cant rule out|can not rule out|cannot r/o|can't r/o|"
        r"not ruled out|not been ruled out|not excluded|not been excluded|unable to exclude|"
        r"cannot exclude|can't exclude|cannot be excluded|can not be excluded|"
        r"cannot be ruled out|could not rule out|difficult to exclude",
        Cat.UNC,
        BI,
        8,
        "",
    ),
    # negation
    (
        r"no|not|denies|denied|deny|denying|without|w/o|negative for|neg for|free of|"
        r"absence of|absent|neither|nor|no evidence of|no signs of|no sign of|"
        r"nothing to suggest|fails to reveal|failed to reveal|no evidence for|ruled out for|"
        r"resolution of|no further|no longer|refuses|refused|declines|declined|did not receive|"
        r"didn't receive|not receiving|not on|not taking|off of|"
        r"no known|no new|non|has not had|hasn't had|did not have|not have|"
        r"doesn't have|does not have|rather than|instead of|no recurrence of",
        Cat.NEG,
        F,
        14,
        "",
    ),
    (
        r"ruled out|was ruled out|is ruled out|were ruled out|negative|neg|is negative|"
        r"was negative|were negative|not seen|not present|is absent|are absent|was absent|"
        r"free|denied|not identified|not visualized|not appreciated|not demonstrated|"
        r"has resolved|have resolved",
        Cat.NEG,
        B,
        4,
        "",
    ),
    # historical
    (
        r"history of|hx of|h/o|hx|pmh of|pmh|psh|pmhx|past medical history of|"
        r"past history of|s/p|status post|previously|"
        r"childhood|past|prior history of|personal history of|had a|was diagnosed with|"
        r"no longer taking|stopped taking|stopped|used to have|"
        r"did not tolerate|didn't tolerate|intolerant of|resolved|recovered from",
        Cat.HIST,
        F,
        8,
        "",
    ),
    (
        r"in [12][09]\d\d|years ago|year ago|months ago|as a child|in the past|last year|"
        r"last winter|last summer|last spring|last fall|last month|resolved|previously|"
        r"in childhood|as a teenager|remotely|decades ago|at age \d+|in his \d0s|in her \d0s|"
        r"in their \d0s",
        Cat.HIST,
        B,
        6,
        "",
    ),
    # hypothetical / conditional
    (
        r"if|should|in case of|in case|in the event of|return for|call for|seek care for|"
        r"return to the ed for|come back for|return precautions for|"
        r"risk of|risk for|at risk|at high risk|at increased risk|to prevent|prevention of|"
        r"prophylaxis against|prophylaxis for|watch for|monitor for|monitoring for|signs of|"
        r"symptoms of|warning signs|counseled on|counselled on|counseled about|educated on|"
        r"precautions for|would consider|to rule|whether|unless|to reduce the risk of|"
        r"to decrease risk of|screen for|screening for|evaluate for|assess for|for any|"
        r"return precautions given for|return precautions|teaching done re|educated about|"
        r"education on|evaluation for any|go to the ed for|go to ed for",
        Cat.HYPO,
        F,
        12,
        "",
    ),
    (
        r"prophylaxis|ppx|precautions|risk|risk factors?|if needed|if worse|if worsens|"
        r"if it recurs|if recurs|if persists|if persistent",
        Cat.HYPO,
        B,
        2,
        "",
    ),
    # uncertain
    (
        r"possible|possibly|probable|probably|likely|suspect|suspected|suspicious for|"
        r"suspicion for|suspicion of|presumed|presumptive|concern for|concerning for|"
        r"worrisome for|worrisome|r/o|rule out|query|questionable|equivocal|borderline|"
        r"indeterminate|may represent|may be|may have|might have|might be|could be|could represent|"
        r"suggestive of|suggests|differential includes|differential diagnosis includes|ddx|"
        r"differential|low suspicion for|low suspicion of|doubt|doubtful|unlikely|unsure whether|"
        r"unsure if|unclear whether|unclear if|not sure if|not sure whether|cannot rule|"
        r"questionably|apparent|versus|vs\.?|or possibly|consider|considering|"
        r"\?",
        Cat.UNC,
        F,
        8,
        "",
    ),
    (
        r"likely|suspected|unlikely|is possible|is suspected|vs\.?|versus|\?|less likely|"
        r"more likely|is unlikely|is favored|not excluded|is questionable|is a consideration|"
        r"is considered",
        Cat.UNC,
        B,
        6,
        "",
    ),
    # experiencers (value = who)
    (r"mother|mom|mum|maternal grandmother|mother's|mom's", Cat.EXP, BI, 8, "mother"),
    (r"father|dad|father's|dad's", Cat.EXP, BI, 8, "father"),
    (
        r"brother|sister|sibling|siblings|twin|brothers|sisters|half-brother|half-sister",
        Cat.EXP,
        BI,
        8,
        "sibling",
    ),
    (
        r"grandmother|grandfather|grandparent|grandparents|aunt|uncle|cousin|niece|nephew|"
        r"son|daughter|sons|daughters|children|grandson|granddaughter|grandchild|"
        r"grandchildren|parents|both parents|family history of|family history|fh of|fh|fhx|"
        r"family hx|family member|family members|relative|relatives|maternal|paternal|"
        r"family h/o|fam hx|strong family history of",
        Cat.EXP,
        BI,
        8,
        "relative",
    ),
    (
        r"spouse|husband|wife|partner|girlfriend|boyfriend|roommate|roommates|coworker|"
        r"coworkers|co-worker|co-workers|classmate|classmates|daycare|contacts|contact|"
        r"friend|friends|neighbor|neighbour|caregiver|sick contacts|sick contact",
        Cat.EXP,
        BI,
        8,
        "other",
    ),
    # terminators
    (
        r"but|however|although|though|which|except|aside from|apart from|yet|"
        r"presents with|presenting with|presented with|reports|reported|endorses|endorsed|"
        r"does endorse|positive for|complains of|c/o|admits to|notes|now with|now has|"
        r"currently|who|with new|secondary to|due to|;|still has|continues to have|"
        r"patient has|pt has|she has|he has|remains|given|since|while|on|after|prior to|"
        r"in the setting of|started on|starting|related to|from|because of",
        Cat.TERM,
        BI,
        0,
        "",
    ),
]

# rules added while tuning on the development half (docs/nlp.md)
_RULES += [
    ("stop|discontinue|discontinued|d/c|avoid|avoiding|hold off on", Cat.NEG, F, 6, "drug"),
    ("never had|never been|never", Cat.NEG, F, 10, "+historical"),
    (r"[12][09]\d\d", Cat.HIST, B, 2, ""),
    ("last|recent|recently", Cat.HIST, F, 2, ""),
    (r"prn|as needed for|as needed|p\.r\.n\.", Cat.HYPO, F, 3, ""),
    ("prior|previous|remote|old|healed|former", Cat.HIST, F, 3, ""),
    ("p/w|despite|in spite of", Cat.TERM, BI, 0, ""),
    (
        "may reflect|may indicate|could reflect|might represent|not necessarily|not diagnostic for|"
        "not diagnostic of|possible",
        Cat.UNC,
        F,
        8,
        "",
    ),
    ("possible|possibly", Cat.UNC, B, 3, ""),
    (
        "not currently on|not on any|not currently taking|abstain from|abstinence from",
        Cat.NEG,
        F,
        8,
        "",
    ),
    ("not required|not needed|deferred|declined|refused|not indicated|not done", Cat.NEG, B, 3, ""),
    ("negative", Cat.NEG, F, 4, "finding"),
]

_EXP_PSEUDO = re.compile(
    r"\b(?:per|by|from|according to|with)\s+(?:the\s+)?(?:pt'?s\s+|patient'?s\s+|his\s+|her\s+)?"
    r"(?:mother|mom|father|dad|daughter|son|wife|husband|spouse|partner|family|parents?|"
    r"sister|brother|caregiver)\b|\b(?:mother|mom|father|dad|daughter|son|wife|husband|spouse|"
    r"partner|family|parents?|caregiver|sister|brother)\s+(?:reports?|states?|says|notes|"
    r"denies|endorses|is concerned|was concerned|concerned|brought|brings|called|calls|"
    r"thinks|noticed|notices|at bedside|present|who|gives)\b"
)


@dataclass(frozen=True)
class Trigger:
    """One trigger found in a sentence."""

    start: int
    end: int
    cat: Cat
    direction: str
    window: int
    value: str


#: Trigger tokens: words (keeping "h/o", "r/o", "can't"), ";" and "?".
_TRIGGER_TOKEN = re.compile(r"[a-z0-9]+(?:[/'][a-z0-9]+)*|[;?]")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DECADE = re.compile(r"\d0s")
#: Regular-expression pieces of the rule phrases -> the token class they stand for.
_CLASSES = {r"[12][09]\d\d": "<year>", r"\d0s": "<decade>", r"\d+": "<num>"}


def _token_class(tok: str) -> str:
    if tok.endswith(("'s", "\u2019s")):  # possessive: "sister's" -> "sister"
        return tok[:-2]
    if tok.isdigit():
        return "<year>" if len(tok) == 4 and _YEAR.fullmatch(tok) else "<num>"
    if _DECADE.fullmatch(tok):
        return "<decade>"
    return tok


def _phrase_key(phrase: str) -> tuple[str, ...]:
    words = []
    for w in phrase.split(" "):
        if w in _CLASSES:
            words.append(_CLASSES[w])
            continue
        w = w.replace("\\.?", "").replace("\\.", ".").replace("\\?", "?")
        if w.endswith("s?") and len(w) > 2:  # "factors?": the plural is folded below
            w = w[:-2] + "s"
        words += _TRIGGER_TOKEN.findall(w.replace("\\", "")) if w != "?" else ["?"]
    return tuple(words)


_Rule = tuple[Cat, str, int, str]


def _compile() -> tuple[dict[tuple[str, ...], _Rule], int]:
    """Phrase (token tuple) -> (category, direction, window, value); the first rule listing a
    phrase wins, except that a phrase listed both forward and backward in one category is
    bidirectional ("likely pneumonia", "pneumonia likely").
    """
    table: dict[tuple[str, ...], _Rule] = {}
    for phrases, cat, direction, window, value in _RULES:
        for p in phrases.split("|"):
            key = tuple(_token_class(w) for w in _phrase_key(p))
            if not key:
                continue
            keys = [key] + ([key[:-1] + ("factor",)] if key[-1] == "factors" else [])
            for k in keys:
                old = table.get(k)
                if old is None:
                    table[k] = (cat, direction, window, value)
                elif old[0] is cat is Cat.UNC and {old[1], direction} == {F, B}:
                    table[k] = (cat, BI, min(old[2], window), old[3])
    return table, max(len(k) for k in table)


# Hand-rolled rather than one big regular expression: a dictionary lookup of token n-grams is
# ~20x faster than a regex alternation of ~600 phrases with word-boundary look-arounds.
_TABLE, _MAXLEN = _compile()
#: Short hash of the trigger rules (part of the pipeline version).
RULES_FINGERPRINT = hashlib.sha256(repr(sorted(_TABLE.items())).encode()).hexdigest()[:8]


def find_triggers(sentence: str) -> list[Trigger]:
    """Triggers of a sentence, offsets relative to it, longest phrase first at each token;
    pseudo-triggers are returned too (they hide the shorter triggers they cover).
    """
    low = sentence.lower()
    toks = [(m.start(), m.end(), m.group()) for m in _TRIGGER_TOKEN.finditer(low)]
    keys = [_token_class(t[2]) for t in toks]
    out = []
    i, n = 0, len(toks)
    while i < n:
        for k in range(min(_MAXLEN, n - i), 0, -1):
            rule = _TABLE.get(tuple(keys[i : i + k]))
            if rule is not None:
                cat, direction, window, value = rule
                out.append(Trigger(toks[i][0], toks[i + k - 1][1], cat, direction, window, value))
                i += k
                break
        else:
            i += 1
    if any(t.cat is Cat.EXP for t in out):
        blocked = [(m.start(), m.end()) for m in _EXP_PSEUDO.finditer(low)]
        out = [
            t for t in out if not (t.cat is Cat.EXP and any(a <= t.start < b for a, b in blocked))
        ]
    return out


@dataclass
class Modifiers:
    """ConText modifiers of one mention."""

    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    uncertain: bool = False
    experiencer: str = "patient"


_CUTS_HIST = frozenset({Cat.NEG, Cat.HYPO, Cat.UNC})
_WORD = re.compile(r"\w+|[;?]")
_CLAUSE_END = re.compile(r"\s*(?:[.,;:)]|$)")


def _n_words(s: str) -> int:
    return len(_WORD.findall(s))


def apply_context(sentence: str, spans: list[tuple[int, int, str]]) -> list[Modifiers]:
    """Modifiers of each target span ``(start, end, domain)`` (offsets within ``sentence``)."""
    trig = find_triggers(sentence)
    terms = [t for t in trig if t.cat is Cat.TERM]
    mods = [Modifiers() for _ in spans]
    exp_dist: list[int | None] = [None] * len(spans)
    for t in trig:
        if t.cat in (Cat.TERM, Cat.PSEUDO):
            continue
        for k, (a, b, domain) in enumerate(spans):
            if a < t.end and t.start < b:  # the trigger is inside the mention
                continue
            if a >= t.end and t.direction in (F, BI):
                between = sentence[t.end : a]
                if any(t.end <= x.start and x.end <= a for x in terms):
                    continue
                if _n_words(between) > t.window:
                    continue
                # a past marker does not reach over a later negation/conditional/hedge
                if t.cat is Cat.HIST and any(
                    t.end <= x.start and x.end <= a and x.cat in _CUTS_HIST for x in trig
                ):
                    continue
                dist = _n_words(between)
            elif b <= t.start and t.direction in (B, BI):
                between = sentence[b : t.start]
                if any(b <= x.start and x.end <= t.start for x in terms):
                    continue
                if (
                    t.cat is Cat.UNC
                    and t.direction == BI
                    and not _CLAUSE_END.match(sentence, t.end)
                ):
                    continue  # "pain likely strain": a hedge looks back only from a clause end
                if _n_words(between) > (t.window if t.direction == B or t.cat is Cat.UNC else 4):
                    continue
                dist = _n_words(between)
            else:
                continue
            if t.window <= 3 and "," in sentence[min(t.end, b) : max(t.start, a)]:
                continue  # short-scope triggers ("prn", "last") stop at a comma
            m = mods[k]
            if t.cat is Cat.NEG:
                if t.direction == B and domain in ("Measurement", "Procedure"):
                    continue  # "troponin negative", "CXR neg": the test was done
                if t.value == "drug" and domain != "Drug":
                    continue  # "avoid dehydration": only drugs are stopped or avoided
                if t.value == "finding" and domain not in ("Condition", "Observation"):
                    continue  # "negative D-dimer": the test was done
                m.negated = True
                if t.value == "+historical":
                    m.historical = True
            elif t.cat is Cat.HIST:
                m.historical = True
            elif t.cat is Cat.HYPO:
                m.hypothetical = True
            elif t.cat is Cat.UNC:
                if domain in ("Condition", "Observation"):  # hedges concern findings
                    m.uncertain = True
            elif t.cat is Cat.EXP:
                prev = exp_dist[k]
                if prev is None or dist < prev:
                    exp_dist[k] = dist
                    m.experiencer = t.value
    return mods
