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
``condition_occurrence`` (Condition), ``procedure_occurrence`` (Procedure), ``observation``
(AllergyIntolerance) and ``drug_exposure`` (MedicationRequest, MedicationAdministration,
MedicationStatement, Immunization). Resources of other types are counted as skipped
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
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

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


RowId = Callable[[str, str], str]


def _clinical_sql(
    rtype: str,
    source: str,
    refs: tuple[str, ...],
    body: Callable[[RowId, dict[str, tuple[str, str]]], tuple[str, str]],
    *,
    subject: str = "subject",
    extra: str = "",
) -> str:
    """The finishing SQL of a clinical resource type: one shape for every type.

    `body(row_id, resolved)` gives the type's select items and its quarantine CASE branches
    (in the loader's order); this adds the reference joins (`refs`, resolved as
    `_resolve`), the provenance columns, and the join on the known persons that the
    branches' ``p.person_id IS NULL`` rule reads. ``row_id(column, target)`` is the row id
    of reference `column` when it names a `target` resource.
    """
    joins = " ".join(_join_urls(c) for c in refs)
    r = {c: _resolve(c) for c in refs}

    def row_id(col: str, target: str) -> str:
        typ, key = r[col]
        return f"CASE WHEN {typ} = {_lit(target)} THEN mm_stable_id('fhir:{target}', {key}) END"

    columns, rules = body(row_id, r)
    return f"""
        SELECT {columns},
          CASE {rules} END AS reason_code,
          x.source_file, x.location, {_lit(rtype)} AS resource_type,
          {_lit(rtype + "/")} || x.id AS source_key
        FROM {source} x {joins}
        LEFT JOIN mm_spark_persons p ON p.person_id = {row_id(subject, "Patient")} {extra}
    """


def _condition_sql() -> str:
    start = "coalesce(x.onset, x.onset_period_start, x.recorded)"

    def body(row_id: RowId, r: dict[str, tuple[str, str]]) -> tuple[str, str]:
        return (
            f"""mm_stable_id('fhir:Condition', x.id) AS condition_occurrence_id,
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
          {_source_value("x.code")} AS condition_source_value,
          x.clinical_status AS condition_status_source_value""",
            f"""{_subject_rules(r)}
            WHEN p.person_id IS NULL THEN 'dangling_reference'
            {_code_rule("x.code")}
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN x.abatement IS NOT NULL AND {_date("x.abatement")} IS NULL
              THEN 'invalid_date'""",
        )

    return _clinical_sql(
        "Condition",
        "mm_spark_view_condition_occurrence",
        ("subject", "encounter", "asserter", "recorder"),
        body,
    )


def _source_value(code: str, *, text: bool = True, system: str | None = None) -> str:
    """``VOCAB:code`` of coding column `code` (`system`, by default `code`_system beside it),
    else (with `text`) its text column `code`_text.
    """
    coded = f"{_vocabulary(system or code + '_system')} || ':' || {code}"
    other = f"{code}_text" if text else "NULL"
    return f"CASE WHEN {code} IS NOT NULL THEN {coded} ELSE {other} END"


def _code_rule(code: str) -> str:
    """CASE branch: a required concept with no code and no (non-blank) text."""
    return f"WHEN {code} IS NULL AND coalesce(trim({code}_text), '') = '' THEN 'missing_field'"


