"""Sites of a federation: which site holds each cohort row (by care site, state or a split).

A real network has one warehouse per site. On one machine the sites are simulated by
splitting one warehouse's cohort by person: every row of a person goes to the same site, so a
person's data never spans two sites. Splits are non-IID by construction:

* ``care_site``: the person's ``person.care_site_id`` (the largest `n_sites` - 1 care sites,
  the rest pooled into one site);
* ``state``: ``location.state`` of the person's address, grouped likewise;
* ``case_mix``: deterministic fallback when the warehouse has no care sites or states
  (Eunomia has none): persons ordered by age at their first index date and cut into
  `n_sites` contiguous age bands, so sites differ in age, comorbidity and outcome rate the way
  a paediatric-leaning and a geriatric-leaning hospital do;
* ``label_skew``: the simulator option with stronger site effects: case mix plus each site's
  share of persons with an outcome drawn from a Dirichlet(`alpha`) (the standard non-IID
  benchmark of the federated-learning literature); smaller `alpha`, stronger skew.

>>> import pandas as pd
>>> f = pd.DataFrame({"person_id": [1, 1, 2, 3, 4], "age_at_index": [20, 21, 50, 70, 90],
...                   "outcome": [0, 1, 0, 0, 1]})
>>> split_sites(None, f, by="case_mix", n_sites=2).site.tolist()
['site 1', 'site 1', 'site 1', 'site 2', 'site 2']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from medmine.errors import ConfigError

SPLITS = ("auto", "care_site", "state", "case_mix", "label_skew")


@dataclass
class SiteSplit:
    """The site of every cohort row and how it was decided."""

    site: pd.Series
    method: str
    description: str

    @property
    def names(self) -> list[str]:
        """Site names in order."""
        return sorted(self.site.unique(), key=lambda s: (len(s), s))


def _warehouse_groups(wh: Any, persons: np.ndarray, by: str) -> pd.Series | None:
    """Care site or state of each person from the warehouse (None when degenerate)."""
    if wh is None:
        return None
    if by == "care_site":
        sql = "SELECT person_id, CAST(care_site_id AS VARCHAR) AS g FROM person"
    else:
        sql = (
            "SELECT p.person_id, l.state AS g FROM person p "
            "LEFT JOIN location l ON l.location_id = p.location_id"
        )
    got = wh.con.execute(sql).df()
    got = got.dropna(subset=["g"]).drop_duplicates("person_id").set_index("person_id")["g"]
    g = pd.Series(persons).map(got)
    if g.notna().mean() < 0.5 or g.nunique() < 2:
        return None
    return g.fillna("unknown").astype(str)


def split_sites(
    wh: Any,
    frame: pd.DataFrame,
    *,
    by: str = "auto",
    n_sites: int = 3,
    alpha: float = 0.5,
    random_state: int = 0,
) -> SiteSplit:
    """Assign every row of `frame` (``person_id``, ``age_at_index``, ``outcome``) to a site.

    Parameters
    ----------
    wh
        The warehouse (read for care sites and states; may be None for the other splits).
    by
        One of `SPLITS`; ``auto`` tries care site, then state, then falls back to case mix.
    n_sites
        Number of sites (at least 2).
    alpha
        Dirichlet concentration of ``label_skew``.
    """
    if by not in SPLITS:
        raise ConfigError(f"unknown site split {by!r}; use one of {', '.join(SPLITS)}")
    if n_sites < 2:
        raise ConfigError(f"--sites must be at least 2. Got {n_sites} instead.")
    persons = frame["person_id"].to_numpy()
    uniq = pd.unique(persons)
    if len(uniq) < 2 * n_sites:
        raise ConfigError(f"{len(uniq)} persons cannot make {n_sites} sites; use fewer sites")
    notes = []
    for kind in ("care_site", "state") if by == "auto" else (by,):
        if kind not in ("care_site", "state"):
            break
        g = _warehouse_groups(wh, uniq, kind)
        if g is None:
            notes.append(f"no usable {kind.replace('_', ' ')} in this warehouse")
            continue
        top = g.value_counts().index[: n_sites - 1]
        rank = {v: f"site {i + 1}" for i, v in enumerate(top)}
        per_person = pd.Series(
            [rank.get(v, f"site {n_sites}") for v in g], index=uniq, dtype=object
        )
        desc = f"by {kind.replace('_', ' ')}: the {n_sites - 1} largest, the rest as one site"
        return SiteSplit(pd.Series(persons).map(per_person).rename("site"), kind, desc)
    if by in ("care_site", "state"):
        raise ConfigError(f"cannot split by {by}: {notes[-1]}; use --split case_mix")
    first = frame.groupby("person_id", sort=False)["age_at_index"].min().loc[uniq]
    rng = np.random.default_rng(random_state)
    order = np.lexsort((rng.random(len(uniq)), first.to_numpy()))
    bands = np.empty(len(uniq), dtype=int)
    bands[order] = np.arange(len(uniq)) * n_sites // len(uniq)
    method = "case_mix"
    desc = (
        f"case-mix split ({'; '.join(notes) + '; ' if notes else ''}persons ordered by age "
        f"at index and cut into {n_sites} age bands)"
    )
    if by == "label_skew":
        pos = frame.groupby("person_id", sort=False)["outcome"].max().loc[uniq].to_numpy() > 0
        shares = rng.dirichlet(np.full(n_sites, float(alpha)))
        cases = np.flatnonzero(pos)
        bands[cases] = rng.choice(n_sites, size=len(cases), p=shares)
        method = "label_skew"
        desc = (
            f"label skew: age bands for persons without an outcome, persons with an outcome "
            f"spread by Dirichlet({alpha:g}) shares {np.round(shares, 2).tolist()}"
        )
    per_person = pd.Series([f"site {b + 1}" for b in bands], index=uniq, dtype=object)
    return SiteSplit(pd.Series(persons).map(per_person).rename("site"), method, desc)
