"""Set-wise SQL of the claims fraud study (DuckDB dialect, transpilable with SQLGlot).

The study's heavy work (the claim table, every scheme detector, the per-claim score and the
provider profiles' aggregates) runs here in the warehouse, one statement per detector, so no
claim- or line-level pandas frame is built until the final ranked list. Python formats the
plain-word reasons from the few hit rows these queries return, so the words are exactly those
of the pandas implementation they replace.

Conventions:

- Table names are written ``{claims}``, ``{lines}``, ``{fl}``, ``{hits}`` ... and filled with
  `medmine.warehouse.sql.ident` by `sql`; every outside value (thresholds, windows) is a bound
  named parameter (``$window``), never text.
- ``ord`` is the claim's reading order (file, entry / line number, source id, warehouse id),
  0-based; "the later copy" of a pair is the one with the larger ``ord``.
- Constants that pandas wrote as Python floats (1.4826, 0.1) are cast to DOUBLE, so the
  arithmetic is the same IEEE arithmetic as numpy's (a DECIMAL literal would round
  differently). Rounding to n decimals is written ``round_even(x * 10^n, 0) / 10^n``, which is
  exactly numpy's ``np.round`` (DuckDB's ``round`` rounds halves away from zero; checked
  bit-for-bit on 291,000 values). Spark: ``bround``.
- Tolerances against the pandas implementation: medians (``median`` = ``quantile_cont(0.5)``)
  equal pandas' group medians (bit-for-bit on 2,000 random groups); sums of doubles
  (billed per provider, a claim's points) are added in a different order than pandas' Kahan
  sums, so they agree within a few ulps (relative 1e-15) before any rounding. Ties that pandas
  broke by frame order are broken here by ``ord`` then the warehouse id.
"""

from __future__ import annotations

from typing import Any

from medmine.warehouse.sql import ident

#: Temporary tables the study builds on its connection (dropped by `drop_tables`).
CLAIMS_TABLE = "_fraud_claims"
LINES_TABLE = "_fraud_lines"
FL_TABLE = "_fraud_fl"
SCORES_TABLE = "_fraud_claim_scores"
TEMP_TABLES = (CLAIMS_TABLE, LINES_TABLE, FL_TABLE, SCORES_TABLE)

#: 1.4826 and 0.1 as the doubles numpy uses.
_K = "CAST(1.4826 AS DOUBLE)"
_FLOOR = "CAST(0.1 AS DOUBLE)"


def np_round(expr: str, decimals: int) -> str:
    """SQL for ``np.round(expr, decimals)`` (half to even on ``expr * 10^decimals``)."""
    scale = 10**decimals
    return f"(round_even(({expr}) * {scale}, 0) / {scale})"


def sql(template: str, **tables: str) -> str:
    """`template` with its ``{name}`` table slots filled by quoted identifiers."""
    return template.format(**{k: ident(v) for k, v in tables.items()})


def run(con: Any, template: str, params: dict[str, Any] | None = None, **tables: str) -> Any:
    """Execute `template` (tables quoted, `params` bound) and return a pandas frame."""
    return con.execute(sql(template, **tables), params or {}).df()


def drop_tables(con: Any) -> None:
    """Drop the study's temporary tables."""
    for t in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {ident(t)}")


# ----------------------------------------------------------------------- inputs
#: One row per claim line with the provider the profiles use (edits, profiles, rules).
FL = """
SELECT l.claim_line_id, l.claim_id, l.person_id,
       coalesce(l.rendering_provider_id, c.rendering_provider_id, c.billing_provider_id,
                v.provider_id) AS provider_id,
       l.service_date, coalesce(l.procedure_vocabulary_id, '') AS vocab,
       l.procedure_code AS code, coalesce(l.units, 1) AS units,
       coalesce(l.billed_amount, 0) AS amount
FROM mm_claim_line l JOIN mm_claim c USING (claim_id)
     LEFT JOIN visit_occurrence v ON v.visit_occurrence_id = c.visit_occurrence_id
WHERE l.procedure_code IS NOT NULL {person_filter}
"""

