"""Recall mode: loose PHI shapes that the precise mode leaves alone.

A recall-first scrubber must remove them (each costs some precision, none touches clinical
words):

- ages over 89 written bare after a name or a subject ("Ana Ruiz, 97, dx ...", "pt is 93");
- street lines without a street suffix, before a unit or a city and state or ZIP
  ("22 Larkspur, apt 3, Hanover", "713 Franklin, Portland, ME"), highways and roads with a
  cue ("MVC on I-94 near exit 212", "2290 Route 9, Lot 14", "N4427 County Rd K"), named
  streets after a place word ("urgent care on Division St"), with the city and ZIP that
  follow them;
- cities before a country ("Lagos, Nigeria");
- organisations and facilities after a label ("Employer: Tri-State Logistics",
  "Transportation: Metro Access van", "Pharmacy: Ark-La-Tex Infusion");
- seven-digit local phone numbers anywhere, pager numbers, international numbers;
- identifiers after a label that continue over spaces ("DL IA 871LK4420", "unit #
  W0361 26 441882 5", "CDL G655 1120 8841"), user names ("jrwhalen2", "ghostlake_09"),
  workstation names, door and lockbox codes, quoted tattoo texts, unit numbers of
  ambulances ("Unit Medic 12");
- weekdays and month names without a day ("since Sunday", "until January", "started Mon"),
  month and day in lower case ("sept 28"), "the 3rd", "Apr-3".
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import DigitRun, Needles, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._geo import ABBR, STATES
from medmine.privacy.phi_text.recognizers._letters import LETTER, LOWER, UPPER
from medmine.privacy.phi_text.recognizers.street import _CITY_AFTER, _ZIP_AFTER

_AGE = r"(?P<age>9\d|1[01]\d)"
#: A capitalised word of a street or organisation name.
_CW = rf"{UPPER}(?:{LETTER}|['’-])*{LETTER}"
#: A title-case word (upper-case notes write clinical text in capitals too).
_TW = rf"{UPPER}{LOWER}+(?:['’-]{LETTER}+)*"
_UNIT_WORD = r"(?i:apt\.?|apartment|unit|suite|ste\.?|lot|trlr|trailer|space|bldg|rm\.?|room|#)"
_DIR = r"(?:[NSEW]|NE|NW|SE|SW)"
_ROAD = (
    r"(?:CR|FM|Hwy|Highway|Route|Rte|State[ \t]+Route|State[ \t]+Road|"
    r"County[ \t]+(?:Road|Rd|Route)|Farm[ \t]+Road|Road|Rd)"
)
_SHORT_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Way|Parkway|Pkwy|Highway|Hwy|"
    r"Place|Pl|Court|Ct|Terrace|Ter|Circle|Cir|Pike|Trail|Trl)"
)
_COUNTRIES = (
    "Nigeria|Ghana|Kenya|Ethiopia|Somalia|Egypt|Morocco|South Africa|Mexico|Guatemala|"
    "Honduras|El Salvador|Nicaragua|Cuba|Haiti|Dominican Republic|Jamaica|Puerto Rico|"
    "Colombia|Venezuela|Peru|Ecuador|Brazil|Argentina|Chile|Canada|England|Scotland|Ireland|"
    "Wales|United Kingdom|France|Germany|Poland|Ukraine|Russia|Italy|Spain|Portugal|Greece|"
    "Turkey|Israel|Lebanon|Syria|Iraq|Iran|Afghanistan|Pakistan|India|Bangladesh|Nepal|"
    "Sri Lanka|China|Japan|Korea|South Korea|Vietnam|Philippines|Thailand|Laos|Cambodia|"
    "Burma|Myanmar|Indonesia|Australia|New Zealand|Sweden|Norway|Denmark|Finland|Netherlands|"
    "Belgium|Switzerland|Austria|Romania|Bulgaria|Serbia|Bosnia|Albania|Qatar|Saudi Arabia"
)
_ORG_LABEL = (
    r"employer|employed by|works at|works for|transport(?:ation)?|pharmacy|carrier|insurer|"
    r"tpa|school|daycare|church|shelter|agency|facility|vendor|dme|placement|"
    r"location|site|company|business|store"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_WD_SHORT = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?"
_MONTH_FULL = r"(?:january|february|april|june|july|august|september|october|november|december)"
_MON_SHORT = r"(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
_DIGIT_WORD = "zero|oh|one|two|three|four|five|six|seven|eight|nine"
_MONTH_FULL_ALL = "(?:" + _MONTH_FULL[3:-1] + "|march|may)"
_ORD_WORD = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    r"thirtieth)"
)
_NUM_WORD = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|oh"
)
_WD_WORDS = frozenset(["mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"])
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
#: What follows an ordinal that is no day of a month ("the 3rd trimester", "2nd dose").
_NOT_DAY_AFTER = re.compile(
    r"(?i)[ \t]+(?:of[ \t]+(?!(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))\w+|"
    r"(?:\w+[ \t]+)?(?:day|week|month|year|dose|trimester|percentile|grade|degree|digit|toe|"
    r"finger|rib|nerve|ventricle|time|line|generation|floor|cycle|round|party|metatarsal|"
    r"intercostal|lumbar|cervical|thoracic|sacral|place|attempt|episode|session|visit|"
    r"opinion|shift|stage|tier|heart|sound|branch|order)s?\b)"
)


def _p(rx: str, entity: Entity, group: int | str = 0, **kw) -> Pattern:
    return Pattern(re.compile(rx), entity, 0.55, group, **kw)


@RECOGNIZERS.register("recall_rules")
class RecallRulesRecognizer(PatternRecognizer):
    """Loose PHI shapes for the recall-first mode (see the module docstring)."""

    entities = (
        Entity.AGE,
        Entity.STREET,
        Entity.CITY,
        Entity.ZIP,
        Entity.FACILITY,
        Entity.PHONE,
        Entity.ID,
        Entity.DATE,
        Entity.PATIENT,
        Entity.CLINICIAN,
    )
    recall_only = True
    patterns = (
        # --- ages over 89 ---------------------------------------------------------------
        # "Ernestine Boudreaux, 97, dx ..."
        _p(
            rf"(?<=[^\W\d_]),[ \t]+{_AGE}(?=[ \t]*[,;)\n]|[ \t]*\.(?!\d)|[ \t]{{2,}}|[ \t]*\Z"
            r"|[ \t]+(?:y|yo|M|F)\b)",
            Entity.AGE,
            "age",
            gate=re.compile(r",[ \t]+(?:9\d|1[01]\d)\b"),
        ),
        # "pt is 93", "she turned 90"
        _p(
            r"\b(?i:pt|patient|resident|mom|dad|mother|father|client)[ \t]+"
            r"(?i:is|was|turns|turned|just[ \t]+turned)[ \t]+"
            rf"{_AGE}\b(?![ \t]*(?:%|/|\.\d|mg|kg|lbs?|bpm|beats|percent|on\b|degrees|°))",
            Entity.AGE,
            "age",
            gate=re.compile(r"(?:9\d|1[01]\d)\b"),
            anchors=frozenset({"pt", "patient", "resident", "mom", "dad"})
            | frozenset({"mother", "father", "client"}),
        ),
        # --- street lines -----------------------------------------------------------------
        # "22 Larkspur, apt 3", "713 Franklin, Portland, ME", "62 Ashgrove, Edison NJ",
        # "1433 W. Elm #2", "2900 Cedar, Rockford." (no street suffix)
        _p(
            rf"(?<![\w.,/-])[NSEW]?\d{{1,6}}[ \t]+(?:{_DIR}\.?[ \t]+)?{_TW}(?:[ \t]{_TW}){{0,2}}"
            rf"(?:,?[ \t]*{_UNIT_WORD}[ \t]*#?[ \t]*[\w-]+)?"
            rf"(?=,[ \t]*{_TW}(?:[ \t]{_TW}){{0,2}}(?:,?[ \t]+(?:{ABBR}|{STATES})\b|,?[ \t]+\d{{5}}"
            rf"|[ \t]*\.(?=\s|$)|[ \t]*\n)|[ \t]*#[ \t]*\w)",
            Entity.STREET,
            gate=re.compile(rf"\d[ \t]+(?:{_DIR}\.?[ \t]+)?{UPPER}"),
        ),
        # a house number and name on their own line above "City, ST 01234"
        _p(
            rf"(?m)^[ \t]*\d{{1,6}}[ \t]+{_TW}(?:[ \t]{_TW}){{0,2}}[ \t]*"
            rf"(?=\n[ \t]*{_TW}(?:[ \t]{_TW}){{0,2}},?[ \t]+(?:{ABBR})\b)",
            Entity.STREET,
            gate=(re.compile(rf"\n[ \t]*\d{{1,6}}[ \t]+{UPPER}"), re.compile(r"\A[ \t]*\d")),
        ),
        # roads by number with a house number: "2290 Route 9, Lot 14", "12000 Road 24",
        # "N4427 County Rd K"
        _p(
            rf"(?<![\w.,/-])[NSEW]?\d{{1,6}}[ \t]+{_ROAD}[ \t]+(?:\d{{1,4}}[A-Z]?|[A-Z]{{1,2}})"
            rf"\b(?:,?[ \t]*{_UNIT_WORD}[ \t]*#?[ \t]*[\w-]+)?",
            Entity.STREET,
            gate=re.compile(r"\d[ \t]+(?:CR|FM|Hwy|High|Rout|Rte|State|Coun|Farm|Ro|Rd)"),
        ),
        # highways with a cue: "on I-94 near exit 212", "US-41 near 7th Ave N", "I-45 near
        # Airtex"
        _p(
            r"(?<![\w-])(?:I|US|SR|SH|Hwy|Highway|Route|Rte|Interstate)[ \t]*-?[ \t]*\d{1,3}"
            rf"(?=[ \t]+(?:(?i:near|exit|mile|between)|[NSEW]B\b))"
            r"(?:[ \t]+(?i:near|at|by)[ \t]+(?:(?i:exit)[ \t]+\d+[A-Z]?|(?i:mile(?:[ \t]+marker)?)"
            r"[ \t]+\d+"
            rf"|\d+(?:st|nd|rd|th)[ \t]+{_SHORT_SUFFIX}(?:[ \t]+{_DIR}\b)?"
            rf"|{_CW}(?:[ \t]+{_CW}){{0,2}}))?",
            Entity.STREET,
            gate=(frozenset({"near", "exit", "mile", "between"}), re.compile(r"[NSEW]B\b")),
        ),
        # named streets after a place word: "on Division St", "at Colfax Ave"
        _p(
            r"\b(?:on|at|off|near|along|of|from|to|across)[ \t]+"
            rf"(?P<s>(?:{_DIR}\.?[ \t]+)?{_TW}(?:[ \t]{_TW}){{0,2}}[ \t]+{_SHORT_SUFFIX}\b\.?"
            r"(?:[ \t]+(?:bridge|overpass|underpass|exit|ramp|station|park|corner|lot|garage))?)",
            Entity.STREET,
            "s",
            anchors=frozenset(
                w + sp
                for w in ("on", "at", "off", "near", "along", "of", "from", "to", "across")
                for sp in " \t"
            ),
        ),
        # "600 block of Hillsborough St", "Main & 4th", "Rural Route 1"
        _p(
            rf"\b\d{{1,5}}[ \t]+block[ \t]+of[ \t]+(?:{_DIR}\.?[ \t]+)?{_TW}(?:[ \t]{_TW}){{0,2}}"
            rf"(?:[ \t]+{_SHORT_SUFFIX}\b\.?)?",
            Entity.STREET,
            gate=Needles(frozenset({"block"})),
        ),
        _p(
            rf"(?<![\w])(?:{_TW}|\d+(?:st|nd|rd|th))(?:[ \t]+{_SHORT_SUFFIX})?[ \t]*&[ \t]*"
            rf"(?:\d+(?:st|nd|rd|th)\b|{_TW}[ \t]+{_SHORT_SUFFIX}\b)",
            Entity.STREET,
            gate=re.compile(
                rf"&[ \t]*(?:\d+(?:st|nd|rd|th)\b|[^\W\d_][\w'’-]*[ \t]+{_SHORT_SUFFIX}\b)"
            ),
        ),
        _p(
            r"\b(?:Rural|Star)[ \t]+Route[ \t]*\d{1,4}\b",
            Entity.STREET,
            gate=re.compile(r"Route[ \t]*\d"),
        ),
        # --- cities before a country -------------------------------------------------------
        _p(
            rf"(?P<c>{_CW}(?:[ \t]+{_CW})?),[ \t]*(?i:{_COUNTRIES})\b",
            Entity.CITY,
            "c",
            gate=frozenset(c.split()[0].lower() for c in _COUNTRIES.split("|")),
        ),
        # an organisation before a facility noun: "Sunrise of Wellesley assisted living",
        # "The Elms (SNF)", "the Eastgate location"
        _p(
            rf"(?P<o>(?:The[ \t]+)?{_TW}"
            rf"(?:[ \t]+(?:of|at|on)(?:[ \t]+the)?[ \t]+{_TW}|[ \t]{_TW}){{0,3}})"
            r"[ \t]+\(?(?:assisted[ \t]+living|nursing[ \t]+home|memory[ \t]+care|"
            r"senior[ \t]+living|group[ \t]+home|rehab|SNF|ALF|LTC|LTAC|shelter|station|campus|"
            r"location|branch|mobile)\b",
            Entity.FACILITY,
            "o",
            gate=frozenset(
                """assisted nursing memory senior group rehab snf alf ltc ltac shelter station
                campus location branch mobile""".split()  # noqa: SIM905
            ),
        ),
        _p(
            rf"(?P<c>{_TW}(?:[ \t]{_TW})?)[ \t]+(?:{ABBR})(?=[ \t]{{2,}}|[ \t]*(?:\n|\Z|[,.;)]))",
            Entity.CITY,
            "c",
            gate=re.compile(rf"(?:{ABBR})(?=[ \t]{{2,}}|[ \t]*(?:\n|\Z|[,.;)]))"),
        ),
        # --- organisations after a label ---------------------------------------------------
        _p(
            rf"(?<![\w])(?i:{_ORG_LABEL})[ \t]*[:\-][ \t]*(?:(?i:retired|former)[ \t]*\(?[ \t]*)?"
            rf"(?P<o>(?:{_CW}|[A-Z]{{2,6}})(?:[ \t]+(?:&[ \t]+|of[ \t]+|the[ \t]+|at[ \t]+)?"
            rf"(?:{_CW}|[A-Z]{{1,6}}\d{{0,4}}|\d{{1,4}}))*)",
            Entity.FACILITY,
            "o",
            anchors=frozenset(
                """employer employed works transport pharmacy carrier insurer tpa school
                daycare church shelter agency facility vendor dme placement location
                site company business store""".split()  # noqa: SIM905
            ),
        ),
        # --- phones -----------------------------------------------------------------------
        # seven-digit local numbers anywhere (exchange 2-9): "boyfriend 555-0103"
        _p(
            r"(?<![\w/.:-])[2-9]\d{2}-\d{4}(?![\w/-]|\.\d)"
            r"(?![ \t]*(?:mg|mcg|ml|units?|cells|copies|g\b|kg|/))",
            Entity.PHONE,
            gate=re.compile(r"\d{3}[\s.-]\d{4}"),  # the phone recognizer's gate (memoised)
        ),
        # international numbers: "+52 33 5550 1182", "+44 7700 900461"
        _p(
            r"(?<![\w+])\+\d{1,3}(?:[ \t.-]?\(?\d{1,5}\)?){2,5}(?![\w])",
            Entity.PHONE,
            gate=re.compile(r"\+\d"),
        ),
        # pagers and extensions: "pgr 5512", "ext 6-4418"
        _p(
            r"(?<![\w])(?i:pgr|pager|beeper|vocera|spectralink|ext|extension)\.?[ \t:#]*"
            r"\d[\d-]{2,8}\d\b",
            Entity.PHONE,
            anchors=frozenset({"pgr", "pager", "beeper", "vocera", "spectralink", "ext"}),
        ),
        # --- identifiers ------------------------------------------------------------------
        # a label then a value that goes on over spaces: "DL IA 871LK4420", "ID FC 71148802",
        # "unit # W0361 26 441882 5", "ClinCard # 4000 2211 8840 1176", "A# A-218 447 903"
        _p(
            r"(?<![\w])(?i:DL|CDL|ID|A#|unit[ \t]*#|card[ \t]*#|clincard[ \t]*#|BIN|PCN|"
            r"no\.|number|"
            r"RxGrp|group|member|policy|consular[ \t]+ID|license|licence|permit|lic\.?)"
            r"[ \t]*[:#]?[ \t]*(?P<v>(?:[A-Z]{1,5}[ \t-]?)?\d[\dA-Z]*(?:[ \t-]\d[\dA-Z]*){0,4})"
            r"(?![\w]|[./]\w)",
            Entity.ID,
            "v",
            anchors=frozenset(
                ["dl", "cdl", "id", "a#", "unit", "card", "clincard", "bin", "pcn", "rxgrp"]
                + ["group", "member", "policy", "consular", "license", "licence", "permit"]
                + ["lic", "no.", "number"]
            ),
        ),
        # the value after an insurer's name: "SelectHealth SH 40018271-01"
        _p(
            r"(?<![\w-])(?!(?:MRN|MR|ID|DOB|SSN|NPI|DEA|CSN|FIN|ACCT|ACC|DL|CDL|BIN|PCN|HICN|MBI|"
            r"EIN|TIN|PIN|NO|REF|RX|PH|TEL|FAX|PGR)\b)"
            r"[A-Z]{1,4}[ \t]\d{7,}(?:-\d{1,4})?(?![\w]|\.\d)",
            Entity.ID,
            gate=DigitRun(7),
        ),
        # long numbers written in groups: "4000 2211 8840 1176", "0044718209"
        _p(
            r"(?<![\w.,/-])\d{2,6}(?:[ \t]\d{2,6}){2,5}(?![\w,/-]|\.\d|[ \t]\d)",
            Entity.ID,
            gate=re.compile(r"\d\d[ \t]\d\d+[ \t]\d\d"),
        ),
        # user names in the cells of an audit table: "| jrwhalen2 (Jared ...) |"
        _p(
            r"\|[ \t]*(?P<v>[a-z][a-z.]{2,}[a-z]\d{1,4}|[a-z][a-z0-9]*_[a-z0-9_]+)"
            r"(?![\w@/-]|\.\w)",
            Entity.ID,
            "v",
            gate=Needles(frozenset({"|"})),
        ),
        # workstation, terminal and device names, door and lockbox codes, badge numbers
        _p(
            r"(?<![\w])(?i:workstation|terminal|computer|host(?:name)?|(?:lockbox|door|gate|"
            r"entry|access|alarm|keypad|key)[ \t]+code|badge|tech|employee|emp|user(?:name)?|"
            r"login|handle)\b[ \t]*[:#]?[ \t]*[\"“']?(?P<v>(?=[\w.-]*\d)[\w][\w.-]{1,30}[\w]"
            r"|[a-z][a-z0-9]*_[a-z0-9_]+)",
            Entity.ID,
            "v",
            anchors=frozenset(
                ["workstation", "terminal", "computer", "host", "lockbox", "door", "gate"]
                + ["entry", "access", "alarm", "keypad", "key", "badge", "tech", "employee"]
                + ["emp", "user", "login", "handle"]
            ),
        ),
        # quoted texts of tattoos and inscriptions
        _p(
            r"(?i:tattoo(?:ed|s)?|inscription|inscribed|engraved)"
            r"[^\"“\n]{0,40}[\"“](?P<v>[^\"”\n]{2,60})[\"”]",
            Entity.ID,
            "v",
            anchors=frozenset({"tattoo", "inscription", "inscribed", "engraved"}),
        ),
        # ambulance and fire units: "Unit Medic 12", "Rescue 4"
        _p(
            r"(?<![\w])(?:Unit[ \t]+)?(?P<v>(?:Medic|Rescue|Engine|Ladder|Truck|Squad|Ambulance|"
            r"Ambo|Car)[ \t]+\d{1,4})\b",
            Entity.ID,
            "v",
            gate=re.compile(
                r"(?:Medic|Rescue|Engine|Ladder|Truck|Squad|Ambulance|Ambo|Car)[ \t]+\d"
            ),
        ),
        # SSN last four: "SSN (last 4) 4418"
        _p(
            r"(?i:SSN|social security(?: number)?|SS#)(?:[ \t]*\((?i:last)[ \t]*(?:4|four)\))?"
            r"[^\n\d]{0,20}(?P<v>\d{4})\b",
            Entity.ID,
            "v",
            anchors=frozenset({"ssn", "social security", "ss#"}),
        ),
        # web addresses without a scheme: "myair.example.com/share/JL77Q2"
        _p(
            r"(?<![\w@./-])(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|us|info|health|example)"
            r"(?:/[^\s<>\"')\]]*[^\s<>\"')\].,;:])?(?![\w@])",
            Entity.URL,
            gate=re.compile(r"\.(?:com|org|net|edu|gov|io|us|info|health|example)\b"),
        ),
        # --- dates ------------------------------------------------------------------------
        _p(
            rf"(?<![\w])(?i:{_WEEKDAY})(?![\w])",
            Entity.DATE,
            gate=frozenset(
                ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
                + ["mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays"]
                + ["sundays"]
            ),
        ),
        # a short weekday before a date or after a day word: "Tue 02/10/2026", "started Mon"
        _p(
            rf"(?<![\w])(?i:{_WD_SHORT})(?=,?[ \t]+\d{{1,2}}[/.-]\d)",
            Entity.DATE,
            gate=_WD_WORDS,
        ),
        _p(
            r"\b(?i:since|until|till|on|last|next|this|started|by|from|before|after|every)"
            rf"[ \t]+(?P<d>(?i:{_WD_SHORT}))(?![\w])",
            Entity.DATE,
            "d",
            gate=_WD_WORDS,
        ),
        # month names alone: "until January", "since july"
        _p(
            rf"(?<![\w])(?i:{_MONTH_FULL})(?![\w])|(?<![\w])March(?![\w])",
            Entity.DATE,
            gate=frozenset(
                ["january", "february", "march", "april", "june", "july", "august", "september"]
                + ["october", "november", "december"]
            ),
        ),
        # lower-case month and day: "sept 28", "dec 2"; "Apr-3"
        _p(
            rf"(?<![\w])(?i:{_MON_SHORT})\.?(?:[ \t]+|-){_DAY}(?![\w/:]|\.\d)"
            r"(?![ \t]*(?:mg|mcg|ml|units?|%))",
            Entity.DATE,
            gate=frozenset(["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept"])
            | frozenset(["oct", "nov", "dec"]),
        ),
        # "the 3rd" (not "the 3rd trimester")
        _p(
            r"(?<![\w])(?i:the)[ \t]+(?P<d>(?:3[01]|[12]\d|[1-9])(?:st|nd|rd|th))\b",
            Entity.DATE,
            "d",
            gate=re.compile(r"\d(?:st|nd|rd|th)\b"),
            anchors=frozenset({"the"}),
        ),
        # --- third set, development half: dictation, files, handles, more shapes ---------
        # seven or more digits dictated one by one: "4 4 0 1 7 7 2"
        _p(
            r"(?<![\w.])(?:\d[ \t]){6,}\d(?![\w.])",
            Entity.ID,
            gate=re.compile(r"\d[ \t]\d[ \t]\d[ \t]\d[ \t]\d[ \t]\d[ \t]\d"),
        ),
        # numbers dictated in words: "two one two five five five zero one six eight"
        _p(
            rf"(?i:\b(?:{_DIGIT_WORD})(?:[ \t,-]+(?:{_DIGIT_WORD})){{6,}}\b)",
            Entity.PHONE,
            gate=frozenset(["zero", "oh", "one", "two", "three", "four", "five"])
            | frozenset(["six", "seven", "eight", "nine"]),
        ),
        # dates dictated in words: "July fourth nineteen sixty two", "November twenty third"
        _p(
            rf"(?i:\b{_MONTH_FULL_ALL}[ \t]+(?:the[ \t]+)?(?:(?:twenty|thirty)[ \t-])?{_ORD_WORD}"
            rf"(?:,?[ \t]+(?:nineteen|twenty|two[ \t]+thousand)(?:[ \t-]+(?:and[ \t]+)?"
            rf"(?:{_NUM_WORD})){{0,3}})?\b)",
            Entity.DATE,
            gate=frozenset(
                """first second third fourth fifth sixth seventh eighth ninth tenth eleventh
                twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth
                nineteenth twentieth thirtieth""".split()  # noqa: SIM905
            ),
        ),
        # seasons and months with "of" and a year: "spring 2025", "March of 2024"
        _p(
            rf"(?i:\b(?:spring|summer|fall|autumn|winter|{_MONTH_FULL_ALL})[ \t]+(?:of[ \t]+)?"
            r"(?:19|20)\d\d\b)",
            Entity.DATE,
            gate=frozenset(
                """spring summer fall autumn winter january february march april may june july
                august september october november december""".split()  # noqa: SIM905
            ),
        ),
        # a month abbreviation alone after a time word: "in Sept", "since Oct."
        _p(
            r"\b(?i:in|since|until|till|by|last|next|early|late|mid|before|after|from)[ \t]+"
            r"(?P<d>(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?)(?![\w])",
            Entity.DATE,
            "d",
            gate=frozenset(["jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept"])
            | frozenset(["oct", "nov", "dec"]),
        ),
        # file names and underscore-joined names: "derm_smith_L_arm_01.jpg", "IPV_Doe_neck_1-4"
        _p(
            r"(?<![\w./-])[\w-]+(?:_[\w-]+){2,}(?:\.(?i:jpe?g|png|gif|tiff?|dcm|pdf|heic|mp4|mov|wav))?"
            r"(?![\w])|(?<![\w./-])[\w-]+_[\w.-]*\.(?i:jpe?g|png|gif|tiff?|dcm|pdf|heic|mp4|mov|wav)\b",
            Entity.ID,
            gate=Needles(frozenset({"_"})),
        ),
        # social handles: "@jaimepaints_", "Snapchat contact (xXdevonXx22)"
        _p(
            r"(?<![\w@.])@(?P<v>[A-Za-z0-9_.]{3,30})",
            Entity.ID,
            "v",
            gate=Needles(frozenset({"@"})),
        ),
        _p(
            r"(?i:snapchat|instagram|tiktok|facebook|twitter|discord|telegram|kik|gamertag|"
            r"handle|username|screen[ \t]name)\b[^\n()]{0,40}\([ \t]*(?P<v>@?[\w.]{3,30})[ \t]*\)",
            Entity.ID,
            "v",
            anchors=frozenset(
                ["snapchat", "instagram", "tiktok", "facebook", "twitter", "discord", "telegram"]
                + ["kik", "gamertag", "handle", "username", "screen"]
            ),
        ),
        # dotted numeric identifiers (DICOM UIDs): "1.2.840.113619.2.55"
        _p(
            r"(?<![\w.])\d+(?:\.\d+){4,}(?![\w]|\.\d)",
            Entity.ID,
            gate=re.compile(r"\d\.\d+\.\d+\.\d+\.\d"),
        ),
        # letters and digits then digit groups (blood unit numbers): "W0419 26 118844"
        _p(
            r"(?<![\w-])[A-Z]{1,3}\d{3,}(?:[ \t]\d{2,}){2,}(?![\w])",
            Entity.ID,
            gate=re.compile(r"[A-Z]\d{3,}[ \t]\d\d+[ \t]\d\d"),
        ),
        # alien registration numbers: "A 212-554-018", "A-218 447 903"
        _p(
            r"\bA[ \t-]?\d{3}[ \t-]?\d{3}[ \t-]?\d{3}\b",
            Entity.ID,
            gate=re.compile(r"A[ \t-]?\d{3}"),
        ),
        # aircraft tail numbers after an aircraft word: "fixed wing N77EM"
        _p(
            r"(?i:tail(?:[ \t]*(?:#|no\.?|number))?|helicopter|fixed[ \t-]wing|rotor[ \t-]wing|"
            r"aircraft|jet|plane)[ \t:#]*(?P<v>N\d{1,5}[A-Z]{0,2})\b",
            Entity.ID,
            "v",
            gate=re.compile(r"N\d{1,5}[A-Z]{0,2}\b"),
        ),
        # a whole line after an address label; a county after its label
        _p(
            r"(?i:\b(?:home[ \t]+)?address|\baddr)\.?[ \t]*:[ \t]*(?P<a>[^\n]{4,80})",
            Entity.STREET,
            "a",
            anchors=frozenset({"address", "home", "addr"}),
        ),
        _p(
            rf"(?i:\bcounty)[ \t]*:[ \t]*(?P<c>{_CW}(?:[ \t]{_CW})?)",
            Entity.CITY,
            "c",
            anchors=frozenset({"county"}),
        ),
        # street lines in upper case: "7731 W 114TH TER", "3300 S. KEDZIE AVE APT 2R"
        _p(
            r"\b\d{1,6}[ \t]+(?:[NSEW]\.?[ \t]+)?(?:[A-Z0-9]+[ \t]+){1,3}"
            r"(?:ST|AVE|RD|BLVD|DR|LN|TER|CT|PL|WAY|PKWY|HWY|CIR|TRL|PIKE)\b\.?"
            r"(?:[ \t]+(?:APT|UNIT|STE|SUITE|#)[ \t]*#?[\w-]+)?",
            Entity.STREET,
            gate=re.compile(
                r"[A-Z0-9][ \t]+(?:ST|AVE|RD|BLVD|DR|LN|TER|CT|PL|WAY|PKWY|HWY|CIR|TRL|PIKE)\b"
            ),
        ),
        # a city after a facility and a comma: "... Women's Hospital, Brisbane"
        _p(
            r"(?:Hospital|Clinic|Center|Centre|Medicine|Health|Infirmary|Institute)[ \t]*"
            rf"(?:,[ \t]*|\([ \t]*)(?P<c>{_TW}(?:[ \t]{_TW})?)(?=[ \t]*(?:\n|\Z|[,.;)]))",
            Entity.CITY,
            "c",
            gate=re.compile(
                r"(?:Hospital|Clinic|Center|Centre|Medicine|Health|Infirmary|Institute)[ \t]*[,(]"
            ),
        ),
        # transport companies: "Transport co. TheHandi-Van", "Transfer by LifeNet helicopter"
        _p(
            r"(?i:transport(?:ation)?(?:[ \t]+co(?:mpany)?\.?)?|transfer(?:red)?[ \t]+by|"
            r"flown[ \t]+by|"
            r"ride[ \t]+by|pick[ \t-]?up[ \t]+by)[ \t:]+(?P<o>[A-Z][\w'’-]*[A-Z][\w'’-]*)",
            Entity.FACILITY,
            "o",
            anchors=frozenset(["transport", "transfer", "flown", "ride", "pick"]),
        ),
        # names in upper-case notes after a title or relation: "DR. ROSE", "SISTER MARIA DE
        # LOS ANGELES MARTINEZ"
        _p(
            r"\b(?:DR|MR|MRS|MS|SISTER|BROTHER|SON|DAUGHTER|WIFE|HUSBAND|MOTHER|FATHER|AUNT|UNCLE|"
            r"FRIEND|PARTNER|COUSIN|NIECE|NEPHEW)\.?[ \t]+"
            r"(?P<n>[A-Z]{2,}(?:[ \t]+(?:(?:DE|DEL|LA|LOS|LAS|VAN|VON|DA|DOS)[ \t]+)*"
            r"[A-Z]{2,}){0,4})\b",
            Entity.PATIENT,
            "n",
            gate=re.compile(
                r"(?:DR|MR|MRS|MS|SISTER|BROTHER|SON|DAUGHTER|WIFE|HUSBAND|MOTHER|FATHER|AUNT|"
                r"UNCLE|FRIEND|PARTNER|COUSIN|NIECE|NEPHEW)\.?[ \t]+[A-Z]{2}"
            ),
        ),
        # initials and logins after a role: "Tech BRL", "Cytotechnologist BWK", "by rvaldez"
        _p(
            r"\b(?i:tech|technologist|cytotechnologist|technician|scribe|transcriptionist|"
            r"sonographer|phlebotomist|courier)[ \t]+(?P<n>[A-Z]{2,4})\b",
            Entity.PATIENT,
            "n",
            anchors=frozenset(
                ["tech", "cytotechnologist", "scribe", "transcriptionist", "sonographer"]
                + ["phlebotomist", "courier"]
            ),
        ),
        _p(
            r"\b(?i:by|biller|coder|clerk|registrar|user)[ \t]+(?P<n>[a-z][a-z0-9._]{3,})"
            r"(?=[ \t]*(?:\n|\Z|[.,;)]))",
            Entity.PATIENT,
            "n",
            anchors=frozenset(["by", "biller", "coder", "clerk", "registrar", "user"]),
        ),
        # lower-case names after a relation: "my dad walt parkinson"
        _p(
            r"\b(?:dad|mom|mother|father|son|daughter|wife|husband|brother|sister|friend|"
            r"boyfriend|girlfriend|partner|grandma|grandpa|aunt|uncle|cousin)[ \t]+"
            r"(?P<n>[a-z][a-z'’-]+[ \t]+[a-z][a-z'’-]+)\b",
            Entity.PATIENT,
            "n",
            gate=frozenset(
                """dad mom mother father son daughter wife husband brother sister friend
                boyfriend girlfriend partner grandma grandpa aunt uncle cousin""".split()  # noqa: SIM905
            ),
        ),
        # --- names ------------------------------------------------------------------------
        # initials signing a line: "-RBT MA", ". -ST", "-Jo (RN triage)", "tk MA"
        # (accept() checks that the dash opens a line or follows a sentence)
        _p(
            rf"[-–—~][ \t]*(?P<n>{LETTER}{{1,12}}(?:[ \t]+{UPPER}\.?)?)"
            r"(?:,?[ \t]+(?:MA|CMA|RN|LPN|NP|PA|MD|DO|RT|PT|OT|SW|CNA|tech))?"
            r"(?:[ \t]*\([^)\n]{0,30}\))?[ \t]*(?=\n|\Z)",
            Entity.PATIENT,
            "n",
        ),
        _p(
            r"(?m)^[ \t]*(?P<n>[a-z]{2,3})[ \t]+(?:MA|CMA|RN|LPN|NP|PA|MD|CNA)[ \t]*$",
            Entity.PATIENT,
            "n",
            gate=re.compile(r"(?:MA|CMA|RN|LPN|NP|PA|MD|CNA)[ \t]*(?:\n|\Z)"),
        ),
        # message headers in lower case: "from: hope m", "to: dr. will parkinson"
        _p(
            r"(?im:^)[ \t]*(?i:from|to|sender|recipient):[ \t]*(?:(?i:dr|mr|mrs|ms)\.?[ \t]+)?"
            rf"(?P<n>{LOWER}[\w'’-]*(?:[ \t]+{LOWER}[\w'’.-]*){{0,2}})[ \t]*(?=\(|<|\n|\Z)",
            Entity.CLINICIAN,
            "n",
            gate=Needles(frozenset({"from:", "to:", "sender:", "recipient:"})),
        ),
        # sign-offs on their line: "thanks, hope", "thx - bertie", "THANK YOU - ROSE"
        _p(
            r"(?i:thanks|thank[ \t]+you|thx|love|cheers|regards|sincerely)[ \t]*[,!.]*[ \t]*"
            rf"(?:[-–—~][ \t]*)?(?P<n>{LETTER}[\w'’-]*(?:[ \t]+{LETTER}\.?)?)[ \t]*(?=\n|\Z)",
            Entity.PATIENT,
            "n",
            anchors=frozenset(["thanks", "thank", "thx", "love", "cheers", "regards"])
            | frozenset(["sincerely"]),
        ),
        # a nickname in quotes between names: 'Ezekiel "Zeke" Marrow'; a quoted name after
        # an age or in brackets: '41m "Tiny"', '("BB Lomasney")'
        _p(
            rf"(?P<n>{_TW}[ \t]+[\"“][^\"”\n]{{1,20}}[\"”][ \t]+{_TW})",
            Entity.CLINICIAN,
            "n",
            gate=re.compile(r"[\"“][^\"”\n]{1,20}[\"”][ \t]+[^\W\d_]"),
        ),
        _p(
            r"(?:\d{1,3}[ \t]?[MFmf]|\(|\b(?:Pt|Patient|Baby|aka|called|goes[ \t]by)[ \t]*:?)"
            r"[ \t]*[\"“]"
            rf"(?P<n>{UPPER}[\w'’-]*(?:[ \t]+{UPPER}[\w'’-]*){{0,2}})[\"”]",
            Entity.CLINICIAN,
            "n",
            gate=re.compile(r"[\"“][^\W\d_]"),
        ),
        # a first name after a relation or a role: "cousin Tariq", "dtr Lan", "son (Gideon)"
        _p(
            r"\b(?i:son|daughter|dtr|wife|husband|brother|sister|cousin|roommate|friend|"
            r"boyfriend|girlfriend|partner|fianc[eé]e?|neighbou?r|mom|mother|dad|father|aunt|uncle|"
            r"niece|nephew|grandson|granddaughter|grandmother|grandfather|gma|gpa|pharmacist|"
            r"caregiver|guardian|co-?worker|landlord|pastor|sponsor|stepson|stepdaughter)"
            rf"[ \t]+\(?(?P<n>{UPPER}{LOWER}+(?:['’-]{LETTER}+)?(?:[ \t]+(?:Jr|Sr)\.?)?)(?![\w])",
            Entity.PATIENT,
            "n",
            anchors=frozenset(
                """son daughter dtr wife husband brother sister cousin roommate friend boyfriend
                girlfriend partner fianc neighbo mom mother dad father aunt uncle niece nephew
                grandson granddaughter grandmother grandfather gma gpa pharmacist caregiver
                guardian co-worker coworker landlord pastor sponsor stepson
                stepdaughter""".split()  # noqa: SIM905
            ),
        ),
        # lower-case names after pt or a doctor title: "pt ivy winterbourne", "dr oyelowo"
        _p(
            r"\b(?:pt|patient)[ \t]+(?P<n>[a-z][a-z'’-]+[ \t]+[a-z][a-z'’-]+)\b",
            Entity.PATIENT,
            "n",
            gate=frozenset({"pt", "patient"}),
            anchors=frozenset({"pt ", "pt\t", "patient ", "patient\t"}),
        ),
        _p(
            r"\b(?:dr|doctor)\.?[ \t]+(?P<n>[a-z][a-z'’-]+)\b",
            Entity.PATIENT,
            "n",
            gate=frozenset({"dr", "doctor"}),
            anchors=frozenset({"dr ", "dr.", "dr\t", "doctor"}),
        ),
        # transcriptionist and scribe initials: "Transcribed: jkm"
        _p(
            r"(?i:transcribed|typed|dictated|scribe|scribed|initials)(?:[ \t]+by)?[ \t]*[:/-][ \t]*"
            rf"(?P<n>{LETTER}{{2,4}})\b",
            Entity.PATIENT,
            "n",
            anchors=frozenset(
                {"transcribed", "typed", "dictated", "scribe", "scribed", "initials"}
            ),
        ),
        # registration names: 'Registered as "Doe, Trauma Zulu"'
        _p(
            r"(?i:registered(?:[ \t]+as)?|alias|aka|a\.k\.a\.?|goes[ \t]+by|known[ \t]+as|"
            r"nicknamed?|legal[ \t]+name|preferred[ \t]+name)[ \t]*[:\-]?[ \t]*[\"“']?"
            rf"(?P<n>{UPPER}[\w'’-]*(?:,?[ \t]+{UPPER}[\w'’-]*){{0,3}})",
            Entity.CLINICIAN,
            "n",
            anchors=frozenset(
                ["registered", "alias", "aka", "a.k.a", "goes", "known", "nickname", "legal"]
                + ["preferred"]
            ),
        ),
        # "his surname is Crohn", "pt's surname is also Hartmann"
        _p(
            r"(?i:surname|last[ \t]+name|first[ \t]+name|family[ \t]+name|maiden[ \t]+name|"
            r"name)[ \t]+(?i:is|was)[ \t]+(?:(?i:also|really|actually)[ \t]+)?[\"“']?"
            rf"(?P<n>{UPPER}[\w'’-]+)",
            Entity.CLINICIAN,
            "n",
            anchors=frozenset({"surname", "last", "first", "family", "maiden", "name"}),
        ),
        # a name surname first opening a line before an age, a sex, a bar or a room:
        # "Alzheimer, Gertrude  (94F)", "Crohn, Maximilian 23M", "| Lindqvist, Tor |"
        _p(
            rf"(?:(?m:^)[ \t]*|\|[ \t]*|(?:Pt|Patient|Name|Client|Resident|Veteran|Inmate|Member)"
            rf"[ \t]*:?[ \t]*)(?P<n>{_CW},[ \t]*{_CW}(?:[ \t]{_CW}|[ \t]{UPPER}\.?)?)"
            r"(?=[ \t]*(?:\(?\d{1,3}[ \t]?[MFmf]\b|\||->|\(|MRN|DOB|Rm\b|\n)|[ \t]{2,}|$)",
            Entity.PATIENT,
            "n",
            gate=re.compile(rf",[ \t]*{UPPER}"),
        ),
        # the same after a patient label: a name, whatever its words ("Pt: Trauma, Zulu")
        _p(
            rf"(?:Pt|Patient|Name|Client|Resident|Veteran|Inmate|Member)[ \t]*:?[ \t]*"
            rf"(?P<n>{_CW},[ \t]*{_CW}(?:[ \t]{_CW}|[ \t]{UPPER}\.?)?)"
            r"(?=[ \t]*(?:\(?\d{1,3}[ \t]?[MFmf]\b|\||->|\(|MRN|DOB|Rm\b|\n)|[ \t]{2,}|$)",
            Entity.CLINICIAN,
            "n",
            gate=re.compile(rf",[ \t]*{UPPER}"),
        ),
    )

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """The spans of the patterns, plus the city and ZIP after each street line."""
        out = super().analyze(text, ctx)
        users = {
            text[s.start : s.end]
            for s in out
            if s.entity is Entity.ID and "|" in text[max(0, s.start - 3) : s.start]
        }
        for u in users:  # the same user name elsewhere in the note ("Finding: jrwhalen2 ...")
            for m in re.finditer(rf"(?<![\w@./-]){re.escape(u)}(?![\w@/-])", text):
                out.append(Span(m.start(), m.end(), Entity.ID, 0.55, self.name))
        for s in list(out):
            if s.entity is Entity.STREET and (m := _CITY_AFTER.match(text, s.end)):
                out.append(Span(m.start("c"), m.end("c"), Entity.CITY, 0.55, self.name))
                if z := _ZIP_AFTER.match(text, m.end("c")):
                    out.append(Span(z.start("z"), z.end("z"), Entity.ZIP, 0.55, self.name))
        return out

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Organisation runs and names need a word that is not clinical; an ordinal is a
        day only when no counted noun follows it.
        """
        frag = text[start:end]
        if entity is Entity.DATE and frag[:1].isdigit() and frag[-2:].isalpha():
            return _NOT_DAY_AFTER.match(text, end) is None
        if entity is Entity.ID and " " in frag and re.fullmatch(r"[\d \t]+", frag):
            if re.fullmatch(r"(?:\d[ \t])+\d", frag):
                return True  # digits dictated one by one
            return sum(c.isdigit() for c in frag) >= 9  # not a row of lab values
        if entity is Entity.ID and _NOT_USER.match(frag):
            return False
        if entity is Entity.ID and sum(c.isdigit() for c in frag) < 3 and frag.isdigit():
            return False  # "Grade Group 2"
        m = re.fullmatch(r"(\d{3})-(\d{4})", frag) if entity is Entity.PHONE else None
        if (
            m is not None
            and int(m.group(1)) < int(m.group(2))
            and re.search(
                r"(?i)(?:\||ref|range|normal|nl)[^\n]{0,12}$", text[max(0, start - 16) : start]
            )
        ):
            return False  # a reference range in a lab table
        if entity is Entity.CITY:
            low = frag.lower().split()
            clinical = _vocab.clinical()
            return any(w not in clinical and w not in _GENERIC_ORG for w in low)
        if entity is Entity.PATIENT and frag.islower():
            signed = _signed_here(text, start)
            if signed in ("line", "sentence") and len(frag) <= 3:
                return frag not in _NOT_INITIALS  # "... last wk. - tm RN"
            return signed is not False and _lower_name(frag)
        if entity in (Entity.FACILITY, Entity.PATIENT, Entity.CLINICIAN):
            clinical = _vocab.clinical()
            words = [w.lower() for w in re.findall(rf"{LETTER}[\w'’-]*", frag)]
            if not words:
                return False
            if entity is Entity.FACILITY:
                return any(w not in clinical and w not in _GENERIC_ORG for w in words)
            if entity is Entity.CLINICIAN:  # a name by its label: any word not generic
                return any(w not in _NOT_INITIALS and w not in _GENERIC_ORG for w in words)
            signed = _signed_here(text, start)
            if signed is False:
                return False
            if len(words) == 1 and len(words[0]) <= 4:
                if signed == "sentence" and frag.isupper():
                    return True  # "... today. -ST"
                return words[0] not in _NOT_INITIALS and words[0] not in clinical
            english, names = _vocab.english(), _vocab.all_names()
            return any(
                w not in clinical and w not in _GENERIC_ORG and (w not in english or w in names)
                for w in words
            )
        return True


