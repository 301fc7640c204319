"""Section detection: header lines ("HPI:", "FAMILY HISTORY", "A/P:") mapped to canonical
names, each section running to the next header; with the section-aware defaults ConText uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Canonical section name -> header spellings (lower case, without the colon).
SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "Chief Complaint": ("chief complaint", "cc", "reason for visit", "presenting complaint"),
    "History of Present Illness": ("history of present illness", "hpi", "present illness"),
    "Interval History": ("interval history", "interval hx"),
    "Past Medical History": (
        "past medical history",
        "pmh",
        "pmhx",
        "medical history",
        "past history",
        "problem history",
    ),
    "Past Surgical History": ("past surgical history", "psh", "pshx", "surgical history"),
    "Past Psychiatric History": ("past psychiatric history", "psychiatric history"),
    "Family History": ("family history", "fh", "fhx", "family hx"),
    "Social History": ("social history", "sh", "social hx", "shx", "social"),
    "Medications": (
        "medications",
        "meds",
        "current medications",
        "home medications",
        "outpatient medications",
        "medications on admission",
        "home meds",
    ),
    "Discharge Medications": ("discharge medications", "discharge meds"),
    "Allergies": ("allergies", "allergy"),
    "Review of Systems": ("review of systems", "ros"),
    "Physical Exam": ("physical exam", "physical examination", "exam", "pe"),
    "Examination": ("examination",),
    "Labs": ("labs", "laboratory", "lab results", "laboratory data", "labs/imaging", "data"),
    "Imaging": ("imaging", "radiology", "studies"),
    "Assessment and Plan": (
        "assessment and plan",
        "assessment/plan",
        "a/p",
        "a&p",
        "ap",
        "impression and plan",
        "impression/plan",
    ),
    "Assessment": ("assessment", "a"),
    "Plan": ("plan", "p"),
    "Impression": ("impression", "conclusion", "conclusions"),
    "Findings": ("findings", "finding"),
    "Indication": ("indication", "clinical indication", "reason for exam", "history"),
    "Technique": ("technique",),
    "Comparison": ("comparison", "comparisons"),
    "Hospital Course": ("hospital course", "brief hospital course", "course"),
    "ED Course": ("ed course", "emergency department course"),
    "Medical Decision Making": ("medical decision making", "mdm"),
    "Discharge Diagnoses": ("discharge diagnoses", "discharge diagnosis", "diagnoses", "diagnosis"),
    "Discharge Instructions": ("discharge instructions", "instructions", "patient instructions"),
    "Disposition": ("disposition", "dispo"),
    "Follow Up": ("follow up", "follow-up", "followup"),
    "Problem List": ("problem list", "problems", "active problems"),
    "Subjective": ("subjective", "s"),
    "Objective": ("objective", "o"),
    "Recommendations": ("recommendations", "recs", "recommendation"),
    "Reason for Consult": ("reason for consult", "reason for consultation"),
    "Reason for Call": ("reason for call",),
    "Vital Signs": ("vital signs", "vitals"),
    "Interventions": ("interventions",),
    "Mental Status Exam": ("mental status exam", "mse"),
}
_BY_ALIAS = {a: name for name, aliases in SECTION_ALIASES.items() for a in aliases}
#: Patient mentions in these sections are historical by default.
HISTORICAL_SECTIONS = frozenset(
    {"Past Medical History", "Past Surgical History", "Past Psychiatric History"}
)
#: Mentions in these sections are about a relative by default.
FAMILY_SECTIONS = frozenset({"Family History"})

# A header: at a line start, a known alias followed by ":" (content may follow on the same
# line), or a known alias alone on its line (upper case or title case).
_HEADER = re.compile(r"(?m)^[ \t]*(?:[-*#]+[ \t]*)?([A-Za-z][A-Za-z/&\- ]{0,40}?)[ \t]*(:|$)")


@dataclass(frozen=True)
class Section:
    """One section: canonical name (None before the first header), body offsets."""

    name: str | None
    header_start: int
    start: int
    end: int


def detect_sections(text: str) -> list[Section]:
    r"""Split ``text`` into sections at header lines.

    >>> [s.name for s in detect_sections("HPI: cough\nFH: mother with DM\nPlan: CXR")]
    ['History of Present Illness', 'Family History', 'Plan']
    """
    heads: list[tuple[int, int, str]] = []
    for m in _HEADER.finditer(text):
        alias = re.sub(r"\s+", " ", m.group(1).strip().lower())
        name = _BY_ALIAS.get(alias)
        if name is None:
            continue
        if m.group(2) != ":":
            # a bare header line: only when written as a header (short, capitalised)
            raw = m.group(1).strip()
            if len(alias) < 3 or not raw[0].isupper():
                continue
        elif len(alias) == 1 and not m.group(1).strip().isupper():
            continue
        heads.append((m.start(1), m.end(), name))
    out: list[Section] = []
    if not heads or heads[0][0] > 0:
        out.append(Section(None, 0, 0, heads[0][0] if heads else len(text)))
    for i, (hs, be, name) in enumerate(heads):
        nxt = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        out.append(Section(name, hs, be, nxt))
    return out