#: One row per claim line for the scheme detectors.
LINES = """
SELECT claim_id, claim_line_id, coalesce(procedure_vocabulary_id, '') AS vocab,
       procedure_code AS code, coalesce(units, 1) AS units,
       coalesce(billed_amount, allowed_amount, paid_amount) AS amount
FROM mm_claim_line {person_filter}
"""

#: One row per claim: source ids, parties, encounter link, first code, units, amount.
CLAIMS = """
WITH lines AS (
    SELECT claim_id,
           min(service_date) AS line_date,
           arg_min(procedure_code, line_number) AS code,
           arg_min(coalesce(procedure_vocabulary_id, ''), line_number) AS vocab,
           count(*) AS n_lines,
           sum(coalesce(units, 1)) AS units,
           sum(coalesce(billed_amount, allowed_amount, paid_amount)) AS line_amount,
           any_value(rendering_provider_id) AS line_rendering_id,
           any_value(rendering_npi) AS line_rendering_npi
    FROM mm_claim_line GROUP BY claim_id
), src AS (
    SELECT row_id AS claim_id, source_file,
           TRY_CAST(regexp_extract(location, '(\\d+)', 1) AS BIGINT) AS loc
    FROM mm_source_record WHERE table_name = 'mm_claim'
)
SELECT c.claim_id, c.claim_source_value, c.person_id,
       CASE WHEN c.claim_source_value IS NULL THEN 'mm:' || c.claim_id
            WHEN contains(c.claim_source_value, '/')
                THEN regexp_extract(c.claim_source_value, '[^/]*$')
            ELSE regexp_replace(c.claim_source_value, '^[^:]*:', '') END AS source_id,
       coalesce(l.line_date, c.claim_start_date) AS service_date,
       l.code, l.vocab, coalesce(l.n_lines, 0) AS n_lines, coalesce(l.units, 1) AS units,
       coalesce(l.line_amount, c.total_billed, c.total_allowed, c.total_paid, 0) AS amount,
       c.visit_occurrence_id, v.visit_start_date, v.visit_start_datetime,
       v.visit_end_datetime, v.visit_source_value AS visit_kind,
       coalesce(c.billing_source_value, c.billing_npi, bp.npi, cs.care_site_source_value,
                bp.provider_source_value) AS organisation_id,
       cs.care_site_name AS organisation_name,
       coalesce(c.rendering_npi, l.line_rendering_npi, rp.npi, rp.provider_source_value)
           AS clinician_id,
       coalesce(c.referring_npi, fp.npi, fp.provider_source_value) AS referrer_id,
       coalesce(l.line_rendering_id, c.rendering_provider_id, c.billing_provider_id,
                v.provider_id) AS profile_provider_id,
       s.source_file, s.loc
FROM mm_claim c
     LEFT JOIN lines l USING (claim_id)
     LEFT JOIN visit_occurrence v ON v.visit_occurrence_id = c.visit_occurrence_id
     LEFT JOIN care_site cs ON cs.care_site_id = c.billing_care_site_id
     LEFT JOIN provider bp ON bp.provider_id = c.billing_provider_id
     LEFT JOIN provider rp ON rp.provider_id = coalesce(c.rendering_provider_id,
                                                         l.line_rendering_id, v.provider_id)
     LEFT JOIN provider fp ON fp.provider_id = c.referring_provider_id
     LEFT JOIN src s ON s.claim_id = c.claim_id
WHERE TRUE {person_filter}
"""

#: The claim table with its reading order (the copy comes after the original).
CLAIMS_ORDERED = """
SELECT *, row_number() OVER (ORDER BY source_file NULLS LAST, loc NULLS LAST,
                                      claim_source_value NULLS LAST, claim_id) - 1 AS ord
FROM ({claims_sql})
"""

# --------------------------------------------------------------------- detectors
POST_DEATH = """
SELECT c.claim_id, date_diff('day', d.death_date, c.service_date) AS days
FROM {claims} c
     JOIN (SELECT person_id, min(death_date) AS death_date FROM death GROUP BY 1) d
     USING (person_id)
WHERE c.service_date > d.death_date
"""

