"""Patient linkage side by side: medmine (defaults), Splink (its documented FEBRL models) and
recordlinkage (its documented pipeline), in the same run, on FEBRL3 and FEBRL4; medmine also
on its synthetic identity fixtures (typical and harsh errors).

Each method runs in its own process, so that time and peak memory are its own. Pairwise and
exact-cluster precision, recall and F1; medmine's blocking recall. Writes
bench/results/linkage.json.

Run: ``.venv/bin/python bench/linkage_eval.py`` (``--synthea-only`` re-measures only the
Synthea FHIR-vs-CSV section; recordlinkage: ``.venv/bin/pip install
--no-deps recordlinkage``; its pandas<3 pin would otherwise downgrade pandas, and it runs on
pandas 3 for this pipeline).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEBRL = ROOT / "tests" / "data" / "febrl"
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
DATASETS = {"febrl4": ("dataset4a", "dataset4b"), "febrl3": ("dataset3",)}


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(FEBRL / f"{name}.csv.gz", dtype=str, skipinitialspace=True,
                     keep_default_na=False)  # fmt: skip
    df.columns = [c.strip() for c in df.columns]
    return df


def entity(rec_id: str) -> str:
    return re.match(r"^(rec-\d+)", rec_id).group(1)


def frames(ds: str) -> dict[str, pd.DataFrame]:
    return {n: load(n) for n in DATASETS[ds]}


def truth_of(fr: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {f"{s}:{r}": entity(r) for s, df in fr.items() for r in df["rec_id"]}


# ---------------------------------------------------------------- methods (one per process)
def run_medmine(ds: str) -> dict:
    from medmine.quality.linkage import LinkageConfig, link_tables

    fr = frames(ds)
    mode = "link" if ds == "febrl4" else "dedupe"
    t0 = time.perf_counter()
    res = link_tables(fr, mapping=MAPPING, mode=mode, config=LinkageConfig())
    secs = time.perf_counter() - t0
    return {
        "clusters": res.clusters,
        "seconds": secs,
        "threshold": res.threshold,
        "prior": res.prior,
        "timings": res.timings,
        "blocked_pairs": res.n_blocked_pairs,
    }


def _splink_prepare(df: pd.DataFrame, src: str) -> pd.DataFrame:
    out = df.copy()
    for c in ("date_of_birth", "soc_sec_id", "postcode"):
        out[c] = out[c].astype(str).str.strip()
    out["rec_id"] = src + ":" + out["rec_id"]
    return out.replace({"": None})


def run_splink(ds: str) -> dict:
    """Splink's documentation examples (docs/demos/examples/duckdb/febrl4 and febrl3)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    fr = frames(ds)
    dfs = [_splink_prepare(df, s) for s, df in fr.items()]
    t0 = time.perf_counter()
    db = DuckDBAPI()
    if ds == "febrl4":
        rules = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        settings = SettingsCreator(
            unique_id_column_name="rec_id",
            link_type="link_only",
            blocking_rules_to_generate_predictions=rules,
            comparisons=[
                cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                         datetime_format="%Y%m%d", invalid_dates_as_null=True),
                cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
                cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                    term_frequency_adjustments=True
                ),
            ],
            retain_intermediate_calculation_columns=True,
        )  # fmt: skip
        linker = Linker([db.register(d) for d in dfs], settings)
        det = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        linker.training.estimate_probability_two_random_records_match(det, recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
        for rule in (block_on("date_of_birth"), block_on("postcode")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
        pred = linker.inference.predict(threshold_match_probability=0.2)
    else:
        rules = [block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                 block_on("date_of_birth"), block_on("postcode")]  # fmt: skip
        settings = SettingsCreator(
            unique_id_column_name="rec_id",
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=rules,
            comparisons=[
                cl.NameComparison("given_name"),
                cl.NameComparison("surname"),
                cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                         datetime_format="%Y%m%d"),
                cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
                cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            ],
            retain_intermediate_calculation_columns=True,
        )  # fmt: skip
        linker = Linker(db.register(dfs[0]), settings)
        det = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
               "l.given_name = r.surname and l.surname = r.given_name and "
               "l.date_of_birth = r.date_of_birth"]  # fmt: skip
        linker.training.estimate_probability_two_random_records_match(det, recall=0.9)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
        for rule in (block_on("date_of_birth"), block_on("postcode")):
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=0.99
    )
    rows = clusters.as_pandas_dataframe()[["rec_id", "cluster_id"]]
    secs = time.perf_counter() - t0
    return {"clusters": dict(zip(rows["rec_id"], rows["cluster_id"].astype(str), strict=True)),
            "seconds": secs, "threshold": 0.99}  # fmt: skip


