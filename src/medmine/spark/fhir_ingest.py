"""FHIR ingest on Spark: raw resources -> SQL on FHIR mapping views -> OMOP rows in a Parquet lake.

Stages, all in Spark but the file reading:

1. **Read** (distributed, one task per file): each file is read by medmine's own FHIR stager
   (`medmine.ingest.fhir.stage_files`: BOM, gzip, truncation, Bundles and NDJSON, problems
   collected) inside ``mapInArrow``, giving ``(source_file, location, full_url, resource)`` rows.
   Files whose SHA-256 a committed load already read are not read again.
2. **Map**: each mapping ViewDefinition compiles to Spark SQL (`medmine.fhir.views`,
   ``dialect="spark"``): the FHIR -> OMOP views shipped with the ingest
   (``medmine/ingest/fhir/views/*.json``) and, until that folder has one, this package's
   ``views/person.json``. References are resolved by joins (a ``fullUrl`` of the same file,
   ``urn:uuid:`` included, else ``Type/id`` at the end of a relative or absolute URL); row
   ids are `medmine.warehouse.stable_id` (the loader's, as a vectorised UDF).
3. **Quarantine** rules are SQL predicates with the loader's reason codes; quarantined
   resources go to ``mm_quarantine`` (location and reason, no data values), loaded rows get
   ``mm_source_record`` provenance, the load gets ``mm_load`` and ``mm_load_file`` rows.
4. **Write**: `medmine.spark.lake.Lake.write_load` (atomic and idempotent; see there).

Tables mapped on Spark (`MAPPED_TABLES`): ``person`` (Patient), ``provider`` and its
``mm_identifier`` rows (Practitioner), ``visit_occurrence`` (Encounter),
``condition_occurrence`` (Condition), ``procedure_occurrence`` (Procedure) and ``observation``
(AllergyIntolerance). Resources of other types are counted as skipped
(``not_mapped_on_spark``) and listed in the report.

Conditional references to a Practitioner (``Practitioner?identifier=system|value``, as
Synthea writes an Encounter's participant) resolve set-wise, by a join on the identifiers of
the Practitioners of this load and of the lake's committed ``mm_identifier`` rows (the
loader's end-of-load SQL pass: same value, same system unless the reference gives none, the
smallest row id). A required reference (a subject) that is conditional or contained
(``#id``) is not resolved here: the resource is quarantined as ``dangling_reference``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from medmine.errors import SourceError
from medmine.fhir.views import compile_view
from medmine.ingest.codes import (
    ETHNICITY,
    FHIR_SYSTEMS,
    GENDER,
    OMB_ETHNICITY,
    OMB_RACE,
    RACE,
    TYPE_EHR,
    VISIT,
)
from medmine.spark.lake import Lake
from medmine.warehouse import LoadReport, TypeCounts, stable_id

__all__ = ["MAPPED_TABLES", "ingest_fhir", "mapping_views"]

#: OMOP tables the Spark ingest writes, with the FHIR resource type each comes from.
MAPPED_TABLES = {
    "person": "Patient",
    "provider": "Practitioner",
    "visit_occurrence": "Encounter",
    "condition_occurrence": "Condition",
    "procedure_occurrence": "Procedure",
    "observation": "AllergyIntolerance",
}
#: Mapping view of each table (the view's name, when it differs from the table's).
_VIEW = {"observation": "observation_allergy_intolerance"}
#: Tables mapped in this order (a later one may join an earlier one's rows).
_ORDER = tuple(MAPPED_TABLES)
_SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz")
_RAW_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("location", pa.string()),
        ("full_url", pa.string()),
        ("resource_type", pa.string()),
        ("resource", pa.string()),
        ("problem", pa.string()),
        ("file_level", pa.bool_()),
    ]
)


def mapping_views() -> dict[str, dict[str, Any]]:
    """OMOP table -> its mapping ViewDefinition: the ingest's own views, then this package's."""
    out: dict[str, dict[str, Any]] = {}
    for pkg in ("medmine.spark", "medmine.ingest.fhir"):  # the ingest's views win
        folder = resources.files(pkg).joinpath("views")
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            if f.name.endswith(".json"):
                view = json.loads(f.read_text())
                out[view.get("name", f.name[:-5])] = view
    return out


def _discover(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in (Path(x) for x in paths):
        if not p.exists():
            raise SourceError(str(p), "no such file or folder")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(_SUFFIXES))
            if not found:
                raise SourceError(str(p), "the folder holds no FHIR file (.json, .ndjson[.gz])")
            files += found
        else:
            files.append(p)
    return files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _bundle_entries(path: str) -> dict[str, tuple[str | None, str]]:
    """``entry[i]`` -> (fullUrl, the loader's location label) for a Bundle file."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            doc = orjson.loads(f.read())
    except (OSError, EOFError, orjson.JSONDecodeError):
        return {}
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        return {}
    out = {}
    for i, e in enumerate(doc.get("entry") or []):
        if not isinstance(e, dict):
            continue
        res = e.get("resource") if isinstance(e.get("resource"), dict) else {}
        fid, rt = res.get("id"), res.get("resourceType")
        label = rt if isinstance(rt, str) and rt.isalnum() else "?"
        loc = f"entry[{i}] {label}/{fid}" if isinstance(fid, str) and 0 < len(fid) <= 64 else ""
        url = e.get("fullUrl")
        out[f"entry[{i}]"] = (url if isinstance(url, str) else None, loc or f"entry[{i}]")
    return out


def _stage_partition(batches: Iterator[Any]) -> Iterator[Any]:
    """The ``mapInArrow`` body: read the files named in each batch with medmine's FHIR stager."""
    import duckdb

    from medmine.ingest.fhir import stage_files

    for batch in batches:
        for path in batch.column(0).to_pylist():
            con = duckdb.connect()
            report = stage_files([path], con, "r")
            t = con.sql(
                "SELECT source_file, location, resource, "
                "json_extract_string(resource, '$.resourceType') AS rt FROM r"
            ).to_arrow_table()
            con.close()
            entries = _bundle_entries(path) if not path.endswith((".ndjson", ".ndjson.gz")) else {}
            locs = t.column("location").to_pylist()
            urls = [entries.get(loc, (None, loc))[0] for loc in locs]
            labels = [entries.get(loc, (None, loc))[1] for loc in locs]
            n = t.num_rows
            yield pa.RecordBatch.from_pydict(
                {
                    "source_file": t.column("source_file").to_pylist(),
                    "location": labels,
                    "full_url": urls,
                    "resource_type": t.column("rt").to_pylist(),
                    "resource": t.column("resource").to_pylist(),
                    "problem": [None] * n,
                    "file_level": [False] * n,
                },
                schema=_RAW_SCHEMA,
            )
            if report.problems:
                ps = report.problems
                yield pa.RecordBatch.from_pydict(
                    {
                        "source_file": [p.source_file for p in ps],
                        "location": [p.location for p in ps],
                        "full_url": [None] * len(ps),
                        "resource_type": [None] * len(ps),
                        "resource": [None] * len(ps),
                        "problem": [p.reason for p in ps],
                        "file_level": [p.file_level for p in ps],
                    },
                    schema=_RAW_SCHEMA,
                )


def _stable_ids(ns: pd.Series, key: pd.Series) -> pd.Series:
    """Vectorised `stable_id` (NULL key -> NULL)."""
    return pd.Series(
        [None if k is None else stable_id(n, k) for n, k in zip(ns, key, strict=True)],
        dtype="Int64",
    )


def _register_functions(session: Any) -> None:
    """``mm_stable_id(namespace, key)``: `stable_id` as a vectorised (Arrow) UDF."""
    from pyspark.sql.functions import pandas_udf

    session.udf.register("mm_stable_id", pandas_udf(_stable_ids, "bigint"))


def _case(column: str, mapping: dict[str, int], lower: bool = False) -> str:
    expr = f"lower({column})" if lower else column
    whens = " ".join(f"WHEN {_lit(k)} THEN {int(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} END"


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _vocabulary(system: str) -> str:
    """Spark SQL of `medmine.ingest.codes.fhir_vocabulary` (same rule, set-wise)."""
    known = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in FHIR_SYSTEMS.items())
    last = f"regexp_extract(rtrim('/', {system}), '([^/]*)$', 1)"
    return (
        f"CASE WHEN {system} IS NULL OR {system} = '' THEN 'None' "
        f"ELSE coalesce(CASE {system} {known} END, nullif({last}, ''), {system}) END"
    )


def _date(s: str) -> str:
    """A FHIR date/dateTime/instant -> DATE (partial dates: first day), NULL if unparseable."""
    return (
        f"CASE WHEN length({s}) = 10 THEN try_to_date({s}, 'yyyy-MM-dd') "
        f"WHEN length({s}) = 4 AND {s} RLIKE '^[0-9]{{4}}$' THEN try_to_date({s} || '-01-01') "
        f"WHEN length({s}) = 7 AND substr({s}, 5, 1) = '-' THEN try_to_date({s} || '-01') "
        f"WHEN length({s}) > 10 THEN CAST({_ts(s)} AS DATE) END"
    )


def _ts(s: str) -> str:
    """A FHIR dateTime -> naive UTC timestamp (offsets applied; the session zone is UTC)."""
    return f"CASE WHEN length({s}) > 10 THEN CAST(try_cast({s} AS TIMESTAMP) AS TIMESTAMP_NTZ) END"


def _resolve(column: str) -> tuple[str, str]:
    """SQL of (target type, target id) of reference column `column` of view rows ``x``."""
    pat = r"(^|/)([A-Z][A-Za-z]*)/([^/]{1,64})(/_history/[^/]*)?/*$"
    c = f"x.{column}"
    u = f"u_{column}"
    typ = (
        f"CASE WHEN {u}.resource_type IS NOT NULL THEN {u}.resource_type "
        f"WHEN {c} LIKE 'urn:%' OR {c} LIKE '#%' OR {c} LIKE '%?%' THEN NULL "
        f"ELSE nullif(regexp_extract({c}, {_lit(pat)}, 2), '') END"
    )
    key = (
        f"CASE WHEN {u}.resource_type IS NOT NULL THEN {u}.resource_id "
        f"WHEN {c} LIKE 'urn:%' OR {c} LIKE '#%' OR {c} LIKE '%?%' THEN NULL "
        f"ELSE nullif(regexp_extract({c}, {_lit(pat)}, 3), '') END"
    )
    return typ, key


def _join_urls(column: str) -> str:
    return (
        f"LEFT JOIN mm_spark_urls u_{column} ON u_{column}.source_file = x.source_file "
        f"AND u_{column}.full_url = x.{column}"
    )


def _with_origin(view: dict[str, Any]) -> dict[str, Any]:
    """The view with three more columns carrying where each row came from."""
    view = dict(view)
    first = dict(view["select"][0])
    first["column"] = [
        *first["column"],
        {"name": "source_file", "path": "__file", "type": "string"},
        {"name": "location", "path": "__loc", "type": "string"},
        {"name": "seq", "path": "__seq", "type": "integer"},
    ]
    view["select"] = [first, *view["select"][1:]]
    return view


def _view_rows(session: Any, view: dict[str, Any], name: str) -> Any:
    """Run a mapping view over the staged resources of its type; register it as `name`."""
    compiled = compile_view(_with_origin(view), "mm_spark_src", "resource", typed=True)
    del compiled  # validated on DuckDB's dialect too (same view, both engines)
    sql = compile_view(
        _with_origin(view), "mm_spark_src", "resource", typed=True, dialect="spark"
    ).sql
    session.sql(
        "SELECT to_json(named_struct('__file', source_file, '__loc', location, '__seq', seq)) "
        "AS origin, resource FROM mm_spark_raw WHERE resource_type = " + _lit(view["resource"])
    ).createOrReplaceTempView("mm_spark_src_text")
    # Merge the origin keys into the resource JSON (keys FHIR never uses).
    session.sql(
        "SELECT concat(substr(origin, 1, length(origin) - 1), ',', substr(trim(resource), 2)) "
        "AS resource FROM mm_spark_src_text"
    ).createOrReplaceTempView("mm_spark_src")
    # Materialised once: later plans start from these rows instead of re-analysing the
    # (large) compiled view expressions for every count and write.
    df = session.sql(sql).localCheckpoint()
    df.createOrReplaceTempView(name)
    return df


def _person_sql() -> str:
    race = f"coalesce({_case('x.race_code', OMB_RACE)}, {_case('x.race_display', RACE, True)}, 0)"
    eth = (
        f"coalesce({_case('x.ethnicity_code', OMB_ETHNICITY)}, "
        f"{_case('x.ethnicity_display', ETHNICITY, True)}, 0)"
    )
    bd = "x.birth_date"
    return f"""
        SELECT mm_stable_id('fhir:Patient', x.id) AS person_id,
          coalesce({_case("x.gender", GENDER)}, 0) AS gender_concept_id,
          year({_date(bd)}) AS year_of_birth,
          CASE WHEN length({bd}) >= 7 THEN month({_date(bd)}) END AS month_of_birth,
          CASE WHEN length({bd}) >= 10 THEN day({_date(bd)}) END AS day_of_birth,
          CASE WHEN length({bd}) >= 10 THEN CAST({_date(bd)} AS TIMESTAMP_NTZ) END
            AS birth_datetime,
          CASE WHEN x.race_code IS NOT NULL THEN {race} ELSE 0 END AS race_concept_id,
          CASE WHEN x.ethnicity_code IS NOT NULL THEN {eth} ELSE 0 END AS ethnicity_concept_id,
          CASE WHEN x.has_address THEN mm_stable_id('fhir:Patient.address', x.id) END
            AS location_id,
          'Patient/' || x.id AS person_source_value,
          x.gender AS gender_source_value,
          CASE WHEN x.race_code IS NOT NULL
               THEN {_vocabulary("x.race_system")} || ':' || x.race_code END AS race_source_value,
          CASE WHEN x.ethnicity_code IS NOT NULL
               THEN {_vocabulary("x.ethnicity_system")} || ':' || x.ethnicity_code END
            AS ethnicity_source_value,
          CASE WHEN x.id IS NULL OR x.id = '' THEN 'missing_field'
               WHEN {bd} IS NOT NULL AND {_date(bd)} IS NULL THEN 'invalid_date' END
            AS reason_code,
          x.source_file, x.location, 'Patient' AS resource_type, 'Patient/' || x.id AS source_key
        FROM mm_spark_view_person x
    """


def _condition_sql() -> str:
    refs = ("subject", "encounter", "asserter", "recorder")
    joins = " ".join(_join_urls(c) for c in refs)
    r = {c: _resolve(c) for c in refs}

    def row_id(col: str, target: str) -> str:
        typ, key = r[col]
        return f"CASE WHEN {typ} = {_lit(target)} THEN mm_stable_id('fhir:{target}', {key}) END"

    start = "coalesce(x.onset, x.onset_period_start, x.recorded)"
    return f"""
        SELECT mm_stable_id('fhir:Condition', x.id) AS condition_occurrence_id,
          {row_id("subject", "Patient")} AS person_id,
          0 AS condition_concept_id,
          {_date(start)} AS condition_start_date,
          {_ts(start)} AS condition_start_datetime,
          {_date("x.abatement")} AS condition_end_date,
          {_ts("x.abatement")} AS condition_end_datetime,
          {TYPE_EHR} AS condition_type_concept_id,
          {row_id("encounter", "Encounter")} AS visit_occurrence_id,
          CASE WHEN x.has_asserter THEN {row_id("asserter", "Practitioner")}
               ELSE {row_id("recorder", "Practitioner")} END AS provider_id,
          CASE WHEN x.code IS NOT NULL THEN {_vocabulary("x.code_system")} || ':' || x.code
               ELSE x.code_text END AS condition_source_value,
          x.clinical_status AS condition_status_source_value,
          CASE
            WHEN x.subject IS NULL THEN 'missing_field'
            WHEN {r["subject"][0]} IS NULL THEN 'dangling_reference'
            WHEN {r["subject"][0]} <> 'Patient' THEN 'invalid_value'
            WHEN p.person_id IS NULL THEN 'dangling_reference'
            WHEN x.code IS NULL AND coalesce(trim(x.code_text), '') = '' THEN 'missing_field'
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN x.abatement IS NOT NULL AND {_date("x.abatement")} IS NULL THEN 'invalid_date'
          END AS reason_code,
          x.source_file, x.location, 'Condition' AS resource_type, 'Condition/' || x.id
            AS source_key
        FROM mm_spark_view_condition_occurrence x {joins}
        LEFT JOIN mm_spark_persons p ON p.person_id = {row_id("subject", "Patient")}
    """


def _row_ids(refs: tuple[str, ...]) -> tuple[str, Any, dict[str, tuple[str, str]]]:
    """Join text, a row-id SQL builder and the resolved (type, key) SQL of reference columns."""
    joins = " ".join(_join_urls(c) for c in refs)
    r = {c: _resolve(c) for c in refs}

    def row_id(col: str, target: str) -> str:
        typ, key = r[col]
        return f"CASE WHEN {typ} = {_lit(target)} THEN mm_stable_id('fhir:{target}', {key}) END"

    return joins, row_id, r


def _subject_rules(r: dict[str, tuple[str, str]]) -> str:
    """The loader's rules for a required Patient ``subject`` (without the unknown-person one)."""
    return (
        "WHEN x.subject IS NULL THEN 'missing_field' "
        f"WHEN {r['subject'][0]} IS NULL THEN 'dangling_reference' "
        f"WHEN {r['subject'][0]} <> 'Patient' THEN 'invalid_value'"
    )


def _provider_sql() -> str:
    bd = "x.birth_date"
    given = "CASE WHEN x.has_official THEN x.official_given ELSE x.first_given END"
    family = "CASE WHEN x.has_official THEN x.official_family ELSE x.first_family END"
    full = f"nullif(concat_ws(' ', nullif({given}, ''), {family}), '')"
    return f"""
        SELECT mm_stable_id('fhir:Practitioner', x.id) AS provider_id,
          {full} AS provider_name,
          x.npi AS npi,
          year({_date(bd)}) AS year_of_birth,
          CASE WHEN x.gender IS NOT NULL THEN coalesce({_case("x.gender", GENDER)}, 0) END
            AS gender_concept_id,
          'Practitioner/' || x.id AS provider_source_value,
          x.gender AS gender_source_value,
          CASE WHEN x.id IS NULL OR x.id = '' THEN 'missing_field'
               WHEN {bd} IS NOT NULL AND {_date(bd)} IS NULL THEN 'invalid_date' END
            AS reason_code,
          x.source_file, x.location, 'Practitioner' AS resource_type,
          'Practitioner/' || x.id AS source_key
        FROM mm_spark_view_provider x
    """


def _identifier_sql() -> str:
    """``mm_identifier`` rows of the Practitioners mapped without a quarantine reason."""
    return """
        SELECT 'provider' AS table_name, p.provider_id AS row_id,
          coalesce(i.system, '') AS system, i.value, i.type_code
        FROM mm_spark_view_provider_identifier i
        JOIN mm_spark_map_provider p
          ON p.source_file = i.source_file AND p.location = i.location
        WHERE p.reason_code IS NULL AND i.value IS NOT NULL AND i.value <> ''
    """


def _conditional(column: str) -> tuple[str, str, str]:
    """SQL of (type, system, value) of a conditional ``Type?identifier=system|value`` in
    ``x.<column>`` (NULLs for any other reference), as the loader's ``split_reference``.
    """
    c = f"x.{column}"
    raw = f"regexp_extract({c}, '[?&]identifier=([^&]*)', 1)"
    # Python's unquote keeps '+'; Java's URL decoder makes it a space, so protect it first.
    val = f"coalesce(try_url_decode(replace({raw}, '+', '%2B')), {raw})"
    cond = f"({c} LIKE '%?%' AND {c} NOT LIKE 'urn:%' AND {raw} <> '')"
    typ = f"CASE WHEN {cond} THEN regexp_extract({c}, '([^/?]*)[?]', 1) END"
    system = (
        f"CASE WHEN {cond} THEN CASE WHEN instr({val}, '|') > 0 "
        f"THEN regexp_extract({val}, '^(.*)[|]', 1) ELSE '' END END"
    )
    value = (
        f"CASE WHEN {cond} THEN CASE WHEN instr({val}, '|') > 0 "
        f"THEN regexp_extract({val}, '[|]([^|]*)$', 1) ELSE {val} END END"
    )
    return typ, system, value


def _visit_sql() -> str:
    joins, row_id, r = _row_ids(("subject", "participant", "service_provider"))
    start, end = "x.period_start", "x.period_end"
    ctyp, csys, cval = _conditional("participant")
    visit = _case("x.class_code", {k: v for k, v in VISIT.items()})
    return f"""
        SELECT mm_stable_id('fhir:Encounter', x.id) AS visit_occurrence_id,
          {row_id("subject", "Patient")} AS person_id,
          coalesce({visit}, 0) AS visit_concept_id,
          {_date(start)} AS visit_start_date,
          {_ts(start)} AS visit_start_datetime,
          coalesce({_date(end)}, {_date(start)}) AS visit_end_date,
          {_ts(end)} AS visit_end_datetime,
          {TYPE_EHR} AS visit_type_concept_id,
          coalesce({row_id("participant", "Practitioner")}, cp.rid) AS provider_id,
          {row_id("service_provider", "Organization")} AS care_site_id,
          CASE WHEN x.class_code <> '' THEN 'ActCode:' || x.class_code END AS visit_source_value,
          CASE WHEN x.admit_code IS NOT NULL
               THEN {_vocabulary("x.admit_system")} || ':' || x.admit_code END
            AS admitted_from_source_value,
          CASE WHEN x.disch_code IS NOT NULL
               THEN {_vocabulary("x.disch_system")} || ':' || x.disch_code END
            AS discharged_to_source_value,
          CASE {_subject_rules(r)}
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN {end} IS NOT NULL AND {_date(end)} IS NULL THEN 'invalid_date'
            WHEN {_date(end)} < {_date(start)} THEN 'invalid_date'
            WHEN p.person_id IS NULL THEN 'dangling_reference'
          END AS reason_code,
          x.source_file, x.location, 'Encounter' AS resource_type, 'Encounter/' || x.id
            AS source_key
        FROM mm_spark_view_visit_occurrence x {joins}
        LEFT JOIN mm_spark_persons p ON p.person_id = {row_id("subject", "Patient")}
        LEFT JOIN (
          SELECT v.seq, min(i.row_id) AS rid
          FROM (SELECT seq, {ctyp} AS t, {csys} AS s, {cval} AS v
                FROM mm_spark_view_visit_occurrence x) v
          JOIN mm_spark_identifiers i
            ON i.table_name = 'provider' AND i.value = v.v AND (v.s = '' OR i.system = v.s)
          WHERE v.t = 'Practitioner' AND v.v <> ''
          GROUP BY v.seq
        ) cp ON cp.seq = x.seq
    """


def _procedure_sql() -> str:
    joins, row_id, r = _row_ids(("subject", "encounter", "performer"))
    start = "coalesce(x.performed, x.performed_start)"
    end = "x.performed_end"
    return f"""
        SELECT mm_stable_id('fhir:Procedure', x.id) AS procedure_occurrence_id,
          {row_id("subject", "Patient")} AS person_id,
          0 AS procedure_concept_id,
          {_date(start)} AS procedure_date,
          {_ts(start)} AS procedure_datetime,
          {_date(end)} AS procedure_end_date,
          {_ts(end)} AS procedure_end_datetime,
          {TYPE_EHR} AS procedure_type_concept_id,
          {row_id("performer", "Practitioner")} AS provider_id,
          {row_id("encounter", "Encounter")} AS visit_occurrence_id,
          CASE WHEN x.code IS NOT NULL THEN {_vocabulary("x.code_system")} || ':' || x.code
               ELSE x.code_text END AS procedure_source_value,
          CASE {_subject_rules(r)}
            WHEN x.code IS NULL AND coalesce(trim(x.code_text), '') = '' THEN 'missing_field'
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN {end} IS NOT NULL AND {_date(end)} IS NULL THEN 'invalid_date'
            WHEN p.person_id IS NULL THEN 'dangling_reference'
          END AS reason_code,
          x.source_file, x.location, 'Procedure' AS resource_type, 'Procedure/' || x.id
            AS source_key
        FROM mm_spark_view_procedure_occurrence x {joins}
        LEFT JOIN mm_spark_persons p ON p.person_id = {row_id("subject", "Patient")}
    """


def _allergy_sql() -> str:
    joins, row_id, r = _row_ids(("subject", "visit"))
    start = "coalesce(x.onset, x.onset_start, x.recorded)"
    kind = (
        "CASE WHEN x.category IS NOT NULL THEN coalesce(x.kind, 'allergy') || ':' || x.category "
        "ELSE coalesce(x.kind, 'allergy') END"
    )
    return f"""
        SELECT mm_stable_id('fhir:AllergyIntolerance', x.id) AS observation_id,
          {row_id("subject", "Patient")} AS person_id,
          0 AS observation_concept_id,
          {_date(start)} AS observation_date,
          {_ts(start)} AS observation_datetime,
          {TYPE_EHR} AS observation_type_concept_id,
          {kind} AS value_as_string,
          x.criticality AS qualifier_source_value,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          CASE WHEN x.code IS NOT NULL THEN {_vocabulary("x.code_system")} || ':' || x.code
               ELSE x.code_text END AS observation_source_value,
          CASE {_subject_rules(r)}
            WHEN x.code IS NULL AND coalesce(trim(x.code_text), '') = '' THEN 'missing_field'
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN p.person_id IS NULL THEN 'dangling_reference'
          END AS reason_code,
          x.source_file, x.location, 'AllergyIntolerance' AS resource_type,
          'AllergyIntolerance/' || x.id AS source_key
        FROM (SELECT *, patient AS subject FROM mm_spark_view_observation) x {joins}
        LEFT JOIN mm_spark_persons p ON p.person_id = {row_id("subject", "Patient")}
    """


_FINISH = {
    "person": _person_sql,
    "provider": _provider_sql,
    "visit_occurrence": _visit_sql,
    "condition_occurrence": _condition_sql,
    "procedure_occurrence": _procedure_sql,
    "observation": _allergy_sql,
}
_PK = {
    "person": "person_id",
    "provider": "provider_id",
    "visit_occurrence": "visit_occurrence_id",
    "condition_occurrence": "condition_occurrence_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "observation": "observation_id",
}


def ingest_fhir(
    paths: str | Path | Iterable[str | Path],
    lake: str | Path,
    session: Any,
    *,
    partitions: int | None = None,
) -> LoadReport:
    """Load FHIR files into the Parquet lake `lake` with Spark; one atomic, idempotent load.

    Parameters
    ----------
    paths
        Files (``.json``, ``.json.gz``, ``.ndjson``, ``.ndjson.gz``) or folders of them.
    lake
        The lake folder (created if missing; see `medmine.spark.lake`).
    session
        A SparkSession (`medmine.spark.spark_session`).
    partitions
        Read tasks (default: one per file up to 4 x the default parallelism).

    Returns
    -------
    LoadReport
        Per resource type: read = loaded + skipped + quarantined.
    """
    from pyspark.sql import functions as F  # noqa: N812

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    load_id = f"fhir-spark-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    report = LoadReport(load_id=load_id, source_kind="fhir", status="running", started_at=started)
    if isinstance(paths, str | Path):
        paths = [paths]
    files = _discover(paths)
    store = Lake(lake).create()
    seen = store.loaded_files(session)
    digests = {str(f): _sha256(f) for f in files}
    todo = [f for f in files if digests[str(f)] not in seen]
    report.files = len(todo)
    report.skip_reasons = {"file_already_loaded": len(files) - len(todo)} if seen else {}
    if not todo:
        report.status = "completed"
        report.finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        report.duration_s = time.perf_counter() - t0
        return report
    _register_functions(session)
    n_tasks = partitions or min(len(todo), 4 * session.sparkContext.defaultParallelism)
    paths_df = session.createDataFrame([(str(f),) for f in todo], "path string").repartition(
        n_tasks
    )
    from pyspark.sql.pandas.types import from_arrow_schema

    raw = paths_df.mapInArrow(_stage_partition, from_arrow_schema(_RAW_SCHEMA))
    raw = raw.withColumn("seq", F.row_number().over(_window(F)).cast("long")).localCheckpoint()
    raw.createOrReplaceTempView("mm_spark_raw")
    session.sql(
        "SELECT source_file, full_url, min(resource_type) AS resource_type, "
        "min(get_json_object(resource, '$.id')) AS resource_id FROM mm_spark_raw "
        "WHERE full_url IS NOT NULL GROUP BY source_file, full_url"
    ).localCheckpoint().createOrReplaceTempView("mm_spark_urls")

    views = mapping_views()
    mapped: dict[str, Any] = {}
    committed = store.frames(session)
    # Views of types this load has none of are not run (compiling and planning a view is
    # most of a small load's time): one job lists the types.
    present = {
        r[0]
        for r in session.sql(
            "SELECT DISTINCT resource_type FROM mm_spark_raw WHERE resource_type IS NOT NULL"
        ).collect()
    }
    for table in _ORDER:
        if MAPPED_TABLES[table] in present:
            _view_rows(session, views[_VIEW.get(table, table)], f"mm_spark_view_{table}")
            if table == "provider":
                _view_rows(
                    session, views["provider_identifier"], "mm_spark_view_provider_identifier"
                )
            df = session.sql(_FINISH[table]()).localCheckpoint()
            df.createOrReplaceTempView(f"mm_spark_map_{table}")
            mapped[table] = df
        if table == "person":
            this_load = (
                "SELECT person_id FROM mm_spark_map_person WHERE reason_code IS NULL"
                if table in mapped
                else "SELECT CAST(NULL AS BIGINT) AS person_id WHERE FALSE"
            )
            _union_committed(
                session, this_load, committed.get("person"), ["person_id"], "mm_spark_persons"
            )
        elif table == "provider":
            cols = ["table_name", "row_id", "system", "value", "type_code"]
            if table in mapped:
                idents = session.sql(_identifier_sql()).localCheckpoint()
            else:
                idents = session.sql(
                    "SELECT CAST(NULL AS STRING) AS table_name, CAST(NULL AS BIGINT) AS row_id, "
                    "CAST(NULL AS STRING) AS system, CAST(NULL AS STRING) AS value, "
                    "CAST(NULL AS STRING) AS type_code WHERE FALSE"
                )
            idents.createOrReplaceTempView("mm_spark_load_identifiers")
            _union_committed(
                session,
                "SELECT * FROM mm_spark_load_identifiers",
                committed.get("mm_identifier"),
                cols,
                "mm_spark_identifiers",
            )

    tables, prov, quarantine = _outputs(session, mapped, load_id, started)
    counts = _counts(session, mapped)
    report.counts = {k: TypeCounts(**v) for k, v in counts["types"].items()}
    report.quarantine_reasons = counts["quarantine"]
    report.skip_reasons.update(counts["skip"])
    if "person" in mapped:  # a Patient without birthDate loads, year unknown: a warning
        new_persons = "SELECT person_id FROM mm_spark_map_person"
        if committed.get("person") is not None:
            committed["person"].select("person_id").createOrReplaceTempView("mm_spark_had")
            new_persons += " WHERE person_id NOT IN (SELECT person_id FROM mm_spark_had)"
        unknown = session.sql(
            f"SELECT count(*) FROM mm_spark_map_person WHERE reason_code IS NULL AND "
            f"year_of_birth IS NULL AND person_id IN ({new_persons})"
        ).collect()[0][0]
        if unknown:
            report.counts["Patient"].warnings += unknown
            report.warning_reasons["missing_field"] = unknown
    tables["mm_source_record"] = prov
    tables["mm_identifier"] = session.table("mm_spark_load_identifiers")
    tables["mm_quarantine"] = quarantine
    tables["mm_load_file"] = session.createDataFrame(
        [(digests[str(f)], "fhir", load_id, str(f), f.stat().st_size) for f in todo],
        "sha256 string, source_kind string, load_id string, source_file string, size_bytes long",
    )
    report.finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report.status = "completed"
    totals = report.totals
    load_row = {
        "source_kind": "fhir",
        "started_at": started,
        "finished_at": report.finished_at,
        "status": "completed",
        "files": len(todo),
        "records_read": totals.read,
        "records_loaded": totals.loaded,
        "records_skipped": totals.skipped,
        "records_quarantined": totals.quarantined,
        "warnings": totals.warnings,
    }
    report.rows_written = store.write_load(session, load_id, tables, load_row)
    # Rows already in the lake (the same resource in an earlier load) are duplicates.
    for table, rtype in MAPPED_TABLES.items():
        dup = counts["loaded_rows"].get(table, 0) - report.rows_written.get(table, 0)
        if dup > 0:
            c = report.counts[rtype]
            c.loaded -= dup
            c.skipped += dup
            report.skip_reasons["duplicate"] = report.skip_reasons.get("duplicate", 0) + dup
    raw.unpersist()
    report.duration_s = time.perf_counter() - t0
    return report


def _union_committed(session: Any, sql: str, committed: Any, columns: list[str], name: str) -> None:
    """Register as `name` this load's rows (`sql`) and the lake's committed ones."""
    df = session.sql(sql)
    if committed is not None:
        df = df.unionByName(committed.select(*columns))
    df.createOrReplaceTempView(name)


def _window(F: Any) -> Any:  # noqa: N803
    from pyspark.sql import Window

    return Window.orderBy(F.col("source_file"), F.col("location"))


def _outputs(
    session: Any, mapped: dict[str, Any], load_id: str, started: dt.datetime
) -> tuple[dict[str, Any], Any, Any]:
    """The OMOP tables, their provenance and the quarantine rows of this load."""
    from pyspark.sql import functions as F  # noqa: N812

    tables: dict[str, Any] = {}
    provs = []
    quars = []
    for table, df in mapped.items():
        ok = df.where("reason_code IS NULL")
        tables[table] = ok
        provs.append(
            ok.select(
                F.lit(table).alias("table_name"),
                F.col(_PK[table]).alias("row_id"),
                F.lit(load_id).alias("load_id"),
                "source_file",
                "location",
                "resource_type",
                "source_key",
            )
        )
        quars.append(
            df.where("reason_code IS NOT NULL").select(
                "source_file",
                "location",
                "resource_type",
                "reason_code",
                F.concat(
                    F.col("resource_type"),
                    F.lit(" at "),
                    F.col("location"),
                    F.lit(" not loaded: "),
                    F.col("reason_code"),
                ).alias("message"),
            )
        )
    quars.append(
        session.sql(
            "SELECT source_file, location, CAST(NULL AS STRING) AS resource_type, "
            "CASE WHEN file_level THEN 'unreadable_file' ELSE 'malformed' END AS reason_code, "
            "problem AS message FROM mm_spark_raw WHERE problem IS NOT NULL"
        )
    )
    if not provs:  # a load of types none of which is mapped on Spark
        provs.append(
            session.createDataFrame(
                [],
                "table_name string, row_id bigint, load_id string, source_file string, "
                "location string, resource_type string, source_key string",
            )
        )
    prov = provs[0]
    for p in provs[1:]:
        prov = prov.unionByName(p)
    quar = quars[0]
    for q in quars[1:]:
        quar = quar.unionByName(q)
    quar = quar.select(
        F.expr(
            "mm_stable_id('mm_quarantine', concat_ws('|', source_file, location, "
            f"reason_code, {_lit(load_id)}))"
        ).alias("quarantine_id"),
        F.lit(load_id).alias("load_id"),
        "source_file",
        "location",
        "resource_type",
        "reason_code",
        "message",
        F.lit(started).alias("quarantined_at"),
    )
    return tables, prov, quar


def _counts(session: Any, mapped: dict[str, Any]) -> dict[str, Any]:
    """Per resource type read/loaded/skipped/quarantined, and the reasons (one Spark job)."""
    from pyspark.sql import functions as F  # noqa: N812

    types: dict[str, dict[str, int]] = {}
    quarantine: dict[str, int] = {}
    skip: dict[str, int] = {}
    loaded_rows: dict[str, int] = {}
    parts = [
        session.sql(
            "SELECT CAST(NULL AS STRING) AS tbl, coalesce(resource_type, 'File') AS t, "
            "CAST(NULL AS STRING) AS reason_code, count(*) AS n FROM mm_spark_raw GROUP BY 2"
        )
    ]
    for table, df in mapped.items():
        parts.append(
            df.groupBy("reason_code")
            .count()
            .select(
                F.lit(table).alias("tbl"),
                F.lit(MAPPED_TABLES[table]).alias("t"),
                "reason_code",
                F.col("count").alias("n"),
            )
        )
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    rows = union.collect()
    for table, t, _, n in rows:
        if table is None:
            types[t] = {"read": int(n), "loaded": 0, "skipped": 0, "quarantined": 0}
    mapped_types = set(MAPPED_TABLES.values())
    for table, rtype, reason, n in rows:
        if table is None:
            continue
        if reason is None:
            types[rtype]["loaded"] += int(n)
            loaded_rows[table] = int(n)
        else:
            types[rtype]["quarantined"] += int(n)
            quarantine[reason] = quarantine.get(reason, 0) + int(n)
    if "File" in types:
        types["File"]["quarantined"] = types["File"]["read"]
        quarantine["unreadable_or_malformed"] = types["File"]["read"]
    for t, c in types.items():
        if t not in mapped_types and t != "File":
            c["skipped"] = c["read"]
            skip["not_mapped_on_spark"] = skip.get("not_mapped_on_spark", 0) + c["read"]
    return {"types": types, "quarantine": quarantine, "skip": skip, "loaded_rows": loaded_rows}