#: Same person, organisation, clinician, code, date, units and amount as an earlier claim
#: (missing values match each other, as pandas' "" fill did).
EXACT_DUPLICATES = """
SELECT claim_id, code, first_source AS first
FROM (SELECT claim_id, code, ord,
             first_value(source_id) OVER w AS first_source, row_number() OVER w AS rn
      FROM {claims}
      WINDOW w AS (PARTITION BY person_id, coalesce(organisation_id, ''),
                   coalesce(clinician_id, ''), coalesce(code, ''), service_date, amount, units
                   ORDER BY ord))
WHERE rn > 1
ORDER BY ord
"""

DUPLICATE_LINES = """
WITH li AS (
    SELECT l.claim_id, l.claim_line_id, l.vocab, l.code, l.units, l.amount,
           c.source_id, c.person_id, c.organisation_id, c.clinician_id, c.service_date, c.ord
    FROM {lines} l JOIN {claims} c USING (claim_id)
    WHERE l.code IS NOT NULL
), w AS (
    SELECT claim_id, claim_line_id, code, ord,
           first_value(claim_id) OVER k AS first_claim,
           first_value(source_id) OVER k AS first
    FROM li
    WINDOW k AS (PARTITION BY person_id, coalesce(organisation_id, ''),
                 coalesce(clinician_id, ''), vocab, code, service_date, units, amount
                 ORDER BY ord, claim_line_id)
)
SELECT claim_id, code, first FROM w
WHERE claim_id <> first_claim
QUALIFY row_number() OVER (PARTITION BY claim_id ORDER BY claim_line_id) = 1
ORDER BY ord
"""

#: Pairs (earlier a, later b) of one person, organisation and code; the best per later claim
#: (same encounter first, then the smallest gap, then the earliest original).
NEAR_DUPLICATE_PAIRS = """
WITH k AS (
    SELECT claim_id, source_id, person_id, organisation_id, code, service_date, amount, ord,
           visit_occurrence_id, units, clinician_id
    FROM {claims} WHERE code IS NOT NULL
), a AS (
    SELECT b.claim_id, b.code, b.ord, a.ord AS ord_a, a.source_id AS source_id_a,
           abs(date_diff('day', a.service_date, b.service_date)) AS gap,
           abs(b.amount - a.amount) / greatest(abs(b.amount), abs(a.amount), 1e-9) AS rel,
           coalesce(b.units = a.units, FALSE) AS same_units,
           coalesce(b.clinician_id, '') = coalesce(a.clinician_id, '') AS same_clinician,
           coalesce(b.visit_occurrence_id = a.visit_occurrence_id, FALSE) AS same_visit_id
    FROM k a JOIN k b
      ON a.person_id = b.person_id AND a.organisation_id IS NOT DISTINCT FROM b.organisation_id
     AND a.code = b.code AND a.ord < b.ord
), f AS (
    SELECT *, coalesce(gap = 0 AND rel = 0, FALSE) AND same_units AND same_clinician AS exact
    FROM a
), g AS (
    SELECT *, coalesce(gap <= $window AND rel <= $tolerance, FALSE) AND NOT exact AS near,
           same_visit_id AND NOT exact AS same_visit
    FROM f
)
SELECT claim_id, code, source_id_a, gap, rel, same_visit FROM g
WHERE near OR same_visit
QUALIFY row_number() OVER (PARTITION BY claim_id
                           ORDER BY same_visit DESC, gap NULLS LAST, ord_a) = 1
ORDER BY claim_id
"""

#: Claims dated more than a day away from their own encounter.
OFF_ENCOUNTER = """
SELECT claim_id, abs(date_diff('day', visit_start_date, service_date)) AS shift
FROM {claims}
WHERE visit_start_date IS NOT NULL
  AND abs(date_diff('day', visit_start_date, service_date)) > 1
ORDER BY ord
"""

