from __future__ import annotations

import base64
import io
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medmine.cli import app
from medmine.errors import ConfigError, IntegrityError
from medmine.privacy.crypto import (
    _HEAD,
    _MAC,
    MAX_CHUNK,
    _aad,
    _file_key,
    _nonce,
    decrypt_bytes,
    decrypt_file,
    decrypt_stream,
    decrypted,
    encrypt_file,
    load_key,
    parse_key,
)

KEY = bytes(range(32))
HEADER = _HEAD.size + _MAC


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
    h, c = HEADER, 116
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
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc", "--to", str(tmp_path / "y")])
    assert r.exit_code == 1 and "wrong decryption key" in r.output


class _Recording(io.BytesIO):
    """A source that remembers the largest read asked of it."""

    largest = 0

    def read(self, n: int | None = -1) -> bytes:
        self.largest = max(self.largest, n if n is not None and n >= 0 else 0)
        return super().read(n)


def _v1_file(chunk_size: int, data: bytes = b"hello world") -> bytes:
    """A version-1 file (as the previous code wrote it) declaring `chunk_size`."""
    salt, prefix = os.urandom(16), os.urandom(4)
    fkey, check = _file_key(KEY, salt)
    header = _HEAD.pack(b"MMENC\x00", 1, 0, chunk_size, salt, prefix, check)
    ct = AESGCM(fkey).encrypt(_nonce(prefix, 0), data, _aad(header, 0, True))
    return header + ct


def test_forged_chunk_size_is_refused_before_any_large_read() -> None:
    # Before: the header's chunk size (here ~4 GiB) was used for the first read unchecked.
    src = _Recording(_v1_file(0xFFFFFFF0))
    with pytest.raises(IntegrityError, match="chunk size 4,294,967,280 is outside"):
        decrypt_stream(src, io.BytesIO(), KEY, name="x.enc")
    assert src.largest <= MAX_CHUNK + 16


def test_version_1_files_still_decrypt() -> None:
    assert decrypt_stream(io.BytesIO(_v1_file(1 << 20)), out := io.BytesIO(), KEY) == 11
    assert out.getvalue() == b"hello world"


@pytest.mark.parametrize("offset", [7, 8, 11, 12, 30, 46])
def test_altered_header_fails_authentication_before_use(tmp_path: Path, offset: int) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(os.urandom(300))
    enc = encrypt_file(p, key=KEY, chunk_size=100)
    raw = bytearray(enc.read_bytes())
    raw[offset] ^= 0x40  # reserved, chunk size, salt or nonce prefix
    src = _Recording(bytes(raw))
    with pytest.raises(IntegrityError, match="header failed authentication|wrong decryption key"):
        decrypt_stream(src, io.BytesIO(), KEY)
    assert src.largest <= _HEAD.size


@pytest.mark.parametrize("size", [0, MAX_CHUNK + 1])
def test_encrypt_refuses_out_of_range_chunk_size(tmp_path: Path, size: int) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(b"x")
    with pytest.raises(ConfigError, match="chunk size"):
        encrypt_file(p, key=KEY, chunk_size=size)


def test_cli_decrypt_is_audited_in_the_warehouse(tmp_path: Path, monkeypatch) -> None:
    from medmine.warehouse import Warehouse

    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", KEY.hex())
    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    p = tmp_path / "export.parquet"
    p.write_bytes(b"rows")
    encrypt_file(p, key=KEY, remove_plaintext=True)
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc", "-w", str(db)])
    assert r.exit_code == 0, r.output
    assert "recorded in the audit log" in r.output
    with Warehouse(db, read_only=True) as w:
        row = w.con.execute("SELECT action, object FROM mm_audit").fetchall()
    # Before: decrypting identified data left no trace.
    assert row == [("decrypt", "export.parquet.enc")]


def test_cli_decrypt_of_a_warehouse_is_audited_in_itself(tmp_path: Path, monkeypatch) -> None:
    from medmine.privacy.audit import entries
    from medmine.warehouse import Warehouse

    monkeypatch.delenv("MEDMINE_AUDIT_KEY", raising=False)
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", KEY.hex())
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "ident.duckdb"
    Warehouse(db).close()
    encrypt_file(db, key=KEY, remove_plaintext=True)
    r = CliRunner().invoke(app, ["decrypt", str(db) + ".enc"])
    assert r.exit_code == 0, r.output
    with Warehouse(db, read_only=True) as w:
        assert [e.action for e in entries(w.con)] == ["decrypt"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_cli_decrypt_says_when_it_cannot_audit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", KEY.hex())
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "notes.txt"
    p.write_bytes(b"text")
    encrypt_file(p, key=KEY, remove_plaintext=True)
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc"])
    assert r.exit_code == 0 and "not audited" in r.output


def test_cli_decrypt_that_cannot_be_audited_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    from medmine.warehouse import Warehouse
    from medmine.warehouse.audit import append

    monkeypatch.setenv("MEDMINE_AUDIT_KEY", bytes(range(130, 162)).hex())
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as w:
        append(w.con, None, "load")  # a keyed log
    monkeypatch.delenv("MEDMINE_AUDIT_KEY")
    monkeypatch.setenv("MEDMINE_ENCRYPTION_KEY", KEY.hex())
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b")
    encrypt_file(p, key=KEY, remove_plaintext=True)
    r = CliRunner().invoke(app, ["decrypt", str(p) + ".enc", "-w", str(db)])
    assert r.exit_code == 1 and "MEDMINE_AUDIT_KEY" in r.output
    assert not p.exists()
