"""Recall mode, fourth round: generic shapes of the classes still missed on unseen notes.

Each rule is written from a class, not from an evaluation note's words:

- short weekdays and month abbreviations standing alone in title case ("skipped dialysis
  Tue and Thu", "off metformin since Feb.") and numeric dates written with spaces
  ("04 / 17 / 2025");
- initials and logins next to a role or an action ("typed by qzv", "triage RN wq",
  "/ pjr MA", "Sonographer: KLT", "processed by bwoolsey"), a user name in an audit row
  after a time, "username is ...", initials alone on a note's last line;
- an initial and a surname ("P. Lindqvist", "R. OYELARAN DO"), a name opening a line before
  an age ("Oksana Petrenko 9 y/o"), a lower-case name after "named"/"called" or a relation
  ("husband thaddeus"), a preferred or alias name in quotes;
- places: saints' and mounts' names ("St. Ignatius ...", "MT. HOREB"), road intersections
  ("Hwy 212 & County Road 9"), a named building with a room ("Birchwood Commons III, Rm
  114"), pharmacies and their store numbers ("Hy-Vee/pharmacy", "at the Piggly Wiggly
  pharmacy", "Pharmacy #10442"), employers without a colon ("Employer Brightwater
  Logistics");
- identifiers after claim, case, ticket, photo and media labels; SSN's last four digits
  ("last 4 7781"); ages over 89 in words ("age one hundred and two").

Entities carry how a match is accepted (`accept`): PATIENT is a name when a word is not
clinical and is a name or no English word; CLINICIAN is a name by its label (any word not
generic); OTHER is a lower-case first name after a cue (a census first name rarer than Zipf
4 in English); FACILITY and STREET need a word that is not clinical or generic.
"""

from __future__ import annotations

import functools
import importlib.resources
import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Needles, Pattern, PatternRecognizer, note_words
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers.census_name import first_names
from medmine.privacy.phi_text.recognizers.recall_rules import _GENERIC_ORG, _NOT_INITIALS

_ROAD_NUM = (
    r"(?:Hwy|Highway|Route|Rte|SR|US|I|County[ \t]+(?:Road|Rd)|CR|FM|State[ \t]+Route)"
    r"[ \t]*-?[ \t]*\d{1,4}[A-Z]?"
)
_CRED = r"(?:MA|CMA|RN|LPN|NP|PA|MD|CNA|RT|DO)"
_RELATION = (
    r"(?:dad|mom|mother|father|son|daughter|dtr|wife|husband|brother|sister|friend|boyfriend|"
    r"girlfriend|partner|grandma|grandpa|aunt|uncle|cousin|niece|nephew|neighbor|neighbour|"
    r"roommate)"
)
_ACTION = (
    r"(?:transcribed|typed|entered|processed|reviewed|verified|signed|scanned|charted|"
    r"documented|completed|released|prepared|printed|faxed|uploaded|edited|performed|"
    r"collected|witnessed|accessed|viewed|printed)"
)
_ROLE = (
    r"(?:sonographer|technologist|technician|tech|radiographer|therapist|interpreter|scribe|"
    r"phlebotomist|reader|verifier|witness|transcriptionist|cytotechnologist|perfusionist|"
    r"dosimetrist|recorder|operator|user|nurse)"
)
_ID_LABEL = (
    r"(?:claim|case|file|docket|ticket|incident|report|invoice|confirmation|reference|ref|"
    r"tracking|authorization|auth|requisition|req|referral|voucher|receipt|transaction|"
    r"booking|reservation|order)"
)
_NUM9 = r"(?:one|two|three|four|five|six|seven|eight|nine)"


#: A place cue then up to three capitalised words: "en route from Xyz", "visiting in Xyz".
_CITY_CUE = re.compile(
    r"\b(?:from|in|to|near|outside|visiting|via|at)[ \t]+"
    r"(?P<c>[A-Z][\w'’-]+(?:[ \t][A-Z][\w'’-]+){0,2})"
)