#: Share of claims with an encounter, per source kind (the claim id's prefix).
LINK_SHARE = """
SELECT regexp_extract(coalesce(claim_source_value, ''), '^[^:/]*') AS kind,
       CAST(count(visit_occurrence_id) AS DOUBLE) / count(*) AS share
FROM {claims} GROUP BY 1
"""

#: Claims with no encounter where their source kind links one on at least $min_share of
#: claims; ``near`` = the person had an encounter within a day.
PHANTOM = """
WITH k AS (
    SELECT claim_id, person_id, service_date, visit_occurrence_id, ord,
           regexp_extract(coalesce(claim_source_value, ''), '^[^:/]*') AS kind
    FROM {claims}
), s AS (
    SELECT kind, CAST(count(visit_occurrence_id) AS DOUBLE) / count(*) AS share
    FROM k GROUP BY 1
), cand AS (
    SELECT k.* FROM k JOIN s USING (kind)
    WHERE k.visit_occurrence_id IS NULL AND s.share >= $min_share
), vis AS (
    SELECT DISTINCT person_id, visit_start_date FROM visit_occurrence
    WHERE person_id IN (SELECT person_id FROM cand)
), near AS (
    SELECT DISTINCT cand.claim_id FROM cand JOIN vis
      ON vis.person_id = cand.person_id
     AND abs(date_diff('day', vis.visit_start_date, cand.service_date)) <= 1
)
SELECT cand.claim_id, near.claim_id IS NOT NULL AS near
FROM cand LEFT JOIN near USING (claim_id)
ORDER BY cand.ord
"""

#: Line amount per unit against its code's median / MAD (MAD floored at 10 % of the median
#: and at 1), the claim's worst line.
UPCODING = f"""
WITH k AS (
    SELECT claim_id, claim_line_id, vocab, code, amount / greatest(units, 1) AS per_unit
    FROM {{lines}} WHERE code IS NOT NULL AND amount > 0
), m AS (
    SELECT vocab, code, median(per_unit) AS med, count(*) AS n FROM k GROUP BY 1, 2
), d AS (
    SELECT k.vocab, k.code, median(abs(k.per_unit - m.med)) AS mad
    FROM k JOIN m USING (vocab, code) GROUP BY 1, 2
), z AS (
    SELECT k.claim_id, k.claim_line_id, k.code, k.per_unit, m.med,
           least(CASE WHEN m.n >= $min_n THEN
               (k.per_unit - m.med)
               / ({_K} * greatest(d.mad, greatest({_FLOOR} * abs(m.med), 1.0)))
           ELSE 0 END, 50) AS z
    FROM k JOIN m USING (vocab, code) JOIN d USING (vocab, code)
)
SELECT claim_id, code, per_unit, z, med FROM z
WHERE z >= $z_min AND per_unit >= $min_ratio * med
QUALIFY row_number() OVER (PARTITION BY claim_id ORDER BY z DESC, claim_line_id) = 1
ORDER BY z DESC, claim_id
"""

CODE_MISMATCH = """
WITH k AS (
    SELECT claim_id, code, visit_kind, ord FROM {claims}
    WHERE code IS NOT NULL AND visit_kind IS NOT NULL
), nc AS (SELECT code, count(*) AS n_code FROM k GROUP BY 1),
np AS (SELECT code, visit_kind, count(*) AS n_pair FROM k GROUP BY 1, 2)
SELECT k.claim_id, k.code, k.visit_kind, CAST(np.n_pair AS DOUBLE) / nc.n_code AS share
FROM k JOIN nc USING (code) JOIN np USING (code, visit_kind)
WHERE CAST(np.n_pair AS DOUBLE) / nc.n_code <= $max_share AND nc.n_code >= $min_code_claims
ORDER BY k.ord
"""

