"""Facility names: capitalised words ending in Hospital, Clinic, Medical Center and the like."""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

_KIND = (
    r"Hospital|Medical Center|Medical Centre|Clinic|Health Center|Health Centre|Infirmary|"
    r"Associates|Rehabilitation Center|Nursing Home|Care Center|Urgent Care|Pharmacy|"
    r"Health System|Healthcare|Medical Group|Family Practice|Physicians|Community Health|"
    r"Home Health(?: Services| Agency| Care)?|Home Care|Hospice|Institute|Apothecary|Drug|Drugs|"
    r"Medical Supply|Rehab|Rehabilitation|Manor|Nursing Center|Nursing and Rehabilitation|"
    r"Assisted Living|Senior Living|Living Center|Skilled Nursing|Care Home|"
    r"Health Partners|"
    r"Partners|Imaging|Radiology|Laboratories|Labs|Dialysis(?: Center)?|Surgery Center|"
    r"Surgical Center|Cancer Center|Heart Center|Wellness Center|Health Services|"
    r"Medical Associates|"
    r"Pediatrics|Orthopedics|Cardiology|Oncology|Dermatology|Ob/Gyn|Family Medicine|"
    r"Internal Medicine|Behavioral Health|Counseling(?: Center| Services)?|Treatment Center|"
    r"Recovery Center|Sanatorium|Residence|Pharmacy Services|Health|Center|Centre|School|"
    r"High School|Middle School|Elementary(?: School)?|Academy|University|College|"
    r"Consultants|Supply|Ambulance|Lab|Laboratory|Respite|Shelter|Mission|House|Memory Care|"
    r"Endoscopy Center|Sleep Center|Stroke Center|Specialists|Hospitalists"
)
#: More kinds, in title case only (in upper-case notes they are too often clinical text):
#: specialties, services, public bodies, places of worship and employers.
_KIND_TITLE = (
    _KIND + r"|Neurology|Urology|Gastroenterology|Nephrology|Pulmonology|Rheumatology|Psychiatry|"
    r"Ophthalmology|Podiatry|Audiology|Hepatology|Endocrinology|Dental|Dentistry|Orthodontics|"
    r"Eye Care|Vision Center|Chiropractic|Physical Therapy|Pathology(?: Group)?|Infusion|"
    r"Home Infusion|Services|Service|Department|Fire District(?: \d+)?|Fire Department|"
    r"Fire Rescue|EMS|Correctional Facility|Detention Center|Jail|Prison|Facility|Church|"
    r"Chapel|Convent|Temple|Synagogue|Mosque|Baptist|Methodist|Gardens|Adult Day(?: Center)?|"
    r"Advice Line|Air Medical|Logistics|Freight(?: Lines)?|Trucking|Transport|Packing|Foods|"
    r"Farms|Diner|Restaurant|Cafe|Construction|Manufacturing|Industries|Learning Center|"
    r"Daycare|Preschool|ENT|GI|SNF|ASC|IHS|PD|Funeral Home|Mortuary|Cemetery|Parish(?: Hall)?|"
    r"Cathedral|Gurdwara|Masjid|Mandir|Cryobank|Blood Bank|Fulfillment Center|Warehouse"
)
#: Words of the core kinds only: a name made of a title-case-only kind and a core kind
#: ("Methodist ... Hospital", "Police Department") keeps the first as its own word.
_KIND_WORDS = frozenset(w.lower() for w in re.findall(r"[A-Za-z]+", _KIND))
#: Pharmacy, laboratory and care chains named without a facility word ("CVS #8831").
_CHAINS = (
    r"CVS(?: Pharmacy| Caremark)?|Walgreens|Rite Aid|Walmart(?: Pharmacy)?|Costco(?: Pharmacy)?|"
    r"Kroger(?: Pharmacy)?|Safeway|Publix|Target Pharmacy|Quest Diagnostics|Quest|LabCorp|"
    r"Kaiser Permanente|Kaiser|Sutter Health|Mayo Clinic|Cleveland Clinic|Fry's(?: Pharmacy)?|"
    r"H-E-B|Meijer|Albertsons|Wegmans|Hy-Vee|Giant Eagle|Duane Reade|Express Scripts|OptumRx|"
    r"Optum|Fresenius(?: Kidney Care)?|DaVita|Lincare|Apria|AdaptHealth|Amedisys|Kindred|"
    r"Encompass Health|Select Medical|MinuteClinic|CareNow|Concentra|Planned Parenthood|"
    r"Goodwill|Salvation Army|YMCA|Greyhound|Amtrak"
)
_CHAIN_FULL = re.compile(rf"(?:{_CHAINS})(?![\w])")
#: The lower-case first word of each chain (every chain match starts with one).
_CHAIN_STARTS = frozenset(
    w.group().lower() for a in _CHAINS.split("|") if (w := re.match(r"[\w'-]+", a))
)
#: Words that do not make a facility name specific ("Sleep Center", "Mental Health").
_GENERIC = frozenset(
    """the a an this that our your their his her local general community regional mental
    behavioral public home primary urgent emergency trauma level sleep stroke cancer heart
    dialysis surgery surgical medical health care family school high middle elementary
    university college center centre lab laboratory supply group house of and for
    occupational physical speech respiratory infusion wound memory women's children's
    veterans pediatric adult senior skilled nursing hospital clinic pharmacy cath echo blood
    age oral peripheral critical intensive outpatient inpatient ambulatory""".split()  # noqa: SIM905
)
#: Care levels and units, not facilities, after "transferred to" and the like.
_LEVELS = frozenset(
    [
        "ICU",
        "MICU",
        "SICU",
        "CCU",
        "CVICU",
        "NICU",
        "PICU",
        "SNF",
        "LTAC",
        "LTACH",
        "ED",
        "ER",
        "OR",
        "PACU",
        "IR",
        "EMS",
        "ACU",
        "IRF",
        "ALF",
        "LTC",
        "TCU",
        "CT",
        "MRI",
        "PT",
        "OT",
        "ENT",
        "GI",
        "OB",
        "PCP",
        "VNA",
        "DC",
        "HOME",
    ]
)
_W = rf"{UPPER}(?:{LETTER}|['&-])*"
#: A title-case word continuing a facility name on its line, and one before it.
_AFTER = re.compile(rf"(?:[ \t]&|[ \t]-)?[ \t](?P<w>{_W})(?![\w'])")
_BEFORE = re.compile(rf"(?P<w>{_W})[ \t](?:&[ \t])?$")
#: Upper-case words of five letters or more are headers ("PRENATAL VISIT"), not part of
#: a title-case facility name next to them.
_HEADER_WORD = re.compile(r"[A-Z]{5,}")
#: Words that end a facility name when they follow it or open it when they precede it.
_STOP_WORDS = frozenset(
    """the a an and or of at in on to for from with by via per is was be will pt patient dr
    mr mrs ms md do rn np pa phone fax tel address attn re dob mrn""".split()  # noqa: SIM905
)


