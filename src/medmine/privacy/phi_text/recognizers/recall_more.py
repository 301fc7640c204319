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
from medmine.privacy.phi_text._base import (
    DigitRun,
    Needles,
    Pattern,
    PatternRecognizer,
    note_words,
)
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
    r"roommate|bf|gf|hubby|sis|bro|fiance|fiancee)"
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


#: Head words of public bodies and services: "... County Sheriff's Office", "... Superior
#: Court", "... Transit Authority", "... Diagnostics", "... Imaging", "Summit Ridge PT".
_BODY_HEAD = re.compile(
    r"\b(?:Sheriff['’]s[ \t]+(?:Office|Department)|(?:Superior|District|Circuit|Municipal|"
    r"Family|Probate|Juvenile|County|Supreme|Traffic|Drug)[ \t]+Court|Authority|Commission|"
    r"Bureau|Diagnostics|Laboratories|Labs|Imaging|Associates|Physical[ \t]+Therapy|"
    r"Rehabilitation|Orthopedics|Chiropractic|PT)\b"
)
#: One to four capitalised words ending right before a head word (title case before "PT").
_NAME_RUN_BEFORE = re.compile(r"(?<![\w'’&.-])(?:[A-Z][a-z][\w'’&.-]*[ \t]+){1,4}\Z")
#: A relation in brackets: "(mom)", "(husband)".
_REL_PAREN = re.compile(
    r"\((?i:mom|dad|mother|father|wife|husband|daughter|son|sister|brother|caregiver|guardian|"
    r"partner|friend|aunt|uncle|grandma|grandpa|grandmother|grandfather|niece|nephew|cousin|"
    r"neighbou?r|boyfriend|girlfriend|fianc[eé]e?|spouse|parent|sponsor)\)"
)
_ONE_NAME_BEFORE = re.compile(r"(?<![\w-])(?P<n>[A-Z][\w'’-]+)[ \t]*\Z")

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
    """The rarest word of each world city, lower case: a city in a note brings its rarest
    word, so a note without any of them skips the city search (a set test per note; the
    common first words "new", "san", "port" would let nearly every note through).
    """
    out = set()
    for name in world_cities():
        words = [w.lower() for w in re.findall(r"[^\W\d_]+", name)]
        if words:
            out.add(min(words, key=_vocab.zipf))
    return frozenset(out)


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


#: Endings of derived English words ("Stainless", "Macerated"): no surname after an initial.
_WORD_ENDING = re.compile(r"(?:ed|ing|less|ness|ful|ly|ous|ive|able|ible)$")
_INITIAL_FIRST = re.compile(r"[A-Z]\.[ \t]?(?:[A-Z]\.[ \t]?)?[A-Z]")