#: Baskets = one person's codes at one organisation on one day over several claims; code
#: pairs recurring in baskets with lift >= $min_lift mark components; a basket of at least
#: $min_claims claims joined by such pairs is unbundled.
UNBUNDLING = """
WITH k AS (
    SELECT claim_id, source_id, person_id, organisation_id, service_date, code, ord
    FROM {claims} WHERE code IS NOT NULL
), sized AS (
    SELECT *, count(*) OVER (PARTITION BY person_id, organisation_id, service_date) AS size
    FROM k
), multi AS (
    SELECT *, dense_rank() OVER (ORDER BY person_id, organisation_id, service_date) AS basket
    FROM sized WHERE size >= 2
), items AS (SELECT DISTINCT basket, code FROM multi),
pairs AS (
    SELECT x.basket, x.code AS code_x, y.code AS code_y
    FROM items x JOIN items y ON x.basket = y.basket AND x.code < y.code
), sup AS (SELECT code_x, code_y, count(*) AS n FROM pairs GROUP BY 1, 2),
single AS (
    SELECT code, count(*) AS n
    FROM (SELECT DISTINCT person_id, organisation_id, service_date, code FROM k) GROUP BY 1
), nb AS (
    SELECT count(*) AS n_b
    FROM (SELECT DISTINCT person_id, organisation_id, service_date FROM k)
), rules AS (
    SELECT sup.code_x, sup.code_y, sup.n
    FROM sup JOIN single sx ON sx.code = sup.code_x JOIN single sy ON sy.code = sup.code_y,
         nb
    WHERE sup.n >= $min_baskets
      AND CAST(sup.n * nb.n_b AS DOUBLE) / (sx.n * sy.n) >= $min_lift
), linked AS (
    SELECT DISTINCT basket, code FROM (
        SELECT p.basket, p.code_x AS code FROM pairs p JOIN rules r USING (code_x, code_y)
        UNION ALL
        SELECT p.basket, p.code_y FROM pairs p JOIN rules r USING (code_x, code_y))
), lk AS (SELECT basket, count(*) AS k FROM linked GROUP BY 1),
m AS (
    SELECT multi.claim_id, multi.source_id, multi.basket, multi.ord, lk.k,
           count(*) OVER (PARTITION BY multi.basket) AS n_claims
    FROM multi JOIN linked USING (basket, code) JOIN lk USING (basket)
), ev AS (
    SELECT basket, array_to_string(list_slice(list(source_id ORDER BY ord), 1, 8), ', ')
               AS evidence
    FROM m GROUP BY 1
)
SELECT m.claim_id, m.n_claims, m.k, ev.evidence, (SELECT max(n) FROM rules) AS top_n
FROM m JOIN ev USING (basket)
WHERE m.k >= 2 AND m.n_claims >= $min_claims
ORDER BY m.ord
"""

#: A column-2 code billed on the day of its column-1 code (user / shipped PTP edit table).
UNBUNDLING_PTP = """
WITH li AS (
    SELECT l.claim_id, l.claim_line_id, l.vocab, l.code, c.source_id, c.person_id,
           c.organisation_id, c.service_date, c.ord
    FROM {lines} l JOIN {claims} c USING (claim_id)
), a AS (
    SELECT li.*, p.column2_code FROM li
    JOIN {ptp} p ON li.vocab = p.vocabulary_id AND li.code = p.column1_code
)
SELECT b.claim_id, b.code, a.code AS code_c1, a.source_id AS source_id_c1
FROM li b JOIN a
  ON b.person_id = a.person_id AND b.organisation_id IS NOT DISTINCT FROM a.organisation_id
 AND b.service_date IS NOT DISTINCT FROM a.service_date AND b.code = a.column2_code
QUALIFY row_number() OVER (PARTITION BY b.claim_id
                           ORDER BY b.claim_line_id, a.ord, a.claim_line_id) = 1
ORDER BY b.ord
"""

