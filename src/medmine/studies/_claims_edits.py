"""Claim edits of the claims fraud study: one SQL query per edit over the claim lines."""

from __future__ import annotations

import importlib.resources
from typing import Any

import pandas as pd

from medmine.studies import _claims_sql as q
from medmine.warehouse.sql import ident

#: Weight of each edit in a claim's score (severity: certain errors first).
EDIT_WEIGHTS = {
    "after_death": 5.0,
    "before_birth": 5.0,
    "exact_duplicate": 4.0,
    "near_duplicate": 3.0,
    "unbundling": 3.0,
    "excessive_units": 3.0,
    "sex_mismatch": 3.0,
    "age_mismatch": 2.0,
    "rule_violation": 1.0,
}

_LINES = "fl AS (" + q.FL + ")"

_BIRTH = (
    "coalesce(CAST(p.birth_datetime AS DATE), "
    "make_date(p.year_of_birth, coalesce(p.month_of_birth, 1), coalesce(p.day_of_birth, 1)))"
)

#: One query per edit: rows (claim_line_id, claim_id, provider_id, evidence_line_id, detail).
EDIT_SQL: dict[str, str] = {
    "exact_duplicate": """
        SELECT claim_line_id, claim_id, provider_id, first_line AS evidence_line_id,
               'same person, provider, code ' || code || ', date and amount as line '
               || first_line AS detail
        FROM (SELECT *, row_number() OVER w AS rn, first_value(claim_line_id) OVER w AS first_line
              FROM fl WINDOW w AS (PARTITION BY person_id, provider_id, vocab, code,
                                   service_date, amount, units
                                   ORDER BY claim_id, claim_line_id))
        WHERE rn > 1""",
    "near_duplicate": """
        SELECT b.claim_line_id, b.claim_id, b.provider_id, a.claim_line_id,
               'code ' || b.code || ' billed the day after line ' || a.claim_line_id
               || ' for the same person, provider and amount'
        FROM fl a JOIN fl b ON a.person_id = b.person_id
             AND a.provider_id IS NOT DISTINCT FROM b.provider_id
             AND a.vocab = b.vocab AND a.code = b.code AND a.amount = b.amount
             AND b.service_date = a.service_date + 1 AND a.claim_id <> b.claim_id""",
    "after_death": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'service ' || date_diff('day', d.death_date, f.service_date)
               || ' days after the recorded death'
        FROM fl f JOIN (SELECT person_id, min(death_date) AS death_date FROM death
                        GROUP BY 1) d USING (person_id)
        WHERE f.service_date > d.death_date""",
    "before_birth": f"""
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'service before the earliest possible birth date'
        FROM fl f JOIN person p USING (person_id)
        WHERE p.year_of_birth IS NOT NULL AND f.service_date < {_BIRTH}""",
    "sex_mismatch": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               'procedure ' || f.code || ' (' || r.display || ') is for sex ' || r.sex
        FROM fl f JOIN person p USING (person_id)
             JOIN _ref_sexage r ON r.vocabulary_id = f.vocab AND r.code = f.code
        WHERE r.sex IS NOT NULL AND p.gender_concept_id IN (8507, 8532)
          AND r.sex <> CASE p.gender_concept_id WHEN 8507 THEN 'M' ELSE 'F' END""",
    "age_mismatch": f"""
        SELECT claim_line_id, claim_id, provider_id, NULL,
               'procedure ' || code || ' (' || display || ') at age ' || age
        FROM (SELECT f.*, r.display, r.min_age, r.max_age,
                     date_sub('year', {_BIRTH}, f.service_date) AS age
              FROM fl f JOIN person p USING (person_id)
                   JOIN _ref_sexage r ON r.vocabulary_id = f.vocab AND r.code = f.code
              WHERE p.year_of_birth IS NOT NULL)
        WHERE age >= 0 AND (age < min_age OR age > max_age)""",
    "unbundling": """
        SELECT b.claim_line_id, b.claim_id, b.provider_id, a.claim_line_id,
               b.code || ' billed with ' || a.code || ' on the same day ('
               || r.column2_display || ' is included in ' || r.column1_display || ')'
        FROM _ref_ncci r
        JOIN fl a ON a.vocab = r.vocabulary_id AND a.code = r.column1_code
        JOIN fl b ON b.vocab = r.vocabulary_id AND b.code = r.column2_code
             AND a.person_id = b.person_id AND a.service_date = b.service_date
             AND a.provider_id IS NOT DISTINCT FROM b.provider_id""",
    "excessive_units": """
        SELECT f.claim_line_id, f.claim_id, f.provider_id, NULL,
               g.total || ' units of ' || f.code || ' on one claim and day (limit '
               || g.max_units_per_day || ')'
        FROM fl f JOIN (
            SELECT fl.claim_id, fl.vocab, fl.code, fl.service_date, sum(fl.units) AS total,
                   any_value(r.max_units_per_day) AS max_units_per_day
            FROM fl JOIN _ref_mue r ON r.vocabulary_id = fl.vocab AND r.code = fl.code
            GROUP BY fl.claim_id, fl.vocab, fl.code, fl.service_date
            HAVING sum(fl.units) > any_value(r.max_units_per_day)
        ) g ON f.claim_id = g.claim_id AND f.vocab = g.vocab AND f.code = g.code
           AND f.service_date = g.service_date""",
}


