from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import ConfigError, IntegrityError
from medmine.privacy.crypto import (
    _HEAD,
    decrypt_bytes,
    decrypt_file,
    decrypted,
    encrypt_file,
    load_key,
    parse_key,
)

KEY = bytes(range(32))


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=300), chunk=st.integers(min_value=1, max_value=64))
def test_round_trip_any_size(tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int):
    d = tmp_path_factory.mktemp("rt")
    p = d / "plain.bin"
    p.write_bytes(data)
    enc = encrypt_file(p, key=KEY, chunk_size=chunk)
    assert decrypt_bytes(enc, key=KEY) == data
    assert len(data) < 16 or data not in enc.read_bytes()


def test_file_round_trip_and_permissions(tmp_path: Path) -> None:
    p = tmp_path / "w.duckdb"
    p.write_bytes(os.urandom(5000))
    enc = encrypt_file(p, key=KEY, chunk_size=1024, remove_plaintext=False)
    assert stat.S_IMODE(enc.stat().st_mode) == 0o600
    orig = p.read_bytes()
    p.unlink()
    out = decrypt_file(enc, key=KEY)
    assert out == p and out.read_bytes() == orig
    assert sorted(x.name for x in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.enc"]


def test_wrong_key_is_integrity_error_and_writes_nothing(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes(b"secret stuff")
    enc = encrypt_file(p, key=KEY, remove_plaintext=True)
    with pytest.raises(IntegrityError, match="wrong decryption key"):
        decrypt_file(enc, key=os.urandom(32))
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt.enc"]


@pytest.mark.parametrize("cut", ["last_byte", "last_chunk", "header"])
def test_truncated_file_is_detected(tmp_path: Path, cut: str) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(os.urandom(1000))
    enc = encrypt_file(p, key=KEY, chunk_size=100)
    raw = enc.read_bytes()
    n = {"last_byte": len(raw) - 1, "last_chunk": len(raw) - 116, "header": 10}[cut]
    enc.write_bytes(raw[:n])
    with pytest.raises(IntegrityError):
        decrypt_bytes(enc, key=KEY)


def test_reordered_and_flipped_chunks_are_detected(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(os.urandom(400))
    enc = encrypt_file(p, key=KEY, chunk_size=100)
    raw = bytearray(enc.read_bytes())
    h, c = _HEAD.size, 116
    swapped = raw[:h] + raw[h + c : h + 2 * c] + raw[h : h + c] + raw[h + 2 * c :]
    enc.write_bytes(bytes(swapped))
    with pytest.raises(IntegrityError, match="chunk 0"):
        decrypt_bytes(enc, key=KEY)
    raw[h + 5] ^= 1
    enc.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        decrypt_bytes(enc, key=KEY)


def test_decrypted_temp_file_is_private_and_removed(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(b"x" * 10)
    enc = encrypt_file(p, key=KEY)
    with decrypted(enc, key=KEY) as tmp:
        assert tmp.read_bytes() == b"x" * 10
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600
    assert not tmp.exists()


def test_key_formats(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_key(KEY.hex()) == KEY
    assert parse_key(base64.b64encode(KEY).decode()) == KEY
    with pytest.raises(ConfigError) as e:
        parse_key("too-short")
    assert "too-short" not in str(e.value)
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", KEY.hex())
    assert load_key() == KEY
    kf = tmp_path / "k"
    kf.write_text(base64.b64encode(KEY).decode() + "\n")
    assert load_key(kf) == KEY


def test_cli_encrypt_decrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", base64.b64encode(KEY).decode())
    p = tmp_path / "x.parquet"
    p.write_bytes(b"data")
    r = CliRunner().invoke(app, ["encrypt", str(p), "--remove-plaintext"])
    assert r.exit_code == 0, r.output
    assert not p.exists()
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc"])
    assert r.exit_code == 0 and p.read_bytes() == b"data"
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", os.urandom(32).hex())
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc", "--out", str(tmp_path / "y")])
    assert r.exit_code == 1 and "wrong decryption key" in r.output
