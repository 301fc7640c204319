"""Benchmark the live HL7 v2 feed: messages acknowledged per second over MLLP on loopback.

For each acknowledgement contract (``--ack-after journal`` and ``load``) and 1, 4 and 16
concurrent senders, a fresh warehouse and a fresh ``medmine listen hl7`` server process; each
sender sends its share of the messages one at a time, waiting for each ACK (as interface
engines do). Reported per run: messages acknowledged per second (wall time from first send to
last ACK), p50/p99/max acknowledgement latency, the server's peak RSS, its transactions, and
the load average. Also, because in journal mode an ACK comes before the warehouse has the
row: the time from the first send until every message is queryable (the loader's last
commit, read from the journal's ``status.json``), the drain rate (messages made queryable per
second over that time) and the loader's own rate (messages per second of loader time), and
CPU seconds per message of the server and of the senders. The server's CPU and peak RSS are
those of its process tree: in journal mode the listener's loader runs in a child process
(``--loader auto``; ``--loader thread`` keeps it in the listener's process), and the figures
split the network side's CPU from the loader's. A journal run whose ACK rate is
above its drain rate is flagged ``ack_rate_sustainable: false``: it lived on the backlog
(``--sustained N`` adds a long 4-sender run with a small ``--max-backlog`` to show the rate
that holds). In the same run, the file loader (``medmine.ingest.hl7v2.load``) reads the same
messages from one file into a fresh warehouse.

Messages: ORU^R01 lab results with 3 numeric OBX each, over 500 patients, every control id
distinct (so every message loads). The senders run in this process and share the machine's
cores with the server: figures are for the whole loop on one machine.

Run: ``.venv/bin/python bench/hl7_listen.py [--messages N] [--senders 1,4,16]
[--modes journal,load] [--sustained N] [--loader auto|process|thread]``. Results are printed
and written to ``bench/results/hl7_listen.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "hl7_listen.json"
GOAL = {"senders": 4, "messages_per_s": 1000, "p99_ms": 50}
#: where journal mode's loader runs (``--loader``; the listener's default is ``auto``)
LOADER = "auto"


def message(n: int) -> bytes:
    """A valid ORU^R01 with control id ``B<n>`` and three numeric results."""
    p = n % 500
    segs = [
        f"MSH|^~\\&|LIS|LAB|MEDMINE|HOSP|20240101{n % 24:02d}0000||ORU^R01^ORU_R01|B{n}|P|2.5.1",
        f"PID|1||P{p}^^^HOSP^MR||Doe{p}^Jo||19700101|F",
        f"PV1|1|O|||||||||||||||||V{p}^^^HOSP^VN",
        f"OBR|1|||24323-8^Metabolic panel^LN|||20240101{n % 24:02d}0000",
        f"OBX|1|NM|2345-7^Glucose^LN||{70 + n % 60}|mg/dL^^UCUM|70-99|||F",
        f"OBX|2|NM|2823-3^Potassium^LN||{3 + n % 20 / 10:.1f}|mmol/L^^UCUM|3.5-5.1|||F",
        f"OBX|3|NM|2160-0^Creatinine^LN||{0.6 + n % 9 / 10:.1f}|mg/dL^^UCUM|0.7-1.3|||F",
    ]
    return "\r".join(segs).encode() + b"\r"


def _peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a running process, in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """`pid` and its running descendants (the listener and its loader process)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def _tree_cpu(pids: list[int]) -> dict[int, float]:
    return {p: _cpu_seconds(p) for p in pids}


def _preload(warehouse: Path, rows: int) -> None:
    """Fill a fresh warehouse with `rows` measurements and their provenance (random keys, as
    the loaders' hashed ids are), so the run shows whether a big warehouse slows the feed.
    """
    from medmine.warehouse import Warehouse

    with Warehouse(warehouse) as wh:
        wh.con.execute(
            "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
            "measurement_date, measurement_type_concept_id) SELECT (hash(i) >> 1)::BIGINT, "
            "i % 10000, 0, DATE '2020-01-01', 0 FROM range(?) t(i)",
            [rows],
        )
        wh.con.execute(
            "INSERT INTO mm_source_record SELECT 'measurement', (hash(i) >> 1)::BIGINT, "
            "'preload', 'preload.hl7', 'line ' || i, 'ORU^R01', NULL, NULL FROM range(?) t(i)",
            [rows],
        )
        wh.con.execute("CHECKPOINT")


