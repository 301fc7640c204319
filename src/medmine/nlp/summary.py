"""What `note_nlp` holds, summarised for the NLP report page: most frequent affirmed and
negated concepts, modifier shares, and per-person agreement between affirmed condition
mentions in notes and coded conditions (`condition_occurrence`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODIFIER_KEYS = ("negated", "historical", "hypothetical", "uncertain", "family")


@dataclass
class NlpSummary:
    """Aggregates of `note_nlp` (no text, no person ids)."""

    systems: list[str]
    notes: int
    notes_processed: int
    mentions: int
    persons: int
    top_affirmed: list[dict[str, Any]] = field(default_factory=list)
    top_negated: list[dict[str, Any]] = field(default_factory=list)
    modifier_shares: dict[str, float] = field(default_factory=dict)
    by_domain: list[dict[str, Any]] = field(default_factory=list)
    agreement: dict[str, Any] = field(default_factory=dict)


def _has(con: Any, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchone()[0]
    )


_MENTIONS = """
CREATE OR REPLACE TEMP VIEW _nlp_m AS
SELECT n.person_id, x.term_exists, x.term_modifiers AS tm,
       regexp_extract(x.term_modifiers, 'domain=([^;]+)', 1) AS domain,
       coalesce(nullif(regexp_extract(x.term_modifiers, 'source=([^;]+)', 1), ''),
                c.vocabulary_id || ':' || c.concept_code,
                'text:' || lower(x.lexical_variant)) AS k,
       coalesce(c.concept_name, s.display, lower(x.lexical_variant)) AS name
FROM note_nlp x
JOIN note n ON n.note_id = x.note_id
LEFT JOIN concept c ON x.note_nlp_concept_id <> 0 AND c.concept_id = x.note_nlp_concept_id
LEFT JOIN mm_source_concept s
  ON s.vocabulary_id || ':' || s.code = regexp_extract(x.term_modifiers, 'source=([^;]+)', 1)
"""


def summarize(con: Any, *, top: int = 20) -> NlpSummary:
    """Summarise `note_nlp` of the warehouse behind DuckDB connection ``con``."""
    q = lambda sql, p=None: con.execute(sql, p or []).fetchall()  # noqa: E731
    notes = q("SELECT count(*) FROM note")[0][0]
    done = q("SELECT count(*) FROM mm_nlp_note")[0][0] if _has(con, "mm_nlp_note") else 0
    systems = [r[0] for r in q("SELECT DISTINCT nlp_system FROM note_nlp ORDER BY 1")]
    con.execute(_MENTIONS)
    mentions, persons = q("SELECT count(*), count(DISTINCT person_id) FROM _nlp_m")[0]
    out = NlpSummary(systems, int(notes), int(done), int(mentions), int(persons))
    if not mentions:
        return out
    for attr, cond in (
        ("top_affirmed", "term_exists = 'Y'"),
        ("top_negated", "tm LIKE 'negated=true%'"),
    ):
        rows = q(
            f"SELECT name, domain, count(*) AS n, count(DISTINCT person_id) AS p FROM _nlp_m "
            f"WHERE {cond} GROUP BY ALL ORDER BY n DESC, name LIMIT ?",
            [top],
        )
        setattr(
            out,
            attr,
            [{"concept": r[0], "domain": r[1], "mentions": r[2], "persons": r[3]} for r in rows],
        )
    shares = q(
        "SELECT "
        + ", ".join(f"avg(CASE WHEN tm LIKE '%{k}=true%' THEN 1 ELSE 0 END)" for k in MODIFIER_KEYS)
        + ", avg(CASE WHEN tm NOT LIKE '%experiencer=patient%' THEN 1 ELSE 0 END), "
        "avg(CASE WHEN term_exists = 'Y' THEN 1 ELSE 0 END) FROM _nlp_m"
    )[0]
    names = [*MODIFIER_KEYS, "not about the patient", "term_exists"]
    out.modifier_shares = {n: round(float(v), 4) for n, v in zip(names, shares, strict=True)}
    out.by_domain = [
        {"domain": r[0], "mentions": r[1], "affirmed share": round(float(r[2]), 3)}
        for r in q(
            "SELECT domain, count(*), avg(CASE WHEN term_exists='Y' THEN 1 ELSE 0 END) "
            "FROM _nlp_m GROUP BY 1 ORDER BY 2 DESC"
        )
    ]
    out.agreement = _agreement(con)
    return out


def _agreement(con: Any) -> dict[str, Any]:
    """Coded conditions also mentioned (affirmed) in the person's notes, and the reverse."""
    sql = """
    WITH np AS (SELECT DISTINCT person_id FROM note),
    coded AS (
      SELECT DISTINCT co.person_id,
             CASE WHEN co.condition_source_value LIKE '%:%' THEN co.condition_source_value
                  ELSE c.vocabulary_id || ':' || c.concept_code END AS k
      FROM condition_occurrence co JOIN np USING (person_id)
      LEFT JOIN concept c ON c.concept_id = co.condition_concept_id
      WHERE co.condition_source_value LIKE '%:%' OR c.concept_id IS NOT NULL),
    ment AS (
      SELECT DISTINCT person_id, k FROM _nlp_m
      WHERE term_exists = 'Y' AND domain = 'Condition' AND k NOT LIKE 'text:%'),
    per AS (
      SELECT coalesce(c.person_id, m.person_id) AS person_id,
             count(c.k) AS coded, count(m.k) AS mentioned,
             count(CASE WHEN c.k IS NOT NULL AND m.k IS NOT NULL THEN 1 END) AS both_
      FROM coded c FULL JOIN ment m ON c.person_id = m.person_id AND c.k = m.k
      GROUP BY 1)
    SELECT count(*), sum(coded), sum(mentioned), sum(both_),
           median(CASE WHEN coded > 0 THEN both_ / coded END),
           median(CASE WHEN mentioned > 0 THEN both_ / mentioned END)
    FROM per
    """
    n, coded, mentioned, both, med_c, med_m = con.execute(sql).fetchone()
    coded, mentioned, both = int(coded or 0), int(mentioned or 0), int(both or 0)
    return {
        "persons": int(n or 0),
        "coded person-conditions": coded,
        "mentioned person-conditions": mentioned,
        "both": both,
        "coded also mentioned": round(both / coded, 4) if coded else None,
        "mentioned also coded": round(both / mentioned, 4) if mentioned else None,
        "median per person, coded also mentioned": None if med_c is None else round(med_c, 4),
        "median per person, mentioned also coded": None if med_m is None else round(med_m, 4),
    }
