"""The Charlson comorbidity index: categories, weights and their concept sets.

Two routes map a condition record to a category, and a record counts when either matches:

* **OMOP concepts**: a standard ``condition_concept_id`` that is one of the category's SNOMED
  ancestor concepts or a descendant of one through ``concept_ancestor``. The ancestor lists are
  those of OHDSI FeatureExtraction's ``CharlsonIndex`` analysis (Charlson 1987 categories).
  With a small vocabulary such as Eunomia's only concepts present in ``concept_ancestor``
  get their descendants; the ancestors themselves always match.
* **ICD-10 source codes**: ``condition_source_value`` of the form ``ICD10CM:I50.9`` (medmine's
  ``VOCAB:code`` convention) whose code starts with one of the category's prefixes from
  Quan et al. 2005 (Med Care 43:1130), the widely used ICD-10 coding algorithm.
* **SNOMED CT source codes** (``SNOMED:22298006``), for warehouses loaded from FHIR without a
  vocabulary, where descendants cannot be looked up: `SNOMED_CODES` lists, per category, the
  category's concept and the specific disorders EHR problem lists (and Synthea) record for it.
  The list is explicit and short; codes outside it are not scored (load a vocabulary for the
  full descendant sets).

Weights are Charlson's original ones. The hierarchy rules of Quan 2005 apply: when both are
present only the more severe of diabetes/diabetes with complications, mild/moderate-severe liver
disease and any malignancy/metastatic solid tumour is scored. Age points are not included (age
is a separate covariate).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CharlsonCategory:
    """One Charlson category: number, name, weight, SNOMED ancestors and ICD-10 prefixes."""

    number: int
    name: str
    weight: int
    concept_ids: tuple[int, ...]
    icd10_prefixes: tuple[str, ...]


def _expand(*specs: str) -> tuple[str, ...]:
    """Expand ``"I60-I69"`` / ``"K70.0-K70.3"`` ranges into prefixes (dots removed)."""
    out: list[str] = []
    for spec in specs:
        spec = spec.replace(".", "")
        if "-" not in spec:
            out.append(spec)
            continue
        lo, hi = spec.split("-")
        stem = lo[:1] if len(lo) == 3 else lo[:3]
        a, b = int(lo[len(stem) :]), int(hi[len(stem) :])
        width = len(lo) - len(stem)
        out.extend(f"{stem}{i:0{width}d}" for i in range(a, b + 1))
    return tuple(out)


_DM_UNCOMPLICATED = tuple(f"E1{t}{d}" for t in "01234" for d in "01689")
_DM_COMPLICATED = tuple(f"E1{t}{d}" for t in "01234" for d in "23457")

#: The 17 categories (numbering as in FeatureExtraction).
CATEGORIES: tuple[CharlsonCategory, ...] = (
    CharlsonCategory(1, "Myocardial infarction", 1, (4329847,), _expand("I21", "I22", "I252")),
    CharlsonCategory(
        2,
        "Congestive heart failure",
        1,
        (316139,),
        _expand("I099", "I110", "I130", "I132", "I255", "I420", "I425-I429", "I43", "I50", "P290"),
    ),
    CharlsonCategory(
        3,
        "Peripheral vascular disease",
        1,
        (321052,),
        _expand(
            "I70",
            "I71",
            "I731",
            "I738",
            "I739",
            "I771",
            "I790",
            "I792",
            "K551",
            "K558",
            "K559",
            "Z958",
            "Z959",
        ),
    ),
    CharlsonCategory(
        4, "Cerebrovascular disease", 1, (381591, 434056), _expand("G45", "G46", "H340", "I60-I69")
    ),
    CharlsonCategory(5, "Dementia", 1, (4182210,), _expand("F00-F03", "F051", "G30", "G311")),
    CharlsonCategory(
        6,
        "Chronic pulmonary disease",
        1,
        (4063381,),
        _expand("I278", "I279", "J40-J47", "J60-J67", "J684", "J701", "J703"),
    ),
    CharlsonCategory(
        7,
        "Rheumatologic disease",
        1,
        (257628, 134442, 80800, 80809, 256197, 255348),
        _expand("M05", "M06", "M315", "M32-M34", "M351", "M353", "M360"),
    ),
    CharlsonCategory(8, "Peptic ulcer disease", 1, (4247120,), _expand("K25-K28")),
    CharlsonCategory(
        9,
        "Mild liver disease",
        1,
        (4064161, 4212540),
        _expand(
            "B18",
            "K700-K703",
            "K709",
            "K713-K715",
            "K717",
            "K73",
            "K74",
            "K760",
            "K762-K764",
            "K768",
            "K769",
            "Z944",
        ),
    ),
    CharlsonCategory(10, "Diabetes (mild to moderate)", 1, (201820,), _DM_UNCOMPLICATED),
    CharlsonCategory(
        11, "Diabetes with chronic complications", 2, (443767, 442793), _DM_COMPLICATED
    ),
    CharlsonCategory(
        12,
        "Hemiplegia or paraplegia",
        2,
        (192606, 374022),
        _expand("G041", "G114", "G801", "G802", "G81", "G82", "G830-G834", "G839"),
    ),
    CharlsonCategory(
        13,
        "Renal disease",
        2,
        (4030518,),
        _expand(
            "I120",
            "I131",
            "N032-N037",
            "N052-N057",
            "N18",
            "N19",
            "N250",
            "Z490-Z492",
            "Z940",
            "Z992",
        ),
    ),
    CharlsonCategory(
        14,
        "Any malignancy",
        2,
        (443392,),
        _expand(
            "C00-C26",
            "C30-C34",
            "C37-C41",
            "C43",
            "C45-C58",
            "C60-C76",
            "C81-C85",
            "C88",
            "C90-C97",
        ),
    ),
    CharlsonCategory(
        15,
        "Moderate to severe liver disease",
        3,
        (4245975, 4029488, 192680, 24966),
        _expand("I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729", "K765-K767"),
    ),
    CharlsonCategory(16, "Metastatic solid tumor", 6, (432851,), _expand("C77-C80")),
    CharlsonCategory(17, "AIDS", 6, (439727,), _expand("B20-B22", "B24")),
)

#: Category number -> SNOMED CT codes (source codes, matched exactly; see the module docstring).
SNOMED_CODES: dict[int, tuple[str, ...]] = {
    1: ("22298006", "401303003", "401314000", "399211009", "57054005", "70422006"),
    2: ("84114007", "88805009", "42343007", "85232009", "703272007", "10633002"),
    3: ("400047006", "399957001", "233985008", "443356006"),
    4: ("230690007", "266257000", "432504007", "422504002", "413758000"),
    5: ("26929004", "230265002", "52448006", "429998004", "15662003"),
    6: ("13645005", "185086009", "87433001", "195967001", "233678006", "195951007"),
    7: ("69896004", "55464009", "200936003", "396332003"),
    8: ("13200003", "397825006", "40845000"),
    9: ("128302006", "61977001", "235856003", "197321007", "50325005"),
    10: ("44054006", "46635009", "73211009"),
    11: (
        "127013003",
        "90781000119102",
        "368581000119106",
        "1551000119108",
        "1501000119109",
        "97331000119101",
        "157141000119108",
        "60951000119105",
        "422034002",
    ),
    12: ("50582007", "60389000", "44747004"),
    13: (
        "431855005",
        "431856006",
        "433144002",
        "431857002",
        "46177005",
        "709044004",
        "161665007",
        "698306007",
        "236435004",
    ),
    14: (
        "363346000",
        "254637007",
        "424132000",
        "254632001",
        "67811000119102",
        "254837009",
        "399068003",
        "126906006",
        "93761005",
        "109838007",
        "363406005",
        "92691004",
        "93143009",
        "91861009",
        "118600007",
    ),
    15: ("19943007", "235896000", "707341005"),
    16: ("94260004", "94222008", "128462008", "94381002", "94503003"),
    17: ("62479008", "86406008"),
}


#: (milder, more severe) category numbers: only the more severe one is scored when both occur.
HIERARCHY: tuple[tuple[int, int], ...] = ((10, 11), (9, 15), (14, 16))


def concepts_values() -> str:
    """Inline SQL table ``(category, concept_id)`` of the ancestor concepts."""
    rows = ", ".join(f"({c.number}, {cid})" for c in CATEGORIES for cid in c.concept_ids)
    return f"(SELECT * FROM (VALUES {rows}) AS _c(category, concept_id))"


def icd10_values() -> str:
    """Inline SQL table ``(category, stem, prefix)``; `stem` = first 3 characters."""
    rows = ", ".join(
        f"({c.number}, '{p[:3]}', '{p}')" for c in CATEGORIES for p in c.icd10_prefixes
    )
    return f"(SELECT * FROM (VALUES {rows}) AS _i(category, stem, prefix))"


def snomed_values() -> str:
    """Inline SQL table ``(category, source_value)`` of the `SNOMED_CODES` (``SNOMED:code``)."""
    rows = ", ".join(f"({n}, 'SNOMED:{c}')" for n, codes in SNOMED_CODES.items() for c in codes)
    return f"(SELECT * FROM (VALUES {rows}) AS _s(category, source_value))"


def weights_values() -> str:
    """Inline SQL table ``(category, weight)``."""
    rows = ", ".join(f"({c.number}, {c.weight})" for c in CATEGORIES)
    return f"(SELECT * FROM (VALUES {rows}) AS _w(category, weight))"
