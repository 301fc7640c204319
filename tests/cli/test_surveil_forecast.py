import numpy as np
import pandas as pd
from typer.testing import CliRunner

from medmine.cli import app

from ..surveillance.conftest import build_warehouse


def _weekly(tmp_path, n=140, spike=True, areas=None):
    rng = np.random.default_rng(0)
    d = pd.date_range("2020-01-06", periods=n, freq="7D").strftime("%Y-%m-%d")
    y = rng.poisson(10, n)
    if spike:
        y[-2] = 40
    df = pd.DataFrame({"date": d, "count": y})
    if areas:
        df = pd.concat([df.assign(area=a) for a in areas])
    p = tmp_path / "counts.csv"
    df.to_csv(p, index=False)
    return p


def test_detect_adds_expected_threshold_alarm(tmp_path):
    out = tmp_path / "alarms.csv"
    res = CliRunner().invoke(
        app, ["surveil", "detect", str(_weekly(tmp_path)), "--method", "ears-c2", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert list(df.columns) == [
        "date",
        "count",
        "expected",
        "threshold",
        "alarm",
        "pvalue",
        "status",
    ]
    assert (df["status"].iloc[:9] == "baseline").all() and df["expected"].iloc[:9].isna().all()
    assert bool(df["alarm"].iloc[-2])
    assert "weekly" in res.output


def test_detect_with_areas_adds_fdr_columns(tmp_path):
    out = tmp_path / "a.csv"
    p = _weekly(tmp_path, areas=["x", "y"])
    res = CliRunner().invoke(app, ["surveil", "detect", str(p), "-m", "nbcusum", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {"area", "qvalue", "alarm_fdr"} <= set(pd.read_csv(out).columns)


def test_detect_bad_and_short_series_exit_1_with_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,count\n2024-01-01,3\n2024-01-08,-1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["surveil", "detect", str(bad)])
    assert res.exit_code == 1 and "bad.csv line 3: count is negative" in res.output
    res = CliRunner().invoke(
        app,
        [
            "surveil",
            "detect",
            str(_weekly(tmp_path, n=60)),
            "-m",
            "farrington",
            "-o",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 1 and "needs 264 of baseline" in res.output
    assert "Traceback" not in res.output


def test_forecast_csv_writes_the_documented_columns(tmp_path):
    d = pd.date_range("2024-01-01", periods=120, freq="D")
    rng = np.random.default_rng(1)
    p = tmp_path / "s.csv"
    pd.DataFrame({"date": d.strftime("%Y-%m-%d"), "value": rng.poisson(20, 120)}).to_csv(
        p, index=False
    )
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(app, ["forecast", str(p), "--horizon", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    f = pd.read_csv(out)
    assert list(f.columns) == ["date", "mean", "lo80", "hi80", "lo95", "hi95"]
    assert f["date"].tolist()[0] == "2024-04-30" and len(f) == 5


def test_forecast_census_from_warehouse_has_staffing(tmp_path):
    wh = build_warehouse(str(tmp_path / "w.duckdb"))
    wh.close()
    out = tmp_path / "c.csv"
    res = CliRunner().invoke(
        app,
        [
            "forecast",
            "census",
            "-w",
            str(tmp_path / "w.duckdb"),
            "--model",
            "seasonal_naive",
            "--horizon",
            "3",
            "--start",
            "2023-12-01",
            "--end",
            "2024-01-10",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "nurses_hi95" in pd.read_csv(out).columns
    assert "sparse" in res.output


def test_forecast_unknown_target(tmp_path):
    res = CliRunner().invoke(app, ["forecast", "beds"])
    assert res.exit_code == 1 and "neither a CSV file nor a warehouse series" in res.output


def test_surveil_run_warns_that_sparse_series_give_no_confident_alarms(tmp_path):
    build_warehouse(str(tmp_path / "w.duckdb")).close()
    res = CliRunner().invoke(
        app,
        [
            "surveil",
            "run",
            "-w",
            str(tmp_path / "w.duckdb"),
            "--syndrome",
            "ILI",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "ILI:" in res.output and "too sparse" in res.output
    page = (tmp_path / "rep" / "study_surveillance.html").read_text(encoding="utf-8")
    assert "Read the alarms with care" in page


def test_surveil_run_short_window_says_the_method_cannot_run(tmp_path):
    build_warehouse(str(tmp_path / "w.duckdb")).close()
    res = CliRunner().invoke(
        app,
        [
            "surveil",
            "run",
            "-w",
            str(tmp_path / "w.duckdb"),
            "-s",
            "ILI",
            "--start",
            "2023-12-25",
            "--end",
            "2024-01-29",
            "--out",
            str(tmp_path / "rep"),
        ],
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "rep" / "study_surveillance.html").read_text(encoding="utf-8")
    assert "not monitored" in page and "needs 264 of baseline" in page
