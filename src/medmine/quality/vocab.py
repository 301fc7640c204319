"""Code-system normalisation and check digits (ICD-10-CM, NDC, LOINC, SNOMED CT, NPI), in Python
and as portable SQL expressions so that quality checks validate codes set-wise in the engine.

Normalisers return ``None`` for input they cannot normalise; they never guess.

>>> normalize_icd10cm("e119"), icd10cm_dotted("E119")
('E119', 'E11.9')
>>> ndc_to_11("0002-3227-30")
'00002322730'
>>> loinc_check_digit("2345"), is_valid_loinc("2345-7")
(7, True)
>>> is_valid_snomed("44054006")
True
>>> concept_code("ICD10CM", "e119"), concept_code("NDC", "0002-3227-30")
('E11.9', '00002322730')
"""

from __future__ import annotations

import re

from medmine.ingest.validate import luhn_check_digit

__all__ = [
    "concept_code",
    "concept_code_sql",
    "icd10cm_dotted",
    "is_valid_loinc",
    "is_valid_snomed",
    "loinc_check_digit",
    "luhn_valid_sql",
    "ndc_to_11",
    "normalize_icd10cm",
    "snomed_partition",
    "sql_valid",
    "verhoeff_check_digit",
    "verhoeff_valid",
    "verhoeff_valid_sql",
]

_ICD10CM = re.compile(r"^[A-TV-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_NDC_HYPHEN = re.compile(
    r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1}|\d{5}-\d{4}-\d{2})$"
)
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")

# Verhoeff tables: multiplication in the dihedral group D5, and the position permutation.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

#: SNOMED CT partition identifiers of concept ids (short and long format).
SNOMED_CONCEPT_PARTITIONS = ("00", "10")
_SNOMED_MAX = 18


# ---- ICD-10-CM ----
def normalize_icd10cm(code: str | None) -> str | None:
    """Undotted upper-case ICD-10-CM code, or ``None`` if it is not ICD-10-CM shaped."""
    if code is None:
        return None
    s = code.strip().upper()
    if s.count(".") > 1 or (s.count(".") == 1 and s.index(".") != 3):
        return None
    s = s.replace(".", "")
    return s if _ICD10CM.match(s) else None


def icd10cm_dotted(code: str | None) -> str | None:
    """Dotted form (``E11.9``) of an ICD-10-CM code given dotted or undotted."""
    s = normalize_icd10cm(code)
    if s is None:
        return None
    return s if len(s) == 3 else f"{s[:3]}.{s[3:]}"


# ---- NDC ----
def ndc_to_11(code: str | None) -> str | None:
    """11-digit (5-4-2) NDC from a hyphenated 10-digit (4-4-2, 5-3-2, 5-4-1) or 11-digit code.

    An unhyphenated 10-digit code is ambiguous (which segment lacks its zero?) and gives
    ``None``; so does anything else that is not NDC shaped.
    """
    if code is None:
        return None
    s = code.strip()
    if s.isascii() and s.isdigit():
        return s if len(s) == 11 else None
    if not _NDC_HYPHEN.match(s):
        return None
    a, b, c = s.split("-")
    return a.zfill(5) + b.zfill(4) + c.zfill(2)


def ndc_hyphenated(ndc11: str) -> str:
    """5-4-2 hyphenated form of an 11-digit NDC."""
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}"


# ---- LOINC (mod 10) ----
def loinc_check_digit(code_part: str) -> int:
    """LOINC mod-10 check digit of the part before the hyphen (``"2345"`` -> 7)."""
    if not code_part.isascii() or not code_part.isdigit():
        raise ValueError("a LOINC code part is made of digits only")
    return luhn_check_digit(code_part)


def is_valid_loinc(code: str | None) -> bool:
    """True for ``NNNNN-C`` with a correct mod-10 check digit."""
    m = _LOINC.match((code or "").strip())
    return bool(m) and loinc_check_digit(m.group(1)) == int(m.group(2))