#: Units of one code on one claim above the code's own limit (median + 4 robust SD, at least
#: twice the median) or the MUE table's, whichever is lower; the claim's first code.
EXCESSIVE_UNITS = f"""
WITH u AS (
    SELECT claim_id, vocab, code, sum(units) AS units
    FROM {{lines}} WHERE code IS NOT NULL GROUP BY 1, 2, 3
), m AS (SELECT vocab, code, median(units) AS med FROM u GROUP BY 1, 2),
d AS (
    SELECT u.vocab, u.code, median(abs(u.units - m.med)) AS mad
    FROM u JOIN m USING (vocab, code) GROUP BY 1, 2
), l AS (
    SELECT u.*, greatest(ceil(m.med + 4 * {_K} * d.mad), 2 * m.med) AS own,
           r.max_units_per_day AS ref
    FROM u JOIN m USING (vocab, code) JOIN d USING (vocab, code)
         LEFT JOIN {{mue}} r ON r.vocabulary_id = u.vocab AND r.code = u.code
), lim AS (
    SELECT *, CASE WHEN ref IS NULL THEN own ELSE least(own, ref) END AS lim FROM l
)
SELECT claim_id, vocab, code, units, lim, ref IS NOT NULL AS from_table FROM lim
WHERE units > lim
QUALIFY row_number() OVER (PARTITION BY claim_id ORDER BY vocab, code) = 1
ORDER BY claim_id
"""

#: Clinician-days with more service minutes than a day has (an encounter billed twice counts
#: once; encounter durations, else the code's typical minutes).
IMPOSSIBLE_VOLUME = """
WITH k AS (
    SELECT c.claim_id, c.clinician_id, c.service_date, c.visit_occurrence_id, c.ord,
           coalesce(CASE WHEN c.dur > 0 AND c.dur < $day_minutes THEN c.dur END,
                    CAST(mt.minutes AS DOUBLE), 0.0) AS minutes
    FROM (SELECT *, CAST(date_diff('microsecond', visit_start_datetime, visit_end_datetime)
                         AS DOUBLE) / 1e6 / 60 AS dur
          FROM {claims} WHERE clinician_id IS NOT NULL) c
         LEFT JOIN {minutes} mt ON mt.vocabulary_id = c.vocab AND mt.code = c.code
), counted AS (
    SELECT clinician_id, service_date, minutes FROM k WHERE visit_occurrence_id IS NULL
    UNION ALL
    SELECT clinician_id, service_date, arg_min(minutes, ord)
    FROM k WHERE visit_occurrence_id IS NOT NULL GROUP BY clinician_id, service_date,
                                                          visit_occurrence_id
), day AS (
    SELECT clinician_id, service_date, sum(minutes) AS total FROM counted
    WHERE service_date IS NOT NULL GROUP BY 1, 2 HAVING sum(minutes) > $day_minutes
)
SELECT k.claim_id, k.clinician_id, day.total
FROM k JOIN day USING (clinician_id, service_date)
WHERE k.minutes > 0
ORDER BY k.ord
"""

#: Referred claims per organisation and referrer (the input of the concentration rule).
REFERRALS = """
SELECT organisation_id, referrer_id, count(*) AS n FROM {claims}
WHERE referrer_id IS NOT NULL AND organisation_id IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
"""

#: Claims per clinician and billing organisation (a referrer's home organisation).
HOMES = """
SELECT clinician_id, organisation_id, count(*) AS n FROM {claims}
WHERE clinician_id IS NOT NULL AND organisation_id IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
"""

#: The claims of concentrated (organisation, referrer) pairs, at most $evidence per pair.
CONCENTRATED_CLAIMS = """
SELECT c.claim_id, c.source_id, c.organisation_id, c.referrer_id,
       row_number() OVER (PARTITION BY c.organisation_id, c.referrer_id ORDER BY c.ord) AS rn
FROM {claims} c JOIN {conc} p
  ON p.organisation_id = c.organisation_id AND p.referrer_id = c.referrer_id
ORDER BY c.ord
"""

