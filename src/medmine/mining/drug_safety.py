"""Drug-safety signals from a warehouse: disproportionality and a self-controlled case series.

**Disproportionality** (the measures of FDA FAERS and WHO VigiBase analyses, adapted to
longitudinal data as in OHDSI's *LEADERS*/Zorych et al. 2013): the unit is a person's first
exposure to a drug (new users), and an exposure "reports" an outcome when the person's first
ever occurrence of that outcome falls in the risk window ``(start, start + window]``.
Exposures whose person already had the outcome on or before the start are not at risk and
leave that pair's 2x2 table. For each drug ``d`` and outcome ``o``::

                 outcome o   no outcome o
    drug d           a            b
    other drugs      c            d

* PRR = (a / (a + b)) / (c / (c + d)), 95% CI on the log scale (Rothman);
* ROR = ad / bc, 95% CI on the log scale (Woolf); 0.5 added to every cell when one is 0;
* IC = log2((a + 0.5) / (E + 0.5)) with E = (a + b)(a + c) / N, the shrunk information
  component of the BCPNN (Norén et al. 2013), credibility interval from the Gamma quantiles
  of (a + 0.5) over (E + 0.5);
* a one-sided Fisher exact p-value (scipy) and Benjamini-Hochberg q-values (statsmodels)
  across every pair tested.

A pair is tested only with ``a >= min_count``; it is a *signal* when ROR025 > 1, IC025 > 0
and q <= alpha. Evans' rule (PRR >= 2, chi-square >= 4, a >= 3) is reported beside it.

**Self-controlled case series** (Farrington 1995; Whitaker et al. 2006): among persons with
the outcome, the incidence in risk windows after exposure is compared with the same person's
other observed time by conditional Poisson regression (for one exposure, a binomial GLM
with a log person-time offset in statsmodels), so every time-invariant confounder cancels.
Hand-written here: only the interval bookkeeping (risk and control days per case), which no
library does for OMOP tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError

#: Exposure and outcome item keys: a concept id where one is known, else the source code.
_DRUG_KEY = (
    "CASE WHEN drug_concept_id IS NOT NULL AND drug_concept_id <> 0 "
    "THEN 'concept:' || drug_concept_id ELSE 'source:' || drug_source_value END"
)
_COND_KEY = (
    "CASE WHEN condition_concept_id IS NOT NULL AND condition_concept_id <> 0 "
    "THEN 'concept:' || condition_concept_id ELSE 'source:' || condition_source_value END"
)


#: Columns `disproportionality` adds besides the flags.
MEASURES = (
    *("prr", "prr_lo", "prr_hi", "ror", "ror_lo", "ror_hi", "ic", "ic_lo", "ic_hi"),
    *("expected", "chi2", "p", "q"),
)


@dataclass(frozen=True)
class SignalSettings:
    """Risk window, minimum count and error rate of the disproportionality screen."""

    window_days: int = 30
    min_count: int = 3
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ConfigError(f"window_days must be at least 1; got {self.window_days}")
        if self.min_count < 1:
            raise ConfigError(f"min_count must be at least 1; got {self.min_count}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must lie in (0, 1); got {self.alpha}")


def item_key(concept_id: int | str) -> str:
    """The item key of a drug or outcome given as a concept id or ``source:VOCAB:code``."""
    text = str(concept_id).strip()
    if text.startswith(("concept:", "source:")):
        return text
    if text.lstrip("-").isdigit():
        return f"concept:{int(text)}"
    return f"source:{text}"


def _exposures_sql(persons_where: str) -> str:
    """First exposure per person and drug item (new users)."""
    return (
        f"SELECT person_id, {_DRUG_KEY} AS drug, min(drug_exposure_start_date) AS s "
        f"FROM drug_exposure {persons_where} GROUP BY ALL HAVING drug IS NOT NULL"
    )


def _outcomes_sql(persons_where: str) -> str:
    """First occurrence per person and condition item (incident outcomes)."""
    return (
        f"SELECT person_id, {_COND_KEY} AS cond, min(condition_start_date) AS t "
        f"FROM condition_occurrence {persons_where} GROUP BY ALL HAVING cond IS NOT NULL"
    )


def pair_counts(con: Any, settings: SignalSettings, persons_where: str = "") -> pd.DataFrame:
    """2x2 counts ``a, b, c, d`` of every drug-outcome pair with ``a >= min_count``.

    `persons_where` is a ``WHERE person_id IN (...)`` clause built by the consent module
    (code, never outside text).
    """
    sql = f"""
    WITH e AS ({_exposures_sql(persons_where)}),
         o AS ({_outcomes_sql(persons_where)}),
         n_drug AS (SELECT drug, count(*) AS n_d FROM e GROUP BY drug),
         j AS (
           SELECT e.drug, o.cond,
                  count(*) FILTER (WHERE o.t > e.s AND o.t <= e.s + ?::INTEGER) AS a,
                  count(*) FILTER (WHERE o.t <= e.s) AS prior
           FROM e JOIN o USING (person_id) GROUP BY ALL
         ),
         per_cond AS (SELECT cond, sum(a) AS a_o, sum(prior) AS prior_o FROM j GROUP BY cond),
         total AS (SELECT count(*) AS n FROM e)
    SELECT j.drug, j.cond, j.a,
           n_drug.n_d - j.prior - j.a AS b,
           per_cond.a_o - j.a AS c,
           (total.n - n_drug.n_d) - (per_cond.prior_o - j.prior) - (per_cond.a_o - j.a) AS d
    FROM j JOIN n_drug USING (drug) JOIN per_cond USING (cond) CROSS JOIN total
    WHERE j.a >= ?
    ORDER BY j.drug, j.cond
    """
    df = con.execute(sql, [int(settings.window_days), int(settings.min_count)]).df()
    for col in ("a", "b", "c", "d"):
        df[col] = df[col].astype("int64")
    return df


def disproportionality(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """PRR, ROR and IC with 95% intervals, Fisher p, BH q and signal flags for each row.

    `counts` has integer columns ``a, b, c, d`` (any other columns are kept).
    """
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    out = counts.copy()
    if out.empty:
        for col in [
            "prr",
            "prr_lo",
            "prr_hi",
            "ror",
            "ror_lo",
            "ror_hi",
            "ic",
            "ic_lo",
            "ic_hi",
            "expected",
            "chi2",
            "p",
            "q",
        ]:
            out[col] = pd.Series(dtype="float64")
        out["evans"] = pd.Series(dtype="bool")
        out["signal"] = pd.Series(dtype="bool")
        return out
    a, b, c, d = (out[k].to_numpy(dtype="float64") for k in ("a", "b", "c", "d"))
    z = 1.959963984540054
    # Haldane-Anscombe correction where a cell is zero, so ratios and intervals stay finite.
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    ah, bh, ch, dh = (x + 0.5 * zero for x in (a, b, c, d))
    prr = (ah / (ah + bh)) / (ch / (ch + dh))
    se_prr = np.sqrt(1 / ah - 1 / (ah + bh) + 1 / ch - 1 / (ch + dh))
    ror = (ah * dh) / (bh * ch)
    se_ror = np.sqrt(1 / ah + 1 / bh + 1 / ch + 1 / dh)
    n = a + b + c + d
    expected = (a + b) * (a + c) / n
    ic = np.log2((a + 0.5) / (expected + 0.5))
    ic_lo = np.log2(stats.gamma.ppf(0.025, a + 0.5, scale=1 / (expected + 0.5)))
    ic_hi = np.log2(stats.gamma.ppf(0.975, a + 0.5, scale=1 / (expected + 0.5)))
    # Yates-corrected chi-square of Evans et al. (2001).
    num = n * np.maximum(np.abs(a * d - b * c) - n / 2, 0) ** 2
    den = (a + b) * (c + d) * (a + c) * (b + d)
    chi2 = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    p = np.array(
        [
            stats.fisher_exact([[int(w), int(x)], [int(y), int(v)]], alternative="greater")[1]
            for w, x, y, v in zip(a, b, c, d, strict=True)
        ]
    )
    q = multipletests(p, method="fdr_bh")[1]
    out = out.assign(
        prr=prr,
        prr_lo=np.exp(np.log(prr) - z * se_prr),
        prr_hi=np.exp(np.log(prr) + z * se_prr),
        ror=ror,
        ror_lo=np.exp(np.log(ror) - z * se_ror),
        ror_hi=np.exp(np.log(ror) + z * se_ror),
        ic=ic,
        ic_lo=ic_lo,
        ic_hi=ic_hi,
        expected=expected,
        chi2=chi2,
        p=p,
        q=q,
    )
    out["evans"] = (out["prr"] >= 2) & (out["chi2"] >= 4) & (out["a"] >= 3)
    out["signal"] = (out["ror_lo"] > 1) & (out["ic_lo"] > 0) & (out["q"] <= alpha)
    return out


def screen(con: Any, settings: SignalSettings, persons_where: str = "") -> pd.DataFrame:
    """Every drug-outcome pair with enough events, its measures and flags, strongest first."""
    table = disproportionality(pair_counts(con, settings, persons_where), settings.alpha)
    return table.sort_values(["signal", "ic_lo"], ascending=[False, False]).reset_index(drop=True)


@dataclass(frozen=True)
class SccsEstimate:
    """Incidence rate ratio in the risk window vs the same persons' other observed time."""

    drug: str
    outcome: str
    window_days: int
    cases: int
    informative_cases: int
    events_risk: int
    events_control: int
    days_risk: int
    days_control: int
    irr: float
    irr_lo: float
    irr_hi: float
    p: float
    note: str = ""
    drug_name: str = ""
    outcome_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in vars(self).items()
        }


