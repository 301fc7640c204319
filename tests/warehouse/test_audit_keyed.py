"""The audit chain is keyed, anchored outside the database, and names the OS account.

Each test reproduces a finding of issue 11 (item 5) against the audit log as it was: an
unkeyed SHA-256 chain that anyone with write access could edit and re-chain, that verified
"intact" when emptied or cut short, and whose actor was whatever MEDMINE_ACTOR said.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import stat
from pathlib import Path

import pytest

from medmine.errors import ConfigError, IntegrityError
from medmine.privacy.audit import append, entries, head, verify
from medmine.warehouse import LoadSession, Warehouse
from medmine.warehouse.audit import (
    GENESIS_HASH,
    HEAD_SUFFIX,
    KEYED_PREFIX,
    audit_key,
    current_actor,
    entry_hash,
    legacy_hash,
)

KEY = bytes(range(1, 33)).hex()
OTHER_KEY = bytes(range(101, 133)).hex()


@pytest.fixture(autouse=True)
def _no_audit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    monkeypatch.delenv("MEDMINE_ACTOR", raising=False)


@pytest.fixture
def keyed(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", KEY)
    for i in range(5):
        append(wh.con, None, "export", f"table{i}", i * 10, "research", {"i": i})
    return wh


def _rechain_from(wh: Warehouse, seq: int, **changes: object) -> None:
    """What an insider with write access but no key does: edit an entry, then recompute
    every hash from there on with plain SHA-256, as the unkeyed chain allowed."""
    es = entries(wh.con)
    prev = es[seq - 2].hash if seq > 1 else GENESIS_HASH
    for e in es[seq - 1 :]:
        payload = {**e.payload(), **(changes if e.seq == seq else {})}
        h = legacy_hash(payload, prev)
        wh.con.execute(
            "UPDATE mm_audit SET row_count = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [payload["row_count"], prev, h, e.seq],
        )
        prev = h


def test_entries_are_keyed_hmac_when_the_key_is_set(keyed: Warehouse) -> None:
    es = entries(keyed.con)
    assert all(e.hash.startswith(KEYED_PREFIX) for e in es)
    v = verify(keyed)
    assert v.ok and v.mode == "keyed" and v.keyed


def test_edit_rechained_without_the_key_is_detected(keyed: Warehouse) -> None:
    # Before: the chain was SHA-256 only, so this rewrite verified as intact.
    _rechain_from(keyed, 3, row_count=1)
    v = verify(keyed)
    assert not v.ok and v.first_bad_seq == 3


def test_keyed_rewrite_with_unkeyed_labels_is_a_downgrade(keyed: Warehouse) -> None:
    es = entries(keyed.con)
    prev = es[1].hash
    for e in es[2:]:
        h = entry_hash(e.payload(), prev)  # labelled "sha256:", recomputed without the key
        keyed.con.execute(
            "UPDATE mm_audit SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, h, e.seq]
        )
        prev = h
    v = verify(keyed)
    assert not v.ok and v.first_bad_seq == 3 and "rewritten without the key" in v.reason


def test_keyed_chain_needs_the_key_to_verify(keyed: Warehouse, monkeypatch) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY")
    v = verify(keyed)
    assert not v.ok and "MEDMINE_AUDIT_KEY" in v.reason
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", OTHER_KEY)
    v = verify(keyed)
    assert not v.ok and v.first_bad_seq == 1 and "not the key" in v.reason


def test_appending_to_a_keyed_chain_without_or_with_another_key_is_refused(
    keyed: Warehouse, monkeypatch
) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY")
    with pytest.raises(ConfigError, match="is keyed; set MEDMINE_AUDIT_KEY"):
        append(keyed.con, None, "export")
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", OTHER_KEY)
    with pytest.raises(IntegrityError, match="does not verify"):
        append(keyed.con, None, "export")
    assert len(entries(keyed.con)) == 5


def test_a_load_on_a_keyed_warehouse_without_the_key_rolls_back(keyed, monkeypatch) -> None:
    monkeypatch.delenv("MEDMINE_AUDIT_KEY")
    with pytest.raises(ConfigError), LoadSession(keyed, "unit") as s:
        s.read("Thing")
        s.skip("Thing", "not_mapped")
    status = keyed.con.execute("SELECT status FROM mm_load").fetchall()
    assert status == [("rolled_back",)] and len(entries(keyed.con)) == 5


@pytest.mark.parametrize(
    "value",
    ["hunter2", "00" * 32, "ab" * 32, "aHVudGVyMi1odW50ZXIyLWh1bnRlcjItaHVudGVyMi1odW50ZXIy"],
)
def test_weak_audit_keys_are_refused_without_echo(wh, monkeypatch, value: str) -> None:
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", value)
    with pytest.raises(ConfigError, match="medmine keys new") as e:
        append(wh.con, None, "export")
    assert value not in str(e.value)
    assert entries(wh.con) == []


def test_without_a_key_the_chain_is_labelled_unkeyed(wh: Warehouse) -> None:
    e = append(wh.con, None, "export")
    assert e.hash.startswith("sha256:") and audit_key() is None
    v = verify(wh)
    assert v.ok and v.mode == "unkeyed" and not v.keyed
    assert any("re-chain" in n for n in v.notes)


def test_keying_later_upgrades_and_anchors_the_unkeyed_prefix(wh, monkeypatch) -> None:
    for _ in range(2):
        append(wh.con, None, "load")
    monkeypatch.setenv("MEDMINE_AUDIT_KEY", KEY)
    append(wh.con, None, "export")
    v = verify(wh)
    assert v.ok and v.mode == "keyed from seq 3" and v.keyed
    _rechain_from(wh, 1, row_count=99)  # rewriting the unkeyed prefix breaks the keyed link
    assert not verify(wh).ok


def _legacy_warehouse(path: Path, n: int = 3) -> Warehouse:
    """A warehouse whose audit log was written by the previous (unkeyed, unanchored) code."""
    wh = Warehouse(path)
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        row = [seq, f"2024-01-0{seq} 10:00:00", "alice", "load", "fhir", seq, None, None]
        payload = dict(
            zip(
                ["seq", "ts", "actor", "action", "object", "row_count", "purpose", "detail"],
                [seq, f"2024-01-0{seq}T10:00:00.000000", *row[2:]],
                strict=True,
            )
        )
        canon = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        h = hashlib.sha256((canon + prev).encode()).hexdigest()
        wh.con.execute(
            "INSERT INTO mm_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*row, prev, h]
        )
        prev = h
    return wh


def test_a_warehouse_from_the_previous_code_reports_a_legacy_chain(tmp_path) -> None:
    wh = _legacy_warehouse(tmp_path / "old.duckdb")
    v = verify(wh)
    assert v.ok and v.mode == "legacy unkeyed chain" and v.anchor == "none"
    append(wh.con, None, "export")  # new entries continue the old chain, anchored
    v = verify(wh)
    assert v.ok and v.mode == "unkeyed" and v.anchor == "head file"
    wh.close()


def test_empty_log_fails_verification(wh: Warehouse) -> None:
    # Before: the injection that emptied mm_audit left "intact chain of 0 entries".
    v = verify(wh)
    assert not v.ok and v.entries == 0 and "empty" in v.reason


def test_emptied_log_fails_verification(keyed: Warehouse) -> None:
    keyed.con.execute("DELETE FROM mm_audit")
    assert not verify(keyed).ok


def test_truncated_tail_is_caught_by_the_head_file(keyed: Warehouse) -> None:
    # Before: deleting the newest entries left a valid shorter chain.
    keyed.con.execute("DELETE FROM mm_audit WHERE seq >= 4")
    v = verify(keyed)
    assert not v.ok and v.first_bad_seq == 4 and "newest entries were deleted" in v.reason


def test_head_file_is_private_append_only_text_next_to_the_warehouse(keyed: Warehouse) -> None:
    path = Path(keyed.path + HEAD_SUFFIX)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert [int(x.split()[0]) for x in lines] == [1, 2, 3, 4, 5]
    assert lines[-1].split()[1] == head(keyed)


def test_unkeyed_rechain_is_caught_by_the_head_file(wh: Warehouse) -> None:
    for i in range(4):
        append(wh.con, None, "export", row_count=i)
    es = entries(wh.con)
    prev = es[1].hash
    for e in es[2:]:  # edit seq 3 and recompute the labelled unkeyed hashes
        payload = {**e.payload(), "row_count": 0}
        h = entry_hash(payload, prev)
        wh.con.execute(
            "UPDATE mm_audit SET row_count = 0, prev_hash = ?, hash = ? WHERE seq = ?",
            [prev, h, e.seq],
        )
        prev = h
    v = verify(wh)
    assert not v.ok and v.first_bad_seq == 3 and "rewritten" in v.reason


def test_missing_head_file_fails_unless_the_recorded_head_is_given(keyed: Warehouse) -> None:
    h = head(keyed)
    Path(keyed.path + HEAD_SUFFIX).unlink()
    v = verify(keyed)
    assert not v.ok and "head file" in v.reason and "missing" in v.reason
    v = verify(keyed, expected_head=h)
    assert v.ok and v.anchor == "expected head" and any("missing" in n for n in v.notes)
    assert not verify(keyed, expected_head="0" * 64).ok
    assert not verify(keyed, head_file=keyed.path + ".elsewhere").ok


def test_expected_head_detects_deleted_tail_and_is_reported(keyed: Warehouse) -> None:
    h = head(keyed)
    v = verify(keyed, expected_head=h)
    assert v.ok and v.anchor == "head file and expected head"
    keyed.con.execute("DELETE FROM mm_audit WHERE seq = 5")
    Path(keyed.path + HEAD_SUFFIX).unlink()  # the insider also removes the head file
    v = verify(keyed, expected_head=h)
    assert not v.ok and "expected head" in v.reason


def test_rolled_back_entry_does_not_break_the_head_file(keyed: Warehouse) -> None:
    with pytest.raises(RuntimeError), keyed.transaction() as con:
        append(con, None, "consent.load")
        raise RuntimeError("boom")
    append(keyed.con, None, "export")  # takes seq 6 again; the head file's last line wins
    assert verify(keyed).ok


def test_a_new_warehouse_at_the_same_path_starts_a_new_head_chain(tmp_path, monkeypatch) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as w:
        for _ in range(3):
            append(w.con, None, "load")
    path.unlink()
    with Warehouse(path) as w:
        append(w.con, None, "deid")
        assert verify(w).ok


def test_re_anchoring_the_first_entry_does_not_hide_a_truncation(keyed: Warehouse) -> None:
    first = entries(keyed.con)[0]
    keyed.con.execute("DELETE FROM mm_audit WHERE seq > 1")
    with open(keyed.path + HEAD_SUFFIX, "a") as f:
        f.write(f"1 {first.hash}\n")
    assert not verify(keyed).ok


def test_actor_is_the_os_account_and_the_variable_only_a_claim(wh, monkeypatch) -> None:
    user = pwd.getpwuid(os.geteuid()).pw_name
    monkeypatch.setenv("USER", "mallory")  # getpass.getuser() would believe this
    monkeypatch.setenv("LOGNAME", "mallory")
    assert append(wh.con, None, "deid").actor == user
    monkeypatch.setenv("MEDMINE_ACTOR", "svc-deid")
    e = append(wh.con, None, "deid")
    # Before: the actor was "svc-deid", taken from the variable alone.
    assert e.actor == f"{user} (claimed by MEDMINE_ACTOR: svc-deid)"
    assert current_actor() == e.actor
    assert append(wh.con, "alice", "api.read").actor == f"alice (via OS user {user})"
