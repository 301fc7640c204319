import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.surveillance.monitor import monitor_table
from medmine.surveillance.series import SeriesError, detect_frequency, from_frame, read_counts_csv


def _csv(tmp_path, text):
    p = tmp_path / "c.csv"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("dates", "freq"),
    [
        (["2024-01-01", "2024-01-02", "2024-01-03"], "daily"),
        (["2024-01-01", "2024-01-08", "2024-01-15"], "weekly"),
        (["2024-01-01", "2024-02-01", "2024-03-01"], "monthly"),
    ],
)
def test_frequency_is_detected_from_the_dates(dates, freq):
    assert detect_frequency(pd.DatetimeIndex(dates)) == freq


def test_reads_areas_into_one_calendar(tmp_path):
    p = _csv(
        tmp_path,
        "date,area,count\n2024-01-01,B,1\n2024-01-01,A,2\n2024-01-08,A,3\n2024-01-08,B,0\n",
    )
    t = read_counts_csv(p)
    assert t.areas == ["A", "B"] and t.freq == "weekly"
    assert t.counts.tolist() == [[2, 3], [1, 0]]


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ("2024-01-01,1\n2024-01-08,-2\n", "line 3: count is negative"),
        ("2024-01-01,1\n2024-01-08,1.5\n", "line 3: count is not a whole number"),
        ("2024-01-01,1\nnot-a-date,1\n", "line 3: date is not a date"),
        ("2024-01-01,1\n2024-01-08,\n", "line 3: count is missing"),
        (
            "2024-01-01,1\n2024-01-08,2\n2024-01-22,1\n2024-01-29,1\n",
            "1 period\\(s\\) missing, first 2024-01-15",
        ),
        ("2024-01-01,1\n2024-01-01,2\n", "second count for the same area and date"),
    ],
)
def test_bad_rows_are_refused_with_their_line(tmp_path, body, msg):
    with pytest.raises(SeriesError, match=msg):
        read_counts_csv(_csv(tmp_path, "date,count\n" + body))


def test_gaps_can_be_filled_with_zero_and_are_reported(tmp_path):
    p = _csv(tmp_path, "date,count\n2024-01-01,1\n2024-01-08,2\n2024-01-22,1\n2024-01-29,1\n")
    t = read_counts_csv(p, fill_gaps=True)
    assert t.counts.tolist() == [[1, 2, 0, 1, 1]] and t.filled == {"all": 1}


def test_missing_column_is_named(tmp_path):
    with pytest.raises(SeriesError, match=r"missing column\(s\) \['count'\]"):
        read_counts_csv(_csv(tmp_path, "date,n\n2024-01-01,1\n"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=3, max_size=40), st.sampled_from(["D", "7D", "MS"]))
def test_any_regular_nonnegative_series_round_trips(values, freq):
    dates = pd.date_range("2020-01-01", periods=len(values), freq=freq)
    t = from_frame(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "count": values}))
    assert t.counts[0].tolist() == values
    assert t.freq == {"D": "daily", "7D": "weekly", "MS": "monthly"}[freq]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=3)),
        min_size=2,
        max_size=10,
    )
)
def test_any_bad_count_column_fails_cleanly_or_parses(values):
    dates = pd.date_range("2020-01-06", periods=len(values), freq="7D")
    try:
        t = from_frame(pd.DataFrame({"date": dates, "count": values}))
    except SeriesError:
        return
    assert (t.counts >= 0).all() and (t.counts % 1 == 0).all()


def test_monitor_warns_on_sparse_series_and_applies_fdr():
    rng = np.random.default_rng(0)
    n = 200
    dates = pd.date_range("2020-01-06", periods=n, freq="7D")
    busy = rng.poisson(20, n)
    busy[-1] = 60
    sparse = (rng.random(n) < 0.1).astype(int)
    df = pd.DataFrame(
        {
            "date": np.tile(dates, 2),
            "area": np.repeat(["busy", "sparse"], n),
            "count": np.r_[busy, sparse],
        }
    )
    res = monitor_table(from_frame(df), "ears-c1")
    assert res.sparse_areas == ["sparse"]
    assert any("too sparse" in w for w in res.warnings)
    last = res.frame[res.frame["date"] == dates[-1]].set_index("area")
    assert bool(last.loc["busy", "alarm"]) and bool(last.loc["busy", "alarm_fdr"])
    assert (res.frame[res.frame["status"] == "baseline"]["alarm"] == False).all()  # noqa: E712


def test_monitor_refuses_series_too_short_for_the_method():
    df = pd.DataFrame(
        {"date": pd.date_range("2020-01-06", periods=100, freq="7D"), "count": np.ones(100, int)}
    )
    with pytest.raises(Exception, match="farrington needs 264 of baseline.*EARS C1"):
        monitor_table(from_frame(df), "farrington")