def _lower_name(frag: str) -> bool:
    """Lower-case words after "pt" or "dr" are a name when each is a name or no English
    word ("ivy winterbourne", "will hope", "oyelowo"; not "will return", "visit").
    """
    english, names, clinical = _vocab.english(), _vocab.all_names(), _vocab.clinical()
    return all(
        (w in names or (w not in english and w not in clinical)) and w not in _NOT_INITIALS
        for w in frag.replace("’", "'").split()
    )


#: Lower-case tokens with digits that are clinical, not user names.
_NOT_USER = re.compile(r"(?i)(?:covid|sars|etco|paco|pao|sao|spo|fio|pco|vitamin|vit)")


def _signed_here(text: str, start: int) -> bool | str:
    """A name after a dash only when the dash opens a line (``"line"``) or follows a
    sentence or a sign-off word (``"sentence"``); True when no dash is before it.
    """
    j = start - 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    if j < 0 or text[j] not in "-–—~":
        return True  # not after a dash
    j -= 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    if j < 0 or text[j] == "\n":
        return "line"
    if text[j] in ".!?)]" or re.search(
        r"(?i)(?:thanks|thank you|thx|ty|love|cheers)[,!]?$", text[max(0, j - 12) : j + 1]
    ):
        return "sentence"
    return False


#: Short words after a dash or label that are not initials.
_NOT_INITIALS = frozenset(
    """see per ok no yes na nka nkda prn the and or to for pt rn md np pa do ma tbd end
    cont done pls thx thanks patient pharmacy nurse nursing clinic office team provider
    doctor dr front desk scheduling billing triage care all you me us them""".split()  # noqa: SIM905
)
#: Words that do not make an organisation run specific.
_GENERIC_ORG = frozenset(
    """the of and at home none unknown n/a na self retired unemployed disabled local mail
    order walk in same as above pending not applicable bls als ambulance wheelchair van
    taxi family private car bus stretcher medical pt patient alive deceased living healthy
    well died passed present absent""".split()  # noqa: SIM905
)