def _subject_rules(r: dict[str, tuple[str, str]], subject: str = "subject") -> str:
    """The loader's rules for a required Patient reference (without the unknown-person one)."""
    return (
        f"WHEN x.{subject} IS NULL THEN 'missing_field' "
        f"WHEN {r[subject][0]} IS NULL THEN 'dangling_reference' "
        f"WHEN {r[subject][0]} <> 'Patient' THEN 'invalid_value'"
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
    start, end = "x.period_start", "x.period_end"
    ctyp, csys, cval = _conditional("participant")
    visit = _case("x.class_code", {k: v for k, v in VISIT.items()})

    def body(row_id: RowId, r: dict[str, tuple[str, str]]) -> tuple[str, str]:
        return (
            f"""mm_stable_id('fhir:Encounter', x.id) AS visit_occurrence_id,
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
          {_source_value("x.admit_code", text=False, system="x.admit_system")}
            AS admitted_from_source_value,
          {_source_value("x.disch_code", text=False, system="x.disch_system")}
            AS discharged_to_source_value""",
            f"""{_subject_rules(r)}
            WHEN {start} IS NULL THEN 'missing_field'
            WHEN {_date(start)} IS NULL THEN 'invalid_date'
            WHEN {end} IS NOT NULL AND {_date(end)} IS NULL THEN 'invalid_date'
            WHEN {_date(end)} < {_date(start)} THEN 'invalid_date'
            WHEN p.person_id IS NULL THEN 'dangling_reference'""",
        )

    # a conditional Practitioner?identifier= participant: the smallest matching row id
    conditional = f"""
        LEFT JOIN (
          SELECT v.seq, min(i.row_id) AS rid
          FROM (SELECT seq, {ctyp} AS t, {csys} AS s, {cval} AS v
                FROM mm_spark_view_visit_occurrence x) v
          JOIN mm_spark_identifiers i
            ON i.table_name = 'provider' AND i.value = v.v AND (v.s = '' OR i.system = v.s)
          WHERE v.t = 'Practitioner' AND v.v <> ''
          GROUP BY v.seq
        ) cp ON cp.seq = x.seq"""
    return _clinical_sql(
        "Encounter",
        "mm_spark_view_visit_occurrence",
        ("subject", "participant", "service_provider"),
        body,
        extra=conditional,
    )


def _procedure_sql() -> str:
    start = "coalesce(x.performed, x.performed_start)"
    end = "x.performed_end"

    def body(row_id: RowId, r: dict[str, tuple[str, str]]) -> tuple[str, str]:
        return (
            f"""mm_stable_id('fhir:Procedure', x.id) AS procedure_occurrence_id,
          {row_id("subject", "Patient")} AS person_id,
          0 AS procedure_concept_id,
          {_date(start)} AS procedure_date,
          {_ts(start)} AS procedure_datetime,
          {_date(end)} AS procedure_end_date,
          {_ts(end)} AS procedure_end_datetime,
          {TYPE_EHR} AS procedure_type_concept_id,
          {row_id("performer", "Practitioner")} AS provider_id,
          {row_id("encounter", "Encounter")} AS visit_occurrence_id,
          {_source_value("x.code")} AS procedure_source_value""",
            f"""{_subject_rules(r)}
            {_code_rule("x.code")}
            {_date_rules(start, end)}
            WHEN p.person_id IS NULL THEN 'dangling_reference'""",
        )

    return _clinical_sql(
        "Procedure",
        "mm_spark_view_procedure_occurrence",
        ("subject", "encounter", "performer"),
        body,
    )


def _date_rules(start: str, *ends: str) -> str:
    """CASE branches: no start (``missing_field``), a start or an end that does not parse."""
    out = f"WHEN {start} IS NULL THEN 'missing_field' "
    out += f"WHEN {_date(start)} IS NULL THEN 'invalid_date' "
    for end in ends:
        out += f"WHEN {end} IS NOT NULL AND {_date(end)} IS NULL THEN 'invalid_date' "
    return out


def _allergy_sql() -> str:
    start = "coalesce(x.onset, x.onset_start, x.recorded)"
    kind = (
        "CASE WHEN x.category IS NOT NULL THEN coalesce(x.kind, 'allergy') || ':' || x.category "
        "ELSE coalesce(x.kind, 'allergy') END"
    )

    def body(row_id: RowId, r: dict[str, tuple[str, str]]) -> tuple[str, str]:
        return (
            f"""mm_stable_id('fhir:AllergyIntolerance', x.id) AS observation_id,
          {row_id("patient", "Patient")} AS person_id,
          0 AS observation_concept_id,
          {_date(start)} AS observation_date,
          {_ts(start)} AS observation_datetime,
          {TYPE_EHR} AS observation_type_concept_id,
          {kind} AS value_as_string,
          x.criticality AS qualifier_source_value,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          {_source_value("x.code")} AS observation_source_value""",
            f"""{_subject_rules(r, "patient")}
            {_code_rule("x.code")}
            {_date_rules(start)}
            WHEN p.person_id IS NULL THEN 'dangling_reference'""",
        )

    return _clinical_sql(
        "AllergyIntolerance",
        "mm_spark_view_observation_allergy_intolerance",
        ("patient", "visit"),
        body,
        subject="patient",
    )


#: Drug resource types -> their start columns, in the loader's order of preference.
_DRUG_STARTS = {
    "MedicationRequest": ("authored",),
    "MedicationAdministration": ("effective", "effective_start"),
    "MedicationStatement": ("effective", "effective_start", "asserted"),
    "Immunization": ("occurrence", "recorded"),
}
#: Days of a UCUM duration unit (``expectedSupplyDuration``; months of 30 days).
_SUPPLY_DAYS = {"d": 1, "wk": 7, "mo": 30, "a": 365}


def _drug_sql(rtype: str, view: str, columns: set[str]) -> str:
    """drug_exposure rows of `rtype` (MedicationRequest, MedicationAdministration,
    MedicationStatement or Immunization), as the loader's set-wise drug mapping.

    `columns` are the view's column names (the four views read different fields). Rules, in
    the loader's order: the Patient reference (`_subject_rules`); no drug code, no text and no
    medicationReference display or reference (``missing_field``); no start, a start or a
    period end that does not parse (``invalid_date``); a Patient not known (last).
    """
    starts = _DRUG_STARTS[rtype]
    start = ", ".join(f"x.{c}" for c in starts)
    start = f"coalesce({start})" if len(starts) > 1 else start
    end = "x.effective_end" if "effective_end" in columns else "CAST(NULL AS STRING)"
    refs = ("patient", "visit", *(c for c in ("performer", "requester") if c in columns))

    def col(name: str, typ: str) -> str:
        return f"CAST(x.{name} AS {typ})" if name in columns else f"CAST(NULL AS {typ})"

    days = (
        f"CASE WHEN x.supply_value IS NOT NULL AND {_case('x.supply_unit', _SUPPLY_DAYS)} "
        # (a cast to INT truncates toward zero, as DuckDB's trunc)
        f"IS NOT NULL THEN CAST(CAST(x.supply_value AS DOUBLE) * "
        f"{_case('x.supply_unit', _SUPPLY_DAYS)} AS INT) END"
        if "supply_value" in columns
        else "CAST(NULL AS INT)"
    )
    if "has_medication_reference" in columns:
        med = "coalesce(nullif(x.medication_display, ''), nullif(x.medication_reference, ''))"
        source = (
            f"CASE WHEN x.code IS NOT NULL THEN {_source_value('x.code', text=False)} "
            f"WHEN x.has_medication_reference THEN {med} ELSE x.code_text END"
        )
        code_rule = (
            f"WHEN x.code IS NULL AND x.has_medication_reference AND {med} IS NULL "
            "THEN 'missing_field' WHEN x.code IS NULL AND NOT coalesce("
            "x.has_medication_reference, false) AND coalesce(trim(x.code_text), '') = '' "
            "THEN 'missing_field'"
        )
    else:
        source = _source_value("x.code")
        code_rule = _code_rule("x.code")
    route = _source_value("x.route", text=False) if "route" in columns else "CAST(NULL AS STRING)"

    def body(row_id: RowId, r: dict[str, tuple[str, str]]) -> tuple[str, str]:
        if "requester" in columns:  # a performer (even without a reference) wins
            provider = (
                f"CASE WHEN x.has_performer THEN {row_id('performer', 'Practitioner')} "
                f"ELSE {row_id('requester', 'Practitioner')} END"
            )
        elif "performer" in columns:
            provider = row_id("performer", "Practitioner")
        else:
            provider = "CAST(NULL AS BIGINT)"
        return (
            f"""mm_stable_id({_lit("fhir:" + rtype)}, x.id) AS drug_exposure_id,
          {row_id("patient", "Patient")} AS person_id,
          0 AS drug_concept_id,
          {_date(start)} AS drug_exposure_start_date,
          {_ts(start)} AS drug_exposure_start_datetime,
          {_date(end)} AS period_end_date,
          {_ts(end)} AS drug_exposure_end_datetime,
          {TYPE_EHR} AS drug_type_concept_id,
          {col("refills", "INT")} AS refills,
          {col("quantity", "DOUBLE")} AS quantity,
          {days} AS days_supply,
          {col("sig", "STRING")} AS sig,
          {col("lot_number", "STRING")} AS lot_number,
          {provider} AS provider_id,
          {row_id("visit", "Encounter")} AS visit_occurrence_id,
          {source} AS drug_source_value,
          {route} AS route_source_value""",
            f"""{_subject_rules(r, "patient")}
            {code_rule}
            {_date_rules(start, end)}
            WHEN p.person_id IS NULL THEN 'dangling_reference'""",
        )

    inner = _clinical_sql(rtype, f"mm_spark_view_{view}", refs, body, subject="patient")
    # the end: the period's end, else the start plus a known days supply, else the start
    return f"""
        SELECT *, CASE WHEN period_end_date IS NOT NULL THEN period_end_date
                       WHEN days_supply IS NOT NULL AND days_supply <> 0
                       THEN date_add(drug_exposure_start_date, days_supply)
                       ELSE drug_exposure_start_date END AS drug_exposure_end_date
        FROM ({inner})
    """


class _Mapping(NamedTuple):
    """One FHIR resource type mapped to one OMOP table on Spark."""

    table: str  #: the OMOP table written
    resource: str  #: the FHIR resource type read
    view: str  #: its mapping ViewDefinition (`mapping_views` name)
    finish: Callable[[set[str]], str]  #: the finishing SQL, given the view's column names
    pk: str  #: the table's row id column


#: Every mapping, in the order they run (a later one may join an earlier one's rows).
_MAPPINGS = (
    _Mapping("person", "Patient", "person", lambda _c: _person_sql(), "person_id"),
    _Mapping("provider", "Practitioner", "provider", lambda _c: _provider_sql(), "provider_id"),
    _Mapping(
        "visit_occurrence",
        "Encounter",
        "visit_occurrence",
        lambda _c: _visit_sql(),
        "visit_occurrence_id",
    ),
    _Mapping(
        "condition_occurrence",
        "Condition",
        "condition_occurrence",
        lambda _c: _condition_sql(),
        "condition_occurrence_id",
    ),
    _Mapping(
        "procedure_occurrence",
        "Procedure",
        "procedure_occurrence",
        lambda _c: _procedure_sql(),
        "procedure_occurrence_id",
    ),
    _Mapping(
        "observation",
        "AllergyIntolerance",
        "observation_allergy_intolerance",
        lambda _c: _allergy_sql(),
        "observation_id",
    ),
    *(
        _Mapping("drug_exposure", rtype, view, partial(_drug_sql, rtype, view), "drug_exposure_id")
        for rtype, view in (
            ("MedicationRequest", "drug_exposure_medication_request"),
            ("MedicationAdministration", "drug_exposure_medication_administration"),
            ("MedicationStatement", "drug_exposure_medication_statement"),
            ("Immunization", "drug_exposure_immunization"),
        )
    ),
)
#: OMOP table -> the FHIR resource types it is mapped from on Spark.
MAPPED_TABLES: dict[str, tuple[str, ...]] = {}
for _m in _MAPPINGS:
    MAPPED_TABLES[_m.table] = (*MAPPED_TABLES.get(_m.table, ()), _m.resource)
_PK = {m.table: m.pk for m in _MAPPINGS}
_TABLE_OF = {m.resource: m.table for m in _MAPPINGS}


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
    for m in _MAPPINGS:
        if m.resource in present:
            columns = _view_rows(session, views[m.view], f"mm_spark_view_{m.view}").columns
            if m.table == "provider":
                _view_rows(
                    session, views["provider_identifier"], "mm_spark_view_provider_identifier"
                )
            df = session.sql(m.finish(set(columns))).localCheckpoint()
            df.createOrReplaceTempView(f"mm_spark_map_{m.view}")
            mapped[m.resource] = df
        if m.table == "person":
            this_load = (
                "SELECT person_id FROM mm_spark_map_person WHERE reason_code IS NULL"
                if m.resource in mapped
                else "SELECT CAST(NULL AS BIGINT) AS person_id WHERE FALSE"
            )
            _union_committed(
                session, this_load, committed.get("person"), ["person_id"], "mm_spark_persons"
            )
        elif m.table == "provider":
            cols = ["table_name", "row_id", "system", "value", "type_code"]
            if m.resource in mapped:
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
    if "Patient" in mapped:  # a Patient without birthDate loads, year unknown: a warning
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
    for table in MAPPED_TABLES:
        dup = counts["loaded_rows"].get(table, 0) - report.rows_written.get(table, 0)
        if dup > 0:
            for rtype, n in _duplicates(mapped, table, committed.get(table), dup).items():
                c = report.counts[rtype]
                c.loaded -= n
                c.skipped += n
                report.skip_reasons["duplicate"] = report.skip_reasons.get("duplicate", 0) + n
    raw.unpersist()
    report.duration_s = time.perf_counter() - t0
    return report


def _duplicates(mapped: dict[str, Any], table: str, committed: Any, dup: int) -> dict[str, int]:
    """Resource type -> how many of the `dup` rows of `table` not written were already there."""
    types = [t for t in MAPPED_TABLES[table] if t in mapped]
    if len(types) == 1 or committed is None:
        return {types[0]: dup}
    pk = _PK[table]
    had = committed.select(pk)
    out = {}
    for rtype in types:  # a table of several types (drug_exposure): count each type's
        ok = mapped[rtype].where("reason_code IS NULL").select(pk)
        n = ok.join(had, pk, "left_semi").count()
        if n:
            out[rtype] = n
    return out


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
    for rtype, df in mapped.items():
        table = _TABLE_OF[rtype]
        ok = df.where("reason_code IS NULL")
        if table in tables:  # drug_exposure: one frame per resource type
            tables[table] = tables[table].unionByName(ok, allowMissingColumns=True)
        else:
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
    for rtype, df in mapped.items():
        parts.append(
            df.groupBy("reason_code")
            .count()
            .select(
                F.lit(_TABLE_OF[rtype]).alias("tbl"),
                F.lit(rtype).alias("t"),
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
    mapped_types = set(_TABLE_OF)
    for table, rtype, reason, n in rows:
        if table is None:
            continue
        if reason is None:
            types[rtype]["loaded"] += int(n)
            loaded_rows[table] = loaded_rows.get(table, 0) + int(n)
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
