"""Issue 15 item 2: PHI classes the scrubber used to miss, one written example per row.

Each row: the text, the PHI substrings that must be fully removed, the clinical substrings
that must survive, and the detection modes the row must hold in ("both" = rules alone
already catch it; "recall" = the allow-list rule is needed).
"""

from __future__ import annotations

import pytest

from medmine.privacy.phi_text import NoteContext, Scrubber, ScrubConfig

SCRUBBERS = {m: Scrubber(ScrubConfig(detection=m)) for m in ("recall", "precise")}

CASES = [
    # names: title + initial + surname
    ("both", "Discussed with Dr. K. Mbeki from nephrology.", ["K. Mbeki"], ["nephrology"]),
    ("both", "Seen by Mrs. J. A. Ortiz-Lugo today.", ["J. A. Ortiz-Lugo"], []),
    # inverted and upper-case surname first
    ("both", "Signed: Halvorsen, Ingrid M", ["Halvorsen, Ingrid M"], []),
    ("both", "ACCESS LOG 09:14 OKAFOR, CHIDI M viewed chart", ["OKAFOR, CHIDI M"], []),
    ("both", "Emergency contact: Delacroix, Marguerite (sister)", ["Delacroix, Marguerite"], []),
    # full names after labels
    ("both", "Caller: Tomasz Wisniewski, son.", ["Tomasz Wisniewski"], []),
    ("both", "RE: Bettina Kowalczyk", ["Bettina Kowalczyk"], []),
    ("both", "Subscriber: Rafael Quintanilla", ["Rafael Quintanilla"], []),
    ("both", "Verified by Lorraine Abernathy at 1400.", ["Lorraine Abernathy"], []),
    ("both", "cc: Priya Natarajan", ["Priya Natarajan"], []),
    ("both", "From: Aurelio Benedetti\nSubject: refill", ["Aurelio Benedetti"], ["refill"]),
    # names followed by a credential
    ("both", "Note written by Dana Kwiatkowski, LICSW.", ["Dana Kwiatkowski"], []),
    ("both", "Reviewed with Leo Marchetti PharmD.", ["Leo Marchetti"], []),
    ("both", "Anneliese Vogt, MSW met with family.", ["Anneliese Vogt"], []),
    ("both", "Coded by Tamsin Reyes, RHIA", ["Tamsin Reyes"], []),
    ("both", "Letter from Gregory Ashworth, Esq. received.", ["Gregory Ashworth"], []),
    ("both", "Wound care by Hal Okonjo RN.", ["Hal Okonjo"], ["Wound care"]),
    # first names that are English words, by context
    ("both", "Spoke with Hope about the results.", ["Hope"], ["results"]),
    ("recall", "Her husband Will and daughter Faith visited.", ["Will", "Faith"], []),
    ("both", "Daughter Rose will call back.", ["Rose"], []),
    # first name alone in a greeting or a sign-off
    ("both", "Hi Marisol,\nYour labs are normal.\nThanks,\nBev", ["Marisol", "Bev"], ["labs"]),
    ("both", "Dear Ignatius, please fast before the test.", ["Ignatius"], ["fast"]),
    # lower-case portal message
    (
        "recall",
        "hi its marisol, my son jose still has a cough and fever since monday. thx",
        ["marisol", "jose"],
        ["cough", "fever"],
    ),
    # dates
    ("both", "Last colonoscopy 14MAR2019, repeat due.", ["14MAR2019"], ["colonoscopy"]),
    ("both", "Last BM 8/15, passing flatus.", ["8/15"], ["passing flatus"]),
    ("both", "Admitted (7/9-7/15) for CHF.", ["7/9", "7/15"], ["CHF"]),
    ("both", "Fell on Thanksgiving 2021 at home.", ["Thanksgiving 2021"], ["Fell"]),
    ("both", "Last seen in March 2020 and Jan 2021.", ["March 2020", "Jan 2021"], []),
    ("both", "Strength 5/5 and reflexes 2/4; pain 7/10.", [], ["5/5", "2/4", "7/10"]),
    # phones
    ("both", "Call back at 617/555-0142.", ["617/555-0142"], []),
    ("both", "Home phone 555-0199, cell 555-0142.", ["555-0199", "555-0142"], []),
    ("both", "Clinic line (617) 555-0100 ext. 4471", ["(617) 555-0100 ext. 4471"], []),
    ("both", "Transfer to x2231 for scheduling.", ["x2231"], ["scheduling"]),
    # identifiers
    ("both", "Med Rec # 00449127-3 on file.", ["00449127-3"], []),
    ("both", "Medicare MBI 1EG4-TE5-MK73 verified.", ["1EG4-TE5-MK73"], []),
    ("both", "Prescriber DEA AB1234563, NPI 1234567893.", ["AB1234563", "1234567893"], []),
    ("both", "Nurse lic. RN-448812 on file.", ["RN-448812"], []),
    ("both", "Pump SN X7Q-2231-KLM replaced.", ["X7Q-2231-KLM"], ["replaced"]),
    # facilities without a hospital word
    ("both", "Referred to Sunrise Valley Home Health for PT.", ["Sunrise Valley Home Health"], []),
    ("both", "Seen at Bayview Vascular Institute in March.", ["Bayview Vascular Institute"], []),
    ("both", "Filled at Corner Apothecary.", ["Corner Apothecary"], []),
    ("both", "Resides at The Willows at Bayside since spring.", ["The Willows at Bayside"], []),
    ("both", "Transferred to BWH for cath.", ["BWH"], ["cath"]),
    ("both", "Transferred to ICU for pressors.", [], ["ICU"]),
    # city after a street line with no state
    ("both", "Address: 12 Elm Street, Framingham", ["12 Elm Street", "Framingham"], []),
    ("both", "Mail to 4 Oak Ave\nWest Newton 02465", ["4 Oak Ave", "West Newton", "02465"], []),
]


def _covered(text: str, spans, sub: str) -> bool:
    start = text.index(sub)
    chars = [i for i in range(start, start + len(sub)) if sub[i - start].isalnum()]
    return all(any(s.start <= i < s.end for s in spans) for i in chars)


@pytest.mark.parametrize("modes,text,phi,kept", CASES, ids=[c[1][:40] for c in CASES])
def test_missed_class_is_caught(modes: str, text: str, phi: list[str], kept: list[str]) -> None:
    for mode in ("recall", "precise") if modes == "both" else (modes,):
        spans = SCRUBBERS[mode].analyze(text, NoteContext())
        for sub in phi:
            assert _covered(text, spans, sub), (mode, sub)
        for sub in kept:
            start = text.index(sub)
            assert not any(s.start < start + len(sub) and start < s.end for s in spans), (
                mode,
                sub,
            )


def test_clinician_identifiers_decision() -> None:
    # DEA, NPI and state licence numbers identify clinicians, not patients: Safe Harbor does
    # not require removing them, but they are removed (they narrow down where care happened).
    out = SCRUBBERS["precise"].scrub("DEA AB1234563 NPI 1234567893", NoteContext()).text
    assert out == "DEA [ID] NPI [ID]"


def test_surname_first_needs_a_name() -> None:
    spans = SCRUBBERS["precise"].analyze("Chest, Abdomen: normal. Heart, Lungs clear.")
    assert spans == []
