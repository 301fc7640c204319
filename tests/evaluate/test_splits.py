import numpy as np
import pandas as pd
import pytest

from medmine.errors import ConfigError
from medmine.evaluate import person_train_test_split, temporal_split


@pytest.mark.parametrize("stratify", [False, True])
def test_person_split_puts_no_person_on_both_sides(stratify):
    rng = np.random.default_rng(0)
    persons = rng.integers(0, 300, size=2000)
    y = rng.integers(0, 2, size=2000)
    train, test = person_train_test_split(
        persons, test_size=0.3, stratify=y if stratify else None, random_state=1
    )
    assert set(persons[train]).isdisjoint(persons[test])
    assert len(train) + len(test) == len(persons)
    share = len(np.unique(persons[test])) / len(np.unique(persons))
    assert share == pytest.approx(0.3, abs=0.02)


def test_person_split_stratifies_on_person_outcome():
    persons = np.arange(1000)
    y = (persons % 10 == 0).astype(int)  # 10% positive
    train, test = person_train_test_split(persons, test_size=0.25, stratify=y)
    assert y[test].mean() == pytest.approx(0.1, abs=0.01)
    assert y[train].mean() == pytest.approx(0.1, abs=0.01)


def test_temporal_split_orders_train_before_test_and_separates_persons():
    dates = pd.date_range("2010-01-01", periods=100, freq="30D")
    persons = np.arange(100) % 40  # persons recur over time
    tar_end = dates + pd.Timedelta(days=365)
    split = temporal_split(dates, persons, cutoff="2015-01-01", outcome_window_end=tar_end)
    assert dates[split.train].max() < split.cutoff <= dates[split.test].min()
    assert tar_end[split.train].max() < split.cutoff
    assert set(persons[split.train]).isdisjoint(persons[split.test])
    assert split.dropped_persons > 0


def test_temporal_split_default_cutoff_and_empty_side_error():
    dates = pd.date_range("2010-01-01", periods=100, freq="D")
    split = temporal_split(dates, np.arange(100), test_fraction=0.2)
    assert len(split.test) == pytest.approx(20, abs=1)
    with pytest.raises(ConfigError, match="leaves 0 training"):
        temporal_split(dates, np.arange(100), cutoff="2000-01-01")
