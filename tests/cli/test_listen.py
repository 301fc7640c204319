"""`medmine listen hl7` and `medmine send hl7`: a live feed from the command line."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.warehouse import Warehouse

DATA = Path(__file__).resolve().parents[1] / "data" / "hl7v2"


def _listen(warehouse: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "medmine", "listen", "hl7", "--port", "0", "-w", str(warehouse),
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    m = re.search(r"on 127\.0\.0\.1:(\d+),", line)
    assert m, line
    return proc, int(m.group(1))


@pytest.mark.parametrize("mode", ["load", "journal"])
def test_listen_send_and_stop_with_sigterm(tmp_path, mode):
    proc, port = _listen(tmp_path / "w.duckdb", "--ack-after", mode)
    # message 3 of the bad file: a new patient without a birth date. Journal mode knows the
    # patient is new (the warehouse's patients plus every journaled message): AE in both modes
    try:
        runner = CliRunner()
        good = runner.invoke(app, ["send", "hl7", str(DATA / "01_epic_adt.hl7"), "-p", str(port)])
        assert good.exit_code == 0, good.output
        assert "sent 5 messages; acknowledgements: AA 5" in good.output
        bad = runner.invoke(
            app, ["send", "hl7", str(DATA / "04_bad_messages.hl7"), "-p", str(port)]
        )
        assert bad.exit_code == 3, bad.output
        third = "04_bad_messages.hl7:message 3 (segment 9): AE PID-7 birth date is empty"
        assert third in bad.output
        assert "sent 6 messages; acknowledgements: AA 3, AE 2, AR 1" in bad.output
        assert "3 of 6 messages were not accepted" in bad.output
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped: 11 messages acknowledged (AA 8, AE 2, AR 1)" in out
    if mode == "journal":
        assert "journal: 11 entries loaded" in out
        assert "0 answered AA then quarantined while loading" in out
    with Warehouse(tmp_path / "w.duckdb", read_only=True) as wh:  # quarantined either way
        assert wh.con.execute(
            "SELECT count(*) FROM mm_quarantine WHERE message LIKE 'PID-7 birth date is empty%'"
        ).fetchone() == (1,)
    assert "Traceback" not in err


def test_send_to_nothing_is_a_one_line_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nobody listens there
    res = CliRunner().invoke(app, ["send", "hl7", str(DATA / "01_epic_adt.hl7"), "-p", str(port)])
    assert res.exit_code == 1
    assert f"cannot connect to 127.0.0.1:{port}" in res.output
    assert "Traceback" not in res.output


def test_listen_refuses_bad_options_and_busy_ports(tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app, ["listen", "hl7", "--max-batch", "0", "-w", str(tmp_path / "w.duckdb")]
    )
    assert res.exit_code == 1 and "max_batch must be at least 1" in res.output
    res = runner.invoke(
        app, ["listen", "hl7", "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", "k.pem"]
    )
    assert res.exit_code == 1 and "does not exist" in res.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = runner.invoke(
            app, ["listen", "hl7", "--port", str(port), "-w", str(tmp_path / "w.duckdb")]
        )
    assert res.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in res.output
