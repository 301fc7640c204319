"""Claims-fraud features on Spark: the study's own SQL (`medmine.studies._claims_sql`, run by
the claim edits, the rule-violation miner and the provider profiles) through the SQLGlot
adapter, equal to DuckDB on the same simulated claims with injected schemes.
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

from medmine.features.persons import select_persons  # noqa: E402
from medmine.studies._claims_edits import build_fl, claim_edits  # noqa: E402
from medmine.studies._claims_profiles import provider_features  # noqa: E402
from medmine.studies._claims_types import FraudStudyConfig  # noqa: E402
from medmine.studies.claims_fraud import rule_violations  # noqa: E402
from medmine.synth import fraud  # noqa: E402
from medmine.warehouse import Warehouse  # noqa: E402


def _features(wh, cfg):
    person_sql = select_persons(wh, cfg.consent_purpose).person_ids_sql
    fl = build_fl(wh.con, person_sql)
    edits = claim_edits(wh, person_sql, fl)
    viol, _rules = rule_violations(wh, fl, cfg, person_sql)
    if len(viol):
        edits = pd.concat([edits, viol.assign(edit="rule_violation")], ignore_index=True)
    feats, em_long = provider_features(wh, fl, edits, cfg)
    return edits, feats, em_long


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
        cfg = FraudStudyConfig()
        duck = _features(wh, cfg)
    spark_out = _features(SparkWarehouse(d / "pq", spark), cfg)
    return duck, spark_out


def test_claim_edits_and_rule_violations_are_the_same_rows(both):
    (d_edits, _, _), (s_edits, _, _) = both
    assert len(d_edits) > 10 and d_edits["edit"].nunique() >= 3
    assert list(s_edits.columns) == list(d_edits.columns)
    pd.testing.assert_frame_equal(_sorted(s_edits), _sorted(d_edits), check_dtype=False)


def test_provider_features_are_the_same(both):
    (_, d_feats, d_em), (_, s_feats, s_em) = both
    assert len(d_feats) >= 20
    assert list(s_feats.columns) == list(d_feats.columns)
    d = d_feats.sort_index()
    s = s_feats.sort_index()
    assert list(s.index) == list(d.index)
    for c in d.columns:
        if pd.api.types.is_numeric_dtype(d[c]):
            # sums of doubles are added in another order on Spark (no compensated sum)
            np.testing.assert_allclose(
                s[c].to_numpy(float), d[c].to_numpy(float), rtol=1e-12, err_msg=c
            )
        else:
            assert s[c].tolist() == d[c].tolist(), c
    pd.testing.assert_frame_equal(_sorted(s_em), _sorted(d_em), check_dtype=False)