def sccs_intervals(
    con: Any, drug: str, outcome: str, window_days: int, persons_where: str = ""
) -> pd.DataFrame:
    """Per case: events and days inside the risk windows and outside them, within observation.

    Cases are persons with the outcome inside one of their observation periods; their time
    is the union of those periods; risk windows are ``(start, start + window]`` of every
    exposure to `drug`, clipped to the period and merged where they overlap or touch (interval
    arithmetic, no day-by-day expansion). Events are distinct outcome dates.
    """
    drug_key, cond_key = item_key(drug), item_key(outcome)
    cond_key_sql = _COND_KEY.replace("condition_", "c.condition_")
    drug_key_sql = _DRUG_KEY.replace("drug_", "x.drug_")
    sql = f"""
    WITH obs AS (
      SELECT person_id, observation_period_start_date AS os, observation_period_end_date AS oe
      FROM observation_period {persons_where}
    ),
    ev AS (
      SELECT DISTINCT c.person_id, c.condition_start_date AS t
      FROM condition_occurrence c JOIN obs ON obs.person_id = c.person_id
       AND c.condition_start_date BETWEEN obs.os AND obs.oe
      WHERE {cond_key_sql} = ?
    ),
    cases AS (SELECT DISTINCT person_id FROM ev),
    win AS (  -- risk windows clipped to the observation period they fall in
      SELECT x.person_id,
             greatest(x.drug_exposure_start_date + 1, obs.os) AS lo,
             least(x.drug_exposure_start_date + ?::INTEGER, obs.oe) AS hi
      FROM drug_exposure x JOIN cases USING (person_id)
      JOIN obs ON obs.person_id = x.person_id
       AND x.drug_exposure_start_date + 1 <= obs.oe
       AND x.drug_exposure_start_date + ?::INTEGER >= obs.os
      WHERE {drug_key_sql} = ?
    ),
    ordered AS (  -- gaps and islands: overlapping or touching windows merge
      SELECT *, max(hi) OVER (PARTITION BY person_id ORDER BY lo, hi
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_hi
      FROM win WHERE lo <= hi
    ),
    grouped AS (
      SELECT *, sum(CASE WHEN prev_hi IS NULL OR lo > prev_hi + 1 THEN 1 ELSE 0 END)
               OVER (PARTITION BY person_id ORDER BY lo, hi) AS island
      FROM ordered
    ),
    merged AS (SELECT person_id, min(lo) AS lo, max(hi) AS hi FROM grouped GROUP BY ALL),
    obs_days AS (
      SELECT person_id, sum(oe - os + 1) AS n FROM obs JOIN cases USING (person_id)
      GROUP BY person_id
    ),
    risk_days AS (SELECT person_id, sum(hi - lo + 1) AS n FROM merged GROUP BY person_id),
    ev_flag AS (
      SELECT ev.person_id,
             EXISTS (SELECT 1 FROM merged m WHERE m.person_id = ev.person_id
                     AND ev.t BETWEEN m.lo AND m.hi) AS exposed
      FROM ev
    )
    SELECT o.person_id,
           coalesce(r.n, 0)::BIGINT AS days_risk,
           (o.n - coalesce(r.n, 0))::BIGINT AS days_control,
           (SELECT count(*) FROM ev_flag f WHERE f.person_id = o.person_id AND f.exposed)
             AS events_risk,
           (SELECT count(*) FROM ev_flag f WHERE f.person_id = o.person_id AND NOT f.exposed)
             AS events_control
    FROM obs_days o LEFT JOIN risk_days r USING (person_id)
    ORDER BY o.person_id
    """
    w = int(window_days)
    return con.execute(sql, [cond_key, w, w, drug_key]).df()