# ---- SNOMED CT (Verhoeff) ----
def verhoeff_check_digit(digits: str) -> int:
    """Verhoeff check digit to append to `digits`."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return _INV[c]


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of `digits` is its Verhoeff check digit."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def snomed_partition(sctid: str) -> str | None:
    """Partition identifier (the two digits before the check digit) of an SCTID."""
    s = (sctid or "").strip()
    return s[-3:-1] if len(s) >= 6 and s.isdigit() else None


def is_valid_snomed(sctid: str | None, *, concept: bool = True) -> bool:
    """True for a 6-18 digit SCTID without leading zero, valid Verhoeff digit and partition.

    With ``concept=True`` only concept partitions (``00``, ``10``) are accepted.
    """
    s = (sctid or "").strip()
    if not (6 <= len(s) <= _SNOMED_MAX) or not s.isascii() or not s.isdigit() or s[0] == "0":
        return False
    if concept and snomed_partition(s) not in SNOMED_CONCEPT_PARTITIONS:
        return False
    return verhoeff_valid(s)


# ---- the form of a code in the OMOP vocabulary (Athena's concept_code) ----
def concept_code(vocabulary: str, code: str | None) -> str | None:
    """`code` as Athena writes it in ``concept.concept_code`` for `vocabulary`.

    ICD-10-CM codes are dotted (``E119`` -> ``E11.9``) and NDCs are 11 digits (``0002-3227-30``
    -> ``00002322730``); a code of another vocabulary, or one these rules cannot normalise, is
    only stripped of surrounding spaces (it then matches only if it is already in that form).
    """
    if code is None:
        return None
    v = vocabulary.upper()
    s = code.strip(" ")
    if v == "ICD10CM":
        return icd10cm_dotted(s) or s.upper()
    if v == "NDC":
        return ndc_to_11(s) or s
    return s


def concept_code_sql(vocabulary: str, code: str) -> str:
    """SQL twin of `concept_code`: `vocabulary` and `code` are SQL expressions (per row)."""
    t = f"trim({code})"
    u = f"upper({t})"
    undotted = f"replace({u}, '.', '')"
    icd = (
        f"CASE WHEN regexp_matches({u}, '^[A-TV-Z][0-9][0-9A-Z]\\.?[0-9A-Z]{{0,4}}$') THEN "
        f"CASE WHEN length({undotted}) = 3 THEN {undotted} ELSE substr({undotted}, 1, 3) || '.' "
        f"|| substr({undotted}, 4) END ELSE {u} END"
    )
    segments = " || ".join(
        f"lpad(split_part({t}, '-', {i}), {w}, '0')" for i, w in ((1, 5), (2, 4), (3, 2))
    )
    ndc = (
        f"CASE WHEN regexp_matches({t}, '^[0-9]{{4}}-[0-9]{{4}}-[0-9]{{2}}$|^[0-9]{{5}}-[0-9]{{3}}-"
        f"[0-9]{{2}}$|^[0-9]{{5}}-[0-9]{{4}}-[0-9]{{1,2}}$') THEN {segments} ELSE {t} END"
    )
    return (
        f"(CASE upper({vocabulary}) WHEN 'ICD10CM' THEN {icd} WHEN 'NDC' THEN {ndc} ELSE {t} END)"
    )


# ---- SQL expressions (DuckDB dialect, transpilable with SQLGlot) ----
def _digit_sql(expr: str, width: int, pos_from_right: int) -> str:
    """Digit at `pos_from_right` (0 = last) of `expr` left-padded with zeros to `width`."""
    pos = width - pos_from_right
    return f"coalesce(TRY_CAST(substr(lpad({expr}, {width}, '0'), {pos}, 1) AS INTEGER), 0)"


def luhn_valid_sql(expr: str, width: int) -> str:
    """SQL: true when the digit string `expr` (at most `width` digits) passes the Luhn test."""
    terms = []
    for i in range(width):
        d = _digit_sql(expr, width, i)
        terms.append(d if i % 2 == 0 else f"(2 * {d} - 9 * CAST({d} > 4 AS INTEGER))")
    return f"(({' + '.join(terms)}) % 10 = 0)"


def verhoeff_valid_sql(expr: str, width: int = _SNOMED_MAX) -> str:
    """SQL: true when the digit string `expr` (at most `width` digits) has a valid Verhoeff digit.

    Digits are zero-padded to `width`; the padding steps act as a permutation of the running
    check value, so the result is compared with the image of 0 under that permutation for the
    code's length (a lookup list), which keeps the expression linear in `width`.
    """
    d_flat = ", ".join(str(v) for row in _D for v in row)
    p_flat = ", ".join(str(v) for row in _P for v in row)
    c = "0"
    for i in range(width):
        digit = _digit_sql(expr, width, i)
        c = f"[{d_flat}][({c}) * 10 + [{p_flat}][{(i % 8) * 10} + {digit} + 1] + 1]"
    # target[L] = running value after padding steps L..width-1 starting from 0
    targets = []
    for n in range(width + 1):
        v = 0
        for i in range(n, width):
            v = _D[v][_P[i % 8][0]]
        targets.append(str(v))
    return f"(({c}) = [{', '.join(targets)}][length({expr}) + 1])"


def sql_valid(vocabulary: str, code: str) -> str:
    """SQL boolean: `code` (an SQL expression) is a well-formed code of `vocabulary`.

    Vocabularies: ``ICD10CM``, ``SNOMED``, ``LOINC``, ``NDC``, ``RxNorm``, ``CPT4``, ``HCPCS``,
    ``NPI``.
    """
    v = vocabulary.upper()
    if v == "ICD10CM":
        return rf"regexp_matches({code}, '^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{{1,4}})?$')"
    if v == "SNOMED":
        parts = ", ".join(f"'{p}'" for p in SNOMED_CONCEPT_PARTITIONS)
        return (
            f"(regexp_matches({code}, '^[1-9][0-9]{{5,17}}$') AND "
            f"substr({code}, length({code}) - 2, 2) IN ({parts}) AND "
            f"{verhoeff_valid_sql(code)})"
        )
    if v == "LOINC":
        part = f"replace({code}, '-', '')"
        return f"(regexp_matches({code}, '^[0-9]{{1,7}}-[0-9]$') AND {luhn_valid_sql(part, 8)})"
    if v == "NDC":
        return (
            f"regexp_matches({code}, '^([0-9]{{11}}|[0-9]{{4}}-[0-9]{{4}}-[0-9]{{2}}|"
            f"[0-9]{{5}}-[0-9]{{3}}-[0-9]{{2}}|[0-9]{{5}}-[0-9]{{4}}-[0-9]{{1,2}})$')"
        )
    if v == "RXNORM":
        return f"regexp_matches({code}, '^[1-9][0-9]{{0,8}}$')"
    if v == "CPT4":
        return f"regexp_matches({code}, '^[0-9]{{4}}[0-9FTUM]$')"
    if v == "HCPCS":
        return f"regexp_matches({code}, '^[A-V][0-9]{{4}}$')"
    if v == "NPI":
        prefixed = f"'80840' || {code}"
        return f"(regexp_matches({code}, '^[12][0-9]{{9}}$') AND {luhn_valid_sql(prefixed, 15)})"
    raise ValueError(f"no code-shape rule for vocabulary {vocabulary!r}")
