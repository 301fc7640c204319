"""Who may be analysed: the one place where consent is applied to a study's persons.

Every study selects persons through `select_persons` (cohorts through `build_cohort`, which
calls it): a person whose consent for the purpose is refused, or missing under an opt-in
policy, never enters a cohort, a covariate matrix, a basket, a claims review or a score.

>>> from medmine.warehouse import Warehouse
>>> select_persons(Warehouse(":memory:"), None).person_ids_sql is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medmine.errors import ConfigError, PrivacyError
from medmine.privacy.consent import ConsentPolicy, eligible_persons


@dataclass(frozen=True)
class PersonSelection:
    """Persons eligible for `purpose`: a subquery of their ids and the counts to report.

    ``person_ids_sql`` is None when no purpose was given (everyone is eligible); otherwise a
    subquery for ``WHERE person_id IN (...)`` built by the consent module (no outside text).
    """

    purpose: str | None
    person_ids_sql: str | None
    eligible: int
    excluded: int

    def where(self, column: str = "person_id") -> str:
        """``WHERE column IN (...)`` (empty when everyone is eligible); `column` is code."""
        if self.person_ids_sql is None:
            return ""
        return f"WHERE {column} IN ({self.person_ids_sql})"

    def require(self, wh: Any, person_id: int) -> None:
        """Raise unless `person_id` exists (`ConfigError`) and may be used (`PrivacyError`)."""
        exists = wh.con.execute(
            "SELECT count(*) FROM person WHERE person_id = ?", [int(person_id)]
        ).fetchone()[0]
        if not exists:
            raise ConfigError(
                f"--person {person_id}: no such person in this warehouse; give a person_id "
                "from its person table"
            )
        if self.person_ids_sql is None:
            return
        ok = wh.con.execute(
            f"SELECT count(*) FROM ({self.person_ids_sql}) AS e WHERE e.person_id = ?",
            [int(person_id)],
        ).fetchone()[0]
        if not ok:
            raise PrivacyError(f"person {person_id} has no consent for {self.purpose}; not used")


def select_persons(
    wh: Any, purpose: str | None, policy: ConsentPolicy | None = None
) -> PersonSelection:
    """The persons of `wh` usable for `purpose` under `policy` (default: opt-out).

    ``purpose=None`` selects everyone (for example payment-integrity review of claims, which
    is not research); studies say on their page which they used.
    """
    if not purpose:
        n = int(wh.con.execute("SELECT count(*) FROM person").fetchone()[0])
        return PersonSelection(None, None, n, 0)
    f = eligible_persons(wh, purpose, policy)
    return PersonSelection(purpose, f.person_ids_sql, int(f.eligible), int(f.excluded))
