"""Pooled vs federated vs each site alone, on the same held-out persons of every site.

`study_data` builds a study's cohort and covariate matrix with the public feature builders
(`medmine.features.build_cohort`, `extract_covariates`), as the prediction studies do.
`compare` splits each site's persons into training and test persons (stratified by outcome,
person-level), trains

* pooled: L1-logistic regression on the training rows of all sites together (the ceiling a
  network could reach if data could be pooled);
* federated: FedAvg and FedProx (and FedAvg with differential privacy when asked), through an
  `InProcessTransport` that serialises and records every message;
* each site alone: the same model on that site's training rows only;

and evaluates every model on the union of the sites' test persons: AUROC with a person-level
bootstrap 95% CI, plus each site's own test AUROC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from medmine.evaluate import auroc_ci, person_train_test_split
from medmine.features import CovariateSettings, build_cohort, extract_covariates
from medmine.federated.client import LogisticClient
from medmine.federated.sites import SiteSplit
from medmine.federated.strategy import FedAvg, FedProx, LogisticModel, run_federated
from medmine.federated.transport import InProcessTransport

#: Extra column of the readmission study, known at discharge.
STAY_LENGTH = "index stay length (days)"


@dataclass
class StudyData:
    """A cohort frame with its covariate matrix (rows in frame order)."""

    frame: pd.DataFrame
    X: sp.csr_matrix
    names: list[str]


def study_data(
    wh: Any,
    definition: Any,
    settings: CovariateSettings | None = None,
    *,
    stay_length: bool = False,
) -> StudyData:
    """Consented cohort of `definition` and its covariates (plus the stay length if asked)."""
    cohort = build_cohort(wh, definition, purpose="research")
    cm = extract_covariates(wh, cohort, settings or CovariateSettings())
    frame = cohort.frame.reset_index(drop=True)
    pos = pd.Series(np.arange(len(cm.row_ids)), index=cm.row_ids)
    X = cm.X[pos.loc[frame["row_id"].to_numpy()].to_numpy()]
    names = list(cm.columns)
    if stay_length:
        days = (
            pd.to_datetime(frame["entry_end_date"]) - pd.to_datetime(frame["entry_start_date"])
        ).dt.days.clip(lower=0)
        X = sp.hstack([X, sp.csr_matrix(days.to_numpy(dtype=float)[:, None])], format="csr")
        names.append(STAY_LENGTH)
    return StudyData(frame, sp.csr_matrix(X, dtype=np.float64), names)


@dataclass
class FederatedConfig:
    """Settings of a comparison.

    Parameters
    ----------
    rounds, local_steps
        Federated rounds and proximal-gradient steps per site and round.
    C
        Inverse L1 strength (scikit-learn's ``C``), the same for every model.
    mu
        FedProx's proximal weight.
    dp_epsilon, dp_delta, clip
        Differential privacy per person for an extra FedAvg run (None: not run).
    test_size
        Share of each site's persons held out.
    n_boot
        Bootstrap replicates of the CIs.
    boosting
        Also train federated gradient boosting (`medmine.federated.boosting`).
    """

    rounds: int = 40
    local_steps: int = 10
    C: float = 0.1
    mu: float = 0.1
    dp_epsilon: float | None = None
    dp_delta: float = 1e-5
    clip: float = 1.0
    test_size: float = 0.25
    n_boot: int = 200
    boosting: bool = True
    random_state: int = 0


@dataclass
class Comparison:
    """The comparison table and what produced it."""

    table: pd.DataFrame
    sites: pd.DataFrame
    split: str
    transports: dict[str, InProcessTransport] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    epsilon: float | None = None
    notes: list[str] = field(default_factory=list)


def fit_central(X: sp.csr_matrix, y: np.ndarray, C: float, seed: int) -> LogisticModel:
    """Centralised L1-logistic (scikit-learn saga) on rows scaled by their own RMS."""
    from sklearn.linear_model import LogisticRegression

    scale = np.sqrt(np.asarray(X.multiply(X).mean(axis=0)).ravel())
    scale[scale == 0] = 1.0
    m = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", max_iter=3000, random_state=seed)
    m.fit(X @ sp.diags(1.0 / scale), y)
    return LogisticModel(m.coef_.ravel(), float(m.intercept_[0]), scale)


def make_clients(
    data: StudyData, sites: pd.Series, rows: np.ndarray, seed: int
) -> dict[str, LogisticClient]:
    """One `LogisticClient` per site holding that site's `rows` (positions in the frame)."""
    y = data.frame["outcome"].to_numpy().astype(float)
    persons = data.frame["person_id"].to_numpy()
    out = {}
    for i, s in enumerate(sorted(sites.iloc[rows].unique(), key=lambda v: (len(v), v))):
        r = rows[sites.iloc[rows].to_numpy() == s]
        out[s] = LogisticClient(data.X[r], y[r], persons[r], random_state=seed + i)
    return out


def compare(data: StudyData, split: SiteSplit, config: FederatedConfig | None = None) -> Comparison:
    """Train pooled, federated and site-alone models; evaluate all on the same test persons."""
    cfg = config or FederatedConfig()
    frame, X = data.frame, data.X
    y = frame["outcome"].to_numpy().astype(int)
    persons = frame["person_id"].to_numpy()
    sites = split.site.reset_index(drop=True)
    names = split.names
    train_parts, test_parts, site_rows = [], [], []
    for s in names:
        idx = np.flatnonzero(sites.to_numpy() == s)
        tr, te = person_train_test_split(
            persons[idx], test_size=cfg.test_size, stratify=y[idx], random_state=cfg.random_state
        )
        train_parts.append(idx[tr])
        test_parts.append(idx[te])
        site_rows.append(
            {
                "site": s,
                "persons": int(len(np.unique(persons[idx]))),
                "rows": int(len(idx)),
                "outcomes": int(y[idx].sum()),
                "outcome rate": float(y[idx].mean()),
                "mean age": float(frame["age_at_index"].iloc[idx].mean()),
                "train rows": int(len(tr)),
                "test rows": int(len(te)),
            }
        )
    train, test = np.concatenate(train_parts), np.concatenate(test_parts)
    models: dict[str, tuple[str, Any]] = {}
    pooled_model = fit_central(X[train], y[train], cfg.C, 0)
    models["Pooled (ceiling)"] = ("all sites' rows pooled", pooled_model)
    transports: dict[str, InProcessTransport] = {}
    strategies = [
        FedAvg(C=cfg.C, local_steps=cfg.local_steps),
        FedProx(C=cfg.C, local_steps=cfg.local_steps, mu=cfg.mu),
    ]
    if cfg.dp_epsilon:
        strategies.append(
            FedAvg(
                C=cfg.C,
                local_steps=cfg.local_steps,
                dp_epsilon=cfg.dp_epsilon,
                dp_delta=cfg.dp_delta,
                clip=cfg.clip,
            )
        )
    epsilon = None
    for strat in strategies:
        t = InProcessTransport(make_clients(data, sites, train, cfg.random_state))
        model = run_federated(t, strat, cfg.rounds)
        transports[strat.name] = t
        models[f"Federated {strat.name}"] = (f"{len(names)} sites, parameters only", model)
        if strat.dp_epsilon:
            epsilon = strat.epsilon()
    if cfg.boosting:
        from medmine.federated.boosting import run_boosting

        t, model = run_boosting(data, sites, train, seed=cfg.random_state)
        transports["boosting"] = t
        models["Federated LightGBM (bagging)"] = (f"{len(names)} sites, trees only", model)
    for s, part in zip(names, train_parts, strict=True):
        if len(np.unique(y[part])) < 2:
            continue
        models[f"{s} alone"] = (f"{s}'s rows only", fit_central(X[part], y[part], cfg.C, 0))
    rows = []
    for label, (trained_on, model) in models.items():
        p = model.predict_proba(X[test])[:, 1]
        ci = auroc_ci(
            y[test], p, groups=persons[test], n_boot=cfg.n_boot, random_state=cfg.random_state
        )
        row = {
            "model": label,
            "trained on": trained_on,
            "auroc": ci.estimate,
            "auroc_lower": ci.lower,
            "auroc_upper": ci.upper,
            "n_test": int(len(test)),
            "outcomes_test": int(y[test].sum()),
        }
        for s, part in zip(names, test_parts, strict=True):
            ps = model.predict_proba(X[part])[:, 1]
            row[f"auroc {s}"] = _auc(y[part], ps) if len(np.unique(y[part])) == 2 else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    notes = [f"Sites: {split.description}."]
    pooled = table.loc[table.model == "Pooled (ceiling)", "auroc"].iloc[0]
    if pooled > 0.95:
        notes.append("Pooled AUROC above 0.95: implausibly good for this task; check for leakage.")
    t = table.set_index("model")["auroc"]
    alone = t[[m for m in t.index if m.endswith(" alone")]]
    if len(alone) and t["Federated FedAvg"] < alone.max():
        notes.append(
            f"Federated FedAvg ({t['Federated FedAvg']:.3f}) is below {alone.idxmax()} "
            f"({alone.max():.3f}) on these test persons: the network did not help here."
        )
    for r in site_rows:
        if r["outcomes"] < 20:
            notes.append(f"{r['site']} has only {r['outcomes']} outcomes: its own model is weak.")
    if y[test].sum() < 50:
        notes.append(f"Only {int(y[test].sum())} test outcomes: CIs are wide.")
    return Comparison(
        table,
        pd.DataFrame(site_rows),
        split.description,
        transports,
        {k: m for k, (_, m) in models.items()},
        epsilon,
        notes,
    )


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))
