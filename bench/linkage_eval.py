"""Patient-linkage quality: precision and recall of `medmine.quality.linkage` against the
known duplicates of the synthetic identity fixture, at typical and at harsh error rates.

Writes bench/results/linkage.json. Run: ``.venv/bin/python bench/linkage_eval.py [N]``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import pyarrow as pa

from medmine.quality import linkage
from medmine.quality.linkage import LinkageConfig, evaluate_clusters, link_persons
from medmine.synth.linkage import (
    HARSH_RATES,
    ErrorRates,
    NamePools,
    make_identities,
    name_pools_from,
)
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table

HARSH = HARSH_RATES
THRESHOLDS = (0.5, 0.9, 0.95, 0.99, 0.999)


def _warehouse(rows: list[dict]) -> Warehouse:
    wh = Warehouse(":memory:")
    spec = table("mm_person_identity")
    t = pa.Table.from_pylist(  # noqa: F841
        [{c: r.get(c) for c in spec.column_names} for r in rows], schema=spec.arrow_schema()
    )
    wh.con.execute("INSERT INTO mm_person_identity BY NAME SELECT * FROM t")
    return wh


def scenario(
    name: str, n: int, rates: ErrorRates | None, seed: int, names: NamePools | None = None
) -> dict:
    rows, truth = make_identities(n, seed=seed, rates=rates, names=names)
    wh = _warehouse(rows)
    t0 = time.perf_counter()
    res = link_persons(wh)
    secs = time.perf_counter() - t0
    metrics = evaluate_clusters(res.clusters, truth)
    # threshold sweep on the same scored pairs
    groups = linkage.name_groups()
    name_group = pa.table({"name": list(groups), "grp": list(groups.values())})  # noqa: F841
    prepared = wh.con.sql(linkage._PREPARE).to_arrow_table()
    pairs = linkage._score(prepared, LinkageConfig())
    uids = prepared.column("unique_id").to_pylist()
    sweep = {}
    for th in THRESHOLDS:
        edges = [(a, b) for a, b, _w, p in pairs if p >= th]
        m = evaluate_clusters(linkage._cluster_ids(uids, edges), truth)
        sweep[str(th)] = {k: round(v, 4) if isinstance(v, float) else v
                          for k, v in m.to_dict().items()}  # fmt: skip
    wh.close()
    return {
        "scenario": name,
        "entities": n,
        "records": res.n_records,
        "pairs_scored": res.n_pairs_scored,
        "links": res.n_links,
        "seconds": round(secs, 2),
        "threshold_probability": LinkageConfig().threshold_probability,
        "metrics": {
            k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.to_dict().items()
        },  # fmt: skip
        "threshold_sweep": sweep,
        "error_rates": (rates or ErrorRates()).__dict__,
    }


def _fhir_names() -> NamePools | None:
    """Name pools from the bundled FHIR sample's patients (None if it cannot be loaded)."""
    try:
        from medmine.demo import samples_dir
        from medmine.ingest import fhir

        with Warehouse(":memory:") as wh:
            fhir.load([samples_dir() / "synthea_fhir"], wh)
            return name_pools_from(wh)
    except Exception as exc:  # noqa: BLE001  (the benchmark still reports the other scenarios)
        print(f"FHIR-seeded scenario skipped: {type(exc).__name__}")
        return None


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    import splink

    out = {
        "benchmark": "patient linkage (Splink on DuckDB) against synthetic known duplicates",
        "splink": splink.__version__,
        "python": platform.python_version(),
        "scenarios": [
            scenario("typical errors", n, None, seed=7),
            scenario("harsh errors", n, HARSH, seed=7),
        ],
    }
    fhir = _fhir_names()
    if fhir is not None:
        # Few distinct names (the sample's 60 patients): many unrelated people share names.
        out["scenarios"].append(
            scenario("harsh errors, names from the FHIR sample", n, HARSH, 7, fhir)
        )
    path = Path(__file__).parent / "results" / "linkage.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    for s in out["scenarios"]:
        print(s["scenario"], s["metrics"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
