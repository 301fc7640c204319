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
    # recall mode: identifier-shaped tokens, bare month/day, places, names spread
    ("recall", "Pt Ana Ruiz (KCH-8842016) seen.", ["KCH-8842016"], []),
    (
        "recall",
        "Form # 5585-26-00813 filed; UDI (01)00889024416728(17)290131.",
        ["5585-26-00813"],
        [],
    ),
    ("recall", "Shift 0700-1900; HbA1c 7.2; ICD I20.9 and E11.65.", [], ["0700-1900", "I20.9"]),
    ("recall", "Resume metformin 3/8; levels 7/26: peak 31.", ["3/8", "7/26"], ["metformin"]),
    ("recall", "i can come in monday the 9th at 2.", ["monday the 9th"], []),
    ("recall", "Dad called from Gallup overnight.", ["Gallup"], []),
    ("recall", "Lives in Sioux Falls with her sister.", ["Sioux Falls"], []),
    ("recall", "Pt A. Kettleworth (00512044), CAM positive.", ["A. Kettleworth"], ["CAM"]),
    ("recall", "Consult: Haruka Matsumoto-Reyes, 48F.", ["Haruka Matsumoto-Reyes"], []),
    ("recall", "Endocrine consult: Pieter van der Berg, MD", ["Pieter van der Berg"], []),
    ("both", "Pt Cyril Okafor (92, widowed) lives alone.", ["92"], []),
    ("both", "Olga Petrenko, 90F, heart failure.", ["90"], ["heart failure"]),
    ("both", "Ethel Brandvold, ninety-one year-old woman.", ["ninety-one"], []),
    ("both", "Seizure 2023-06; CT 2024-01-15.", ["2023-06", "2024-01-15"], []),
    ("both", "DOS: 08/11/2026-08/15/2026", ["08/11/2026", "08/15/2026"], []),
    ("both", "Filed in Mercer County court.", ["Mercer County"], []),
    ("both", "Filled at CVS #8831 on Main.", ["CVS #8831"], []),
    ("both", "Employer: Sunbelt Roofing LLC, since 2019.", ["Sunbelt Roofing LLC"], []),
    ("both", "Lives at RR 2 Box 118, Hurricane, WV.", ["RR 2 Box 118"], []),
    ("both", "Near SE 82nd Ave & Foster Rd, Portland.", ["SE 82nd Ave & Foster Rd"], []),
    ("both", "Sleeps in van, OR plate 418 LMB.", ["418 LMB"], []),
    ("both", "PA driver's license 29 447 180 in wallet.", ["29 447 180"], []),
    # city after a street line with no state
    ("both", "Address: 12 Elm Street, Framingham", ["12 Elm Street", "Framingham"], []),
    ("both", "Mail to 4 Oak Ave\nWest Newton 02465", ["4 Oak Ave", "West Newton", "02465"], []),
    # dates without a year, ranges and packed forms (recall mode)
    ("recall", "Seen on 4 March, follow up 12 April.", ["4 March", "12 April"], []),
    ("recall", "Admitted March 4-6 and again Jan 1st-3rd.", ["March 4-6", "Jan 1st-3rd"], []),
    ("recall", "Fever 1-3 Jan, resolved.", ["1-3 Jan"], ["Fever"]),
    ("recall", "Started Feb '21, stopped Sept. ’22.", ["Feb '21", "Sept. ’22"], []),
    ("recall", "DOS 030421. Collected: 20210304.", ["030421", "20210304"], []),
    ("recall", "Tuesday, 3/4 at 1400 and Wed 3/5.", ["3/4", "3/5"], []),
    ("recall", "Take 1/2 tab; strength 4/5; pain 3/10 on 3/4.", ["3/4"], ["1/2", "4/5", "3/10"]),
    # identifiers with few or no digits, after their label
    (
        "both",
        "Accessed by user kvodick (login jsmith, userid mgarcia7).",
        ["kvodick", "jsmith", "mgarcia7"],
        [],
    ),
    ("both", "User friendly portal; user of cannabis.", [], ["User friendly", "cannabis"]),
    ("both", "Arrived via Medic 14; transfer by Unit M-27.", ["14", "M-27"], []),
    ("both", "Paged cardiology, pager 4471.", ["4471"], ["cardiology"]),
    ("both", "Aetna member W1234 5678 90 verified.", ["W1234 5678 90"], []),
    ("both", "Prior auth reference ABX-CC approved.", ["ABX-CC"], ["Prior auth"]),
    # organisation names of ordinary words (recall mode)
    ("recall", "Hip pinning 3/27 at Cobalt Ridge Regional.", ["Cobalt Ridge Regional"], []),
    (
        "recall",
        "Follow up with Larkspur Heart & Vascular in 2 weeks.",
        ["Larkspur Heart & Vascular"],
        ["Follow up"],
    ),
    (
        "recall",
        "Assessment & Plan: transferred to Physical Therapy.",
        [],
        ["Assessment & Plan", "Physical Therapy"],
    ),
    # a nickname in quotes inside a name; an ordinary word as a name before a person verb
    ("recall", 'Met with Curtis "Red" Maddox about housing.', ['Curtis "Red" Maddox'], []),
    ("recall", "Will stopped by with the forms.", ["Will"], ["forms"]),
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


def test_precise_mode_runs_no_recall_only_recognizer() -> None:
    names = {r.name for r in SCRUBBERS["precise"].recognizers}
    recall_only = {"allow_list", "id_shape", "date_recall", "place_name"}
    assert names.isdisjoint(recall_only)
    assert recall_only <= {r.name for r in SCRUBBERS["recall"].recognizers}


def test_unknown_detection_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'detection' parameter of ScrubConfig"):
        Scrubber(ScrubConfig(detection="lenient"))


def test_safe_harbor_defaults_to_recall_expert_to_precise() -> None:
    assert ScrubConfig.for_mode("safe_harbor").detection == "recall"
    assert ScrubConfig.for_mode("expert").detection == "precise"
    assert ScrubConfig.for_mode("expert", detection="recall").detection == "recall"


def test_surname_first_needs_a_name() -> None:
    spans = SCRUBBERS["precise"].analyze("Chest, Abdomen: normal. Heart, Lungs clear.")
    assert spans == []
