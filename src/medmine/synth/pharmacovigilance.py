"""Simulated drug exposures and conditions with planted drug -> outcome signals (known truth).

Each person starts a few drugs at random dates over ten years; every outcome has a
background incidence independent of any drug; for a planted pair, a new user of the drug
gets the outcome within the risk window with an extra probability. Null pairs are every
other drug-outcome pair, so a screen's false signals among them can be counted.

>>> sim = simulate_signals(n_persons=500, seed=1)
>>> sorted(sim.tables) == ["condition_occurrence", "drug_exposure", "observation_period"]
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class SignalSimulation:
    """Tables (OMOP columns the drug-safety study reads) and the planted pairs."""

    tables: dict[str, pd.DataFrame]
    planted: set[tuple[int, int]]
    drugs: list[int]
    outcomes: list[int]
    settings: dict[str, float] = field(default_factory=dict)
    #: Extra in-window probability of each planted pair.
    excess: dict[tuple[int, int], float] = field(default_factory=dict)
    #: True in-window risk ratio of each planted pair (background + excess over background).
    risk_ratio: dict[tuple[int, int], float] = field(default_factory=dict)


def simulate_signals(
    n_persons: int = 20_000,
    n_drugs: int = 20,
    n_outcomes: int = 20,
    n_planted: int = 5,
    drugs_per_person: float = 3.0,
    background: tuple[float, float] = (0.05, 0.4),
    excess: tuple[float, float] = (0.002, 0.01),
    window_days: int = 30,
    seed: int = 0,
) -> SignalSimulation:
    """Simulate persons, exposures and outcomes with `n_planted` true drug -> outcome pairs.

    `background` bounds each outcome's ten-year incidence (drawn uniformly); `excess` bounds
    the extra probability (drawn per planted pair) that a new user of a planted drug gets its
    outcome within `window_days` of starting: with the defaults, 6 to 30 extra cases against
    about 1 to 10 expected by chance, from weak to strong signals.
    """
    rng = np.random.default_rng(seed)
    start = dt.date(2010, 1, 1)
    span = 3650
    drugs = list(range(1_000_001, 1_000_001 + n_drugs))
    outcomes = list(range(2_000_001, 2_000_001 + n_outcomes))
    pairs = [(d, o) for d in drugs for o in outcomes]
    planted_idx = rng.choice(len(pairs), size=n_planted, replace=False)
    planted = {pairs[i] for i in planted_idx}
    rate = rng.uniform(*background, size=n_outcomes)
    persons = np.arange(1, n_persons + 1)
    obs = pd.DataFrame(
        {
            "observation_period_id": persons,
            "person_id": persons,
            "observation_period_start_date": start,
            "observation_period_end_date": start + dt.timedelta(days=span - 1),
        }
    )
    ex_rows = []
    for p in persons:
        k = max(1, rng.poisson(drugs_per_person))
        for d in rng.choice(drugs, size=min(k, n_drugs), replace=False):
            ex_rows.append((int(p), int(d), int(rng.integers(0, span - window_days))))
    ex = pd.DataFrame(ex_rows, columns=["person_id", "drug_concept_id", "day"])
    events: dict[tuple[int, int], int] = {}
    for j, o in enumerate(outcomes):
        has = rng.random(n_persons) < rate[j]
        for p in persons[has]:
            events[(int(p), o)] = int(rng.integers(0, span))
    extra = {pair: float(rng.uniform(*excess)) for pair in sorted(planted)}
    for (d, o), e in extra.items():
        users = ex[ex["drug_concept_id"] == d]
        hit = users[rng.random(len(users)) < e]
        for p, day in zip(hit["person_id"], hit["day"], strict=True):
            t = int(day) + int(rng.integers(1, window_days + 1))
            key = (int(p), o)
            events[key] = min(events.get(key, t), t)
    # Probability of a first occurrence within one window by chance, per outcome.
    in_window = {o: rate[j] * window_days / span for j, o in enumerate(outcomes)}
    ratios = {(d, o): (in_window[o] + e) / in_window[o] for (d, o), e in extra.items()}
    cond = pd.DataFrame(
        [(p, o, day) for (p, o), day in events.items()],
        columns=["person_id", "condition_concept_id", "day"],
    )
    to_date = np.vectorize(lambda d: start + dt.timedelta(days=int(d)), otypes=[object])
    drug_exposure = pd.DataFrame(
        {
            "drug_exposure_id": np.arange(1, len(ex) + 1),
            "person_id": ex["person_id"],
            "drug_concept_id": ex["drug_concept_id"],
            "drug_source_value": None,
            "drug_exposure_start_date": to_date(ex["day"]),
        }
    )
    condition_occurrence = pd.DataFrame(
        {
            "condition_occurrence_id": np.arange(1, len(cond) + 1),
            "person_id": cond["person_id"],
            "condition_concept_id": cond["condition_concept_id"],
            "condition_source_value": None,
            "condition_start_date": to_date(cond["day"]),
        }
    )
    for df, col in (
        (drug_exposure, "drug_exposure_start_date"),
        (condition_occurrence, "condition_start_date"),
    ):
        df[col] = pd.to_datetime(df[col]).dt.date
    return SignalSimulation(
        tables={
            "drug_exposure": drug_exposure,
            "condition_occurrence": condition_occurrence,
            "observation_period": obs,
        },
        planted=planted,
        drugs=drugs,
        outcomes=outcomes,
        settings={"window_days": window_days, "n_persons": n_persons},
        excess=extra,
        risk_ratio=ratios,
    )