@functools.cache
def world_cities() -> frozenset[str]:
    """Cities outside the US with 100,000 or more inhabitants (``data/world_cities.csv``,
    made by ``bench/phi_text_world_places.py``; common English words left out).
    """
    path = importlib.resources.files("medmine.privacy.phi_text") / "data" / "world_cities.csv"
    rows = [r.strip() for r in path.read_text(encoding="utf-8").splitlines()]
    body = [r for r in rows if r and not r.startswith("#")]
    return frozenset(body[1:])  # the first row is the header "name"


@functools.cache
def _world_first() -> frozenset[str]:
    """The lower-case first letter run of each world city (the note-word gate)."""
    return frozenset(
        m.group().lower()
        for name in world_cities()
        if (m := re.match(r"[^\W\d_]+", name)) is not None
    )


#: A given name of two syllables joined by a hyphen, the second in lower case, before a
#: capitalised family name: "Seo-yeon Choi", "Jae-hoon Lim".
_HYPHEN_GIVEN = re.compile(
    r"(?<![\w-])(?P<g>[A-Z][a-z]{1,4}-(?P<s>[a-z]{2,4}))[ \t]+(?P<f>[A-Z][a-z]+)(?![\w-])"
)


def _given_syllable(w: str) -> bool:
    """A second syllable that is a census name and no common word, or a rare word."""
    if w in _vocab.clinical():
        return False
    z = _vocab.zipf(w)
    return (w in _vocab.all_names() and z < 4.2) or z < 3.5


def _surname_like(w: str) -> bool:
    low = w.lower()
    return low not in _vocab.clinical() and (
        low in _vocab.all_names() or low not in _vocab.english()
    )


def _initials_like(w: str) -> bool:
    """Up to three letters that are no common word ("kb", "tk"; not "him", "the")."""
    return len(w) <= 3 and _vocab.zipf(w) < 4.5


def _p(rx: str, entity: Entity, group: int | str = 0, **kw) -> Pattern:
    return Pattern(re.compile(rx), entity, 0.55, group, **kw)