def run_recordlinkage(ds: str) -> dict:
    """Recordlinkage's documented pipeline (docs: "Link two datasets" / "Data deduplication"):
    block on given name, compare six fields, link when more than three agree.
    """
    import recordlinkage

    fr = frames(ds)
    dfs = {s: df.set_index(df["rec_id"].radd(s + ":")) for s, df in fr.items()}
    t0 = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    if ds == "febrl4":
        a, b = dfs.values()
        cand = indexer.index(a, b)
    else:
        (a,) = dfs.values()
        b = a
        cand = indexer.index(a)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    features = compare.compute(cand, a) if ds == "febrl3" else compare.compute(cand, a, b)
    matches = features[features.sum(axis=1) > 3].index
    secs = time.perf_counter() - t0
    # clusters: connected components of the matched pairs
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in matches:
        parent[find(x)] = find(y)
    ids = [i for df in dfs.values() for i in df.index]
    return {"clusters": {i: find(i) for i in ids}, "seconds": secs,
            "candidate_pairs": len(cand)}  # fmt: skip


def child(method: str, ds: str) -> None:
    out = {"medmine": run_medmine, "splink": run_splink, "recordlinkage": run_recordlinkage}[
        method
    ](ds)
    from medmine.quality.linkage import evaluate_clusters

    fr = frames(ds)
    m = evaluate_clusters(out.pop("clusters"), truth_of(fr))
    out.update(m.to_dict())
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_mb"] = ru.ru_maxrss / 1024
    out["cpu_seconds_process"] = ru.ru_utime + ru.ru_stime  # includes reading the files
    print("RESULT " + json.dumps(out, default=float))


def synthetic(n: int, harsh: bool) -> dict:
    from medmine.quality.linkage import evaluate_clusters, link_tables
    from medmine.synth.linkage import HARSH_RATES, make_identities

    rows, truth = make_identities(n, seed=7, **({"rates": HARSH_RATES} if harsh else {}))
    t0 = time.perf_counter()
    res = link_tables([pd.DataFrame(rows)], mapping={"unique_id": "person_id"}, mode="both")
    secs = time.perf_counter() - t0
    return {**evaluate_clusters(res.clusters, truth).to_dict(), "seconds": secs,
            "records": len(rows), "threshold": res.threshold}  # fmt: skip


def _synthea_patients() -> pd.DataFrame:
    """Patients of the Synthea FHIR samples (tests/data/synthea_fresh and, when present, the
    shared 60-patient sample), one row each with the fields a FHIR Patient carries.
    """
    import gzip

    files = sorted((ROOT / "tests" / "data" / "synthea_fresh" / "bundles").glob("*.json.gz"))
    shared = Path("/work/shared/data/synthea_fhir")
    if shared.is_dir():
        files += sorted(shared.glob("*.json.gz"))
    rows = []
    for f in files:
        with gzip.open(f, "rt") as fh:
            bundle = json.load(fh)
        for e in bundle.get("entry", []):
            r = e["resource"]
            if r["resourceType"] != "Patient":
                continue
            name = (r.get("name") or [{}])[0]
            addr = (r.get("address") or [{}])[0]
            tel = {t.get("system"): t.get("value") for t in r.get("telecom", [])}
            ids = {
                ((i.get("type") or {}).get("coding") or [{}])[0].get("code"): i
                for i in r.get("identifier", [])
            }
            rows.append({
                "id": r["id"], "given_name": (name.get("given") or [None])[0],
                "family_name": name.get("family"), "birth_date": r.get("birthDate"),
                "sex": r.get("gender"), "address_line": (addr.get("line") or [None])[0],
                "city": addr.get("city"), "state": addr.get("state"),
                "zip": addr.get("postalCode"), "phone": tel.get("phone"),
                "email": tel.get("email"), "ssn": ids.get("SS", {}).get("value"),
                "mrn": ids.get("MR", {}).get("value"),
                "mrn_authority": ids.get("MR", {}).get("system"),
            })  # fmt: skip
    return pd.DataFrame(rows)


