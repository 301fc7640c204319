from __future__ import annotations

import pytest
from typer.testing import CliRunner

from medmine.cli import app as cli
from medmine.errors import ConfigError
from medmine.serve.users import UserStore, users_path
from medmine.warehouse import Warehouse


@pytest.fixture
def store():
    s = UserStore(":memory:")
    yield s
    s.close()


def test_passwords_are_argon2_hashed_and_verified(store):
    store.add("ana", "analyst", "a long passphrase!")
    stored = store._con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a long passphrase" not in stored
    assert store.verify_password("ana", "a long passphrase!").role == "analyst"
    assert store.verify_password("ana", "a long passphrase?") is None
    assert store.verify_password("nobody", "a long passphrase!") is None


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("bob", "analyst", "short", "at least 12"),
        ("bob", "superuser", "a long passphrase!", "unknown role"),
        ("bo b;--", "analyst", "a long passphrase!", "user name"),
        ("", "analyst", "a long passphrase!", "user name"),
    ],
)
def test_bad_accounts_are_refused(store, name, role, password, message):
    with pytest.raises(ConfigError, match=message):
        store.add(name, role, password)


def test_duplicate_name_is_refused(store):
    store.add("ana", "analyst", "a long passphrase!")
    with pytest.raises(ConfigError, match="exists"):
        store.add("ana", "admin", "a long passphrase!")


def test_sessions_and_tokens_are_stored_hashed_and_revoked_with_the_user(store):
    store.add("cli", "clinician", "a long passphrase!")
    user = store.get("cli")
    sid, csrf = store.new_session(user)
    token = store.new_token("cli", "ehr")
    assert store.session(sid).user == user and store.session(sid).csrf == csrf
    assert store.token_user(token) == user
    dump = "\n".join(store._con.iterdump())
    assert sid not in dump and token not in dump
    store.remove("cli")
    assert store.session(sid) is None and store.token_user(token) is None
    with pytest.raises(ConfigError, match="no user"):
        store.remove("cli")


def test_cli_users_add_list_token_remove(tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    Warehouse(wh).close()
    runner = CliRunner()
    monkeypatch.setenv("MEDMINE_USER_PASSWORD", "a long passphrase!")
    r = runner.invoke(cli, ["users", "add", "olga", "--role", "privacy_officer", "-w", str(wh)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["users", "list", "-w", str(wh)])
    assert "olga" in r.output and "privacy_officer" in r.output
    r = runner.invoke(cli, ["users", "token", "olga", "-w", str(wh)])
    token = r.output.strip()
    assert token.startswith("mm_")
    assert UserStore(users_path(wh)).token_user(token).role == "privacy_officer"
    assert users_path(wh).stat().st_mode & 0o077 == 0
    r = runner.invoke(cli, ["users", "add", "olga", "--role", "admin", "-w", str(wh)])
    assert r.exit_code != 0 and "exists" in r.output
    r = runner.invoke(cli, ["users", "remove", "olga", "-w", str(wh)])
    assert r.exit_code == 0
    assert "olga" not in runner.invoke(cli, ["users", "list", "-w", str(wh)]).output