def _start_server(
    warehouse: Path,
    max_batch: int,
    gather_ms: float,
    mode: str = "load",
    max_backlog: int = 0,
    drain_batch: int = 0,
) -> tuple[subprocess.Popen[str], int]:
    extra = ["--max-backlog", str(max_backlog)] if max_backlog else []
    extra += ["--drain-batch", str(drain_batch)] if drain_batch else []
    extra += ["--loader", LOADER] if mode == "journal" else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "medmine",
            "listen",
            "hl7",
            "--port",
            "0",
            "-w",
            str(warehouse),
            "--max-batch",
            str(max_batch),
            "--gather-ms",
            str(gather_ms),
            "--ack-after",
            mode,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    m = re.search(r"on 127\.0\.0\.1:(\d+),", line)
    if not m:
        raise SystemExit(f"listener did not start: {line} {proc.stderr.read()}")
    return proc, int(m.group(1))


async def _send(port: int, senders: int, total: int) -> tuple[float, list[float], dict[str, int]]:
    from medmine.ingest import hl7v2

    latencies: list[float] = []
    codes: dict[str, int] = {}

    async def one(s: int) -> None:
        async with hl7v2.MllpClient("127.0.0.1", port, timeout=120) as c:
            for n in range(s, total, senders):
                data = message(n)
                t = time.perf_counter()
                ack = await c.send(data)
                latencies.append(time.perf_counter() - t)
                codes[ack.code] = codes.get(ack.code, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(s) for s in range(senders)))
    return time.perf_counter() - t0, latencies, codes