def sccs(
    con: Any, drug: str, outcome: str, window_days: int = 30, persons_where: str = ""
) -> SccsEstimate:
    """Self-controlled case series estimate of the risk-window incidence rate ratio."""
    import statsmodels.api as sm
    from scipy import stats

    per = sccs_intervals(con, drug, outcome, window_days, persons_where)
    base = dict(
        drug=item_key(drug),
        outcome=item_key(outcome),
        window_days=int(window_days),
        cases=len(per),
        events_risk=int(per["events_risk"].sum()) if len(per) else 0,
        events_control=int(per["events_control"].sum()) if len(per) else 0,
        days_risk=int(per["days_risk"].sum()) if len(per) else 0,
        days_control=int(per["days_control"].sum()) if len(per) else 0,
    )
    # Only cases with time both inside and outside a risk window inform the ratio.
    inf = per[(per["days_risk"] > 0) & (per["days_control"] > 0)]
    nan = float("nan")
    if inf.empty or inf["events_risk"].sum() == 0:
        note = (
            "no case has observed time both inside and outside a risk window"
            if inf.empty
            else "no event falls in a risk window: the ratio is not estimable"
        )
        return SccsEstimate(
            **base, informative_cases=len(inf), irr=nan, irr_lo=nan, irr_hi=nan, p=nan, note=note
        )
    # With one exposure, the SCCS conditional likelihood is binomial: each case's events fall
    # in its risk time with odds e^beta * risk days / control days (Farrington 1995, eq. 2).
    # A binomial GLM with that offset gives the same estimate as a conditional Poisson fit
    # without dropping cases whose two counts happen to be equal (statsmodels'
    # ConditionalPoisson drops those as "no within-group variance", which biases the ratio).
    n = len(inf)
    counts = inf[["events_risk", "events_control"]].to_numpy(dtype=float)
    offset = np.log(
        inf["days_risk"].to_numpy(dtype=float) / inf["days_control"].to_numpy(dtype=float)
    )
    fit = sm.GLM(counts, np.ones((n, 1)), family=sm.families.Binomial(), offset=offset).fit()
    beta, se = float(fit.params[0]), float(fit.bse[0])
    z = 1.959963984540054
    p = float(2 * stats.norm.sf(abs(beta / se)))
    return SccsEstimate(
        **base,
        informative_cases=n,
        irr=math.exp(beta),
        irr_lo=math.exp(beta - z * se),
        irr_hi=math.exp(beta + z * se),
        p=p,
    )
