"""Names signalled by a label, a credential, a title with initials, a greeting or a
signature, or written surname first: ``Caller: Ana Ruiz``, ``Verified by Tom Lee``,
``cc: Dr. Obi``, ``Dana Kim, LICSW``, ``Dr. K. Mbeki``, ``Ruiz, Ana M``, ``RUIZ, ANA M``,
``Hi Maria,``, ``Thanks, / Bob``.

Surname-first names are accepted only when a part is a census name and no part is an
ordinary English or clinical word (so "Chest, Abdomen" is not a name).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

#: A name word; header labels written next to a name ("DOB", "MRN", "Rm") are not.
_NOT_NAME = r"(?!(?:DOB|MRN|SSN|DOS|MR|ED|NPI|DEA|PCP|Rm|RM|Room|Age|AGE|Sex|SEX|Pt|PT)\b)"
_N = rf"{_NOT_NAME}{UPPER}(?:{LETTER}|['’-])+"
_INI = rf"{UPPER}\."
#: A written-order name: optional initials, one to three words, optional middle initial.
_FULL = rf"(?:{_INI}[ \t]*){{0,2}}{_N}(?:[ \t]{UPPER}\.?(?![\w]))?(?:[ \t]{_N}){{0,2}}"
#: Surname first: "Ruiz, Ana", "Ruiz, Ana M.", "RUIZ, ANA M".
_INV = rf"{_N},[ \t]*{_N}(?:[ \t]+{UPPER}\.?(?![\w]))?"
_LABELS = (
    r"caller|called by|call from|RE|subscriber|guarantor|policy ?holder|insured|"
    r"(?:electronically |e-)?signed(?: by)?|co-?signed by|verified by|reviewed by|approved by|"
    r"authored by|author|entered by|documented by|performed by|ordered by|dictated by|"
    r"transcribed by|witness(?:ed by)?|interpreter|translator|cc|copy to|attn|attention|"
    r"(?:emergency )?contact|next of kin|NOK|spoke (?:with|to)|discussed with|message from|"
    r"left (?:a )?message (?:for|with)|per|pharmacist|case manager|social worker|chaplain|"
    r"dietitian|therapist|nurse|CM|SW|RN|requested by|referred by|referring provider"
)
_UNAMBIGUOUS_CRED = (
    r"RN|BSN|MSN|DNP|APRN|FNP(?:-BC)?|ANP|CNM|CRNA|LPN|LVN|CNA|PharmD|RPh|MSW|LICSW|LCSW|"
    r"LMSW|LMFT|LMHC|LPC|RHIA|RHIT|CCS|Esq\.?|DPT|OTR/?L|CCC-SLP|SLP|RDN|CMA|NP|PA-C|RRT|"
    r"PsyD|PhD|MD|M\.D\.|DDS|DMD|MBBS|FACP|FACS|CPhT|EMT(?:-P)?|CHW|CADC|JD|MPH"
)
_AMBIGUOUS_CRED = r"PT|OT|MA|MS|BS|PA|RD|DO|OD|LD|CNS"


#: How every label starts, lower case (a label match starts with one of them).
_LABEL_STARTS = frozenset(
    """call subscriber guarantor policy insured electronically e- signed co- cosigned verified
    reviewed approved author entered documented performed ordered dictated transcribed witness
    interpreter translator cc copy attn attention emergency contact next nok spoke discussed
    message left per pharmacist case social chaplain dietitian therapist nurse cm sw rn
    requested referred referring""".split()  # noqa: SIM905
) | {"re:", "re ", "re\t", "re#", "re-"}  # "RE" is followed by a separator (not "re" in "there")


@RECOGNIZERS.register("name_label")
class NameLabelRecognizer(PatternRecognizer):
    """Person names after labels, before credentials, in greetings and signatures."""

    entities = (Entity.PATIENT, Entity.CLINICIAN)
    patterns = (
        # Dr. K. Mbeki, Mrs. J. A. Ortiz
        Pattern(
            re.compile(
                rf"\b(?:Dr|Doctor|Prof|Mr|Mrs|Ms|Miss|Mx)\.?[ \t]+"
                rf"(?P<n>(?:{_INI}[ \t]*){{1,2}}{_N}(?:-{_N})?)"
            ),
            Entity.CLINICIAN,
            0.9,
            "n",
            gate=re.compile(r"(?:Dr|Doctor|Prof|M(?:rs?|s|iss|x))\.?[ \t]+[^\W\d_]\."),
        ),
        # label then a name, written order or surname first
        Pattern(
            re.compile(
                rf"(?<![\w])(?i:{_LABELS})(?![\w])[ \t]*[:#-]?[ \t]*(?:(?:Dr|Mr|Mrs|Ms)\.?[ \t]+)?"
                rf"(?P<n>{_INV}|{_FULL})"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            anchors=_LABEL_STARTS,
        ),
        # message headers: "From: Ana Ruiz", "To: Dr. Obi"
        Pattern(
            re.compile(
                rf"(?m)^[ \t]*(?:From|To|Sender|Recipient)[ \t]*:[ \t]*"
                rf"(?:(?:Dr|Mr|Mrs|Ms)\.?[ \t]+)?(?P<n>{_INV}|{_FULL})"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            gate=re.compile(r"(?:From|To|Sender|Recipient)[ \t]*:"),
        ),
        # name then credential
        Pattern(
            re.compile(rf"(?P<n>{_INV}|{_FULL}),?[ \t]+(?:{_UNAMBIGUOUS_CRED})(?![\w])"),
            Entity.CLINICIAN,
            0.85,
            "n",
            gate=re.compile(rf"(?:{_UNAMBIGUOUS_CRED})(?![\w])"),
        ),
        Pattern(
            re.compile(rf"(?P<n>{_FULL}),[ \t]*(?:{_AMBIGUOUS_CRED})(?![\w])"),
            Entity.CLINICIAN,
            0.75,
            "n",
            gate=re.compile(rf",[ \t]*(?:{_AMBIGUOUS_CRED})(?![\w])"),
        ),
        # surname first anywhere (accept() checks the parts)
        Pattern(
            re.compile(rf"(?<![\w,])(?P<n>{_INV})(?![\w])"),
            Entity.PATIENT,
            0.7,
            "n",
            gate=re.compile(rf",[ \t]*{UPPER}"),
        ),
        # greetings: "Hi Maria,", "Dear Mr. Ruiz", "Good morning Dr Obi"
        Pattern(
            re.compile(
                r"(?<![\w])(?i:hi|hello|hey|dear|good (?:morning|afternoon|evening)|"
                r"thanks|thank you|thx|bye)[ \t,]+(?:(?:Dr|Mr|Mrs|Ms)\.?[ \t]+)?"
                rf"(?P<n>{_N}(?:[ \t]+{_N})?)(?=[ \t]*[,!.\n:]|$)"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            anchors=frozenset(
                ["hi ", "hi,", "hi\t", "hello", "hey", "dear", "good", "thanks", "thank", "thx"]
                + ["bye"]
            ),
        ),
        # sign-offs: "Thanks,\nBob", "Sincerely, Ana Ruiz", "- Tom"
        Pattern(
            re.compile(
                r"(?i:thanks|thank you|sincerely|regards|best(?: regards| wishes)?|cheers|"
                r"respectfully|warmly|take care|love|yours truly)[ \t]*[,!.]?[ \t]*\n?[ \t]*"
                rf"[-–—~]?[ \t]*(?P<n>{_FULL})[ \t]*(?=\n|$)"
            ),
            Entity.PATIENT,
            0.8,
            "n",
            anchors=frozenset(
                ["thanks", "thank you", "sincerely", "regards", "best", "cheers", "respectfully"]
                + ["warmly", "take care", "love", "yours truly"]
            ),
        ),
        Pattern(
            re.compile(r"(?m)^[ \t]*[-–—~][ \t]*(?P<n>[^\W\d_]+(?:[ \t]+[^\W\d_]+\.?)?)[ \t]*$"),
            Entity.PATIENT,
            0.7,
            "n",
            gate=(
                re.compile(r"\n[ \t]*[-–—~][ \t]*[^\W\d_]+(?:[ \t]+[^\W\d_]+\.?)?[ \t]*(?:\n|\Z)"),
                re.compile(r"\A[ \t]*[-–—~][ \t]*[^\W\d_]+(?:[ \t]+[^\W\d_]+\.?)?[ \t]*(?:\n|\Z)"),
            ),
        ),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Keep a span only if some word is not an ordinary English or clinical word, or
        is a census name; surname-first spans need a census name and no ordinary word.
        """
        words = [w for w in re.findall(r"[^\W\d_]+", text[start:end]) if len(w) > 1]
        if not words:
            return False
        only, ambiguous = _vocab.name_words()
        english, clinical = _vocab.english(), _vocab.clinical()
        lows = [w.lower() for w in words]
        if all(
            lw in clinical or (w.isupper() and len(w) <= 5)
            for lw, w in zip(lows, words, strict=True)
        ):
            return False  # "RE: CPAP", "cc: COPD clinic"
        if _DASH_LINE.search(text, max(0, start - 6), start):
            return not any(w in clinical or w in _NOT_NAMES for w in lows)
        if "," in text[start:end]:
            if _HEADER_AFTER.match(text, end):
                return not any(w in clinical for w in lows)
            if not any(w in only or w in ambiguous for w in lows):
                return False
            return not any(
                (w in english or w in clinical) and w not in only and w not in ambiguous
                for w in lows
            )
        if lows[0] in _NOT_NAMES:
            return False
        return any(w in only or w in ambiguous or w not in english for w in lows)


_DASH_LINE = re.compile(r"(?:^|\n)[ \t]*[-–—~][ \t]*$")
#: A patient header after a surname-first name: "KAPOOR, ARJUN  |  M  |  MRN ...".
_HEADER_AFTER = re.compile(
    r"[ \t|,/(]{1,8}(?:MRN|DOB|#\s?\d|\d{1,3}\s?(?:y/?o|[MF])\b|[MF]\b|Acct|FIN|Age)"
)
#: Words a greedy label pattern picks up that are not names.
_NOT_NAMES = frozenset(
    """the a an this that patient pt he she they his her it we i you me my our your no yes
    not none unknown n/a na and with for today tomorrow tonight home pharmacy team message
    phone call nurse doctor dr md office clinic family mom dad mother father son daughter
    wife husband spouse front desk on-call""".split()  # noqa: SIM905
)
