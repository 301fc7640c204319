from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.privacy.audit import append, entries, head, verify
from medmine.warehouse import LoadSession, Warehouse


@pytest.fixture
def chained(wh: Warehouse) -> Warehouse:
    for i in range(5):
        append(wh.con, "tester", "export", f"table{i}", i * 10, "research", {"i": i})
    return wh


def test_intact_chain_verifies(chained: Warehouse) -> None:
    v = verify(chained)
    assert v.ok and v.entries == 5 and v.head_hash == head(chained)


def test_actor_env_is_recorded_as_a_claim(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDMINE_ACTOR", "svc-deid")
    actor = append(wh.con, None, "deid").actor
    assert actor != "svc-deid" and actor.endswith("(claimed by MEDMINE_ACTOR: svc-deid)")


@pytest.mark.parametrize(
    "column,value",
    [("row_count", 999), ("actor", "mallory"), ("detail", '{"i":7}'), ("object", "x")],
)
def test_edited_entry_is_detected(chained: Warehouse, column: str, value: object) -> None:
    chained.con.execute(f"UPDATE mm_audit SET {column} = ? WHERE seq = 3", [value])
    v = verify(chained)
    assert not v.ok and v.first_bad_seq == 3


def test_deleted_entry_is_detected(chained: Warehouse) -> None:
    chained.con.execute("DELETE FROM mm_audit WHERE seq = 2")
    v = verify(chained)
    assert not v.ok and v.first_bad_seq == 2


def test_reordered_entries_are_detected(chained: Warehouse) -> None:
    chained.con.execute(
        "UPDATE mm_audit SET seq = CASE seq WHEN 2 THEN 4 WHEN 4 THEN 2 END WHERE seq IN (2, 4)"
    )
    v = verify(chained)
    assert not v.ok and v.first_bad_seq == 2


def test_recomputed_edit_breaks_next_link(chained: Warehouse) -> None:
    # An attacker who edits an entry and recomputes its hash still breaks the next link.
    from medmine.privacy.audit import entry_hash

    e = entries(chained.con)[2]
    payload = {**e.payload(), "row_count": 1}
    chained.con.execute(
        "UPDATE mm_audit SET row_count = 1, hash = ? WHERE seq = 3",
        [entry_hash(payload, e.prev_hash)],
    )
    v = verify(chained)
    assert not v.ok and v.first_bad_seq == 4


def test_tail_deletion_is_detected_by_head_file_and_expected_head(chained: Warehouse) -> None:
    h = head(chained)
    chained.con.execute("DELETE FROM mm_audit WHERE seq = 5")
    assert not verify(chained).ok  # the head file next to the warehouse records seq 5
    assert not verify(chained, expected_head=h).ok


def test_committed_load_appends_one_entry(wh: Warehouse) -> None:
    with LoadSession(wh, "unit") as s:
        s.read("Thing")
        s.skip("Thing", "not_mapped")
    es = entries(wh.con)
    assert [e.action for e in es] == ["load"] and es[0].object == "unit"
    assert verify(wh).ok


def test_rolled_back_load_appends_nothing(wh: Warehouse) -> None:
    with pytest.raises(RuntimeError), LoadSession(wh, "unit") as s:
        s.read("Thing")
        raise RuntimeError("boom")
    assert entries(wh.con) == []
    assert not verify(wh).ok  # an empty log never verifies


@pytest.fixture
def _no_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)


def test_cli_reports_unkeyed_mode_and_require_keyed_fails(
    chained: Warehouse, _no_audit_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = chained.path
    chained.close()
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "verify", "-w", path])
    assert r.exit_code == 0 and "unkeyed" in r.output and "re-chain" in r.output
    r = runner.invoke(app, ["audit", "verify", "-w", path, "--require-keyed"])
    assert r.exit_code == 1 and "--require-keyed" in r.output


def test_cli_head_and_expected_head(chained: Warehouse, _no_audit_key) -> None:
    path = chained.path
    chained.close()
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "head", "-w", path])
    assert r.exit_code == 0, r.output
    h = r.stdout.strip()
    assert h.startswith("sha256:") and len(h) == len("sha256:") + 64
    r = runner.invoke(app, ["audit", "verify", "-w", path, "--expected-head", h])
    assert r.exit_code == 0 and "expected head" in r.output
    r = runner.invoke(app, ["audit", "verify", "-w", path, "--expected-head", "sha256:" + "0" * 64])
    assert r.exit_code == 1 and "expected head" in r.output


def test_cli_keyed_chain(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", bytes(range(32)).hex())
    path = str(tmp_path / "k.duckdb")
    with Warehouse(path) as w:
        append(w.con, None, "export")
    r = CliRunner().invoke(app, ["audit", "verify", "-w", path, "--require-keyed"])
    assert r.exit_code == 0 and "intact (keyed)" in r.output
    monkeypatch.delenv("MEDMINE_AUDIT_KEY")
    r = CliRunner().invoke(app, ["audit", "verify", "-w", path])
    assert r.exit_code == 1 and "MEDMINE_AUDIT_KEY" in r.output


def test_cli_verify_and_show(chained: Warehouse) -> None:
    path = chained.path
    chained.close()
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "verify", "-w", path])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["audit", "show", "-w", path])
    assert r.exit_code == 0 and "export" in r.output
    with Warehouse(path) as w:
        w.con.execute("DELETE FROM mm_audit WHERE seq = 1")
    r = runner.invoke(app, ["audit", "verify", "-w", path])
    assert r.exit_code == 1 and "seq 1" in r.output
