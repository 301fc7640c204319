"""Code tables of the simulated claims: CPT fees and what each specialty bills."""

from __future__ import annotations

from dataclasses import dataclass, field

#: CPT fee schedule (dollars billed per unit) and display names.
FEES: dict[str, tuple[float, str]] = {
    "99211": (25, "Office visit est. level 1"),
    "99212": (55, "Office visit est. level 2"),
    "99213": (90, "Office visit est. level 3"),
    "99214": (130, "Office visit est. level 4"),
    "99215": (180, "Office visit est. level 5"),
    "93000": (20, "Electrocardiogram complete"),
    "93306": (210, "Echocardiography TTE complete"),
    "93015": (75, "Cardiovascular stress test"),
    "80053": (15, "Comprehensive metabolic panel"),
    "80048": (12, "Basic metabolic panel"),
    "80061": (18, "Lipid panel"),
    "83036": (13, "Hemoglobin A1c"),
    "85025": (10, "CBC with differential"),
    "85027": (8, "CBC without differential"),
    "36415": (3, "Venipuncture"),
    "87880": (17, "Strep test rapid"),
    "87086": (11, "Urine culture"),
    "82465": (6, "Cholesterol total"),
    "93010": (9, "ECG interpretation only"),
    "93307": (150, "TTE without Doppler"),
    "20610": (65, "Arthrocentesis major joint"),
    "73562": (40, "X-ray knee 3 views"),
    "73560": (32, "X-ray knee 1-2 views"),
    "73610": (38, "X-ray ankle complete"),
    "73600": (30, "X-ray ankle 2 views"),
    "73030": (35, "X-ray shoulder complete"),
    "73020": (28, "X-ray shoulder 1 view"),
    "17000": (70, "Destruction premalignant lesion first"),
    "17003": (8, "Destruction premalignant lesions each additional"),
    "11102": (110, "Tangential biopsy skin single lesion"),
    "17110": (120, "Destruction benign lesions up to 14"),
    "97110": (30, "Therapeutic exercise 15 min"),
}


@dataclass(frozen=True)
class Specialty:
    """A specialty: E&M level mix, diagnoses with probabilities, procedures per diagnosis."""

    em: tuple[float, ...]  # probabilities of 99211..99215 (empty: no E&M, e.g. laboratory)
    dx: dict[str, float]
    procs: dict[str, dict[str, float]]  # dx -> {cpt: probability}
    units: dict[str, tuple[int, int]] = field(default_factory=dict)  # cpt -> units range


SPECIALTIES: dict[str, Specialty] = {
    "family_practice": Specialty(
        (0.03, 0.17, 0.50, 0.27, 0.03),
        {"I10": 0.25, "E11.9": 0.15, "J06.9": 0.25, "Z00.00": 0.2, "M54.50": 0.15},
        {
            "I10": {"93000": 0.3, "80061": 0.3},
            "E11.9": {"83036": 0.7, "80053": 0.3},
            "J06.9": {"87880": 0.4},
            "Z00.00": {"36415": 0.5, "85025": 0.4, "80053": 0.3},
            "M54.50": {"97110": 0.3},
        },
        {"97110": (1, 3)},
    ),
    "internal_medicine": Specialty(
        (0.02, 0.10, 0.45, 0.36, 0.07),
        {"I10": 0.3, "E11.9": 0.2, "E78.5": 0.2, "N18.30": 0.15, "Z00.00": 0.15},
        {
            "I10": {"93000": 0.35, "80053": 0.2},
            "E11.9": {"83036": 0.75, "80053": 0.35},
            "E78.5": {"80061": 0.7},
            "N18.30": {"80053": 0.7, "85025": 0.4},
            "Z00.00": {"36415": 0.5, "85025": 0.5},
        },
    ),
    "cardiology": Specialty(
        (0.01, 0.05, 0.35, 0.45, 0.14),
        {"I48.91": 0.3, "I25.10": 0.3, "R07.9": 0.25, "I50.9": 0.15},
        {
            "I48.91": {"93000": 0.8, "93306": 0.25},
            "I25.10": {"93015": 0.35, "93000": 0.5},
            "R07.9": {"93000": 0.75, "93015": 0.2},
            "I50.9": {"93306": 0.6},
        },
        {"93000": (1, 2)},
    ),
    "orthopedics": Specialty(
        (0.02, 0.15, 0.50, 0.28, 0.05),
        {"M17.11": 0.35, "S93.401A": 0.3, "M75.100": 0.35},
        {
            "M17.11": {"20610": 0.45, "73562": 0.5},
            "S93.401A": {"73610": 0.65},
            "M75.100": {"20610": 0.3, "73030": 0.55},
        },
    ),
    "dermatology": Specialty(
        (0.05, 0.30, 0.45, 0.17, 0.03),
        {"L57.0": 0.45, "D48.5": 0.25, "L82.1": 0.3},
        {"L57.0": {"17000": 0.85, "17003": 0.55}, "D48.5": {"11102": 0.7}, "L82.1": {"17110": 0.6}},
        {"17003": (1, 6)},
    ),
    "clinical_laboratory": Specialty(
        (),
        {},
        {
            "I10": {"80053": 0.6, "80061": 0.4},
            "E11.9": {"83036": 0.9, "80053": 0.4},
            "E78.5": {"80061": 0.9},
            "N18.30": {"80053": 0.9, "85025": 0.5},
            "Z00.00": {"85025": 0.7, "80053": 0.5},
            "*": {"85025": 0.4, "87086": 0.15},
        },
    ),
}

SPECIALTY_SHARES = {
    "family_practice": 0.32,
    "internal_medicine": 0.2,
    "cardiology": 0.12,
    "orthopedics": 0.1,
    "dermatology": 0.1,
    "clinical_laboratory": 0.16,
}
_OFFICE = [s for s in SPECIALTY_SHARES if s != "clinical_laboratory"]
_PRIMARY = ("family_practice", "internal_medicine")
