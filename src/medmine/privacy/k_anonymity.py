"""The k-anonymity step of de-identification: choose, with `medmine.privacy.risk.anonymize`,
the least generalisation of the person quasi-identifiers (year of birth, sex, ZIP3, race,
ethnicity) plus suppression of whole persons that makes the release k-anonymous.

The hierarchies here only produce values the output columns can hold (years, OMOP concept
ids, NULL ZIP), so the frame that is measured is the frame that is written:

=============  ==============================================================================
column         levels
=============  ==============================================================================
year_of_birth  year, 5-year band, 10-year band, 20-year band (the band's first year)
sex            gender concept, 0 (no matching concept)
zip3           ZIP3, state only (zip NULL), neither (zip and state NULL)
race           race concept, white (8527) or 0, 0
ethnicity      ethnicity concept, 0
=============  ==============================================================================

Source values of a generalised concept (``race_source_value``...) and, when the year of birth
is generalised, the birth month, day and datetime are NULL in the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medmine.errors import PrivacyError
from medmine.privacy.risk import DEFAULT_QI, anonymize

#: Generalisation hierarchies whose every level can be written back to the output.
DEID_HIERARCHIES: dict[str, tuple[str, ...]] = {
    "year_of_birth": (
        "year_of_birth",
        "(year_of_birth // 5) * 5",
        "(year_of_birth // 10) * 10",
        "(year_of_birth // 20) * 20",
    ),
    "sex": ("sex", "0"),
    "zip3": ("zip3", "state", "NULL"),
    "race": ("race", "CASE WHEN race = 8527 THEN 8527 ELSE 0 END", "0"),
    "ethnicity": ("ethnicity", "0"),
}


@dataclass
class KAnonymity:
    """What the k-anonymity step chose and what it cost."""

    target_k: int
    achieved_k: int
    levels: dict[str, int] = field(default_factory=dict)
    persons: int = 0  # persons before suppression
    persons_suppressed: int = 0
    information_loss: float = 0.0  # mean normalised hierarchy height, in [0, 1]
    quasi_identifiers: tuple[str, ...] = DEFAULT_QI


def apply_k(con: Any, frame_sql: str, k: int, max_suppression: float) -> KAnonymity:
    """Find the generalisation for `k` on `frame_sql` (one row per released person with a
    ``person_id`` column) and delete suppressed persons from ``_mm_pmap``.

    Raises
    ------
    PrivacyError
        If no generalisation reaches `k` within `max_suppression` of persons.
    """
    res = anonymize(
        con,
        frame_sql,
        DEFAULT_QI,
        target_k=k,
        max_suppression=max_suppression,
        hierarchies=DEID_HIERARCHIES,
    )
    if not res.achieved:
        raise PrivacyError(
            f"k = {k} cannot be reached on {', '.join(DEFAULT_QI)} by generalisation and "
            f"suppression of at most {max_suppression:.0%} of {res.records:,} persons; "
            "lower --k or allow more suppression (--max-suppression)"
        )
    con.execute(
        f"DELETE FROM _mm_pmap WHERE old NOT IN (SELECT person_id FROM ({res.generalised_sql}))"
    )
    return KAnonymity(
        target_k=k,
        achieved_k=res.risk.k if res.risk and res.risk.records else 0,
        levels=dict(res.levels),
        persons=res.records,
        persons_suppressed=res.rows_suppressed,
        information_loss=res.information_loss,
    )
