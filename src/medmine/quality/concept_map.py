"""Map the source codes of a warehouse to standard concepts through its vocabulary (Maps to).

Readers keep each code as ``VOCAB:code`` in ``*_source_value`` and leave ``*_concept_id`` at 0
until a vocabulary is known (`medmine.ingest.codes`). Once ``concept`` and
``concept_relationship`` hold one (`medmine.quality.athena`), `map_source_codes` fills, on the
rows of every coded field whose concept id is still 0 (or empty):

* ``*_source_concept_id`` (where 0 or empty) with the concept of the code: found by vocabulary
  and code, the code written as Athena writes it (`medmine.quality.vocab.concept_code`: dotted
  ICD-10-CM, 11-digit NDC), or given by the row's own source concept id;
* ``*_concept_id`` with the one valid standard concept the code stands for in the field's
  domain: the concept itself when it is standard, else its "Maps to" target.

Rows never move between tables and concept ids are never invented: a code whose standard
concept lies in another domain, or that maps to several concepts of the field's domain, keeps
0 and is counted with its `Outcome`. The work is set-wise in SQL: the distinct codes of every
field are resolved once, then one UPDATE per field writes them back.

>>> from medmine.warehouse import Warehouse
>>> map_source_codes(Warehouse(":memory:")).rows  # no vocabulary, nothing to map
0
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

import duckdb

from medmine.quality._instances import OTHER_CONCEPT_DOMAINS, VOCAB_ALIASES, coded_columns
from medmine.quality.vocab import concept_code_sql
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import TableSpec
from medmine.warehouse.sql import ident, literal

__all__ = ["ConceptMapping", "FieldMapping", "Outcome", "map_codes", "map_source_codes"]

#: OMOP domain of coded fields named ``<prefix>_concept_id`` outside the event domains.
FIELD_DOMAINS = {"unit": "Unit", "route": "Route"}
#: Vocabulary of source values written without a ``VOCAB:`` prefix, by field prefix.
DEFAULT_VOCABULARIES = {"unit": "UCUM"}
#: Spellings of vocabulary ids in source values -> Athena's vocabulary id (upper-cased).
ALIASES = {
    alias: vocab.upper()
    for vocab, aliases in VOCAB_ALIASES.items()
    for alias in aliases
    if alias != vocab.upper()
}


class Outcome(enum.StrEnum):
    """What became of an unmapped row's code."""

    MAPPED = "mapped"  # one valid standard concept in the field's domain: written
    NO_CONCEPT = "no_concept"  # the code is not in the loaded vocabulary
    NO_STANDARD = "no_standard"  # in the vocabulary, but no valid standard concept
    OTHER_DOMAIN = "other_domain"  # its standard concepts belong to another domain
    SEVERAL_TARGETS = "several_targets"  # several standard concepts in the field's domain


@dataclass(frozen=True)
class FieldMapping:
    """Rows of one coded field that had concept id 0 and a source code, by outcome."""

    table: str
    column: str
    outcomes: dict[str, int]

    @property
    def rows(self) -> int:
        """Rows with a source code and concept id 0 before mapping."""
        return sum(self.outcomes.values())

    @property
    def mapped(self) -> int:
        """Rows that received a standard concept."""
        return self.outcomes.get(Outcome.MAPPED, 0)