@RECOGNIZERS.register("recall_more")
class RecallMoreRecognizer(PatternRecognizer):
    """More loose PHI shapes for the recall-first mode (see the module docstring)."""

    entities = (
        Entity.DATE,
        Entity.AGE,
        Entity.ID,
        Entity.PATIENT,
        Entity.CLINICIAN,
        Entity.OTHER,
        Entity.FACILITY,
        Entity.STREET,
        Entity.CITY,
    )
    recall_only = True
    patterns = (
        # --- dates ----------------------------------------------------------------------
        # title-case short weekdays alone: "skipped dialysis Tue and Thu" (Sat/Sun: sat, sun)
        _p(
            r"(?<![\w])(?:Mon|Tues?|Wed|Thu(?:rs?)?|Fri)\.?(?![\w'’-])",
            Entity.DATE,
            gate=frozenset(["mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri"]),
            anchors=frozenset(["mon", "tue", "wed", "thu", "fri"]),
        ),
        # title-case month abbreviations alone: "off metformin since Feb." (not Mar, May)
        _p(
            r"(?<![\w])(?:Jan|Feb|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?(?![\w'’-])",
            Entity.DATE,
            gate=frozenset(["jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct"])
            | frozenset(["nov", "dec"]),
            anchors=frozenset(["jan", "feb", "apr", "jun", "jul", "aug", "sep", "oct", "nov"])
            | frozenset(["dec"]),
        ),
        # numeric dates with spaces around the first separator: "04 / 17 / 2025"
        _p(
            r"(?<![\w/.])(?:0?[1-9]|1[0-2])(?:[ \t]+[/.-][ \t]*|[/.-][ \t]+)"
            r"(?:0?[1-9]|[12]\d|3[01])[ \t]*[/.-][ \t]*(?:19|20)\d\d(?![\w/])",
            Entity.DATE,
            gate=re.compile(r"\d[ \t]+[/.-]|[/.-][ \t]+\d"),
        ),
        # --- initials, logins -----------------------------------------------------------
        # after an action and "by": "typed by qzv", "processed by bwoolsey"
        _p(
            rf"(?i:{_ACTION})[ \t]+(?i:by)[ \t]+(?P<n>[a-z][a-z0-9._]{{1,20}})(?![\w@])",
            Entity.PATIENT,
            "n",
            anchors=frozenset(
                """transcribed typed entered processed reviewed verified signed scanned charted
                documented completed released prepared printed faxed uploaded edited performed
                collected witnessed accessed viewed""".split()  # noqa: SIM905
            ),
        ),
        # lower-case initials before a credential after a separator: "Dr. Amadi / pjr MA"
        _p(
            rf"[/;,|][ \t]*(?P<n>[a-z]{{2,3}})[ \t]+{_CRED}\b",
            Entity.PATIENT,
            "n",
            anchors=frozenset("/;,|"),
        ),
        # lower-case initials after a credential, closing a clause: "triage RN wq"
        _p(
            r"(?<![\w])(?:RN|LPN|MA|CMA|CNA|NP|PA|RT)[ \t]+(?P<n>[a-z]{2,3})"
            r"(?=[ \t]*(?:\n|\Z|[.,;)])|[ \t]+\d)",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"(?:RN|LPN|MA|CMA|CNA|NP|PA|RT)[ \t]+[a-z]"),
        ),
        # upper-case initials after a role and a colon: "Sonographer: KLT", "Radiographer - DMV"
        _p(
            rf"(?i:{_ROLE})[ \t]*[:\-][ \t]*(?P<n>[A-Z]{{2,4}})\b",
            Entity.PATIENT,
            "n",
            anchors=frozenset(
                """sonographer tech radiographer therapist interpreter scribe phlebotomist
                reader verifier witness transcriptionist cytotechnologist perfusionist
                dosimetrist recorder operator user nurse""".split()  # noqa: SIM905
            ),
        ),
        # a user name in an audit row, after a time and before a column gap or bar
        _p(
            r"\d:\d\d(?::\d\d)?[ \t]+(?P<n>[a-z][a-z0-9._]{2,20})(?:[ \t]{2,}|[ \t]*\|)",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"\d:\d\d(?::\d\d)?[ \t]+[a-z]"),
        ),
        # "username is qbartlett_x"
        _p(
            r"(?i:user[ \t]?name|login|user[ \t]?id|handle|screen[ \t]?name|account[ \t]+name)"
            r"[ \t]+(?i:is|was|=)[ \t]+[\"“']?(?P<v>[\w.@-]{2,40}\w)",
            Entity.ID,
            "v",
            anchors=frozenset(["user", "login", "handle", "screen", "account"]),
        ),
        # initials alone on the last line of a note: "...\nJQ"
        _p(
            r"\n[ \t]*(?P<n>[A-Z]{2,3})[ \t]*\Z",
            Entity.PATIENT,
            "n",
            anchors=frozenset({"\n"}),
        ),
        # --- names ----------------------------------------------------------------------
        # an initial (or two) and a surname: "P. Lindqvist", "A.J. Okafor"
        _p(
            r"(?<![\w.])(?P<n>[A-Z]\.[ \t]?(?:[A-Z]\.[ \t]?)?[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)"
            r"(?![\w])",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"[A-Z]\.[ \t]?[A-Z]"),
        ),
        # the same in capitals before a credential: "R. OYELARAN DO"
        _p(
            r"(?<![\w.])(?P<n>[A-Z]\.[ \t]?[A-Z]{2,}(?:-[A-Z]{2,})?)"
            r"[ \t]+(?:MD|DO|NP|PA|PA-C|RN|PharmD|DPM|DDS|DMD|CRNA)\b",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"[A-Z]\.[ \t]?[A-Z]{2}"),
        ),
        # a name opening a line before an age: "Oksana Petrenko 9 y/o F"
        _p(
            r"(?m)^[ \t]*(?P<n>[A-Z][a-z'’-]+(?:[ \t]+[A-Z][a-z'’-]+){1,2}),?[ \t]+\d{1,3}[ \t]*"
            r"(?:y/?o|yo|y\.o\.|years?|yrs?|-year|M\b|F\b|m\b|f\b|mo\b|months?)",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"\d[ \t]*(?:y|-y|[MFmf]\b|mo)"),
        ),
        # a lower-case name after "named" or "called": "named aurelia stroud"
        _p(
            r"\b(?:named|called|name[ \t]+is)[ \t]+"
            r"(?P<n>[A-Za-z][a-z'’-]+(?:[ \t]+[A-Za-z][a-z'’-]+)?)"
            r"\b",
            Entity.PATIENT,
            "n",
            gate=frozenset(["named", "called", "name"]),
            anchors=frozenset(["name", "called"]),
        ),
        # a lower-case first name after a relation: "her husband thaddeus drives"
        _p(
            rf"\b{_RELATION}[ \t]+(?P<n>[a-z][a-z'’-]{{2,}})\b",
            Entity.OTHER,
            "n",
            gate=frozenset(
                """dad mom mother father son daughter dtr wife husband brother sister friend
                boyfriend girlfriend partner grandma grandpa aunt uncle cousin niece nephew
                neighbor neighbour roommate""".split()  # noqa: SIM905
            ),
            anchors=frozenset(_RELATION[3:-1].split("|")),
        ),
        # a preferred or alias name: '(prefers "Nkem")', 'alias was "Falcon, Echo"'
        _p(
            r"(?i:prefers|pref(?:erred|\.)?[ \t]+name|goes[ \t]+by|alias|aka|a\.k\.a\.?|"
            r"nickname|registered[ \t]+as)[^\n\"“(]{0,20}[\"“](?P<n>[A-Z][\w'’-]*"
            r"(?:,?[ \t]+[A-Z][\w'’-]*){0,3})[\"”]",
            Entity.CLINICIAN,
            "n",
            anchors=frozenset(
                ["prefers", "pref", "goes", "alias", "aka", "a.k.a", "nickname", "registered"]
            ),
        ),
        # --- places ---------------------------------------------------------------------
        # saints and mounts: "St. Ignatius", "MT. HOREB" (not St. John's wort, St. Vitus dance)
        _p(
            r"(?<![\w])(?:St|ST|Mt|MT|Ste|STE)\.[ \t]+(?!(?i:vitus|elmo|anthony)\b)"
            r"(?:[A-Z][a-z]+|[A-Z]{2,})(?:['’][sS])?(?![\w'’])(?![ \t]+(?i:wort|fire|dance))",
            Entity.FACILITY,
            anchors=frozenset({"st.", "mt.", "ste."}),
        ),
        # road intersections: "Hwy 212 & County Road 9", "I-94 and US 41"
        _p(
            rf"(?<![\w]){_ROAD_NUM}[ \t]*(?:&|and|/|at)[ \t]*{_ROAD_NUM}\b",
            Entity.STREET,
            gate=re.compile(
                r"\d[A-Z]?[ \t]*(?:&|and|/|at)[ \t]*(?:Hwy|High|Rout|Rte|SR|US|I|Coun|CR|FM|Stat)"
            ),
        ),
        # a named building with a room or unit: "Birchwood Commons III, Rm 114"
        _p(
            r"(?<![\w])(?:[A-Z][a-z]+[ \t]+){1,3}(?:[IVX]{1,4}[ \t]*)?,[ \t]*"
            r"(?:Rm|Room|Apt|Unit|Suite|Ste|Bldg)\.?[ \t]*#?[ \t]*\d+[A-Z]?\b",
            Entity.STREET,
            gate=re.compile(r",[ \t]*(?:Rm|Room|Apt|Unit|Suite|Ste|Bldg)"),
        ),
        # pharmacies: "Hy-Vee/pharmacy", "at the Piggly Wiggly pharmacy", "Pharmacy #10442"
        _p(
            r"(?<![\w/])[A-Z][\w&'’-]*/(?i:pharmacy|rx)\b",
            Entity.FACILITY,
            gate=Needles(frozenset({"/pharmacy", "/rx"})),
        ),
        _p(
            r"\b(?:the|at|from|to|via|with|use|uses|called)[ \t]+"
            r"(?P<o>(?:[A-Z][\w'’&-]*[ \t]+){1,3}(?i:pharmacy|apothecary|drugs?|drugstore))\b",
            Entity.FACILITY,
            "o",
            gate=Needles(frozenset({"pharmacy", "apothecary", "drug"})),
        ),
        _p(
            r"(?i:pharmacy|store|drugstore|branch|location)[ \t]*(?:#|no\.?|number)?[ \t]*"
            r"(?P<v>#[ \t]*\d{1,6}(?:-\d{1,5})?|\d{2,5}-\d{1,5}|\d{3,6})(?![\w.]|,\d)",
            Entity.ID,
            "v",
            anchors=frozenset(["pharmacy", "store", "drugstore", "branch", "location"]),
        ),
        # employers without a colon: "Employer Brightwater Logistics called"
        _p(
            r"(?i:employer|employed[ \t]+(?:by|at)|works[ \t]+(?:at|for)|worked[ \t]+(?:at|for))"
            r"[ \t]+(?P<o>[A-Z][\w&'’.-]*(?:[ \t]+(?:&[ \t]+|of[ \t]+)?[A-Z][\w&'’.-]*){0,3})",
            Entity.FACILITY,
            "o",
            anchors=frozenset(["employer", "employed", "works", "worked"]),
        ),
        # upper-case values after a fax or letter label: "FROM : MT. HOREB HOME OXYGEN"
        _p(
            r"(?m)^[ \t]*(?:FROM|TO|ATTN|ATTENTION|COMPANY|FACILITY|SENDER|RECIPIENT|AGENCY)"
            r"[ \t]*:[ \t]*(?P<n>[A-Z0-9][A-Z0-9.'’&/-]*(?:[ \t][A-Z0-9.'’&/-]+)*)",
            Entity.CLINICIAN,
            "n",
            gate=re.compile(
                r"(?:FROM|TO|ATTN|ATTENTION|COMPANY|FACILITY|SENDER|RECIPIENT|AGENCY)[ \t]*:"
            ),
        ),
        # a room number, a numbered motel: "room 214", "Motel 9, room 12"
        _p(
            r"\b(?:[Rr]oom|ROOM|[Rr]m|RM)\.?[ \t]*#?[ \t]*\d{1,4}[A-Z]?\b",
            Entity.STREET,
            gate=frozenset({"room", "rm"}),
        ),
        _p(
            r"\b(?:Motel|Hotel|Inn|Super|MOTEL|HOTEL)[ \t]+\d{1,3}\b",
            Entity.STREET,
            gate=Needles(frozenset({"motel", "hotel", "inn", "super"})),
        ),
        # --- identifiers ----------------------------------------------------------------
        # a housing, cell or bed label's value: "Housing: D-Pod 3-07A"
        _p(
            r"(?i:housing|cell|bunk|dorm|pod|bed)[ \t]*(?:#|no\.)?[ \t]*:[ \t]*"
            r"(?P<v>[\w-]*\d[\w-]*(?:[ \t][\w-]*\d[\w-]*)?|[A-Z][\w-]*(?:[ \t][\w-]*\d[\w-]*))",
            Entity.ID,
            "v",
            anchors=frozenset(["housing", "cell", "bunk", "dorm", "pod", "bed"]),
        ),
        # a specimen block or cassette label: "(block B3)"
        _p(
            r"(?i:block|cassette)[ \t]+(?P<v>[A-Z]\d{1,2})\b",
            Entity.ID,
            "v",
            anchors=frozenset(["block", "cassette"]),
        ),
        # after a claim, case, ticket... label with a number sign: "disability claim # D-44 102 987"
        _p(
            rf"(?i:{_ID_LABEL})[ \t]*(?:#|(?i:no\.|number|id))[ \t]*:?[ \t]*"
            r"(?P<v>[A-Z]{0,4}-?\d[\dA-Z]*(?:[ \t-]\d[\dA-Z]*){0,4})(?![\w])",
            Entity.ID,
            "v",
            anchors=frozenset(
                """claim case file docket ticket incident report invoice confirmation reference
                ref tracking authorization auth requisition req referral voucher receipt
                transaction booking reservation order""".split()  # noqa: SIM905
            ),
        ),
        # photo and media numbers: "media 55120-7", "image # 4471"
        _p(
            r"(?i:media|image|photo|img|picture|clip)[ \t]*(?:#|(?i:no\.|id))?[ \t]*:?[ \t]*"
            r"(?P<v>\d{3,}(?:-\d+)?)(?![\w.])",
            Entity.ID,
            "v",
            anchors=frozenset(["media", "image", "photo", "img", "picture", "clip"]),
        ),
        # SSN's last four: "last 4 7781", "last four digits of SSN: 0452"
        _p(
            r"(?i:last[ \t]+(?:4|four)(?:[ \t]+digits)?(?:[ \t]+of[ \t]+(?:the[ \t]+)?"
            r"(?:ssn|social(?:[ \t]+security)?))?)[ \t:,-]*(?:(?i:is|are|was|=)[ \t]+)?"
            r"(?P<v>\d{4})(?![\w])",
            Entity.ID,
            "v",
            anchors=frozenset(["last"]),
        ),
        # --- ages over 89 in words -------------------------------------------------------
        _p(
            r"(?i:\b(?:aged?|is|was|turned|turns|now)[ \t]+(?P<a>one[ \t]+hundred(?:[ \t]+"
            rf"(?:and[ \t]+)?(?:{_NUM9[3:-1]}|ten|eleven|twelve))?|ninety(?:[ \t-]{_NUM9})?)\b)",
            Entity.AGE,
            "a",
            gate=frozenset(["ninety", "hundred"]),
        ),
        _p(
            rf"(?i:\b(?P<a>ninety(?:[ \t-]{_NUM9})?|one[ \t]+hundred(?:[ \t]+(?:and[ \t]+)?"
            rf"{_NUM9})?)[ \t-]+years?[ \t-]+old\b)",
            Entity.AGE,
            "a",
            gate=frozenset(["ninety", "hundred"]),
        ),
    )

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """The spans of the patterns (`accept` vets names and places), plus cities abroad
        after a place cue ("flew in from Chennai").
        """
        out = super().analyze(text, ctx)
        if not _world_first().isdisjoint(note_words(text)):  # one set operation per note
            cities = world_cities()
            for m in _CITY_CUE.finditer(text):
                cand = m.group("c")
                parts = re.split(r"[ \t]", cand)
                for k in range(len(parts), 0, -1):
                    name = " ".join(parts[:k])
                    if name in cities:
                        start = m.start("c")
                        out.append(Span(start, start + len(name), Entity.CITY, 0.55, self.name))
                        break
        if "-" in text:
            out += [
                Span(m.start(), m.end("g"), Entity.PATIENT, 0.55, self.name)
                for m in _HYPHEN_GIVEN.finditer(text)
                if _given_syllable(m.group("s")) and _surname_like(m.group("f"))
            ]
        return out

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Names need a word that is a name or no English word and not clinical; places a
        word that is not clinical or generic; first names after a cue a census first name.
        """
        frag = text[start:end]
        if entity in (Entity.DATE, Entity.ID, Entity.AGE):
            return True
        words = [w.lower() for w in re.findall(r"[^\W\d_][\w'’-]*", frag)]
        words = [w[:-2] if w.endswith(("'s", "’s")) else w for w in words]
        words = [w for w in words if len(w) > 1]  # initials say nothing
        if not words:
            return False
        clinical = _vocab.clinical()
        if entity is Entity.STREET and re.fullmatch(
            r"(?i:room|rm|motel|hotel|inn|super)", words[0]
        ):
            return True  # a room number or a numbered motel
        if entity in (Entity.FACILITY, Entity.STREET):
            return any(w not in clinical and w not in _GENERIC_ORG and w != "st" for w in words)
        if entity is Entity.CLINICIAN:
            return any(w not in _NOT_INITIALS and w not in _GENERIC_ORG for w in words)
        english, names = _vocab.english(), _vocab.all_names()
        if entity is Entity.OTHER:
            w = words[0]
            return (
                w.upper() in first_names()
                and _vocab.zipf(w) < 4.0
                and w not in clinical
                and w not in _NOT_INITIALS
            )
        # PATIENT
        if any(w in _NOT_INITIALS for w in words):
            return False
        if frag.islower() or (len(words) == 1 and len(words[0]) <= 4):
            return all(
                w in names or (w not in clinical and (w not in english or _initials_like(w)))
                for w in words
            )
        return any(w not in clinical and (w in names or w not in english) for w in words)
