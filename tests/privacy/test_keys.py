"""Keys carry 256 bits of entropy (issue 11, item 6): weak ones are refused, never echoed."""

from __future__ import annotations

import base64
import os

import pytest
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import ConfigError
from medmine.privacy import keys
from medmine.privacy.crypto import parse_key
from medmine.privacy.pseudonym import deid_key
from medmine.warehouse import audit as warehouse_audit

STRONG = bytes(range(7, 39))

#: (name, key text, weak?): the table both key checks must agree on.
CASES = [
    ("one word", "hunter2", True),
    ("sentence", "correct horse battery staple", True),
    ("test passphrase", "test-key-not-secret", True),
    ("short hex", os.urandom(16).hex(), True),
    ("short base64", base64.b64encode(os.urandom(24)).decode(), True),
    ("all zero hex", "00" * 32, True),
    ("all zero base64", base64.b64encode(bytes(32)).decode(), True),
    ("repeated pattern", (b"\x01\x02\x03\x04" * 8).hex(), True),
    ("printable base64", base64.b64encode(b"my-password-is-long-enough-now!!").decode(), True),
    ("random hex", STRONG.hex(), False),
    ("random base64", base64.b64encode(STRONG).decode(), False),
    ("random urlsafe", base64.urlsafe_b64encode(bytes(range(200, 232))).decode(), False),
    ("longer random", os.urandom(48).hex(), False),
    ("new key", keys.new_key(), False),
    ("new hex key", keys.new_key("hex"), False),
]


@pytest.mark.parametrize(("name", "text", "weak"), CASES, ids=[c[0] for c in CASES])
def test_key_strength_cases(name: str, text: str, weak: bool) -> None:
    assert (keys.weakness(text) is not None) is weak


@pytest.mark.parametrize(("name", "text", "weak"), CASES, ids=[c[0] for c in CASES])
def test_audit_layer_applies_the_same_rules(name: str, text: str, weak: bool) -> None:
    # The warehouse layer cannot import privacy.keys; its copy must agree case by case.
    assert (warehouse_audit._weakness(text) is not None) is weak


@pytest.mark.parametrize("text", [c[1] for c in CASES if c[2]], ids=[c[0] for c in CASES if c[2]])
def test_weak_pseudonym_key_is_refused_without_echo(monkeypatch, text: str) -> None:
    # Before: any string was accepted, and a one-word key was recovered from the output.
    monkeypatch.setenv("MEDMINE_DEID_KEY", text)
    with pytest.raises(ConfigError) as e:
        deid_key()
    msg = str(e.value)
    assert "MEDMINE_DEID_KEY" in msg and "medmine keys new" in msg and text not in msg


def test_strong_pseudonym_key_is_the_text_itself(monkeypatch) -> None:
    text = STRONG.hex()
    monkeypatch.setenv("MEDMINE_DEID_KEY", text)
    assert deid_key() == text.encode()  # pseudonyms made with a strong key do not change


@pytest.mark.parametrize(
    "text",
    ["00" * 32, base64.b64encode(b"A" * 32).decode(), bytes(32), (b"ab" * 16).hex()],
    ids=["zero hex", "printable base64", "raw zero bytes", "repeated"],
)
def test_weak_encryption_key_is_refused(text) -> None:
    # Before: any 32 bytes were accepted, all zero included.
    with pytest.raises(ConfigError, match="too weak"):
        parse_key(text)


def test_message_says_length_and_kind_only() -> None:
    with pytest.raises(ConfigError) as e:
        keys.check_text_key("hunter2", "MEDMINE_DEID_KEY")
    assert "7 characters" in str(e.value) and "hunter2" not in str(e.value)
    with pytest.raises(ConfigError, match="decodes to 16 bytes"):
        keys.decode_key(os.urandom(16).hex(), "K")


def test_new_keys_are_32_random_bytes_and_differ() -> None:
    a, b = keys.new_key(), keys.new_key()
    assert a != b and len(base64.b64decode(a)) == 32 and len(a) == 44
    assert len(bytes.fromhex(keys.new_key("hex"))) == 32
    with pytest.raises(ConfigError):
        keys.new_key("pem")


def test_cli_keys_new_prints_a_usable_key(monkeypatch) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "new"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert len(base64.b64decode(key)) == 32
    assert parse_key(key) == base64.b64decode(key)
    monkeypatch.setenv("MEDMINE_DEID_KEY", key)
    assert deid_key() == key.encode()
    r = runner.invoke(app, ["keys", "new", "--hex"])
    assert r.exit_code == 0 and len(bytes.fromhex(r.stdout.strip())) == 32
    assert r.stdout.strip() != key


def test_cli_deid_with_a_weak_key_is_one_line(tmp_path, monkeypatch) -> None:
    from medmine.warehouse import Warehouse

    Warehouse(tmp_path / "w.duckdb").close()
    monkeypatch.setenv("MEDMINE_DEID_KEY", "hunter2")
    r = CliRunner().invoke(
        app, ["deid", "-w", str(tmp_path / "w.duckdb"), "--to", str(tmp_path / "o.duckdb")]
    )
    assert r.exit_code == 1 and "too weak" in r.output and "hunter2" not in r.output
    assert "Traceback" not in r.output
