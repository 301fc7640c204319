"""Only model parameters cross a site boundary: every message of every federated run is
recorded by the transport and scanned for person-level rows, person ids and dates."""

import numpy as np
import pandas as pd
import pytest

from medmine.federated import FederatedConfig, FitRes, InProcessTransport, audit, run_federated
from medmine.federated.experiment import make_clients
from medmine.federated.simulation import DATE_COLUMNS, audit_comparison, simulate, with_canaries
from medmine.federated.sites import split_sites
from medmine.federated.strategy import FedAvg


@pytest.fixture(scope="module")
def sim(eunomia_wh, gi_data):
    cfg = FederatedConfig(rounds=8, local_steps=5, dp_epsilon=3.0, n_boot=20)
    return simulate(eunomia_wh, gi_data, n_sites=3, config=cfg)


def test_every_message_of_every_run_holds_only_parameters(sim):
    comp = sim.comparison
    # FedAvg, FedProx, FedAvg + DP and the boosting run were all recorded, both directions
    assert set(comp.transports) == {"FedAvg", "FedProx", "FedAvg + DP (ε=3)", "boosting"}
    for t in comp.transports.values():
        assert {e.direction for e in t.log} == {"to_site", "to_coordinator"}
        for e in t.log:
            for a in e.arrays:
                assert a.ndim == 1 and (a.dtype.kind == "f" or a.dtype == np.uint8)
    assert sim.messages > 3 * 8 * 2 * 3
    assert sim.findings == []


def _leaky_run(data, sites, rows, leak):
    class Leaky:
        def __init__(self, inner, X, persons, frame):
            self.inner, self.X, self.persons, self.frame = inner, X, persons, frame

        def get_properties(self, config):
            return self.inner.get_properties(config)

        def fit(self, parameters, config):
            res = self.inner.fit(parameters, config)
            extra = {
                "rows": [self.X[:3].toarray()],
                "predictions": [np.full(self.X.shape[0], 0.2)],
                "ids": [self.persons.astype(float)[:5] * 1.0],
                "dates": [  # epoch days of two index dates
                    (pd.to_datetime(self.frame["index_date"]) - pd.Timestamp(0)).dt.days.to_numpy(
                        dtype=float
                    )[:2]
                ],
            }[leak]
            return FitRes(res.parameters + extra, res.num_examples, res.metrics)

    clients = make_clients(data, sites, rows, 0)
    y_sites = sites.iloc[rows].to_numpy()
    leaky = {}
    for s, c in clients.items():
        r = rows[y_sites == s]
        leaky[s] = Leaky(c, data.X[r], data.frame["person_id"].to_numpy()[r], data.frame.iloc[r])
    t = InProcessTransport(leaky)

    class KeepThree(FedAvg):
        def aggregate_fit(self, results):
            return super().aggregate_fit(
                [FitRes(r.parameters[:3], r.num_examples) for r in results]
            )

    run_federated(t, KeepThree(local_steps=2), rounds=2)
    return t


@pytest.mark.parametrize(
    ("leak", "reason"),
    [
        ("rows", "matrix"),
        ("predictions", "row-shaped vector"),
        ("ids", "person id"),
        ("dates", "date value"),
    ],
)
def test_audit_catches_a_site_that_sends_person_level_data(eunomia_wh, gi_data, leak, reason):
    """The audit is not vacuous: a client that adds rows, per-row values, ids or dates to its
    parameters is caught."""
    data, ids = with_canaries(gi_data)
    sites = split_sites(eunomia_wh, gi_data.frame, n_sites=3).site
    rows = np.arange(len(data.frame))
    t = _leaky_run(data, sites, rows, leak)
    counts = {int(v) for v in sites.value_counts()}
    dates = np.concatenate([data.frame[c].dropna().to_numpy() for c in DATE_COLUMNS])
    found = audit(
        t.log, row_counts=counts, person_ids=ids, dates=dates, allowed_lengths={data.X.shape[1]}
    )
    assert found and {f.reason for f in found} == {reason}
    assert {f.direction for f in found} == {"to_coordinator"}


def test_audit_reads_dates_and_ids_in_model_text_and_config(sim, gi_data):
    from medmine.federated.transport import Envelope

    text = np.frombuffer(b"Tree=0\nthreshold=2019-03-04\n", dtype=np.uint8)
    e1 = Envelope("to_coordinator", "site 1", "fit", 1, [text], {}, 0)
    e2 = Envelope("to_site", "site 1", "fit", 1, [], {"note": "2019-03-04"}, 0)
    e3 = Envelope("to_site", "site 1", "fit", 1, [np.array([1.5, 7123456789012.0])], {}, 0)
    e4 = Envelope("to_site", "site 1", "fit", 1, [np.array([1, 2])], {}, 0)
    found = audit([e1, e2, e3, e4], person_ids=[7123456789012])
    assert [f.reason for f in found] == [
        "date-like text",
        "date-like text in config or metrics",
        "person id",
        "array of dtype int64 (only float vectors and model text may travel)",
    ]


def test_audit_comparison_uses_the_canaries(sim, gi_data):
    data, ids = with_canaries(gi_data)
    assert min(ids) >= 10**12 and len(set(ids)) == gi_data.frame["person_id"].nunique()
    assert audit_comparison(data, sim.comparison, ids) == []
