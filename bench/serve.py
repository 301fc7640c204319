"""Load test of `medmine serve`: scoring API and CDS Hooks patient-view under concurrent clients.

Builds a warehouse from the population simulator (readmission models saved and signed with a
bench-only MEDMINE_MODEL_KEY), starts `medmine serve` in its own process on a free loopback
port, and drives it with N concurrent HTTP clients (httpx, asyncio) for a fixed time per
scenario:

* ``score_features``   POST /api/v1/score/{model}, one feature vector per request
* ``score_batch100_*``  100 feature vectors per request (scores/s = 100 x req/s), with
  ``top=0`` (probabilities only) and with the top-3 SHAP contributions of each
* ``score_person``     POST /api/v1/score/{model} with a random inpatient person_id
* ``cds_patient_view`` POST /cds-services/readmission-risk for a random inpatient person, as
  an EHR calls it: a fresh ES384 JWT per request (unique jti, audience = the service URL),
  signed by a CDS client whose public key the server trusts (``MEDMINE_CDS_CLIENTS``), the
  patient named by its FHIR id (``person_source_value``)

Prints requests/s, scores/s, p50/p95/p99 latency and errors, and the server's CPU time per
request (from /proc: user + system time of the server process over the scenario, divided by
its requests; unlike latency it does not depend on what else the machine runs), the load
generator's CPU per request, and the machine's load average; writes bench/results/serve.json.
The client runs on the same machine as the server (both share the CPU cores). Clients are
closed-loop: each sends its next request when the previous answer arrives, so by Little's law
mean latency = clients / throughput.

    .venv/bin/python bench/serve.py [--clients 50] [--seconds 15] [--persons 3000]
        [--reuse DIR]  # keep the built warehouse in DIR and reuse it next time
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt
import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec

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


def run(coro):  # noqa: ANN001, ANN201
    """`asyncio.run` on uvloop when installed (a cheaper event loop for the load generator)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its live descendants (Linux /proc).

    With ``--workers N`` the server is a supervisor (it also writes the audit spool) and N
    worker processes: all of them are the server.
    """
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                children.setdefault(int(_stat(int(d.name))[1]), []).append(int(d.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, IndexError):
            fields = _stat(p)
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo.extend(children.get(p, []))
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawClient:
    """One keep-alive HTTP/1.1 connection writing pre-built requests (the load generator).

    Hand-rolled on asyncio streams rather than httpx: httpx costs about 3.3 ms of CPU per
    request on this machine, three times what the server spends on a simple route, and the
    client shares the server's two cores, so an httpx generator measures mostly itself.
    Handles ``Content-Length`` and chunked bodies, which is all uvicorn sends.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send `data`, read the answer: ``(status, body)``; ``(-1, b"")`` when it failed."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(data)
            head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            if b"transfer-encoding: chunked" in lower:
                body = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    body += chunk[:-2]
            else:
                i = lower.find(b"content-length:")
                n = int(lower[i + 15 : lower.index(b"\r\n", i)]) if i >= 0 else 0
                body = await self.reader.readexactly(n)
            if b"connection: close" in lower:
                await self.close()
            return status, body
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            return -1, b""

    async def close(self) -> None:
        """Close the connection (the next request opens another)."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def http_post(url: str, body: dict, headers: dict[str, str]) -> bytes:
    """The bytes of one ``POST`` of JSON `body` to `url` (keep-alive)."""
    u = httpx.URL(url)
    payload = json.dumps(body).encode()
    lines = [f"POST {u.raw_path.decode()} HTTP/1.1", f"Host: {u.host}:{u.port}",
             "Content-Type: application/json", f"Content-Length: {len(payload)}",
             *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def drive(url, make_body, headers, clients, seconds, per_request=1, make_headers=None):
    """`clients` closed-loop connections posting `make_body()` to `url` for `seconds`."""
    lat, errors, statuses = [], 0, {}
    u = httpx.URL(url)
    stop = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        conn = RawClient(u.host, u.port)
        while time.perf_counter() < stop:
            data = http_post(
                url, make_body(), {**headers, **(make_headers() if make_headers else {})}
            )
            t0 = time.perf_counter()
            code, _ = await conn.request(data)
            lat.append(time.perf_counter() - t0)
            statuses[code] = statuses.get(code, 0) + 1
            if code != 200:
                errors += 1
        await conn.close()

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


def wait_warm(base: str, workers: int, timeout: float = 900) -> float:
    """Wait until every worker says its start-up precomputation is done; returns the seconds.

    Health checks go over fresh connections, so the kernel hands them to different workers;
    each answer names its worker (``X-Medmine-Worker``) when there are several.
    """
    t0 = time.perf_counter()
    done: dict[str, str] = {}
    while time.perf_counter() - t0 < timeout:
        try:
            r = httpx.get(f"{base}/api/v1/health", headers={"Connection": "close"}, timeout=5)
            done[r.headers.get("x-medmine-worker", "1")] = r.json().get("warm")
        except httpx.HTTPError:
            pass
        if len(done) >= workers and all(v == "done" for v in done.values()):
            return time.perf_counter() - t0
        time.sleep(0.3)
    raise TimeoutError(f"the server did not warm up in {timeout:.0f} s: {done}")


def measure(args, workers, wh_path, reports, persons, source, token, ehr_key, clients_file):  # noqa: ANN001, ANN201, PLR0913
    """Start `medmine serve --workers N`, run the scenarios, stop it; the results by scenario."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MEDMINE_CDS_CLIENTS": str(clients_file)}
    server = subprocess.Popen(
        [sys.executable, "-m", "medmine", "serve", "-w", str(wh_path), "--reports", str(reports),
         "--port", str(port), "--workers", str(workers)],  # fmt: skip
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        warm_s = wait_warm(base, workers)
        print(f"server ({workers} worker process(es)) warm (patient index, precomputed scores) "
              f"after {warm_s:.0f} s")  # fmt: skip
        cds_url = f"{base}/cds-services/readmission-risk"

        def ehr_jwt() -> dict[str, str]:
            now = int(time.time())
            claims = {"iss": "https://ehr.bench.example", "aud": cds_url, "exp": now + 300,
                      "iat": now, "jti": secrets.token_hex(16)}  # fmt: skip
            signed = jwt.encode(claims, ehr_key, algorithm="ES384", headers={"kid": "bench-ehr"})
            return {"Authorization": f"Bearer {signed}"}

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
                cds_url,
                lambda: {
                    "hook": "patient-view",
                    "hookInstance": secrets.token_hex(8),
                    "context": {
                        "userId": "Practitioner/bench",
                        "patientId": source[rng.choice(persons)],
                    },  # fmt: skip
                },
                1,
            ),
        }
        if args.only:
            scenarios = {k: v for k, v in scenarios.items() if k in args.only.split(",")}
        # warm-up: load the model in every worker, touch the tables once (fresh connections)
        for name, (url, body, _) in scenarios.items():
            for _ in range(4 * workers):
                hdr = ehr_jwt() if name == "cds_patient_view" else headers
                r = httpx.post(url, json=body(), headers={**hdr, "Connection": "close"},
                               timeout=120)  # fmt: skip
                assert r.status_code == 200, (name, r.status_code, r.text[:300])
        for name, (url, body, per) in scenarios.items():
            extra = None
            if name == "cds_patient_view":
                # The EHR signs each request's token; signed beforehand so that the signing
                # (an EHR's cost, 0.26 ms each) does not take CPU from the server under test.
                pool = [ehr_jwt() for _ in range(int(900 * args.seconds))]

                def extra(pool=pool):  # noqa: ANN202
                    return pool.pop() if pool else ehr_jwt()

            load0, cpu0, me0 = os.getloadavg()[0], cpu_seconds(server.pid), time.process_time()
            res = run(drive(url, body, headers, args.clients, args.seconds, per, extra))
            server_cpu, client_cpu = cpu_seconds(server.pid) - cpu0, time.process_time() - me0
            res["server_cpu_ms_per_request"] = round(1000 * server_cpu / res["requests"], 2)
            res["client_cpu_ms_per_request"] = round(1000 * client_cpu / res["requests"], 2)
            res["server_cpu_share"] = round(server_cpu / res["seconds"], 2)
            res["load_average_1min"] = [round(load0, 1), round(os.getloadavg()[0], 1)]
            results[name] = res
            print(f"{workers}w {name:30s} {res['requests_per_s']:8.1f} req/s "
                  f"{res['scores_per_s']:9.1f} scores/s  p50 {res['p50_ms']:7.1f}  p95 "
                  f"{res['p95_ms']:7.1f}  p99 {res['p99_ms']:7.1f} ms  errors {res['errors']}  "
                  f"server {res['server_cpu_ms_per_request']:.2f} CPU-ms/req "
                  f"({res['server_cpu_share']:.2f} cores), client "
                  f"{res['client_cpu_ms_per_request']:.2f} CPU-ms/req, load "
                  f"{res['load_average_1min'][0]}->{res['load_average_1min'][1]}")  # fmt: skip
    finally:
        server.terminate()  # SIGTERM: graceful; with workers, the audit spool is merged
        server.wait(timeout=300)
    return model, results


