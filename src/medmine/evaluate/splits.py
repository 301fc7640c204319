"""Leakage-safe splits: person-level train/test and temporal validation.

Rows of one person (several stays, several index dates) share outcomes and habits; a model
tested on a person it was trained on looks better than it is. Both splitters here guarantee
that no person is on both sides.

>>> import numpy as np
>>> persons = np.array([1, 1, 2, 3, 3, 4, 5, 6])
>>> tr, te = person_train_test_split(persons, test_size=0.5, random_state=0)
>>> set(persons[tr]) & set(persons[te])
set()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medmine.errors import ConfigError


def person_train_test_split(
    person_ids: Sequence,
    *,
    test_size: float = 0.25,
    stratify: Sequence | None = None,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)`` such that every person is entirely in one of them.

    Parameters
    ----------
    person_ids
        One person id per row.
    test_size
        Share of persons in the test set, in (0, 1).
    stratify
        Optional 0/1 outcome per row; persons are stratified on "has any positive row", so both
        sets keep the outcome rate.
    """
    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be in (0, 1). Got {test_size} instead.")
    persons = np.asarray(person_ids)
    uniq, inverse = np.unique(persons, return_inverse=True)
    rng = np.random.default_rng(random_state)
    test_person = np.zeros(len(uniq), dtype=bool)
    if stratify is None:
        strata = np.zeros(len(uniq), dtype=int)
    else:
        pos = np.zeros(len(uniq), dtype=int)
        np.maximum.at(pos, inverse, (np.asarray(stratify) > 0).astype(int))
        strata = pos
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        k = int(round(test_size * len(members)))
        if len(members) > 1:
            k = min(max(k, 1), len(members) - 1)
        test_person[rng.choice(members, size=k, replace=False)] = True
    is_test = test_person[inverse]
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


@dataclass(frozen=True)
class TemporalSplit:
    """Indices of a temporal validation split and the cutoff that made it."""

    train: np.ndarray
    test: np.ndarray
    cutoff: pd.Timestamp
    dropped_persons: int


def temporal_split(
    index_dates: Sequence,
    person_ids: Sequence,
    *,
    cutoff: str | pd.Timestamp | None = None,
    test_fraction: float = 0.25,
    outcome_window_end: Sequence | None = None,
) -> TemporalSplit:
    """Train on rows indexed before `cutoff`, test on rows indexed on or after it.

    Parameters
    ----------
    index_dates
        Index date of each row.
    person_ids
        Person of each row; persons with rows after the cutoff are test persons, and their
        earlier rows are dropped from training (no person on both sides).
    cutoff
        Date; default: the ``1 - test_fraction`` quantile of index dates.
    outcome_window_end
        Optional end of each row's time at risk (``tar_end``); training rows whose window ends
        on or after the cutoff are dropped, so no training label is observed after the cutoff.
    """
    dates = pd.to_datetime(pd.Series(np.asarray(index_dates)))
    persons = np.asarray(person_ids)
    if cutoff is None:
        if not 0 < test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1). Got {test_fraction} instead.")
        cutoff = dates.quantile(1 - test_fraction)
    cut = pd.Timestamp(cutoff)
    after = (dates >= cut).to_numpy()
    test_persons = np.unique(persons[after])
    before = ~after
    in_test = np.isin(persons, test_persons)
    train_mask = before & ~in_test
    if outcome_window_end is not None:
        ends = pd.to_datetime(pd.Series(np.asarray(outcome_window_end))).to_numpy()
        train_mask &= ends < cut.to_datetime64()
    dropped = len(np.unique(persons[before & in_test]))
    train, test = np.flatnonzero(train_mask), np.flatnonzero(after)
    if len(train) == 0 or len(test) == 0:
        raise ConfigError(
            f"temporal split at {cut.date()} leaves {len(train)} training and {len(test)} test "
            "rows; choose a cutoff inside the range of index dates"
        )
    return TemporalSplit(train, test, cut, dropped)
