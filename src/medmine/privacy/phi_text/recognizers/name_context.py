"""Names recognised from their context: titles (Mr., Dr.), credentials (", MD"), roles
("seen by", "Patient:"), relatives and the "<Name> is a 54 year-old" opening. Names are
letters of any alphabet ("daughter Désirée", "Mr. Çelik").
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Needles, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

_N = rf"{UPPER}(?:{LETTER}|['’-])+"
_NAME = rf"(?P<n>{_N}(?:[ \t]{UPPER}\.)?(?:[ \t]{_N}){{0,2}})"
_NAME2 = rf"(?P<n>{_N}(?:[ \t]{UPPER}\.)?(?:[ \t]{_N})?)"
_RELATIVES = (
    "son|daughter|wife|husband|mother|father|sister|brother|spouse|partner|friend|caregiver|"
    "guardian|neighbor|niece|nephew|aunt|uncle|grandson|granddaughter"
)
_STOP = {
    "Patient",
    "Pt",
    "The",
    "He",
    "She",
    "They",
    "His",
    "Her",
    "No",
    "Yes",
    "Not",
    "None",
    "Plan",
    "History",
    "Assessment",
    "Medications",
    "Allergies",
    "Vital",
    "Signs",
    "Chief",
    "Complaint",
    "Social",
    "And",
    "With",
    "For",
    "Today",
    "Follow",
    "Will",
    "Reports",
    "Denies",
    "Is",
    "Was",
    "Has",
    "Medicaid",
    "Medicare",
    "Emergency",
    "Clinic",
    "Hospital",
}
_STOP |= {"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "It", "This", "That", "We", "I", "You"}
_STOP |= {"Pain", "Cough", "Fever", "Rash", "Symptoms", "Family", "Child", "Infant", "Baby"}


@RECOGNIZERS.register("name_context")
class NameContextRecognizer(PatternRecognizer):
    """Person names signalled by their surroundings."""

    entities = (Entity.PATIENT, Entity.CLINICIAN)
    patterns = (
        Pattern(
            re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+{_NAME2}"),
            Entity.PATIENT,
            0.9,
            "n",
            gate=re.compile(r"M(?:rs?|s|iss|x)[.\s]"),
        ),
        Pattern(
            re.compile(rf"\b(?:Dr|Doctor|Prof)\.?\s+{_NAME2}"),
            Entity.CLINICIAN,
            0.9,
            "n",
            gate=re.compile(r"(?:Dr|Doctor|Prof)[.\s]"),
        ),
        Pattern(
            re.compile(
                rf"{_NAME},?\s+(?:MD|M\.D\.|DO|RN|NP|PA-C|PA|APRN|CNM|PhD|FNP|DPM|LPN|LCSW)\b"
            ),
            Entity.CLINICIAN,
            0.9,
            "n",
            gate=re.compile(r"(?:MD|M\.D\.|DO|RN|NP|PA|APRN|CNM|PhD|FNP|DPM|LPN|LCSW)\b"),
        ),
        Pattern(
            re.compile(
                rf"\b(?i:seen by|signed by|attending|referred by|referring(?: physician)?|"
                rf"dictated by|transcribed by|PCP|primary care(?: physician| provider)?|"
                rf"provider|physician|surgeon|nurse|cc|covering|consulted)(?:\s*[:,-]\s*|\s+)"
                rf"(?:Dr\.?\s+)?{_NAME}",
            ),
            Entity.CLINICIAN,
            0.8,
            "n",
            anchors=frozenset(
                ["seen by", "signed by", "attending", "referred by", "referring", "pcp"]
                + ["dictated by", "transcribed by", "primary care", "provider", "cc"]
                + ["physician", "surgeon", "nurse", "covering", "consulted"]
            ),
        ),
        Pattern(
            re.compile(
                rf"\b(?i:patient|pt|name|patient name)\s*[:-]\s*"
                rf"(?P<n>{_N}(?:,?[ \t]{_N}){{0,2}})"
            ),
            Entity.PATIENT,
            0.85,
            "n",
            anchors=frozenset({"patient", "pt", "name"}),
        ),
        Pattern(
            re.compile(
                rf"\b(?:Pt|Patient)\.?[ \t]+(?P<n>{_N}(?:[ \t]+{_N})?)"
                rf"(?=,|[ \t]+(?:is|was|presents|presented|reports|states|denies|\()\b)"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            gate=re.compile(rf"P(?:t|atient)\.?[ \t]+{UPPER}"),
        ),
        Pattern(
            re.compile(
                rf"(?P<n>{_N}(?:[ \t]+{_N})?)[ \t]+is\s+an?\s+\d+[\s-]*(?:year|month|week|day)"
            ),
            Entity.PATIENT,
            0.85,
            "n",
            gate=re.compile(r"is\s+an?\s+\d"),
        ),
        Pattern(
            re.compile(
                rf"(?:^|(?<=[.!?]\s)|(?<=\n))(?P<n>{_N})[ \t]+(?:presented|presents|"
                rf"complains|reports|states|returns|was seen)\b",
                re.M,
            ),
            Entity.PATIENT,
            0.6,
            "n",
            gate=re.compile(
                rf"{_N}[ \t]+(?:presented|presents|complains|reports|states|returns|was seen)\b"
            ),
        ),
        Pattern(
            re.compile(
                rf"{_NAME}'s[ \t]+(?i:son|daughter|wife|husband|mother|father|sister|"
                rf"brother|spouse|partner|caregiver|family)\b"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            gate=re.compile(r"'s[ \t]"),
        ),
        Pattern(
            re.compile(
                rf"(?P<n>{_N}(?:[ \t]+{_N})?)[ \t]+(?:is here|is seen|comes in|came in|"
                rf"arrived|arrives|was brought|is brought)\b"
            ),
            Entity.PATIENT,
            0.7,
            "n",
            gate=Needles(
                frozenset(
                    ["is here", "is seen", "comes in", "came in", "arrived", "arrives"]
                    + ["was brought", "is brought"]
                )
            ),
        ),
        Pattern(
            re.compile(rf"\b(?i:{_RELATIVES})\s*(?:,|:|named)?\s+{_NAME2}"),
            Entity.PATIENT,
            0.75,
            "n",
            anchors=frozenset(_RELATIVES.split("|")),
        ),
    )

    def analyze(self, text, ctx):  # noqa: D102
        out = []
        for s in super().analyze(text, ctx):
            words = text[s.start : s.end].split()
            # trim trailing stop words picked up by the greedy name pattern
            while words and words[-1].strip(",.") in _STOP:
                words.pop()
            if not words or words[0] in _STOP or (len(words) > 1 and _ordinary(words)):
                continue
            end = s.start + text[s.start : s.end].rfind(words[-1]) + len(words[-1])
            out.append(type(s)(s.start, end, s.entity, s.score, s.recognizer))
        return out


def _ordinary(words: list[str]) -> bool:
    """Every word is clinical, or English and no name ("Epworth Sleepiness", "TRIAGE CALL");
    applied to spans of two or more words (a single word after a title is a name).
    """
    english, clinical = _vocab.english(), _vocab.clinical()
    only, ambiguous = _vocab.name_words()
    for w in words:
        low = w.strip(",.").lower()
        if low in only or low in ambiguous or not (low in clinical or low in english):
            return False
    return True