def synthea_fhir_vs_csv(seed: int = 3) -> dict:
    """The same Synthea population as its FHIR Patients and as a Synthea-CSV-like export
    (patients.csv columns) with realistic perturbations; link mode, truth = the patient id.
    """
    import random

    from medmine.quality.linkage import evaluate_clusters, link_tables
    from medmine.synth.linkage import NICKNAMES

    fhir = _synthea_patients()
    rng = random.Random(seed)
    csv_rows = []
    for r in fhir.to_dict("records"):
        c = dict(r)
        g, f = (c["given_name"] or ""), (c["family_name"] or "")
        if rng.random() < 0.10 and len(g) > 3:  # typo
            i = rng.randrange(1, len(g) - 1)
            g = g[:i] + g[i + 1] + g[i] + g[i + 2 :]
        if rng.random() < 0.08 and g.lower() in NICKNAMES:
            g = NICKNAMES[g.lower()]
        if rng.random() < 0.03:
            g, f = f, g
        c["given_name"], c["family_name"] = g.upper(), f.upper()  # CSV exports in capitals
        y, m, d = (c["birth_date"] or "--").split("-")
        if rng.random() < 0.03 and int(d or 99) <= 12:
            c["birth_date"] = f"{y}-{d}-{m}"
        if rng.random() < 0.05:
            c["birth_date"] = None
        if rng.random() < 0.15:  # moved
            c["address_line"] = f"{rng.randint(1, 999)} Elm St"
            c["phone"] = f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        elif c["phone"]:
            c["phone"] = "(" + c["phone"].replace("-", ") ", 1)
        if rng.random() < 0.30:
            c["ssn"] = None
        c["mrn"], c["mrn_authority"] = None, None  # the CSV export has no hospital MRN
        csv_rows.append(c)
    csv = pd.DataFrame(csv_rows).rename(
        columns={"id": "Id", "given_name": "FIRST", "family_name": "LAST",
                 "birth_date": "BIRTHDATE", "ssn": "SSN", "address_line": "ADDRESS",
                 "city": "CITY", "state": "STATE", "zip": "ZIP", "sex": "GENDER"}
    )  # fmt: skip
    csv_map = {"unique_id": "Id", "given_name": "FIRST", "family_name": "LAST",
               "birth_date": "BIRTHDATE", "ssn": "SSN", "address_line": "ADDRESS",
               "city": "CITY", "state": "STATE", "zip": "ZIP", "sex": "GENDER"}  # fmt: skip
    # one mapping for both inputs: rename the FHIR side to the CSV's column names
    fhir_as = fhir.rename(columns={"id": "Id", **{k: v for k, v in csv_map.items()
                                                  if k != "unique_id"}})  # fmt: skip
    t0 = time.perf_counter()
    try:
        res = link_tables({"fhir": fhir_as, "csv": csv}, mapping=csv_map, mode="link")
    except Exception as exc:  # noqa: BLE001 - a small population may not train
        return {"patients": len(fhir), "error": str(exc)[:300]}
    truth = {f"{s}:{i}": i for s in ("fhir", "csv") for i in fhir["id"]}
    m = evaluate_clusters(res.clusters, truth)
    out = {**m.to_dict(), "patients": len(fhir), "seconds": time.perf_counter() - t0,
           "threshold": res.threshold}  # fmt: skip
    if m.true_pairs < 1000:
        out["warning"] = (
            f"only {m.true_pairs} true pairs (the Synthea samples shipped here): a perfect "
            "score on so few pairs is no evidence of accuracy; see FEBRL and the 10^6 run"
        )
    return out


def main() -> None:
    from medmine.quality.linkage import blocked_pairs, evaluate_pairs

    results: dict = {"febrl": {}, "synthetic": {}}
    for ds in DATASETS:
        fr = frames(ds)
        mode = "link" if ds == "febrl4" else "dedupe"
        results["febrl"][ds] = {
            "blocking": evaluate_pairs(
                blocked_pairs(fr, mapping=MAPPING, mode=mode), truth_of(fr)
            )  # fmt: skip
        }
        for method in ("medmine", "splink", "recordlinkage"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", method, ds],
                capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )  # fmt: skip
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                results["febrl"][ds][method] = {"error": tail[:300]}
            else:
                results["febrl"][ds][method] = json.loads(line[0][7:])
            r = results["febrl"][ds][method]
            print(f"{ds:7} {method:14}", {k: (round(v, 4) if isinstance(v, float) else v)
                  for k, v in r.items() if k in ("pairwise_precision", "pairwise_recall",
                  "pairwise_f1", "cluster_precision", "cluster_recall", "cluster_f1", "seconds",
                  "cpu_seconds_process",
                  "peak_rss_mb", "error")}, flush=True)  # fmt: skip
        print(ds, "blocking", results["febrl"][ds]["blocking"], flush=True)
    for harsh in (False, True):
        key = "harsh" if harsh else "typical"
        results["synthetic"][key] = synthetic(2000, harsh)
        print("synthetic", key, results["synthetic"][key], flush=True)
    results["synthea_fhir_vs_csv"] = synthea_fhir_vs_csv()
    print("synthea FHIR vs CSV", results["synthea_fhir_vs_csv"], flush=True)
    results["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "command": ".venv/bin/python bench/linkage_eval.py",
        "note": "2 cores shared with other jobs; wall times vary with load",
        "load_average_1min_at_end": os.getloadavg()[0],
    }
    out = ROOT / "bench" / "results" / "linkage.json"
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print("wrote", out)


def synthea_only() -> None:
    """Re-measure only the Synthea FHIR-vs-CSV section into the existing results file."""
    out = ROOT / "bench" / "results" / "linkage.json"
    results = json.loads(out.read_text())
    results["synthea_fhir_vs_csv"] = synthea_fhir_vs_csv()
    print("synthea FHIR vs CSV", results["synthea_fhir_vs_csv"], flush=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    elif sys.argv[1:] == ["--synthea-only"]:
        synthea_only()
    else:
        main()