@dataclass
class ConceptMapping:
    """The outcome of one mapping pass, per coded field that had unmapped rows."""

    fields: list[FieldMapping] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Unmapped rows with a source code, before the pass."""
        return sum(f.rows for f in self.fields)

    @property
    def mapped(self) -> int:
        """Rows that received a standard concept."""
        return sum(f.mapped for f in self.fields)

    @property
    def by_outcome(self) -> dict[str, int]:
        """Rows per outcome, over every field."""
        total: Counter[str] = Counter()
        for f in self.fields:
            total.update(f.outcomes)
        return dict(sorted(total.items()))


@dataclass(frozen=True)
class _Field:
    spec: TableSpec
    concept: str
    source_value: str
    source_concept: str | None

    @property
    def prefix(self) -> str:
        return self.concept.removesuffix("_concept_id")

    @property
    def domain(self) -> str | None:
        d = self.spec.domain
        if d is not None and self.concept == d.concept_column:
            return d.name.capitalize()
        return OTHER_CONCEPT_DOMAINS.get((self.spec.name, self.concept)) or FIELD_DOMAINS.get(
            self.prefix
        )

    @property
    def sc(self) -> str:
        """SQL of the source concept column (NULL when the table has none)."""
        return ident(self.source_concept) if self.source_concept else "CAST(NULL AS INTEGER)"

    def unmapped(self, alias: str = "") -> str:
        """SQL condition: the row has concept 0 (or none) and a source code to map."""
        a = f"{alias}." if alias else ""
        sc = f"{a}{ident(self.source_concept)}" if self.source_concept else "NULL"
        return (
            f"coalesce({a}{ident(self.concept)}, 0) = 0 AND (nullif(trim({a}"
            f"{ident(self.source_value)}), '') IS NOT NULL OR coalesce({sc}, 0) <> 0)"
        )


def _fields() -> list[_Field]:
    return [_Field(spec, cc, sv, sc) for spec, cc, sv, sc in coded_columns()]


def _values(rows: list[tuple[object, ...]]) -> str:
    def lit(v: object) -> str:
        return "NULL" if v is None else literal(str(v)) if isinstance(v, str) else str(v)

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _build_map(con: duckdb.DuckDBPyConnection, fields: list[_Field]) -> None:
    """Resolve the distinct codes of every field into the temp table ``_cm_map``."""
    keys = " UNION ALL ".join(
        f"SELECT {i} AS field, sv, sc FROM (SELECT DISTINCT CAST({ident(f.source_value)} AS "
        f"VARCHAR) AS sv, CAST({f.sc} AS INTEGER) AS sc FROM {ident(f.spec.name)} WHERE "
        f"{f.unmapped()})"
        for i, f in enumerate(fields)
    )
    meta = _values(
        [(i, f.domain, DEFAULT_VOCABULARIES.get(f.prefix)) for i, f in enumerate(fields)]
    )
    aliases = _values(sorted(ALIASES.items())) or "(NULL, NULL)"
    code = concept_code_sql("vocab", "code")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _cm_keys AS
        WITH k AS ({keys}),
        p AS (
            SELECT k.*, f.domain, f.default_vocab,
                   nullif(regexp_extract(k.sv, '^([A-Za-z0-9]+):', 1), '') AS prefix
            FROM k JOIN (VALUES {meta}) AS f(field, domain, default_vocab) USING (field)
        ),
        q AS (
            SELECT p.*,
                   CASE WHEN prefix IS NULL THEN trim(sv) ELSE substr(sv, length(prefix) + 2)
                   END AS code,
                   upper(coalesce(a.vocab_id, prefix, default_vocab)) AS vocab
            FROM p LEFT JOIN (VALUES {aliases}) AS a(alias, vocab_id)
                ON a.alias = upper(p.prefix)
        )
        SELECT field, sv, sc, domain, vocab,
               CASE WHEN coalesce(sc, 0) = 0 AND vocab IS NOT NULL THEN {code} END AS ncode
        FROM q
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _cm_map AS
        WITH by_code AS (
            SELECT w.vocab, w.ncode,
                   first(c.concept_id ORDER BY c.invalid_reason IS NOT NULL, c.concept_id)
                       AS concept_id
            FROM (SELECT DISTINCT vocab, ncode FROM _cm_keys WHERE ncode IS NOT NULL) w
            JOIN concept c ON upper(c.vocabulary_id) = w.vocab AND c.concept_code = w.ncode
            GROUP BY ALL
        ),
        src AS (
            SELECT k.field, k.sv, k.sc, k.domain,
                   CASE WHEN coalesce(k.sc, 0) <> 0 THEN s.concept_id ELSE b.concept_id END
                       AS source_id
            FROM _cm_keys k
            LEFT JOIN concept s ON s.concept_id = k.sc
            LEFT JOIN by_code b ON b.vocab = k.vocab AND b.ncode = k.ncode
        ),
        ids AS (SELECT DISTINCT source_id FROM src WHERE source_id IS NOT NULL),
        tgt AS (
            SELECT i.source_id, c.concept_id AS target_id, c.domain_id
            FROM ids i JOIN concept c ON c.concept_id = i.source_id
            WHERE c.standard_concept = 'S' AND c.invalid_reason IS NULL
            UNION
            SELECT i.source_id, t.concept_id, t.domain_id
            FROM ids i JOIN concept c ON c.concept_id = i.source_id
            JOIN concept_relationship r ON r.concept_id_1 = i.source_id
                 AND r.relationship_id = 'Maps to' AND r.invalid_reason IS NULL
            JOIN concept t ON t.concept_id = r.concept_id_2
                 AND t.standard_concept = 'S' AND t.invalid_reason IS NULL
            WHERE NOT coalesce(c.standard_concept = 'S' AND c.invalid_reason IS NULL, FALSE)
        ),
        counted AS (
            SELECT s.field, s.sv, s.sc, s.source_id,
                   count(t.target_id) AS n_targets,
                   count(t.target_id) FILTER (WHERE s.domain IS NULL OR t.domain_id = s.domain)
                       AS n_in_domain,
                   min(t.target_id) FILTER (WHERE s.domain IS NULL OR t.domain_id = s.domain)
                       AS target_id
            FROM src s LEFT JOIN tgt t ON t.source_id = s.source_id
            GROUP BY s.field, s.sv, s.sc, s.source_id
        )
        SELECT field, sv, sc, source_id,
               CASE WHEN n_in_domain = 1 THEN target_id END AS target_id,
               CASE WHEN source_id IS NULL THEN 'no_concept'
                    WHEN n_targets = 0 THEN 'no_standard'
                    WHEN n_in_domain = 0 THEN 'other_domain'
                    WHEN n_in_domain > 1 THEN 'several_targets'
                    ELSE 'mapped' END AS outcome
        FROM counted
        """
    )