# ------------------------------------------------------------------- worklists
#: Every claim with its score (sum of weight x strength), schemes (sorted), reasons (first
#: appearance) and evidence source ids (first appearance), rounded as ``np.round(x, 3)``.
CLAIM_SCORES = f"""
WITH per AS (
    SELECT claim_id, fsum(points) AS points, string_agg(scheme, ', ' ORDER BY scheme) AS schemes
    FROM {{hits}} GROUP BY 1
), rs AS (
    SELECT claim_id, string_agg(reason, '; ' ORDER BY seq) AS reasons
    FROM (SELECT claim_id, reason, min(seq) AS seq FROM {{hits}} GROUP BY 1, 2) GROUP BY 1
), ev1 AS (
    SELECT claim_id, seq, string_split(evidence, ', ')[pos + 1] AS e, pos
    FROM (SELECT claim_id, seq, evidence,
                 unnest(range(array_length(string_split(evidence, ', ')))) AS pos
          FROM {{hits}} WHERE evidence <> '')  -- one unnest: Spark allows one per SELECT
), ev AS (
    SELECT claim_id, string_agg(e, ', ' ORDER BY seq, pos) AS evidence_claim_ids
    FROM (SELECT claim_id, e, arg_min(seq, seq * 1000000 + pos) AS seq,
                 arg_min(pos, seq * 1000000 + pos) AS pos
          FROM ev1 WHERE e <> '' GROUP BY 1, 2)
    GROUP BY 1
)
SELECT c.*, coalesce({np_round("per.points", 3)}, 0.0) AS score,
       coalesce(per.schemes, '') AS schemes, coalesce(rs.reasons, '') AS reasons,
       coalesce(ev.evidence_claim_ids, '') AS evidence_claim_ids
FROM {{claims}} c LEFT JOIN per USING (claim_id) LEFT JOIN rs USING (claim_id)
     LEFT JOIN ev USING (claim_id)
"""

#: Per entity (clinician or organisation): claims, claims weighted by min(score / 3, 1) and
#: claims with a finding; and the overall rate.
ENTITY_COUNTS = """
SELECT {key} AS id, count(*) AS claims, fsum(least(score / $full, 1.0)) AS weighted,
       count(*) FILTER (WHERE score > 0) AS suspicious_claims
FROM {scores} WHERE {key} IS NOT NULL GROUP BY 1 ORDER BY 1
"""

OVERALL_RATE = "SELECT fsum(least(score / $full, 1.0)) / count(*) FROM {scores}"

#: Claims with a finding, with the keys the entity reasons need.
HIT_CLAIMS = """
SELECT claim_id, source_id, organisation_id, clinician_id, score FROM {scores}
WHERE claim_id IN (SELECT claim_id FROM {hits})
ORDER BY ord
"""

#: Claim score + $weight x the larger percentile of its clinician's and organisation's
#: scores + $profile_weight x its provider's peer-profile score.
CONTEXT = f"""
CREATE OR REPLACE TEMP TABLE {{out}} AS
WITH x AS (
    SELECT s.*,
           $weight * greatest(coalesce(pc.pct, 0.0), coalesce(po.pct, 0.0))
             + $profile_weight * coalesce(pp.score, 0.0) AS ctx
    FROM {{scores}} s
         LEFT JOIN {{clin_pct}} pc ON pc.id = s.clinician_id
         LEFT JOIN {{org_pct}} po ON po.id = s.organisation_id
         LEFT JOIN {{prov}} pp ON pp.provider_id = s.profile_provider_id
)
SELECT * REPLACE ({np_round("score + " + np_round("ctx", 3), 3)} AS score),
       {np_round("ctx", 3)} AS provider_context
FROM x
"""

#: The ranked claim list (highest score first, reading order among equals).
RANKED = """
SELECT claim_id AS internal_id, source_id AS claim_id, claim_source_value AS claim_source,
       organisation_id, organisation_name, clinician_id, referrer_id, code, units,
       amount, score, schemes, reasons, evidence_claim_ids
FROM {scores} ORDER BY score DESC, ord
"""