def reference_tables() -> dict[str, pd.DataFrame]:
    """The shipped tables: NCCI-style pairs, MUE-style limits, sex/age restrictions."""
    base = importlib.resources.files("medmine.studies") / "data"
    read = {"dtype": {"code": str, "column1_code": str, "column2_code": str}}
    return {
        "_ref_ncci": pd.read_csv(base / "ncci_pairs.csv", **read),
        "_ref_mue": pd.read_csv(base / "mue_limits.csv", **read),
        "_ref_sexage": pd.read_csv(base / "procedure_sex_age.csv", **read),
    }


class _Scope:
    """Register the reference tables on a connection for the duration of a block."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def __enter__(self) -> _Scope:
        for name, df in reference_tables().items():
            self.con.register(name, df)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reference_tables():
            self.con.unregister(name)


def _with_lines(sql: str, person_sql: str | None, fl: str | None = None) -> str:
    """`sql` with ``fl`` defined: the table `fl` (see `build_fl`) or the lines query."""
    if fl is not None:
        return f"WITH fl AS (SELECT * FROM {ident(fl)})\n" + sql
    filt = f"AND l.person_id IN ({person_sql})" if person_sql else ""
    return "WITH " + _LINES.format(person_filter=filt) + "\n" + sql


def build_fl(con: Any, person_sql: str | None = None, table: str = q.FL_TABLE) -> str:
    """Write the claim lines with their profile provider (one pass) to a temporary table."""
    filt = f"AND l.person_id IN ({person_sql})" if person_sql else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS " + q.FL.format(person_filter=filt)
    )
    return table


def claim_edits(wh: Any, person_sql: str | None = None, fl: str | None = None) -> pd.DataFrame:
    """Run every claim edit; one row per flagged line and edit. `fl`: a table written by
    `build_fl` (written here when None).
    """
    fl = fl or build_fl(wh.con, person_sql)
    frames = []
    with _Scope(wh.con):
        for name, sql in EDIT_SQL.items():
            df = wh.con.execute(_with_lines(sql, person_sql, fl)).df()
            df.columns = ["claim_line_id", "claim_id", "provider_id", "evidence_line_id", "detail"]
            df.insert(0, "edit", name)
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    # DuckDB returns rows in no fixed order: sort so evidence lists are reproducible.
    out = out.sort_values(["edit", "claim_line_id", "evidence_line_id"], kind="stable")
    return out.drop_duplicates(["edit", "claim_line_id"]).reset_index(drop=True)


def _lines(wh: Any, person_sql: str | None) -> pd.DataFrame:
    return wh.con.execute(
        _with_lines(
            "SELECT claim_line_id, claim_id, person_id, provider_id, service_date, vocab, code, "
            "units, amount FROM fl",
            person_sql,
        )
    ).df()