def _apply(con: duckdb.DuckDBPyConnection, i: int, f: _Field) -> FieldMapping:
    """Count the outcomes of field `i` and write its concepts."""
    t, cc, sv = ident(f.spec.name), ident(f.concept), ident(f.source_value)
    match = f"m.field = {i} AND CAST(r.{sv} AS VARCHAR) IS NOT DISTINCT FROM m.sv"
    if f.source_concept:
        match += f" AND r.{ident(f.source_concept)} IS NOT DISTINCT FROM m.sc"
    outcomes = dict(
        con.execute(
            f"SELECT m.outcome, count(*) FROM {t} r JOIN _cm_map m ON {match} "
            f"WHERE {f.unmapped('r')} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    sets = [f"{cc} = coalesce(m.target_id, r.{cc})"]
    todo = "m.target_id IS NOT NULL"
    if f.source_concept:
        sc = ident(f.source_concept)
        sets.append(f"{sc} = CASE WHEN coalesce(r.{sc}, 0) = 0 THEN m.source_id ELSE r.{sc} END")
        todo = f"(m.target_id IS NOT NULL OR (m.source_id IS NOT NULL AND coalesce(r.{sc}, 0) = 0))"
    con.execute(
        f"UPDATE {t} AS r SET {', '.join(sets)} FROM _cm_map m "
        f"WHERE {match} AND {f.unmapped('r')} AND {todo}"
    )
    return FieldMapping(f.spec.name, f.concept, {k: int(v) for k, v in outcomes.items()})


def map_codes(con: duckdb.DuckDBPyConnection) -> ConceptMapping:
    """Map unmapped source codes on `con`, inside the caller's transaction.

    Does nothing (and returns an empty result) when the ``concept`` table is empty.
    """
    result = ConceptMapping()
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM concept LIMIT 1)").fetchone()[0]:
        return result
    fields = _fields()
    try:
        _build_map(con, fields)
        for i, f in enumerate(fields):
            fm = _apply(con, i, f)
            if fm.rows:
                result.fields.append(fm)
    finally:
        con.execute("DROP TABLE IF EXISTS _cm_keys")
        con.execute("DROP TABLE IF EXISTS _cm_map")
    return result


def map_source_codes(wh: Warehouse) -> ConceptMapping:
    """Map the unmapped source codes of `wh` to standard concepts, in one transaction.

    Parameters
    ----------
    wh
        A warehouse opened writable, with a vocabulary in ``concept`` and
        ``concept_relationship`` (see `medmine.quality.athena.load_vocabulary`).

    Returns
    -------
    ConceptMapping
        Rows that had concept id 0 and a source code, per field and outcome.
    """
    with wh.transaction() as con:
        return map_codes(con)