def _rare(w: str) -> bool:
    """No English word, or a rare one (Zipf < 3.5: "hamish", "becca", not "grey")."""
    if w in _vocab.lexicon():
        return False
    return w not in _vocab.english() or _vocab.zipf(w) < 3.5


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
                neighbor neighbour roommate bf gf hubby sis bro fiance fiancee""".split()  # noqa: SIM905
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
        # --- fourth set, development half: more shapes -------------------------------------
        # lower-case dictation: "this is doctor ada lindqvist dictating"
        _p(
            r"\b(?:dr|doctor)\.?[ \t]+(?P<n>[a-z][a-z'’-]+[ \t]+[a-z][a-z'’-]+)"
            r"[ \t]+(?:dictating|speaking|here|calling|for|on|with|from|regarding|re)\b",
            Entity.PATIENT,
            "n",
            anchors=frozenset({"dr ", "dr.", "dr\t", "doctor"}),
        ),
        # one initial after a title: "covering for Dr. Q?"
        _p(
            r"\b(?:Dr|Mr|Mrs|Ms)\.?[ \t]+(?P<n>[A-Z])(?![\w.'’-])",
            Entity.CLINICIAN,
            "n",
            gate=re.compile(r"(?:Dr|Mr|Mrs|Ms)\.?[ \t]+[A-Z](?![\w.'’-])"),
        ),
        # a record or member number read out in words after its label
        _p(
            r"(?i:record[ \t]+number|mrn|account[ \t]+number|member[ \t]+(?:id|number)|"
            r"policy[ \t]+number|id[ \t]+number|case[ \t]+number|phone[ \t]+number|"
            r"callback[ \t]+number|number)[ \t:,]+(?P<v>(?:zero|oh|one|two|three|four|five|six|"
            r"seven|eight|nine)(?:[ \t,-]+(?:zero|oh|one|two|three|four|five|six|seven|eight|"
            r"nine)){3,})\b",
            Entity.ID,
            "v",
            gate=frozenset(["zero", "oh", "one", "two", "three", "four", "five"])
            | frozenset(["six", "seven", "eight", "nine"]),
        ),
        # a date read out in number words after a date label: "date of operation eleven
        # twenty three twenty six"
        _p(
            r"\b(?i:date[ \t]+of[ \t]+[a-z]+|dob|date|born|admitted|discharged|dated)[ \t:,]+"
            r"(?P<d>(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
            r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|first|second|"
            r"third|[a-z]+teenth|[a-z]+tieth|[a-z]+th)(?:[ \t-]+(?:one|two|three|four|five|six|"
            r"seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
            r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|oh|"
            r"hundred|thousand|first|second|third|[a-z]+teenth|[a-z]+tieth|[a-z]+th)){2,7})\b",
            Entity.DATE,
            "d",
            gate=frozenset(["date", "dob", "born", "admitted", "discharged", "dated"]),
        ),
        # "the 3rd of November, 2026", "early October", "mid-March"
        _p(
            r"(?i:the)[ \t]+\d{1,2}(?:st|nd|rd|th)[ \t]+of[ \t]+(?i:january|february|march|"
            r"april|may|june|july|august|september|october|november|december)(?:,?[ \t]+\d{4})?\b",
            Entity.DATE,
            anchors=frozenset({"the"}),
        ),
        _p(
            r"\b(?i:early|mid|late|end[ \t]+of|beginning[ \t]+of)[ \t-]+(?i:january|february|"
            r"march|april|june|july|august|september|october|november|december)\b",
            Entity.DATE,
            gate=frozenset(["early", "mid", "late", "end", "beginning"]),
        ),
        # initials or a code after an action and "by": "Collected ... by KT.", "by MTS-22"
        _p(
            rf"(?i:{_ACTION}|drawn|obtained|called|reset|checked)[^\n]{{0,30}}?[ \t](?i:by)[ \t]+"
            r"(?P<n>[A-Z]{2,3}|[A-Z]{1,5}-?\d{1,4})(?![\w-])",
            Entity.ID,
            "n",
            gate=re.compile(r"[ \t](?i:by)[ \t]+[A-Z]"),
        ),
        # lower-case initials before a slash and a credential: "jr/RN"
        _p(
            rf"(?<![\w/])(?P<n>[a-z]{{2,3}})[ \t]*/[ \t]*{_CRED}\b",
            Entity.PATIENT,
            "n",
            gate=re.compile(rf"/[ \t]*{_CRED}\b"),
        ),
        # a chat speaker before a time: "Rosalie (front desk) 07:05: ok"
        _p(
            r"(?m)^[ \t]*(?P<n>[A-Z][a-z'’-]+(?:[ \t][A-Z][a-z'’-]+)?)(?:[ \t]*\([^)\n]{1,30}\))?"
            r"[ \t]+\d{1,2}:\d{2}(?::\d{2})?[ \t]*:",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"\d:\d\d(?::\d\d)?[ \t]*:"),
        ),
        # lower-case streets after a place word: "on glenwood ave"
        _p(
            r"\b(?:on|at|off|near)[ \t]+(?P<s>(?!(?:the|a|my|his|her|our|your|their|this)\b)"
            r"[a-z]+(?:[ \t][a-z]+)?[ \t]+(?:ave|avenue|st|street|rd|road|blvd|boulevard|dr|"
            r"drive|ln|lane|way|pkwy|parkway|hwy|highway|ct|court|pl|place|ter|terrace))\b",
            Entity.STREET,
            "s",
            gate=frozenset(
                """ave avenue st street rd road blvd boulevard dr drive ln lane way pkwy
                parkway hwy highway ct court pl place ter terrace""".split()  # noqa: SIM905
            ),
        ),
        # a nickname in brackets after a name ("Theodore (teddy)"); a name before a relation
        # in brackets ("Mirabel (mom)") is found backwards in `analyze`
        _p(
            r"[A-Z][a-z]+[ \t]*\((?P<n>[a-z][a-z'’-]{2,})\)",
            Entity.OTHER,
            "n",
            gate=re.compile(r"\([a-z]"),
        ),
        # a name and an age in a bracketed list: "(Tobin 6, Wren 3)"
        _p(
            r"[(,][ \t]*(?P<n>[A-Z][a-z]+)[ \t]+\d{1,2}(?=[ \t]*[,)])",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"[A-Z][a-z]+[ \t]+\d{1,2}[ \t]*[,)]"),
        ),
        # a name after a "name" label: "Name given by parents: Kofi"
        _p(
            r"\b(?i:name)\b[^:\n]{0,25}:[ \t]*(?P<n>[A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+){0,2})",
            Entity.PATIENT,
            "n",
            anchors=frozenset({"name"}),
        ),
        # letters spelled with a word: "plate L as in Lima 4 4 7 2 Q"
        _p(
            r"\b[A-Z][ \t]+as[ \t]+in[ \t]+[A-Z][a-z]+(?:[ \t,]+(?:[A-Z0-9]\b|[A-Z][ \t]+as[ \t]+in"
            r"[ \t]+[A-Z][a-z]+))+",
            Entity.ID,
            gate=re.compile(r"[ \t]as[ \t]+in[ \t]+[A-Z]"),
        ),
        # highways in words: "on highway ninety near the Xyz exit"
        _p(
            r"(?i:highway|route|interstate|hwy|county[ \t]+road)[ \t]+(?:one|two|three|four|five|"
            r"six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|twenty|thirty|forty|fifty|sixty|"
            r"seventy|eighty|ninety|hundred)\b(?:[ \t-]+(?:one|two|three|four|five|six|seven|"
            r"eight|nine|hundred)\b)*(?:[ \t]+(?i:near|at|by)[ \t]+(?:the[ \t]+)?[A-Z][\w'’-]*"
            r"[ \t]+(?i:exit))?",
            Entity.STREET,
            anchors=frozenset({"highway", "route", "interstate", "hwy", "county"}),
        ),
        # badge and shield numbers; a login before an account event; a letter prefix joined
        # to a long number ("pt-55120983"); ambulance units with letters ("unit SC-EMS 7")
        _p(
            r"(?i:shield|badge)[ \t]*(?:#|no\.?|number)?[ \t]*(?P<v>\d{3,6})\b",
            Entity.ID,
            "v",
            anchors=frozenset({"shield", "badge"}),
        ),
        _p(
            r"(?i:account|acct|user|login)[ \t]+(?P<v>[a-z][a-z0-9._]{3,20})[ \t]+"
            r"(?i:locked|disabled|unlocked|created|reset|deactivated|logged|accessed|suspended)",
            Entity.ID,
            "v",
            anchors=frozenset({"account", "acct", "user", "login"}),
        ),
        _p(
            r"(?<![\w-])[A-Za-z]{1,4}-\d{5,}(?![\w-])",
            Entity.ID,
            gate=DigitRun(5),
        ),
        _p(
            r"(?i:unit|medic|ambulance|rig)[ \t]+(?P<v>[A-Z]{1,4}-[A-Z]{2,5}[ \t-]?\d{1,4})\b",
            Entity.ID,
            "v",
            anchors=frozenset({"unit", "medic", "ambulance", "rig"}),
        ),
        # a hyphenated house number: "87-1120 Kuhio Hwy"
        _p(
            r"\b\d{1,3}-\d{3,5}[ \t]+[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?[ \t]+(?:Street|St|Avenue|Ave|"
            r"Road|Rd|Highway|Hwy|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Place|Pl|Loop|Circle|Cir)\b",
            Entity.STREET,
            gate=re.compile(r"\d-\d{3,5}[ \t]+[A-Z]"),
        ),
        # an employer in brackets: "my employer (Zenith warehouse MKE2)"
        _p(
            r"(?i:employer|employed[ \t]+(?:by|at)|work(?:s|ed)?[ \t]+(?:at|for))[ \t]*\([ \t]*"
            r"(?P<o>[A-Z][^)\n]{1,50})\)",
            Entity.FACILITY,
            "o",
            anchors=frozenset({"employer", "employed", "work"}),
        ),
        # a city after a residence label: "Residence Xyz, Xyz County"
        _p(
            r"(?i:residence|resides[ \t]+in|hometown|home[ \t]+town)[ \t:]+"
            r"(?P<c>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?)\b",
            Entity.CITY,
            "c",
            anchors=frozenset({"residence", "resides", "hometown", "home"}),
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
        out = [  # OTHER only selects the first-name check of `accept`: the span is a name
            Span(s.start, s.end, Entity.PATIENT, s.score, s.recognizer)
            if s.entity is Entity.OTHER
            else s
            for s in super().analyze(text, ctx)
        ]
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
        # found from their head word backwards (a forward pattern would try every capital)
        for m in _BODY_HEAD.finditer(text):
            b = _NAME_RUN_BEFORE.search(text, max(0, m.start() - 80), m.start())
            if b is not None and self.accept(text, b.start(), m.end(), Entity.FACILITY):
                out.append(Span(b.start(), m.end(), Entity.FACILITY, 0.55, self.name))
        if "(" in text:
            for m in _REL_PAREN.finditer(text):
                b = _ONE_NAME_BEFORE.search(text, max(0, m.start() - 40), m.start())
                if b is not None and self.accept(text, b.start("n"), b.end("n"), Entity.PATIENT):
                    out.append(Span(b.start("n"), b.end("n"), Entity.PATIENT, 0.55, self.name))
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
            return entity is Entity.CLINICIAN and len(frag) == 1  # "Dr. Q"
        clinical = _vocab.clinical()
        if entity is Entity.STREET and re.fullmatch(
            r"(?i:room|rm|motel|hotel|inn|super)", words[0]
        ):
            return True  # a room number or a numbered motel
        if entity in (Entity.FACILITY, Entity.STREET, Entity.CITY):
            return any(w not in clinical and w not in _GENERIC_ORG and w != "st" for w in words)
        if entity is Entity.CLINICIAN:
            return any(w not in _NOT_INITIALS and w not in _GENERIC_ORG for w in words)
        names, zipf = _vocab.all_names(), _vocab.zipf
        if entity is Entity.OTHER:
            w = words[0]
            if w in clinical or w in _NOT_INITIALS:
                return False
            if w in _vocab.lexicon():
                return False
            return (w.upper() in first_names() and zipf(w) < 4.5) or zipf(w) < 3.5
        # PATIENT
        if any(w in _NOT_INITIALS for w in words):
            return False
        if _INITIAL_FIRST.match(frag):  # "K. Aberdeen": the surname is no common word
            last = words[-1]
            if last in clinical or len(last) < 3 or last in _vocab.lexicon():
                return False
            if _WORD_ENDING.search(last) and last not in names:
                return False
            return (
                last in names
                or last not in _vocab.english()
                or (zipf(last) < 4.0 and not _WORD_ENDING.search(last))
            )
        if frag.islower() or (len(words) == 1 and len(words[0]) <= 4):
            return all(
                w in names or (w not in clinical and (_rare(w) or _initials_like(w))) for w in words
            )
        return any(w not in clinical and (w in names or _rare(w)) for w in words)
