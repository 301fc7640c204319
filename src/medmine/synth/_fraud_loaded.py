"""Claim-level fraud schemes injected in place into claims already loaded in a warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from medmine.synth._fraud_schemes import FraudTruth

#: SNOMED pairs and limits used when injecting into the Synthea FHIR sample's claims.
SNOMED_UNBUNDLE = {"185349003": "162673000", "424441002": "424619006", "185347001": "185345009"}
SNOMED_MUE = {"162673000": 1, "185349003": 1, "424619006": 1}


@dataclass(frozen=True)
class LoadedFraudConfig:
    """Claim-level injection rates for claims already in a warehouse (e.g. FHIR Claim/EOB)."""

    duplicate: float = 0.02
    after_death: float = 0.5  # share of deceased persons given claims after death
    unbundling: float = 0.05  # share of lines with a column-1 code given its component
    excessive_units: float = 0.05  # share of lines with a limited code given excess units
    seed: int = 0


def inject_warehouse(wh: Any, config: LoadedFraudConfig | None = None) -> FraudTruth:
    """Inject claim-level schemes into the claims of `wh` in place (use a scratch copy).

    Works on any loaded claims (the FHIR sample's SNOMED-coded Claim/EOB rows, say):
    duplicates (same or next day, new claim ids), claims re-dated after a recorded death,
    unbundled SNOMED component lines, and units above the SNOMED limits.
    """
    cfg = config or LoadedFraudConfig()
    rng = np.random.default_rng(cfg.seed)
    con = wh.con
    # Ordered by key: the random draws below go row by row, so the injected claims must not
    # depend on the order in which a loader happened to write the rows.
    claims = con.execute("SELECT * FROM mm_claim ORDER BY claim_id").df()
    lines = con.execute("SELECT * FROM mm_claim_line ORDER BY claim_line_id").df()
    deaths = con.execute(
        "SELECT person_id, min(death_date) AS d FROM death GROUP BY 1 ORDER BY 1"
    ).df()
    next_claim = int(claims.claim_id.max()) + 1
    next_line = int(lines.claim_line_id.max()) + 1
    new_c, new_l, truth = [], [], []

    def copy(src: pd.DataFrame, new_dates: np.ndarray, scheme: str) -> None:
        nonlocal next_claim, next_line
        ids = next_claim + np.arange(len(src))
        next_claim += len(src)
        idmap = dict(zip(src.claim_id, ids, strict=True))
        dmap = dict(zip(ids, pd.to_datetime(new_dates), strict=True))
        c = src.copy()
        c["claim_id"] = ids
        c["claim_start_date"] = c["claim_id"].map(dmap)
        c["claim_source_value"] = "injected:" + scheme
        ln = lines[lines.claim_id.isin(src.claim_id)].copy()
        ln["claim_id"] = ln.claim_id.map(idmap)
        ln["service_date"] = ln.claim_id.map(dmap)
        ln["claim_line_id"] = next_line + np.arange(len(ln))
        next_line += len(ln)
        new_c.append(c)
        new_l.append(ln)
        truth.append(pd.DataFrame({"claim_id": ids, "scheme": scheme}))

    dup = claims[rng.random(len(claims)) < cfg.duplicate]
    shift = pd.to_timedelta(rng.integers(0, 2, len(dup)), "D")
    copy(dup, (pd.to_datetime(dup.claim_start_date) + shift).to_numpy(), "duplicate")
    dead = deaths[rng.random(len(deaths)) < cfg.after_death]
    src = claims[claims.person_id.isin(dead.person_id)].groupby("person_id").head(2)
    dd = pd.to_datetime(src[["person_id"]].merge(dead, on="person_id", how="left")["d"])
    later = dd + pd.to_timedelta(rng.integers(3, 90, len(src)), "D")
    copy(src, later.to_numpy(), "after_death")
    # unbundling: a component line next to its comprehensive code, same claim and day
    base = lines[lines.procedure_code.isin(list(SNOMED_UNBUNDLE))]
    base = base[rng.random(len(base)) < cfg.unbundling]
    comp = base.copy()
    comp["procedure_code"] = base.procedure_code.map(SNOMED_UNBUNDLE)
    comp["procedure_display"] = None
    comp["line_number"] = base.line_number + 100
    comp["claim_line_id"] = next_line + np.arange(len(comp))
    next_line += len(comp)
    new_l.append(comp)
    truth.append(pd.DataFrame({"claim_id": comp.claim_id.to_numpy(), "scheme": "unbundling"}))
    # excessive units
    lim = lines[lines.procedure_code.isin(list(SNOMED_MUE))]
    hit = lim[rng.random(len(lim)) < cfg.excessive_units]
    limit = hit.procedure_code.map(SNOMED_MUE).to_numpy()
    units = (limit + rng.integers(1, 4, len(hit))).astype(float)
    with wh.transaction():
        for lid, u in zip(hit.claim_line_id.tolist(), units.tolist(), strict=True):
            con.execute("UPDATE mm_claim_line SET units = ? WHERE claim_line_id = ?", [u, lid])
        for table, frames in (("mm_claim", new_c), ("mm_claim_line", new_l)):
            df = pd.concat(frames, ignore_index=True) if frames else None
            if df is None or df.empty:
                continue
            con.register("_inj_rows", df)
            cols = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _inj_rows')
            con.unregister("_inj_rows")
    truth.append(pd.DataFrame({"claim_id": hit.claim_id.to_numpy(), "scheme": "excessive_units"}))
    return FraudTruth(
        providers=pd.DataFrame(columns=["provider_id", "scheme"]),
        claims=pd.concat(truth, ignore_index=True).drop_duplicates(),
    )
