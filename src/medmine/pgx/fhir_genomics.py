"""Reported diplotypes from FHIR Genomics Reporting Observations in the raw FHIR store.

A lab that genotyped a patient often sends the result, not the VCF: an Observation of the HL7
Genomics Reporting IG with code LOINC 84413-4 (*Genotype display name*) or 84414-2
(*Haplotype name*), the gene in a component coded 48018-6 (*Gene studied*), and the
diplotype as the value (``CYP2C19 *1/*2``, PharmVar or text). `medmine ingest fhir` keeps
every resource in ``mm_fhir_resource``; this module reads those Observations set-wise with
DuckDB's JSON functions, resolves the subject to a person (``Patient/id`` or the Bundle's
``urn:uuid:`` full URL) and returns one row per Observation with either a usable
``(gene, diplotype)`` or the reason it is not usable, so nothing is silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from medmine.pgx.calling import GENES, load_gene

GENOTYPE_CODES = ("84413-4", "84414-2")
GENE_STUDIED = "48018-6"
_GENE_PREFIX = re.compile(r"\b(?:" + "|".join(GENES) + r")(?=\*)")
_DIPLOTYPE = re.compile(r"(\*[0-9A-Za-z.]+|[A-Za-z0-9.>+\- ()]+?)\s*/\s*(\*[0-9A-Za-z.]+)")

_SQL = """
WITH obs AS (
  SELECT raw_id, source_file, location, full_url, resource::JSON AS r
  FROM mm_fhir_resource
  WHERE resource_type = 'Observation'
    AND (resource LIKE '%84413-4%' OR resource LIKE '%84414-2%')
),
coded AS (
  SELECT raw_id, source_file, location, r,
         json_extract_string(r, '$.subject.reference') AS subject,
         list_filter(
           json_extract_string(r, '$.code.coding[*].code'), lambda c: c IN ('84413-4', '84414-2')
         ) AS codes
  FROM obs
),
gene AS (
  SELECT raw_id,
         first(coalesce(
           json_extract_string(comp, '$.valueCodeableConcept.coding[0].display'),
           json_extract_string(comp, '$.valueCodeableConcept.text'))) AS gene
  FROM (SELECT raw_id, unnest(json_extract(r, '$.component[*]')) AS comp FROM coded)
  WHERE list_contains(json_extract_string(comp, '$.code.coding[*].code'), '48018-6')
  GROUP BY raw_id
),
patients AS (
  SELECT resource_id, full_url FROM mm_fhir_resource WHERE resource_type = 'Patient'
)
SELECT c.raw_id, c.source_file, c.location, c.subject, g.gene,
       coalesce(json_extract_string(c.r, '$.valueCodeableConcept.text'),
                json_extract_string(c.r, '$.valueCodeableConcept.coding[0].display'),
                json_extract_string(c.r, '$.valueCodeableConcept.coding[0].code'),
                json_extract_string(c.r, '$.valueString')) AS value,
       p.person_id
FROM coded c
LEFT JOIN gene g USING (raw_id)
LEFT JOIN patients pt
  ON c.subject = pt.full_url OR c.subject = 'Patient/' || pt.resource_id
-- The loader keys a Patient by its id or, inside a Bundle, by its full URL; accept either.
LEFT JOIN person p
  ON p.person_source_value IN (
       'Patient/' || pt.resource_id, 'Patient/' || pt.full_url, c.subject,
       -- warehouses written before identifiers became `Type/id` (issue 13)
       'fhir:Patient/' || pt.resource_id, 'fhir:Patient/' || pt.full_url, 'fhir:' || c.subject)
WHERE len(c.codes) > 0
ORDER BY c.raw_id
"""


def reported_diplotypes(wh: Any) -> pd.DataFrame:
    """One row per genotype Observation: person, gene, diplotype, or why it is not usable.

    Columns: ``raw_id, source_file, location, person_id, gene, diplotype, status`` where
    status is ``ok`` or a reason (``no person``, ``no gene``, ``gene not called by medmine``,
    ``no diplotype in the value``, ``allele unknown to CPIC definitions``).
    """
    cols = ["raw_id", "source_file", "location", "person_id", "gene", "diplotype", "status"]
    if not wh.count("mm_fhir_resource"):
        return pd.DataFrame(columns=cols)
    rows = wh.con.execute(_SQL).fetchall()
    out = []
    for raw_id, src, loc, _subject, gene, value, pid in rows:
        gene_name = _gene(gene, value)
        diplotype, status = None, "ok"
        if pid is None:
            status = "no person"
        elif gene_name is None:
            status = "no gene"
        elif gene_name not in GENES:
            status = "gene not called by medmine"
        else:
            diplotype = _diplotype(value or "")
            if diplotype is None:
                status = "no diplotype in the value"
            elif not set(diplotype.split("/")) <= set(load_gene(gene_name).names):
                status = "allele unknown to CPIC definitions"
        out.append((raw_id, src, loc, pid, gene_name, diplotype, status))
    return pd.DataFrame(out, columns=cols)


def _gene(gene: str | None, value: str | None) -> str | None:
    """The gene symbol from the gene-studied component, else from the value's prefix."""
    for text in (gene, value):
        if text and text.strip():
            return text.strip().split()[0].split("*")[0].upper()
    return None


def _diplotype(value: str) -> str | None:
    """``*1/*2`` from ``CYP2C19 *1/*2`` (or PharmVar ``CYP2C19*1/CYP2C19*2``)."""
    text = _GENE_PREFIX.sub("", value)
    m = _DIPLOTYPE.search(text)
    if not m:
        return None
    return f"{m.group(1).strip()}/{m.group(2).strip()}"
