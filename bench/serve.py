"""Load test of `medmine serve`: scoring API and CDS Hooks patient-view under concurrent clients.

Builds a warehouse from the population simulator (readmission models saved and signed with a
bench-only MEDMINE_MODEL_KEY), starts `medmine serve` in its own process on a free loopback
port, and drives it with N concurrent HTTP clients (httpx, asyncio) for a fixed time per
scenario:

* ``score_features``   POST /api/v1/score/{model}, one feature vector per request
* ``score_batch100_*``  100 feature vectors per request (scores/s = 100 x req/s), with
  ``top=0`` (probabilities only) and with the top-3 SHAP contributions of each
* ``score_person``     POST /api/v1/score/{model} with a random inpatient person_id
* ``cds_patient_view`` POST /cds-services/readmission-risk for a random inpatient person

Prints requests/s, scores/s, p50/p95/p99 latency and errors; writes bench/results/serve.json.
The client runs on the same machine as the server (both share the CPU cores).

    .venv/bin/python bench/serve.py [--clients 50] [--seconds 15] [--persons 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build(folder: Path, persons: int) -> tuple[Path, Path, list[int]]:
    from medmine.report import page_context
    from medmine.report.study_pages import write_study
    from medmine.studies import readmission
    from medmine.studies.prediction import StudyConfig
    from medmine.synth.population import simulate
    from medmine.warehouse import Warehouse

    wh_path, reports = folder / "wh.duckdb", folder / "reports"
    config = StudyConfig(
        n_boot=20,
        models=("l1_logistic", "lightgbm"),
        l1_grid={"C": [0.1]},
        lightgbm_grid={"num_leaves": [15], "n_estimators": [200]},
        shap_rows=50,
        model_dir=reports / "models",
    )
    with Warehouse(wh_path) as wh:
        simulate(persons, seed=11).write_to(wh)
        result = readmission.run(wh, config)
        write_study(result, reports, context=page_context(wh))
        ids = [
            int(r[0])
            for r in wh.con.execute(
                "SELECT DISTINCT person_id FROM visit_occurrence WHERE visit_concept_id = 9201"
            ).fetchall()
        ]
    return wh_path, reports, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def drive(url, make_body, headers, clients, seconds, per_request=1):
    lat, errors, statuses = [], 0, {}
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as http:

        async def worker():
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await http.post(url, json=make_body())
                    code = r.status_code
                except httpx.HTTPError:
                    code = -1
                lat.append(time.perf_counter() - t0)
                statuses[code] = statuses.get(code, 0) + 1
                if code != 200:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    ms = np.asarray(lat) * 1000
    return {
        "requests": len(lat),
        "seconds": round(wall, 2),
        "requests_per_s": round(len(lat) / wall, 1),
        "scores_per_s": round(per_request * (len(lat) - errors) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "errors": errors,
        "error_rate": round(errors / max(len(lat), 1), 4),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--persons", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = ap.parse_args()
    os.environ["MEDMINE_MODEL_KEY"] = secrets.token_hex(32)  # bench-only deployment key
    folder = Path(tempfile.mkdtemp(prefix="medmine-serve-bench-"))
    t0 = time.perf_counter()
    wh_path, reports, persons = build(folder, args.persons)
    print(f"built warehouse ({args.persons} persons, {len(persons)} with a stay) in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    from medmine.serve.users import UserStore, users_path

    store = UserStore(users_path(wh_path))
    store.add("bench", "clinician", "bench password 123")
    token = store.new_token("bench", "bench")
    store.close()
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "medmine", "serve", "-w", str(wh_path), "--reports", str(reports),
         "--port", str(port), "--workers", "16"],  # fmt: skip
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}
        models = httpx.get(f"{base}/api/v1/models", headers=headers).json()
        model = next(m for m in models if "lightgbm" in m)
        names = httpx.get(f"{base}/api/v1/models/{model}", headers=headers).json()["feature_names"]
        rng = random.Random(3)

        def vector():
            return {n: float(rng.randint(0, 3)) for n in rng.sample(names, min(12, len(names)))}

        score_url = f"{base}/api/v1/score/{model}"
        scenarios = {
            "score_features": (score_url, lambda: {"instances": [vector()]}, 1),
            "score_batch100_no_explanations": (
                score_url,
                lambda: {"instances": [vector() for _ in range(100)], "top": 0},
                100,
            ),
            "score_batch100_explained": (
                score_url,
                lambda: {"instances": [vector() for _ in range(100)], "top": 3},
                100,
            ),  # fmt: skip
            "score_person": (score_url, lambda: {"person_id": rng.choice(persons)}, 1),
            "cds_patient_view": (
                f"{base}/cds-services/readmission-risk",
                lambda: {
                    "hook": "patient-view",
                    "hookInstance": secrets.token_hex(8),
                    "context": {
                        "userId": "Practitioner/bench",
                        "patientId": str(rng.choice(persons)),
                    },  # fmt: skip
                },
                1,
            ),
        }
        # warm-up: load the model and touch the tables once
        for url, body, _ in scenarios.values():
            httpx.post(url, json=body(), headers=headers, timeout=60)
        results = {}
        for name, (url, body, per) in scenarios.items():
            res = asyncio.run(drive(url, body, headers, args.clients, args.seconds, per))
            results[name] = res
            print(f"{name:32s} {res['requests_per_s']:8.1f} req/s {res['scores_per_s']:9.1f} "
                  f"scores/s  p50 {res['p50_ms']:7.1f}  p95 {res['p95_ms']:7.1f}  "
                  f"p99 {res['p99_ms']:7.1f} ms  errors {res['errors']}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    doc = {
        "clients": args.clients,
        "seconds_per_scenario": args.seconds,
        "persons": args.persons,
        "model": model,
        "cpu_count": os.cpu_count(),
        "note": "client and server share the machine's cores; loopback HTTP/1.1",
        "results": results,
        "goals": {"cds_p99_ms": 200, "scores_per_s": 500},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