def _wait_applied(status: Path, total: int, timeout: float = 900.0) -> dict[str, object]:
    """Poll the journal's status file until the loader has applied `total` entries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            doc = json.loads(status.read_text())
        except (OSError, ValueError):
            doc = {}
        if doc.get("applied", 0) >= total:
            return doc
        time.sleep(0.005)
    raise SystemExit(f"the loader did not apply {total} entries within {timeout} s")


def run_listener(
    senders: int,
    total: int,
    max_batch: int,
    gather_ms: float,
    preload: int = 0,
    mode: str = "load",
    max_backlog: int = 0,
    drain_batch: int = 0,
) -> dict[str, object]:
    """One listener run on a fresh warehouse (with `preload` rows already in it)."""
    with tempfile.TemporaryDirectory() as tmp:
        wh = Path(tmp) / "live.duckdb"
        if preload:
            _preload(wh, preload)
        proc, port = _start_server(wh, max_batch, gather_ms, mode, max_backlog, drain_batch)
        load_before = os.getloadavg()[0]
        try:
            pids = _tree(proc.pid)  # the loader process is up once the port is
            cpu0 = _tree_cpu(pids)
            me0 = resource.getrusage(resource.RUSAGE_SELF)
            t0_epoch = time.time()
            wall, lat, codes = asyncio.run(_send(port, senders, total))
            me1 = resource.getrusage(resource.RUSAGE_SELF)
            load_acked = os.getloadavg()[0]
            status: dict[str, object] = {}
            if mode == "journal":
                status = _wait_applied(Path(f"{wh}.journal") / "status.json", total)
                queryable = float(status["applied_at"]) - t0_epoch  # type: ignore[arg-type]
            else:
                queryable = wall  # each ACK came after its commit
            rss = sum(_peak_rss_mb(p) for p in pids)
            cpu1 = _tree_cpu(pids)
            cpu = sum(cpu1.values()) - sum(cpu0.values())
            net_cpu = cpu1[proc.pid] - cpu0[proc.pid]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=600)
        commits = re.search(r"in (\d+) transactions", out)
        lat_ms = sorted(x * 1000 for x in lat)
        senders_cpu = (me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)
        acked_rate = total / wall
        drain_rate = total / queryable
        r: dict[str, object] = {
            "mode": mode,
            "senders": senders,
            "max_batch": max_batch if mode == "load" else None,
            "gather_ms": gather_ms if mode == "load" else None,
            "max_backlog": (max_backlog or 20_000) if mode == "journal" else None,
            "drain_batch": (drain_batch or 1_000) if mode == "journal" else None,
            "loader": LOADER if mode == "journal" else None,
            "preloaded_rows": preload,
            "load_average_1min": [
                round(load_before, 2),
                round(load_acked, 2),
                round(os.getloadavg()[0], 2),
            ],  # fmt: skip
            "messages": total,
            "acks": codes,
            "seconds": round(wall, 2),
            "messages_per_s": round(acked_rate, 1),
            "latency_ms": {
                "p50": round(statistics.median(lat_ms), 1),
                "p99": round(lat_ms[int(0.99 * (len(lat_ms) - 1))], 1),
                "max": round(lat_ms[-1], 1),
            },
            "queryable_after_s": round(queryable, 2),
            "visibility_lag_after_last_ack_s": round(queryable - wall, 2),
            "drain_messages_per_s": round(drain_rate, 1),
            "transactions": int(commits.group(1)) if commits else None,
            # CPU the server used: what the figures would be with a core to itself
            # (the listener's process and its loader process, when it has one)
            "server_cpu_ms_per_message": round(cpu / total * 1000, 2),
            "server_processes": len(pids),
            "network_side_cpu_ms_per_message": round(net_cpu / total * 1000, 2),
            "loader_process_cpu_ms_per_message": round((cpu - net_cpu) / total * 1000, 2)
            if len(pids) > 1
            else None,
            "messages_per_server_cpu_s": round(total / cpu, 1) if cpu else None,
            "senders_cpu_ms_per_message": round(senders_cpu / total * 1000, 2),
            "server_peak_rss_mb": round(rss, 1),
        }
        if mode == "journal":
            busy = float(status.get("loader_busy_s") or 0)  # type: ignore[arg-type]
            r["transactions"] = status.get("drain_commits")
            r["journal_syncs"] = status.get("syncs")
            r["backpressure_waits"] = status.get("backpressure_waits")
            r["late_quarantined"] = status.get("late_quarantined")
            r["loader_busy_s"] = round(busy, 2)
            r["loader_messages_per_busy_s"] = round(total / busy, 1) if busy else None
            # the loader keeps up when its rate (messages per second of loader time) is at
            # least the ACK rate; otherwise the ACKs lived on the backlog and cannot last
            r["ack_rate_sustainable"] = bool(busy) and total / busy >= acked_rate
        return r


def _show(label: str, r: dict[str, object]) -> dict[str, object]:
    lat: dict[str, float] = r["latency_ms"]  # type: ignore[assignment]
    extra = ""
    if r["mode"] == "journal":
        extra = (
            f", {r['journal_syncs']} syncs, loader {r['loader_messages_per_busy_s']} msg/s busy"
            f"{'' if r['ack_rate_sustainable'] else ', ACK RATE NOT SUSTAINABLE'}"
        )
    print(
        f"{r['mode']:>7} {label}: {r['messages_per_s']:>7} msg/s acked, p50 {lat['p50']} ms, "
        f"p99 {lat['p99']} ms; all queryable after {r['queryable_after_s']} s "
        f"(drain {r['drain_messages_per_s']} msg/s); {r['transactions']} transactions; "
        f"server peak RSS {r['server_peak_rss_mb']} MB, server CPU "
        f"{r['server_cpu_ms_per_message']} ms/msg ({r['server_processes']} processes: network "
        f"side {r['network_side_cpu_ms_per_message']}), senders CPU "
        f"{r['senders_cpu_ms_per_message']} ms/msg, load average {r['load_average_1min']}"
        f"{extra}",
        flush=True,
    )
    return r


def commit_floor(n: int = 200) -> dict[str, float]:
    """The cheapest durable transaction DuckDB makes here: BEGIN, a one-row INSERT, COMMIT.

    With each sender waiting for its ACK, 4 senders cannot exceed 4 messages per transaction,
    so 1,000 msg/s needs a whole transaction (parse, every table, provenance, load row, audit
    entry, commit) in under 4 ms: this floor shows how much of that the commit alone takes.
    """
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"))
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR)")
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            con.execute("BEGIN")
            con.execute("INSERT INTO t VALUES (?, 'x')", [i])
            con.execute("COMMIT")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        con.close()
    return {"wall_ms": round(wall / n * 1000, 2), "cpu_ms": round(cpu / n * 1000, 2)}


def writer_cpu(preload: int, group: int = 4, warm: int = 130, groups: int = 60) -> dict[str, float]:
    """CPU of the listener's writer per transaction, in this process, without sockets.

    Calls the writer's load step directly with groups of `group` messages (after `warm`
    groups, so that the 500 patients are known: the steady state of a feed), on a fresh
    warehouse holding `preload` measurements with provenance. CPU time, unlike wall time,
    hardly depends on what else runs on the machine.
    """
    from medmine.ingest.hl7v2._listener import Listener, ListenerConfig, _Item
    from medmine.ingest.hl7v2._memory import provenance_follows_rows
    from medmine.ingest.hl7v2._mllp import Frame
    from medmine.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.duckdb"
        if preload:
            _preload(path, preload)
        with Warehouse(path) as wh:
            wh.con.execute("SET threads = 1")  # as the listener does when it starts
            lis = Listener(wh, ListenerConfig(port=0))
            lis.provenance_follows_rows = provenance_follows_rows(wh.con)
            n = 0

            def items() -> list[_Item]:
                nonlocal n
                out = []
                for _ in range(group):
                    data = message(n)
                    out.append(_Item(Frame(data, len(data)), "bench", n, None))  # type: ignore[arg-type]
                    n += 1
                return out

            for _ in range(warm):
                lis._load(items())
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(groups):
                lis._load(items())
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return {
        "preloaded_rows": preload,
        "messages_per_transaction": group,
        "cpu_ms_per_transaction": round(cpu / groups * 1000, 1),
        "wall_ms_per_transaction": round(wall / groups * 1000, 1),
    }


def child_file_loader(path: str, warehouse: str) -> None:
    """Child process: the file loader on the same messages; prints JSON."""
    from medmine.ingest import hl7v2
    from medmine.warehouse import Warehouse

    t0 = time.perf_counter()
    with Warehouse(warehouse) as wh:
        report = hl7v2.load(path, wh)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = report.counts["ORU^R01"].loaded
    print(
        json.dumps(
            {
                "messages": n,
                "seconds": round(wall, 2),
                "messages_per_s": round(n / wall, 1),
                "peak_rss_mb": round(rss, 1),
            }
        )
    )


def run_file_loader(total: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.hl7"
        with path.open("wb") as f:
            for n in range(total):
                f.write(message(n))
        proc = subprocess.run(
            [sys.executable, __file__, "--child-file", str(path), str(Path(tmp) / "w.duckdb")],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=4000, help="messages per run")
    ap.add_argument("--senders", default="1,4,16", help="comma-separated sender counts")
    ap.add_argument("--modes", default="journal,load", help="acknowledgement contracts to run")
    ap.add_argument(
        "--sustained",
        type=int,
        default=0,
        help="also run 4 senders in journal mode with this many messages and --max-backlog "
        "(--sustained-backlog), so the ACK rate is held to what the loader sustains",
    )
    ap.add_argument("--sustained-backlog", type=int, default=1000)
    ap.add_argument(
        "--throttled",
        type=int,
        default=0,
        help="also run 4 senders in journal mode with this many messages, a loader held to "
        "transactions of 4 entries and a backlog bound of 200: the loader cannot keep up, and "
        "the run shows what the ACK rate and the backpressure then do",
    )
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    ap.add_argument("--max-batch", type=int, default=256, help="the listener's group size")
    ap.add_argument("--gather-ms", type=float, default=2.0, help="the listener's gather wait")
    ap.add_argument(
        "--no-gather",
        action="store_true",
        help="also run 4 senders with --gather-ms 0 (groups of whatever is queued)",
    )
    ap.add_argument(
        "--preload",
        type=int,
        default=0,
        help="also run 4 senders on a warehouse already holding this many measurements "
        "with provenance (e.g. 1000000)",
    )
    ap.add_argument(
        "--per-message",
        action="store_true",
        help="also run 4 senders with --max-batch 1 (a transaction per message)",
    )
    ap.add_argument(
        "--writer-cpu",
        action="store_true",
        help="also measure the writer's CPU per transaction in-process (groups of 4, known "
        "patients), on an empty warehouse and, with --preload, on a preloaded one",
    )
    ap.add_argument(
        "--loader",
        default="auto",
        choices=("auto", "process", "thread"),
        help="journal mode: where the listener's loader runs (auto: a process)",
    )
    ap.add_argument("--child-file", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    global LOADER
    LOADER = args.loader
    if args.child_file:
        child_file_loader(*args.child_file)
        return
    load_before = os.getloadavg()
    runs = []
    for mode in args.modes.split(","):
        for s in (int(x) for x in args.senders.split(",")):
            r = run_listener(s, args.messages, args.max_batch, args.gather_ms, mode=mode)
            r["kind"] = "standard"
            runs.append(_show(f"{s:>2} senders", r))
    if args.sustained:
        r = run_listener(4, args.sustained, args.max_batch, args.gather_ms, mode="journal",
                         max_backlog=args.sustained_backlog)  # fmt: skip
        r["kind"] = "sustained"
        runs.append(_show(f" 4 senders, {args.sustained} messages, backlog bound "
                          f"{args.sustained_backlog}", r))  # fmt: skip
    if args.throttled:
        r = run_listener(4, args.throttled, args.max_batch, args.gather_ms, mode="journal",
                         max_backlog=200, drain_batch=4)  # fmt: skip
        r["kind"] = "throttled"
        runs.append(_show(f" 4 senders, {args.throttled} messages, drain batch 4, backlog "
                          "bound 200", r))  # fmt: skip
    if args.no_gather:
        r = run_listener(4, args.messages, args.max_batch, 0.0)
        runs.append(_show(" 4 senders, --gather-ms 0", r))
    if args.preload:
        r = run_listener(4, args.messages, args.max_batch, args.gather_ms, args.preload)
        runs.append(_show(f" 4 senders, {args.preload:,} rows preloaded", r))
    if args.per_message:
        r = run_listener(4, min(args.messages, 1000), 1, args.gather_ms)
        runs.append(_show(" 4 senders, a transaction per message", r))
    writer = []
    if args.writer_cpu:
        for rows in sorted({0, args.preload}):
            w = writer_cpu(rows)
            writer.append(w)
            print(
                f"writer, {rows:,} rows preloaded: {w['cpu_ms_per_transaction']} ms CPU "
                f"({w['wall_ms_per_transaction']} ms wall) per transaction of 4 messages"
            )
    fl = run_file_loader(args.messages)
    print(
        f"file loader: {fl['messages_per_s']} msg/s ({fl['messages']} messages in "
        f"{fl['seconds']} s), peak RSS {fl['peak_rss_mb']} MB"
    )
    goal_runs = [r for r in runs if r["senders"] == 4 and r.get("kind") == "standard"]
    floor = commit_floor()
    print(
        f"DuckDB floor here: BEGIN + one 1-row INSERT + COMMIT on a file = {floor['wall_ms']} ms "
        f"wall, {floor['cpu_ms']} ms CPU"
    )
    met: dict[str, bool] = {}
    for at4 in goal_runs:
        ok = (
            at4["messages_per_s"] >= GOAL["messages_per_s"]
            and at4["latency_ms"]["p99"] < GOAL["p99_ms"]
        )
        if at4["mode"] == "journal" and not at4["ack_rate_sustainable"]:
            ok = False  # acknowledged faster than the warehouse can take it: does not last
            # ... unless the run with a bounded backlog meets the goal: there the ACKs can run
            # at most the bound ahead of the loader, so its rate is what the feed can sustain
            for s in runs:
                if s.get("kind") == "sustained" and s["senders"] == 4 and s["mode"] == "journal":
                    ok = (
                        s["messages_per_s"] >= GOAL["messages_per_s"]
                        and s["latency_ms"]["p99"] < GOAL["p99_ms"]
                    )
        met[str(at4["mode"])] = ok
        print(
            f"goal (>= {GOAL['messages_per_s']} msg/s with p99 < {GOAL['p99_ms']} ms at 4 "
            f"senders, sustained), {at4['mode']} mode: {'met' if ok else 'NOT met'}"
        )
    doc = {
        "benchmark": "hl7_listen",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "messages": "ORU^R01, 3 numeric OBX, 500 patients, distinct control ids",
        "listener": runs,
        "writer_per_transaction": writer,
        "file_loader": fl,
        "duckdb_commit_floor": floor,
        "goal": {**GOAL, "met": met},
        "notes": [
            "senders and server share the machine's cores; each sender waits for its ACK",
            "load mode: the server commits everything queued while it was writing as one "
            "transaction (group commit) and acknowledges each message after that commit",
            "journal mode: ACK after the message is in the fsync'd journal; the loader applies "
            "the journal in transactions of up to 1,000 entries; queryable_after_s is the "
            "time from the first send to the loader's last commit",
            "ack_rate_sustainable is false when messages were acknowledged faster than the "
            "loader applies them (messages per second of loader time): the difference lived "
            "in the journal's backlog and the rate cannot last",
            "a load average above the core count means other work competed for the CPUs",
        ],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