def parts(n: int = 2000) -> dict[str, float]:
    """CPU milliseconds of the pieces of a hook that are ours to choose, measured alone.

    ES384 JWT verification with the replay cache in memory (one process) and in the shared
    SQLite file (several workers); the SQLite jti insert alone; an audit entry sent to the
    spool writer over its Unix socket and committed (client and writer in this process),
    one at a time and with many in flight (group commit).
    """
    from medmine.serve.auth import CdsClients
    from medmine.serve.shared import SharedStore
    from medmine.serve.spool import AuditServer, RemoteAuditor, SpoolWriter

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk["kid"] = "k"
    clients = CdsClients({"iss": {"keys": [jwk]}})
    now = int(time.time())
    tokens = [
        jwt.encode({"iss": "iss", "aud": "u", "exp": now + 300, "iat": now,
                    "jti": secrets.token_hex(8)}, key, algorithm="ES384", headers={"kid": "k"})
        for _ in range(n)
    ]  # fmt: skip

    def cpu_ms(fn, count):  # noqa: ANN001, ANN202
        t = time.process_time()
        fn()
        return round(1000 * (time.process_time() - t) / count, 3)

    out = {}
    half = n // 2
    out["jwt_verify_memory_jti"] = cpu_ms(lambda: [clients.verify(t, "u") for t in tokens[:half]],
                                          half)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="medmine-serve-parts-"))
    clients.shared = SharedStore(folder / "state.sqlite")
    out["jwt_verify_sqlite_jti"] = cpu_ms(lambda: [clients.verify(t, "u") for t in tokens[half:]],
                                          half)  # fmt: skip
    store = SharedStore(folder / "state2.sqlite")
    out["sqlite_jti_insert"] = cpu_ms(
        lambda: [store.first_use(secrets.token_hex(8), time.time() + 60) for _ in range(n)], n
    )
    writer = SpoolWriter(folder / "spool.sqlite", None)
    authkey = secrets.token_bytes(32)
    server = AuditServer(writer, str(folder / "a.sock"), authkey)
    client = RemoteAuditor(str(folder / "a.sock"), authkey)
    detail = {"hookInstance": "abc", "person_id": 1, "via": "jwt", "role": "cds_client"}
    item = ("web:bench", "cds.patient-view", "m", None, "treatment", detail)
    out["audit_spool_one_at_a_time"] = cpu_ms(
        lambda: [client.submit(item).result() for _ in range(200)], 200
    )
    out["audit_spool_many_in_flight"] = cpu_ms(
        lambda: [f.result() for f in [client.submit(item) for _ in range(n)]], n
    )
    client.close()
    server.close()
    writer.close()
    shutil.rmtree(folder, ignore_errors=True)
    for k, v in out.items():
        print(f"part {k:32s} {v:.3f} CPU-ms")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--persons", type=int, default=3000)
    ap.add_argument("--out", type=Path, help="result file (default bench/results/serve.json, "
                    "or serve_workers.json with --workers)")  # fmt: skip
    ap.add_argument("--reuse", type=Path, help="folder to keep the built warehouse in and reuse")
    ap.add_argument("--only", help="comma-separated scenario names to run")
    ap.add_argument("--parts", action="store_true",
                    help="also measure the CPU of a hook's pieces alone (see `parts`)")  # fmt: skip
    ap.add_argument("--workers", help="comma-separated worker process counts to compare "
                    "(e.g. 1,2,3); default: one run with 1")  # fmt: skip
    args = ap.parse_args()
    counts = [int(w) for w in (args.workers or "1").split(",")]
    out = args.out or ROOT / "bench" / "results" / (
        "serve_workers.json" if args.workers else "serve.json"
    )
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="medmine-serve-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "model.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))  # bench-only deployment key
    os.environ["MEDMINE_MODEL_KEY"] = key_file.read_text().strip()
    t0 = time.perf_counter()
    if (folder / "persons.json").exists():
        wh_path, reports = folder / "wh.duckdb", folder / "reports"
        persons = json.loads((folder / "persons.json").read_text())
    else:
        wh_path, reports, persons = build(folder, args.persons)
        (folder / "persons.json").write_text(json.dumps(persons))
        print(f"built warehouse ({args.persons} persons, {len(persons)} with a stay) in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    import duckdb

    from medmine.serve.users import UserStore, users_path

    with duckdb.connect(str(wh_path), read_only=True) as con:
        source = dict(
            con.execute(
                "SELECT person_id, person_source_value FROM person "
                "WHERE person_id IN (SELECT unnest(?::BIGINT[]))",
                [persons],
            ).fetchall()
        )
    store = UserStore(users_path(wh_path))
    if store.get("bench") is None:
        store.add("bench", "clinician", "bench password 123")
    token = store.new_token("bench", "bench")
    store.close()
    # A CDS client (an EHR) with an ES384 key; the server trusts its public key.
    ehr_key = ec.generate_private_key(ec.SECP384R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(ehr_key.public_key(), as_dict=True)
    jwk.update(kid="bench-ehr", alg="ES384", use="sig")
    clients_file = folder / "cds_clients.json"
    clients_file.write_text(json.dumps({"https://ehr.bench.example": {"keys": [jwk]}}))
    runs = {}
    part_ms = parts() if args.parts else None
    for workers in counts:
        with duckdb.connect(str(wh_path), read_only=True) as con:
            audit_before = con.execute("SELECT count(*) FROM mm_audit").fetchone()[0]
        model, results = measure(args, workers, wh_path, reports, persons, source, token,
                                 ehr_key, clients_file)  # fmt: skip
        # after the server stopped: every answered person score and hook must be in mm_audit
        with duckdb.connect(str(wh_path), read_only=True) as con:
            audit_after = con.execute("SELECT count(*) FROM mm_audit").fetchone()[0]
        audited = sum(
            r["statuses"].get("200", 0)
            for k, r in results.items()
            if k in ("cds_patient_view", "score_person")
        )
        print(f"{workers}w audit entries written: {audit_after - audit_before} for {audited} "
              "answered person scores and hooks (warm-up requests add a few)")  # fmt: skip
        runs[workers] = {"audit_entries_written": audit_after - audit_before,
                         "answers_needing_audit": audited, "results": results}  # fmt: skip
    doc = {
        "clients": args.clients,
        "seconds_per_scenario": args.seconds,
        "persons": args.persons,
        "model": model,
        "cpu_count": os.cpu_count(),
        "note": "client and server share the machine's cores (shared with other work: see "
        "load_average_1min); loopback HTTP/1.1; closed-loop clients; server CPU = supervisor "
        "+ worker processes",
        "goals": {"cds_p99_ms": 200, "scores_per_s": 500},
    }
    if part_ms:
        doc["parts_cpu_ms"] = part_ms
    if args.workers:
        doc["by_workers"] = {str(k): v for k, v in runs.items()}
    else:
        doc.update(runs[counts[0]])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