#: Per code with a positive amount (codes with at least $min_n claims): claims, median and
#: the share of claims at the median (a fixed price schedule).
PRICE_SPREAD = """
WITH k AS (SELECT code, amount FROM {claims} WHERE code IS NOT NULL AND amount > 0),
m AS (SELECT code, count(*) AS n, median(amount) AS median FROM k GROUP BY 1)
SELECT m.code, m.n, m.median,
       CAST(count(*) FILTER (WHERE k.amount = m.median) AS DOUBLE) / m.n AS at_median
FROM k JOIN m USING (code) GROUP BY m.code, m.n, m.median ORDER BY m.code
"""

CLAIM_SUMMARY = """
SELECT count(*) AS n, count(organisation_id) AS with_org,
       count(*) FILTER (WHERE score >= $half) AS with_finding
FROM {scores}
"""

# ------------------------------------------------------------------- profiles
PROVIDER_COUNTS = """
SELECT provider_id, count(DISTINCT claim_id) AS n_claims,
       count(DISTINCT person_id) AS n_patients, count(DISTINCT service_date) AS active_days,
       fsum(amount) AS billed
FROM {fl} WHERE provider_id IS NOT NULL GROUP BY 1 ORDER BY 1
"""

SINGLE_VISIT_SHARE = """
SELECT provider_id, avg(CASE WHEN n = 1 THEN 1.0 ELSE 0.0 END) AS single_visit_share
FROM (SELECT provider_id, person_id, count(DISTINCT claim_id) AS n FROM {fl}
      WHERE provider_id IS NOT NULL GROUP BY 1, 2)
GROUP BY 1
"""

#: Lines per provider and code (the procedure mix; E&M levels are a subset).
PROVIDER_CODES = """
SELECT provider_id, vocab, code, count(*) AS n FROM {fl}
WHERE provider_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 3, 2
"""

#: Who sees a provider's patients next within $window days: top destination and patients.
#: Visits are bucketed by day number // $window, so a visit within the window lies in the
#: same or the next bucket: two equi-joins on (person, bucket) replace one join on person
#: (a person's every pair of visits), then the exact window is applied.
REFERRAL_SHARE = """
WITH v AS (
    SELECT DISTINCT provider_id, person_id, service_date,
           CAST(floor(date_diff('day', DATE '1970-01-01', service_date)
                      / greatest(CAST($window AS INTEGER), 1)) AS BIGINT) AS bucket
    FROM {fl} WHERE provider_id IS NOT NULL
), cand AS (
    SELECT a.provider_id AS src, a.person_id, b.provider_id AS dst,
           a.service_date AS date_a, b.service_date AS date_b
    FROM v a JOIN v b ON a.person_id = b.person_id AND b.bucket = a.bucket
    UNION ALL
    SELECT a.provider_id, a.person_id, b.provider_id, a.service_date, b.service_date
    FROM v a JOIN v b ON a.person_id = b.person_id AND b.bucket = a.bucket + 1
), nxt AS (
    SELECT DISTINCT src, person_id, dst FROM cand
    WHERE dst <> src AND date_b > date_a AND date_b <= date_a + CAST($window AS INTEGER)
), top AS (
    SELECT src, max(n) AS top FROM (SELECT src, dst, count(*) AS n FROM nxt GROUP BY 1, 2)
    GROUP BY 1
), referred AS (SELECT src, count(DISTINCT person_id) AS referred FROM nxt GROUP BY 1)
SELECT src AS provider_id, top.top, referred.referred FROM top JOIN referred USING (src)
"""

#: Lines of the given (claim, vocabulary, code) triples: procedures without a supporting
#: diagnosis, in line order.
LINES_OF = """
SELECT f.claim_line_id, f.claim_id, f.provider_id, f.code, b.expected
FROM {fl} f JOIN {bad} b ON b.claim_id = f.claim_id AND b.vocab = f.vocab AND b.code = f.code
ORDER BY f.claim_line_id
"""

LINE_COUNTS = "SELECT count(*), count(DISTINCT claim_id) FROM {fl}"

#: Every statement above, for a transpile check (SQLGlot, DuckDB -> Spark).
STATEMENTS = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper()
    and isinstance(value, str)
    and name not in ("_K", "_FLOOR")
    and ("SELECT" in value)
}
