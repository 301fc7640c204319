"""The claims fraud study on Spark: the study's own SQL (`medmine.studies._claims_sql`) through
the SQLGlot adapter, run end to end (`claims_fraud.run`) on the same simulated claims with
injected schemes as DuckDB: the same edit rows, provider features and detector scores, claim
scores, scheme hits and ranked worklists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmine.spark import java_missing_reason

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(java_missing_reason() is not None, reason=str(java_missing_reason())),
]

from medmine.studies import claims_fraud  # noqa: E402
from medmine.synth import fraud  # noqa: E402
from medmine.warehouse import Warehouse  # noqa: E402


def _sorted(df):
    df = df.reset_index(drop=df.index.name is None)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def both(tmp_path_factory, spark):
    from medmine.spark import SparkWarehouse

    d = tmp_path_factory.mktemp("claims")
    data, _truth = fraud.simulate_injected(fraud.SimConfig(n_providers=24, n_patients=240, seed=3))
    with Warehouse(d / "w.duckdb") as wh:
        fraud.to_warehouse(data, wh)
        wh.export_parquet(d / "pq")
        duck = claims_fraud.run(wh)
    return duck, claims_fraud.run(SparkWarehouse(d / "pq", spark))


def _same(s: pd.DataFrame, d: pd.DataFrame, what: str) -> None:
    """Equal frames: numbers within 1e-12 (Spark sums doubles in another order), the rest
    equal, a missing value equal to a missing value (None on DuckDB, NaN in Spark's Arrow
    strings)."""
    assert list(s.columns) == list(d.columns), what
    assert len(s) == len(d), what
    for c in d.columns:
        if pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c]):
            np.testing.assert_allclose(
                s[c].to_numpy(float), d[c].to_numpy(float), rtol=1e-12, err_msg=f"{what}.{c}"
            )
        else:
            got = [None if pd.isna(v) else v for v in s[c].tolist()]
            want = [None if pd.isna(v) else v for v in d[c].tolist()]
            assert got == want, f"{what}.{c}"


def test_claim_edits_and_rule_violations_are_the_same_rows(both):
    duck, spark = both
    assert len(duck.edits) > 10 and duck.edits["edit"].nunique() >= 3
    assert "rule_violation" in set(duck.edits["edit"])
    assert list(spark.edits.columns) == list(duck.edits.columns)
    pd.testing.assert_frame_equal(_sorted(spark.edits), _sorted(duck.edits), check_dtype=False)


def test_provider_features_and_detector_scores_are_the_same(both):
    duck, spark = both
    assert len(duck.providers) >= 20
    _same(spark.providers.sort_index(), duck.providers.sort_index(), "providers")
    assert list(spark.providers.sort_index().index) == list(duck.providers.sort_index().index)
    _same(_sorted(spark.em_distribution), _sorted(duck.em_distribution), "em_distribution")


def test_the_ranked_worklists_are_the_same(both):
    duck, spark = both
    assert duck.n_claims == spark.n_claims > 1000
    for name in (
        "claim_scores",
        "claims_ranked",
        "clinicians_ranked",
        "organisations_ranked",
        "scheme_hits",
        "investigate_claims",
        "investigate_providers",
    ):
        d, s = getattr(duck, name), getattr(spark, name)
        # the ranked lists keep their order (score, then reading order): compared row by row
        _same(s.reset_index(drop=True), d.reset_index(drop=True), name)
    assert duck.claims_ranked["score"].iloc[0] > 0 and len(duck.scheme_hits) > 10
