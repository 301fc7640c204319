"""One-machine simulation of a network study: split, train every way, audit every message.

`simulate` is what ``medmine federated simulate`` runs: the study's cohort and covariates,
sites from `split_sites`, person ids replaced by random canaries (the models never read ids;
the canaries make the leakage audit exact), `compare`, then `audit` over every message of
every federated run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medmine.federated.audit import AuditFinding, audit, canary_ids
from medmine.federated.experiment import Comparison, FederatedConfig, StudyData, compare
from medmine.federated.sites import split_sites

#: Date columns of a cohort frame; none of their values may appear in a message.
DATE_COLUMNS = (
    "index_date",
    "tar_start",
    "tar_end",
    "outcome_date",
    "entry_start_date",
    "entry_end_date",
)


@dataclass
class Simulation:
    """A comparison plus the audit of what crossed the site boundaries."""

    comparison: Comparison
    findings: list[AuditFinding]
    messages: int
    bytes_sent: int
    settings: dict[str, Any] = field(default_factory=dict)


def with_canaries(data: StudyData, seed: int = 0) -> tuple[StudyData, list[int]]:
    """`data` with every person id replaced by a random 13-digit canary (same grouping)."""
    mapping = canary_ids(data.frame["person_id"], seed)
    frame = data.frame.assign(person_id=data.frame["person_id"].map(mapping))
    return StudyData(frame, data.X, data.names), list(mapping.values())


def audit_comparison(data: StudyData, comp: Comparison, ids: list[int]) -> list[AuditFinding]:
    """Audit every transport of `comp` against the ids, dates and row counts of `data`."""
    counts = {int(v) for col in ("rows", "persons", "train rows", "test rows")
              for v in comp.sites[col]}  # fmt: skip
    counts.add(len(data.frame))
    dates = np.concatenate(
        [data.frame[c].dropna().to_numpy() for c in DATE_COLUMNS if c in data.frame]
    )
    findings = []
    for t in comp.transports.values():
        findings += audit(
            t.log,
            row_counts=counts,
            person_ids=ids,
            dates=dates,
            allowed_lengths={data.X.shape[1]},
        )
    return findings


def simulate(
    wh: Any,
    data: StudyData,
    *,
    n_sites: int = 3,
    split: str = "auto",
    alpha: float = 0.5,
    config: FederatedConfig | None = None,
) -> Simulation:
    """Split `data` into `n_sites` sites, compare pooled/federated/alone, audit messages."""
    cfg = config or FederatedConfig()
    sites = split_sites(
        wh, data.frame, by=split, n_sites=n_sites, alpha=alpha, random_state=cfg.random_state
    )
    data, ids = with_canaries(data, cfg.random_state)
    comp = compare(data, sites, cfg)
    findings = audit_comparison(data, comp, ids)
    logs = [t.log for t in comp.transports.values()]
    return Simulation(
        comp,
        findings,
        sum(len(g) for g in logs),
        sum(t.bytes_sent for t in comp.transports.values()),
        {"sites": n_sites, "split": sites.method, **cfg.__dict__},
    )