@RECOGNIZERS.register("facility")
class FacilityRecognizer(PatternRecognizer):
    """Named hospitals, clinics and practices (title case or upper case)."""

    entities = (Entity.FACILITY,)
    patterns = (
        Pattern(
            re.compile(
                rf"\b(?:(?:St\.[ \t]+)?{_W}[ \t]+(?:(?:&|and)[ \t]+)?){{1,5}}(?:{_KIND_TITLE})"
                rf"(?:[ \t]+(?:of|at)(?:[ \t]+the)?[ \t]+{_W}(?:[ \t]+{_W})?)?\b"
            ),
            Entity.FACILITY,
            0.8,
            gate=re.compile(_KIND_TITLE),
        ),
        Pattern(
            re.compile(
                rf"\b(?:{UPPER}(?:{UPPER}|['.&-])+[\s,]+){{1,6}}(?:{_KIND.upper()}|PC|INC|LLC)\b"
            ),
            Entity.FACILITY,
            0.8,
            gate=re.compile(rf"(?:{_KIND.upper()}|PC|INC|LLC)"),
        ),
        # companies and practices by legal form: "Sunbelt Roofing LLC", "Acme Freight Inc."
        Pattern(
            re.compile(
                rf"\b{_W}(?:[ \t]+(?:&[ \t]+)?{_W}){{0,4}},?[ \t]+(?:LLC|L\.L\.C\.|Inc\.?|"
                rf"Corp\.?|Corporation|Company|Co\.|Ltd\.?|LLP|PLLC|P\.C\.)(?![\w])"
            ),
            Entity.FACILITY,
            0.75,
            gate=re.compile(r"LLC|L\.L\.C\.|Inc|Corp|Company|Co\.|Ltd|LLP|PLLC|P\.C\."),
        ),
        # chains, with a store number: "CVS #8831", "Walgreens", "Kroger Pharmacy #774"
        Pattern(
            re.compile(rf"\b(?:{_CHAINS})(?:[ \t]+(?:Store[ \t]+)?#[ \t]?\d+)?(?![\w])"),
            Entity.FACILITY,
            0.75,
            anchors=_CHAIN_STARTS,
        ),
        # a facility name with a store or unit number: "Pharmacy #774"
        Pattern(
            re.compile(r"(?<=[A-Za-z])[ \t]+#[ \t]?\d{2,6}\b"),
            Entity.FACILITY,
            0.5,
            gate=re.compile(r"#[ \t]?\d\d"),
        ),
        # saints' names: "St. Luke's Bethlehem", "Saint Alphonsus Regional"
        Pattern(
            re.compile(
                rf"\b(?:St\.?|Saint|Ste\.?)[ \t]+{_W}['’]s(?:[ \t]+{_W}){{0,3}}"
                rf"|\b(?:St\.?|Saint)[ \t]+{_W}(?:[ \t]+(?:{_KIND}))"
            ),
            Entity.FACILITY,
            0.75,
            gate=re.compile(r"S(?:t|aint|te)\.?[ \t]"),
        ),
        # "The Willows at Bayside", "The Arbors of Hingham"
        Pattern(
            re.compile(rf"\bThe\s+{_W}(?:\s+{_W})?\s+(?:at|of|on)\s+{_W}(?:\s+{_W})?"),
            Entity.FACILITY,
            0.75,
            gate=re.compile(rf"The\s+{UPPER}"),
        ),
        # facility abbreviations after a transfer or place verb: "transferred to MGH"
        Pattern(
            re.compile(
                r"\b(?i:transferred\s+(?:to|from)|admitted\s+to|seen\s+at|discharged\s+to|"
                r"followed\s+at|treated\s+at|presented\s+to|sent\s+to|came\s+from|"
                r"records\s+from|outside\s+hospital|OSH)\s*[:(]?\s*"
                r"(?P<f>[A-Z]{2,6}(?:[-/][A-Z]{2,6})?)\b(?![ \t]+(?:ED|ER|ICU)\b)?"
            ),
            Entity.FACILITY,
            0.7,
            "f",
            anchors=frozenset(
                ["transferred", "admitted", "seen", "discharged", "followed", "treated"]
                + ["presented", "sent", "came", "records", "outside", "osh"]
            ),
        ),
    )

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Facility names, grown over the title-case words that continue them on their line
        ("Hillcrest Pharmacy Services", "Mercy Ridge Heart & Vascular", "UPMC Passavant").
        """
        out = []
        for s in super().analyze(text, ctx):
            start, end = s.start, s.end
            caps = text[start:end].isupper()
            while m := _AFTER.match(text, end):
                w = m.group("w")
                if w.lower() in _STOP_WORDS or (not caps and _HEADER_WORD.fullmatch(w)):
                    break
                end = m.end()
            while m := _BEFORE.search(text, max(0, start - 40), start):
                w = m.group("w")
                if w.lower() in _STOP_WORDS or w in _LEVELS:
                    break
                if not caps and _HEADER_WORD.fullmatch(w):
                    break
                start = m.start("w")
            out.append(Span(start, end, s.entity, s.score, s.recognizer))
        return out

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject generic phrases ("The Hospital", "Urgent Care") and care-level
        abbreviations after a transfer verb (ICU, SNF, ED, OR).
        """
        if text[start:end] in _LEVELS:
            return False
        if re.match(r"[ \t]*:", text[end : end + 3]):
            return False  # a label ("GI: Tobias ...")
        if _CHAIN_FULL.match(text, start) is not None:
            return True  # a named chain ("Mayo Clinic"), whatever its words
        words = text[start:end].split()
        if len(words) == 1:
            return True  # an abbreviation after a transfer verb
        clinical = _vocab.clinical()
        own = [w.lower().strip(",.") for w in words]
        own = [w for w in own if w not in _GENERIC | _KIND_WORDS]
        return bool(own) and not all(w in clinical for w in own)  # "Anticoagulation Clinic"
