import datetime as dt
import json

import numpy as np
import pandas as pd

from medmine.report.study_pages import write_study
from medmine.studies import get_study
from medmine.warehouse import Warehouse

from ..surveillance.conftest import build_warehouse


def test_surveillance_study_counts_monitors_evaluates_and_writes_its_page(tmp_path):
    with build_warehouse(str(tmp_path / "w.duckdb")) as wh:
        study = get_study("surveillance")
        cfg = study.make_config(
            {
                "syndromes": "ILI,GI",
                "eval_n": "2",
                "area": "none",
                "start": "2021-01-04",
                "method": "nbcusum",
            }
        )
        r = study.run(wh, cfg)
        link = write_study(r, tmp_path / "rep")
    tab = r.syndrome_table()
    assert set(tab["syndrome"]) == {"ILI", "GI"} and set(tab["method"]) >= {"farrington"}
    assert r.status == "warn" and any("too sparse" in n for n in r.notes)
    far = tab[tab["method"] == "farrington"]
    assert far["warning"].str.contains("needs 264 of baseline").all()
    assert set(r.evaluation["setting"]) == {"default", "matched"}
    json.dumps(r.key_figures())
    page = (tmp_path / "rep" / link.href).read_text(encoding="utf-8")
    assert "Detector evaluation on simulated outbreaks" in page
    assert "The 42 scenarios are Noufaily" in page  # the scenario table's provenance
    # the page says where the quoted 80-93% comes from and shows the oracle ceiling
    assert "Watkins et al. 2008" in page and "POD by baseline group" in page
    assert "oracle" in set(r.evaluation["method"])
    assert (tmp_path / "rep" / "study_surveillance" / "evaluation_summary.csv").exists()


def test_operations_forecast_study_backtests_and_staffs(tmp_path):
    rng = np.random.default_rng(5)
    with Warehouse(str(tmp_path / "v.duckdb")) as wh:
        wh.con.execute(
            "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
            "race_concept_id, ethnicity_concept_id) VALUES (1, 0, 1970, 0, 0)"
        )
        day0 = dt.date(2024, 1, 1)
        rows = []
        for d in range(150):
            for _ in range(rng.poisson(6 + 3 * (d % 7 < 5))):
                start = day0 + dt.timedelta(days=d)
                end = start + dt.timedelta(days=int(rng.integers(1, 5)))
                rows.append((len(rows) + 1, start, end))
        visits = pd.DataFrame(rows, columns=["id", "s", "e"])  # noqa: F841 - read by DuckDB
        wh.con.execute(
            "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
            "visit_start_date, visit_end_date, visit_type_concept_id) "
            "SELECT id, 1, 9201, s, e, 0 FROM visits"
        )
        study = get_study("operations_forecast")
        cfg = study.make_config(
            {
                "series": "admissions,census",
                "horizon": "7",
                "n_origins": "3",
                "models": "seasonal_naive,ets",
                "start": "2024-01-01",
                "end": "2024-05-29",
            }
        )
        r = study.run(wh, cfg)
        link = write_study(r, tmp_path / "rep")
    bt = r.backtest_table()
    assert set(bt["series"]) == {"admissions", "census"} and (bt["n"] == 21).all()
    assert r.series[1].staffing is not None and "nurses_hi95" in r.series[1].staffing
    assert not any("sparse" in n for n in r.notes)  # busy series: no sparsity warning
    assert any("only 21 backtest forecasts" in n for n in r.notes)  # 3 origins x 7 days
    page = (tmp_path / "rep" / link.href).read_text(encoding="utf-8")
    assert "Staffing view" in page and "Backtest" in page
