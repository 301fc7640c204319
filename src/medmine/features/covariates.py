"""Covariates: time-windowed, sparse features of cohort rows, computed inside the engine.

Every analysis is one SQL query over the warehouse producing long rows
``(row_id, analysis_id, concept_id, value)``; only the final assembly into a
``scipy.sparse.csr_matrix`` happens in numpy. Covariate ids follow OHDSI FeatureExtraction:
``covariate_id = concept_id * 1000 + analysis_id``.

**Nothing dated on or after the index date is used** by default: every window ends at
``end_day = -1`` (the day before index). ``end_day = 0`` includes the index day (e.g. the
diagnoses of the index visit) and must be asked for explicitly; a positive `end_day` is
refused. Demographics (sex, race, ethnicity, age at index) are known at index.

>>> from medmine.warehouse import Warehouse
>>> from medmine.features.cohorts import build_cohort, disease_risk
>>> wh = Warehouse(":memory:")
>>> m = extract_covariates(wh, build_cohort(wh, disease_risk()))
>>> m.X.shape
(0, 0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

if TYPE_CHECKING:
    from medmine.features._definition import Cohort
    from medmine.warehouse import Warehouse
    from medmine.warehouse.schema import EventDomain

from medmine.errors import ConfigError
from medmine.features import charlson, notes
from medmine.features._sql import (
    days_between,
    domain,
    int_list,
    plus_days,
    table_exists,
    temp_name,
)
from medmine.quality.repeated import without_repeats
from medmine.warehouse.sql import ident

#: Fixed analysis ids (``covariate_id % 1000``).
GENDER, RACE, ETHNICITY, AGE, AGE_GROUP, INDEX_YEAR, INDEX_MONTH = 1, 2, 3, 4, 5, 6, 7
CHARLSON_INDEX, CHARLSON_CATEGORY = 8, 9
LAB_LAST = 200
VISIT_BASE = 190
#: Concept-domain analyses: ``100 + 10 * domain position + window position``.
DOMAIN_ORDER = ("condition", "drug", "procedure", "measurement", "observation", "device")

#: Names of demographic concepts, used when the warehouse has no `concept` rows for them.
DEMOGRAPHIC_NAMES = {
    0: "No matching concept",
    8507: "MALE",
    8532: "FEMALE",
    8515: "Asian",
    8516: "Black or African American",
    8527: "White",
    8557: "Native Hawaiian or Other Pacific Islander",
    8657: "American Indian or Alaska Native",
    38003563: "Hispanic or Latino",
    38003564: "Not Hispanic or Latino",
}

REFERENCE_COLUMNS = [
    "covariate_id",
    "covariate_name",
    "analysis",
    "analysis_id",
    "window_start",
    "window_end",
    "concept_id",
    "source_value",
    "covariate_key",
]

#: The identity of a covariate: analysis and standard concept, or analysis and source code.
_KEY_SQL = (
    "CAST(analysis_id AS VARCHAR) || '|' || "
    "coalesce(source_value, CAST(CAST(concept_id AS BIGINT) AS VARCHAR))"
)


def _with_keys(reference: pd.DataFrame) -> pd.DataFrame:
    """A reference with ``source_value`` and ``covariate_key`` (older saved ones lack them)."""
    ref = reference.copy()
    if "source_value" not in ref:
        ref["source_value"] = None
    if "covariate_key" not in ref:
        sv = ref["source_value"]
        cid = ref["concept_id"].astype("int64").astype(str)
        ref["covariate_key"] = (
            ref["analysis_id"].astype("int64").astype(str) + "|" + sv.where(sv.notna(), cid)
        )
    return ref[REFERENCE_COLUMNS]


@dataclass(frozen=True)
class CovariateSettings:
    """Which covariates to compute.

    Parameters
    ----------
    windows
        Look-back lengths in days; each gives the window ``[-length, end_day]``; ``None`` is
        "any time prior" (``[any, end_day]``).
    end_day
        Last day of every window relative to index: ``-1`` (default, strictly before the
        index date) or ``0`` (also the index day). Positive values are refused (leakage).
    domains
        Concept domains turned into indicators per window.
    counts
        Use event counts instead of 0/1 indicators for concept covariates.
    min_prevalence
        Drop covariates present (non-zero) in fewer than this share of rows.
    notes
        Add the note feature group (`medmine.features.notes`): affirmed patient mentions of
        `note_nlp` concepts per domain and window, dated by their note (off by default).
    note_historical
        With `notes`, historical mentions ("history of DVT") as their own covariates;
        ``False`` leaves them out.
    """

    demographics: bool = True
    age_groups: bool = False
    index_year: bool = False
    index_month: bool = False
    domains: tuple[str, ...] = ("condition", "drug", "procedure", "measurement", "observation")
    windows: tuple[int | None, ...] = (30, 180, 365, None)
    end_day: int = -1
    counts: bool = False
    visit_counts: bool = True
    include_labs: bool = True
    lab_concept_ids: tuple[int, ...] | None = None
    lab_window: int | None = 365
    include_charlson: bool = True
    charlson_categories: bool = False
    min_prevalence: float = 0.001
    notes: bool = False
    note_historical: bool = True

    def validate(self) -> None:
        """Raise `ConfigError` on a setting that would leak or cannot work."""
        if self.end_day > 0:
            raise ConfigError(
                "The 'end_day' parameter of CovariateSettings must be -1 or 0 (days after the "
                f"index date would leak the outcome). Got {self.end_day} instead."
            )
        for w in self.windows:
            if w is not None and w < 1:
                raise ConfigError(
                    f"CovariateSettings windows are look-back lengths >= 1 day. Got {w} instead."
                )
        if len(self.windows) > 9:
            raise ConfigError("CovariateSettings supports at most 9 windows")
        for d in self.domains:
            if d not in DOMAIN_ORDER:
                raise ConfigError(f"unknown covariate domain {d!r}; use one of {DOMAIN_ORDER}")
        if not 0 <= self.min_prevalence < 1:
            raise ConfigError(
                "The 'min_prevalence' parameter of CovariateSettings must be in [0, 1). "
                f"Got {self.min_prevalence} instead."
            )

    def window_bounds(self) -> list[tuple[int | None, int]]:
        """``(start, end)`` days of each window."""
        return [(None if w is None else -int(w), int(self.end_day)) for w in self.windows]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/YAML ready)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CovariateSettings:
        """Inverse of `to_dict`."""
        tuples = {"domains", "windows", "lab_concept_ids"}
        return cls(**{k: tuple(v) if k in tuples and v is not None else v for k, v in data.items()})


@dataclass
class CovariateMatrix:
    """Covariates of a cohort: sparse matrix plus the description of every column.

    `X` rows follow `row_ids` (the order of ``Cohort.frame.row_id``); `columns` and the rows of
    `reference` follow the columns of `X`.
    """

    X: sp.csr_matrix
    row_ids: np.ndarray
    columns: list[str]
    reference: pd.DataFrame
    settings: CovariateSettings = field(default_factory=lambda: CovariateSettings())

    def to_frame(self) -> pd.DataFrame:
        """Dense DataFrame (small matrices only), indexed by row id."""
        return pd.DataFrame(self.X.toarray(), index=self.row_ids, columns=self.columns)

    def column(self, name: str) -> np.ndarray:
        """Dense values of one column by exact name."""
        return np.asarray(self.X[:, self.columns.index(name)].todense()).ravel()


def _window_label(start: int | None, end: int) -> str:
    return f"[{'any' if start is None else start},{end}]"


def _analyses(s: CovariateSettings) -> dict[int, dict[str, Any]]:
    """Metadata of every analysis the settings produce: analysis_id -> description."""
    out: dict[int, dict[str, Any]] = {}
    if s.demographics:
        for aid, name in ((GENDER, "gender"), (RACE, "race"), (ETHNICITY, "ethnicity")):
            out[aid] = {"analysis": name, "start": None, "end": 0}
        out[AGE] = {"analysis": "age", "start": None, "end": 0}
    if s.age_groups:
        out[AGE_GROUP] = {"analysis": "age_group", "start": None, "end": 0}
    if s.index_year:
        out[INDEX_YEAR] = {"analysis": "index_year", "start": None, "end": 0}
    if s.index_month:
        out[INDEX_MONTH] = {"analysis": "index_month", "start": None, "end": 0}
    if s.include_charlson:
        out[CHARLSON_INDEX] = {"analysis": "charlson", "start": None, "end": s.end_day}
        if s.charlson_categories:
            out[CHARLSON_CATEGORY] = {
                "analysis": "charlson_category",
                "start": None,
                "end": s.end_day,
            }
    bounds = s.window_bounds()
    for dname in s.domains:
        base = 100 + 10 * DOMAIN_ORDER.index(dname)
        for k, (lo, hi) in enumerate(bounds):
            out[base + k] = {"analysis": dname, "start": lo, "end": hi, "domain": dname}
    if s.visit_counts:
        for k, (lo, hi) in enumerate(bounds):
            out[VISIT_BASE + k] = {"analysis": "visit_count", "start": lo, "end": hi}
    if s.include_labs:
        lo = None if s.lab_window is None else -int(s.lab_window)
        out[LAB_LAST] = {"analysis": "lab_last", "start": lo, "end": s.end_day}
    if s.notes:
        out.update(notes.note_analyses(bounds, historical=s.note_historical))
    return out


#: A source value usable as a feature: ``VOCABULARY:code`` (no free text, which may hold PHI).
_CODE_PATTERN = "^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$"


def _key_columns(concept: str, source: str | None) -> tuple[str, str, str]:
    """Concept id, source code and filter of an event.

    The standard concept when mapped, else its ``VOCAB:code`` source value (so features exist
    without a vocabulary).
    """
    if source is None:
        return concept, "CAST(NULL AS VARCHAR)", f"{concept} <> 0"
    unmapped = f"({concept} IS NULL OR {concept} = 0)"
    code = f"CASE WHEN {unmapped} AND regexp_matches({source}, '{_CODE_PATTERN}') THEN {source} END"
    cid = f"CASE WHEN {unmapped} THEN 0 ELSE {concept} END"
    keep = f"({concept} <> 0 OR ({unmapped} AND regexp_matches({source}, '{_CODE_PATTERN}')))"
    return cid, code, keep


def _window_sql(d: EventDomain, base: int, s: CovariateSettings) -> str:
    """Per-window indicators/counts of the events of `d` (one scan, one FILTER per window)."""
    events, concept, date = ident(d.table), ident(d.concept_column), ident(d.start_column)
    if d.name == "measurement" and s.counts:
        # A measurement repeated under another id (Synthea writes vital signs twice; feeds
        # resend results) counts once (docs/mapping.md).
        events = without_repeats("measurement")
    source = None if d.name == "visit" else f"e.{ident(d.source_value_column)}"
    cid, code, keep = _key_columns(f"e.{concept}", source)
    bounds = s.window_bounds()
    starts = [lo for lo, _ in bounds]
    lower = (
        ""
        if any(lo is None for lo in starts)
        else (f" AND e.{date} >= {plus_days('r.index_date', min(starts))}")
    )
    aggs = ", ".join(
        f"count(*) FILTER (WHERE d >= {lo}) AS w{k}" if lo is not None else f"count(*) AS w{k}"
        for k, lo in enumerate(starts)
    )
    value = "{w}" if s.counts else "1.0"
    unions = " UNION ALL ".join(
        f"SELECT row_id, {base + k} AS analysis_id, concept_id, source_value, "
        f"CAST({value.format(w=f'w{k}')} AS DOUBLE) AS value FROM agg WHERE w{k} > 0"
        for k in range(len(bounds))
    )
    return f"""
    SELECT * FROM (
        WITH agg AS (
            SELECT row_id, concept_id, source_value, {aggs} FROM (
                SELECT r.row_id, {cid} AS concept_id, {code} AS source_value,
                       {days_between("r.index_date", f"e.{date}")} AS d
                FROM {{rows}} r JOIN {events} e ON e.person_id = r.person_id
                WHERE {keep}
                  AND e.{date} <= {plus_days("r.index_date", s.end_day)}{lower}
            ) x GROUP BY row_id, concept_id, source_value
        )
        {unions}
    ) w
    """


def _charlson_sql(s: CovariateSettings) -> str:
    end = plus_days("r.index_date", s.end_day)
    d = domain("condition")
    table, start = ident(d.table), f"e.{ident(d.start_column)}"
    source = f"e.{ident(d.source_value_column)}"
    code = f"replace(split_part({source}, ':', 2), '.', '')"
    cats = f"""
        SELECT DISTINCT r.row_id, cc.category
        FROM {{rows}} r JOIN {table} e ON e.person_id = r.person_id
        JOIN (SELECT category, concept_id FROM {charlson.concepts_values()} a
              UNION SELECT a.category, ca.descendant_concept_id FROM {charlson.concepts_values()} a
              JOIN concept_ancestor ca ON ca.ancestor_concept_id = a.concept_id) cc
          ON cc.concept_id = e.{ident(d.concept_column)}
        WHERE {start} <= {end}
        UNION
        SELECT DISTINCT r.row_id, i.category
        FROM {{rows}} r JOIN {table} e ON e.person_id = r.person_id
        JOIN {charlson.icd10_values()} i ON i.stem = substr({code}, 1, 3)
        WHERE {start} <= {end}
          AND split_part({source}, ':', 1) LIKE 'ICD10%'
          AND starts_with({code}, i.prefix)
        UNION
        SELECT DISTINCT r.row_id, sn.category
        FROM {{rows}} r JOIN {table} e ON e.person_id = r.person_id
        JOIN {charlson.snomed_values()} sn ON sn.source_value = {source}
        WHERE {start} <= {end}
    """
    drop = " OR ".join(
        f"(c.category = {mild} AND EXISTS (SELECT 1 FROM cats s WHERE s.row_id = c.row_id "
        f"AND s.category = {severe}))"
        for mild, severe in charlson.HIERARCHY
    )
    parts = [
        f"SELECT c.row_id, {CHARLSON_INDEX} AS analysis_id, 0 AS concept_id, "
        f"CAST(NULL AS VARCHAR) AS source_value, "
        f"CAST(sum(w.weight) AS DOUBLE) AS value FROM scored c "
        f"JOIN {charlson.weights_values()} w ON w.category = c.category GROUP BY c.row_id"
    ]
    if s.charlson_categories:
        parts.append(
            f"SELECT row_id, {CHARLSON_CATEGORY} AS analysis_id, category AS concept_id, "
            "CAST(NULL AS VARCHAR) AS source_value, 1.0 AS value FROM cats"
        )
    return (
        f"SELECT * FROM (WITH cats AS ({cats}), scored AS (SELECT * FROM cats c WHERE NOT "
        f"({drop})) {' UNION ALL '.join(parts)}) ch"
    )


def _lab_sql(s: CovariateSettings) -> str:
    """The last numeric value of each measurement concept (or source code) in the lab window."""
    d = domain("measurement")
    m_id, concept, date = (f"m.{ident(c)}" for c in (d.id_column, d.concept_column, d.start_column))
    cid, code, keep = _key_columns(concept, f"m.{ident(d.source_value_column)}")
    lo = (
        ""
        if s.lab_window is None
        else f" AND {date} >= {plus_days('r.index_date', -int(s.lab_window))}"
    )
    only = f" AND {concept} IN ({int_list(s.lab_concept_ids)})" if s.lab_concept_ids else ""
    return f"""SELECT row_id, {LAB_LAST} AS analysis_id, concept_id, source_value, value FROM (
        SELECT r.row_id, {cid} AS concept_id, {code} AS source_value,
               m.value_as_number AS value,
               row_number() OVER (PARTITION BY r.row_id, {cid}, {code}
                   ORDER BY {date} DESC, {m_id} DESC) AS rn
        FROM {{rows}} r JOIN {ident(d.table)} m ON m.person_id = r.person_id
        WHERE m.value_as_number IS NOT NULL AND {keep}
          AND {date} <= {plus_days("r.index_date", s.end_day)}{lo}{only}
    ) l WHERE rn = 1"""


def _long_sql(s: CovariateSettings) -> list[str]:
    """One SQL query per analysis family, each yielding (row_id, analysis_id, concept_id, value)."""
    q: list[str] = []
    person = "{rows} r JOIN person p ON p.person_id = r.person_id"
    if s.demographics:
        for aid, col in ((GENDER, "gender"), (RACE, "race"), (ETHNICITY, "ethnicity")):
            q.append(
                f"SELECT r.row_id, {aid} AS analysis_id, p.{col}_concept_id AS concept_id, "
                f"CAST(NULL AS VARCHAR) AS source_value, 1.0 AS value FROM {person}"
            )
        q.append(
            f"SELECT r.row_id, {AGE} AS analysis_id, 0 AS concept_id, "
            "CAST(NULL AS VARCHAR) AS source_value, "
            f"CAST(EXTRACT(YEAR FROM r.index_date) - p.year_of_birth AS DOUBLE) AS value "
            f"FROM {person}"
        )
    if s.age_groups:
        q.append(
            f"SELECT r.row_id, {AGE_GROUP} AS analysis_id, "
            f"CAST(floor((EXTRACT(YEAR FROM r.index_date) - p.year_of_birth) / 5) * 5 AS INTEGER)"
            f" AS concept_id, CAST(NULL AS VARCHAR) AS source_value, 1.0 AS value FROM {person}"
        )
    if s.index_year:
        q.append(
            f"SELECT r.row_id, {INDEX_YEAR} AS analysis_id, CAST(EXTRACT(YEAR FROM "
            "r.index_date) AS INTEGER) AS concept_id, CAST(NULL AS VARCHAR) AS source_value, "
            "1.0 AS value FROM {rows} r"
        )
    if s.index_month:
        q.append(
            f"SELECT r.row_id, {INDEX_MONTH} AS analysis_id, CAST(EXTRACT(MONTH FROM "
            "r.index_date) AS INTEGER) AS concept_id, CAST(NULL AS VARCHAR) AS source_value, "
            "1.0 AS value FROM {rows} r"
        )
    if s.include_charlson:
        q.append(_charlson_sql(s))
    for dname in s.domains:
        base = 100 + 10 * DOMAIN_ORDER.index(dname)
        q.append(_window_sql(domain(dname), base, s))
    if s.visit_counts:
        counted = dataclasses.replace(s, counts=True)
        q.append(_window_sql(domain("visit"), VISIT_BASE, counted))
    if s.include_labs:
        q.append(_lab_sql(s))
    return q


def _names(ref: pd.DataFrame, analyses: dict[int, dict[str, Any]]) -> pd.Series:
    """Human-readable covariate names, built column-wise."""
    a = ref["analysis"]
    sv = ref["source_value"] if "source_value" in ref else pd.Series(None, index=ref.index)
    cid = sv.where(sv.notna(), ref["concept_id"].astype("int64").astype(str)).astype(str)
    known = ref["concept_id"].astype("int64").map(DEMOGRAPHIC_NAMES)
    cname = ref["concept_name"].fillna(known.where(a.isin(["gender", "race", "ethnicity"])))
    cname = cname.fillna(sv.map(notes.key_name))
    cname = cname.fillna(("concept " + cid).where(sv.isna(), "(no display)"))
    win = [_window_label(analyses[x]["start"], analyses[x]["end"]) for x in ref["analysis_id"]]
    generic = a + ":" + cid + " " + cname + " " + pd.Series(win, index=ref.index)
    cat_names = {c.number: c.name for c in charlson.CATEGORIES}
    out = generic.copy()
    demo = a.isin(["gender", "race", "ethnicity"])
    out[demo] = (a + ":" + cid + " " + cname)[demo]
    out[a == "age"] = "age at index (years)"
    grp = ref["concept_id"].astype("int64")
    out[a == "age_group"] = ("age group " + grp.astype(str) + "-" + (grp + 4).astype(str))[
        a == "age_group"
    ]
    out[a == "index_year"] = ("index year " + cid)[a == "index_year"]
    out[a == "index_month"] = ("index month " + cid)[a == "index_month"]
    out[a == "charlson"] = "Charlson comorbidity index " + _window_label(
        None, int(ref.loc[a == "charlson", "window_end"].iloc[0]) if (a == "charlson").any() else -1
    )
    cat = a == "charlson_category"
    out[cat] = ("charlson:" + cid + " " + grp.map(cat_names).fillna("") + " ")[cat] + pd.Series(
        win, index=ref.index
    )[cat]
    return out


def extract_covariates(
    wh: Warehouse,
    cohort: Cohort | Any,
    settings: CovariateSettings | None = None,
    *,
    reference: pd.DataFrame | None = None,
) -> CovariateMatrix:
    """Compute the covariates of every row of `cohort` inside the warehouse engine.

    Parameters
    ----------
    wh
        The warehouse the cohort was built in (or one holding new persons to score).
    cohort
        A `Cohort` (or any object whose ``frame`` has ``row_id, person_id, index_date``).
    settings
        What to compute; default `CovariateSettings()`.
    reference
        The ``reference`` of an earlier `CovariateMatrix`: the result then has exactly those
        columns in that order (covariates not in it are dropped, missing ones are zero) and no
        prevalence filter is applied. Use it to score new persons with a saved model.

    Raises
    ------
    ConfigError
        If the settings are invalid or `reference` holds analyses the settings do not produce.

    >>> from medmine.warehouse import Warehouse
    >>> from medmine.features.cohorts import build_cohort, readmission
    >>> wh = Warehouse(":memory:")
    >>> m = extract_covariates(wh, build_cohort(wh, readmission()), CovariateSettings())
    >>> again = extract_covariates(wh, build_cohort(wh, readmission()), reference=m.reference)
    >>> again.columns == m.columns
    True
    """
    s = settings or CovariateSettings()
    s.validate()
    con = wh.con
    analyses = _analyses(s)
    if reference is not None:
        missing = sorted(set(reference["analysis_id"].astype(int)) - set(analyses))
        if missing:
            raise ConfigError(
                f"the reference holds analyses {missing} that these settings do not compute; "
                "pass the settings the reference was built with (CovariateMatrix.settings)"
            )
    frame = cohort.frame
    n = len(frame)
    rows = temp_name("covrows")
    longt = temp_name("covlong")
    cols = temp_name("covcols")
    rows_arrow = pa.table(
        {
            "row_id": pa.array(frame["row_id"].to_numpy(dtype="int64")),
            "person_id": pa.array(frame["person_id"].to_numpy(dtype="int64")),
            "index_date": pa.array(
                pd.to_datetime(frame["index_date"]).to_numpy().astype("datetime64[D]")
            ),
            "_pos": pa.array(np.arange(n, dtype="int64")),
        }
    )
    try:
        _materialise(con, rows, rows_arrow)
        queries = _long_sql(s)
        if s.notes:
            queries.append(
                notes.note_sql(
                    con,
                    s.window_bounds(),
                    end_day=s.end_day,
                    counts=s.counts,
                    historical=s.note_historical,
                )
            )
        parts = [q.replace("{rows}", ident(rows)) for q in queries]
        con.execute(
            f"CREATE TEMP TABLE {ident(longt)} AS SELECT row_id, analysis_id, concept_id, "
            f"source_value, value, {_KEY_SQL} AS covariate_key FROM ("
            + " UNION ALL ".join(f"SELECT * FROM ({p}) q{i}" for i, p in enumerate(parts))
            + ") u WHERE value <> 0"
        )
        if reference is None:
            ref = _reference(con, longt, n, s, analyses)
        else:
            ref = _with_keys(reference).reset_index(drop=True).copy()
        col_table = pa.table(
            {
                "covariate_key": pa.array(ref["covariate_key"].astype(str).tolist(), pa.string()),
                "_col": pa.array(np.arange(len(ref), dtype="int64")),
            }
        )
        _materialise(con, cols, col_table)
        got = con.execute(
            f"SELECT r._pos, c._col, l.value FROM {ident(longt)} l JOIN {ident(rows)} r "
            f"ON r.row_id = l.row_id JOIN {ident(cols)} c ON c.covariate_key = l.covariate_key"
        ).fetchnumpy()
    finally:
        for t in (rows, longt, cols):
            con.execute(f"DROP TABLE IF EXISTS {ident(t)}")
    X = sp.csr_matrix(
        (
            np.asarray(got["value"], dtype=np.float32),
            (np.asarray(got["_pos"], dtype=np.int64), np.asarray(got["_col"], dtype=np.int64)),
        ),
        shape=(n, len(ref)),
        dtype=np.float32,
    )
    X.sum_duplicates()
    return CovariateMatrix(
        X=X,
        row_ids=frame["row_id"].to_numpy(dtype="int64"),
        columns=ref["covariate_name"].tolist(),
        reference=ref,
        settings=s,
    )


def _materialise(con, name: str, data: pa.Table) -> None:
    """Copy an Arrow table into temp table `name` (through an explicitly registered view)."""
    view = f"{name}_src"
    con.register(view, data)
    try:
        con.execute(f"CREATE TEMP TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    finally:
        con.unregister(view)


def _reference(
    con, longt: str, n: int, s: CovariateSettings, analyses: dict[int, dict[str, Any]]
) -> pd.DataFrame:
    """Covariates kept after the prevalence filter, with names, in a stable order.

    Covariates of standard concepts get OHDSI ids (``concept_id * 1000 + analysis_id``); those
    of source codes get negative ids in this order (``covariate_key`` is their identity) and
    the code's display text from ``mm_source_concept``.
    """
    need = max(1, int(np.ceil(s.min_prevalence * n))) if n else 1
    display = (
        "LEFT JOIN mm_source_concept sc ON k.source_value = sc.vocabulary_id || ':' || sc.code"
        if table_exists(con, "mm_source_concept")
        else "LEFT JOIN (SELECT CAST(NULL AS VARCHAR) AS display) sc ON FALSE"
    )
    # (row_id, covariate_key) is unique in the long table: count(*) is the number of rows.
    ref = con.execute(
        f"SELECT k.covariate_key, k.analysis_id, k.concept_id, k.source_value, "
        f"coalesce(c.concept_name, sc.display) AS concept_name FROM ("
        f"SELECT covariate_key, analysis_id, concept_id, source_value FROM {ident(longt)} "
        f"GROUP BY 1, 2, 3, 4 HAVING count(*) >= {need}) k "
        f"LEFT JOIN concept c ON c.concept_id = k.concept_id AND k.source_value IS NULL "
        f"AND k.analysis_id NOT IN ({AGE}, {AGE_GROUP}, {INDEX_YEAR}, {INDEX_MONTH}, "
        f"{CHARLSON_INDEX}, {CHARLSON_CATEGORY}) {display} "
        "ORDER BY k.analysis_id, k.concept_id, k.source_value"
    ).df()
    if ref.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in REFERENCE_COLUMNS})
    ref = ref.drop_duplicates("covariate_key").reset_index(drop=True)
    coded = ref["source_value"].notna()
    ref["covariate_id"] = ref["concept_id"].astype("int64") * 1000 + ref["analysis_id"].astype(
        "int64"
    )
    ref.loc[coded, "covariate_id"] = -np.arange(1, int(coded.sum()) + 1, dtype="int64")
    ref["analysis"] = ref["analysis_id"].map(lambda x: analyses[int(x)]["analysis"])
    ref["window_start"] = ref["analysis_id"].map(lambda x: analyses[int(x)]["start"])
    ref["window_end"] = ref["analysis_id"].map(lambda x: analyses[int(x)]["end"])
    ref["covariate_name"] = _names(ref, analyses)
    ref["window_start"] = ref["window_start"].astype("Int64")
    ref["window_end"] = ref["window_end"].astype("Int64")
    return ref[REFERENCE_COLUMNS].reset_index(drop=True)


def feature_domains(reference: pd.DataFrame) -> pd.DataFrame:
    """Features per domain of a covariate reference, split by standard concept / source code.

    Columns ``domain, features, from_concepts, from_source_codes``; one row per analysis
    family present (``condition``, ``drug``, ..., ``lab_last``, ``visit_count``, demographics).
    """
    if reference is None or reference.empty:
        return pd.DataFrame(columns=["domain", "features", "from_concepts", "from_source_codes"])
    ref = _with_keys(reference)
    coded = ref["source_value"].notna()
    out = (
        pd.DataFrame({"domain": ref["analysis"], "coded": coded})
        .groupby("domain", sort=False)
        .agg(features=("coded", "size"), from_source_codes=("coded", "sum"))
        .reset_index()
    )
    out["from_concepts"] = out["features"] - out["from_source_codes"]
    return out[["domain", "features", "from_concepts", "from_source_codes"]]
