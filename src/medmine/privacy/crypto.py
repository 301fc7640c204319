"""Encryption at rest: AES-256-GCM in a chunked, streaming, truncation-evident file format.

Format (all integers big-endian)::

    header  = magic "MMENC" + NUL (6) | version u8 (=2) | reserved u8 | chunk_size u32
              | salt (16) | nonce_prefix (4) | key_check (16) | header_mac (16)
    chunk_i = AES-GCM(file_key, nonce = nonce_prefix || i as u64,
                      aad = header || i as u64 || final u8) -> ciphertext || tag(16)

The file key is HKDF-SHA256(master key, salt) so no two files share a key/nonce pair; the
chunk index and a final flag are authenticated, so reordered, dropped, appended or truncated
chunks fail; `key_check` (HMAC of the file key) tells a wrong key apart from corruption;
`header_mac` (HMAC of the file key over the header before it) authenticates the chunk size,
salt and nonce prefix *before* any of them is used, and the chunk size must lie in
``1..MAX_CHUNK`` (a forged size cannot make the reader allocate gigabytes). Version 1 files
(no `header_mac`) still decrypt; their chunk size is bounded and then authenticated with the
first chunk. Keys must carry 256 bits of entropy (`medmine.privacy.keys`).
Plaintext never touches disk except through `decrypted`, which uses a 0600 temporary file
that is always removed; outputs are written to a temporary file (0600) and renamed atomically.

>>> import os, tempfile
>>> key = os.urandom(32)
>>> d = tempfile.mkdtemp()
>>> p = os.path.join(d, "x.txt")
>>> _ = open(p, "wb").write(b"hello")
>>> decrypt_bytes(encrypt_file(p, key=key), key=key)
b'hello'
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from medmine.config import secret
from medmine.errors import ConfigError, IntegrityError
from medmine.privacy.keys import decode_key

#: Environment variable holding the 32-byte master key (base64 or hex).
KEY_ENV = "MEDMINE_ENCRYPTION_KEY"
MAGIC = b"MMENC\x00"
VERSION = 2
DEFAULT_CHUNK = 1 << 20
#: Largest chunk size a file may declare (64 MiB); a reader never buffers more than this.
MAX_CHUNK = 1 << 26
SUFFIX = ".enc"
_HEAD = struct.Struct(">6sBBI16s4s16s")  # version 1 header; version 2 appends header_mac
_MAC = 16
_TAG = 16


def parse_key(text: str | bytes, name: str = KEY_ENV) -> bytes:
    """Decode a 32-byte key given as raw bytes, hex (64 chars) or base64 (44 chars).

    Raises
    ------
    ConfigError
        If the value does not decode to exactly 32 bytes, or they are not random enough
        (all zero, a repeated pattern, printable text); the key is never echoed.
    """
    return decode_key(text, name, size=32)


def load_key(key_file: str | Path | None = None) -> bytes:
    """The master key: from `key_file` if given, else from `MEDMINE_ENCRYPTION_KEY`."""
    if key_file is not None:
        return parse_key(Path(key_file).read_bytes(), f"key file {Path(key_file).name}")
    return parse_key(secret(KEY_ENV) or "")


def _file_key(master: bytes, salt: bytes) -> tuple[bytes, bytes]:
    k = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"medmine-enc-v1").derive(master)
    check = hmac.new(k, b"medmine key check", hashlib.sha256).digest()[:16]
    return k, check


def _header_mac(fkey: bytes, head: bytes) -> bytes:
    return hmac.new(fkey, b"medmine header v2" + head, hashlib.sha256).digest()[:_MAC]


def _check_chunk_size(chunk_size: int, error: type[Exception], name: str) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise error(
            f"{name}: chunk size {chunk_size:,} is outside 1..{MAX_CHUNK:,} bytes"
            + ("" if error is ConfigError else "; the header is damaged or forged")
        )


def _nonce(prefix: bytes, i: int) -> bytes:
    return prefix + struct.pack(">Q", i)


def _aad(header: bytes, i: int, final: bool) -> bytes:
    return header + struct.pack(">QB", i, 1 if final else 0)


def encrypt_stream(
    src: BinaryIO, dst: BinaryIO, key: bytes, *, chunk_size: int = DEFAULT_CHUNK
) -> int:
    """Encrypt `src` to `dst`; returns the number of plaintext bytes."""
    _check_chunk_size(chunk_size, ConfigError, "chunk_size")
    salt, prefix = os.urandom(16), os.urandom(4)
    fkey, check = _file_key(key, salt)
    head = _HEAD.pack(MAGIC, VERSION, 0, chunk_size, salt, prefix, check)
    header = head + _header_mac(fkey, head)
    dst.write(header)
    aes = AESGCM(fkey)
    total, i = 0, 0
    cur = src.read(chunk_size)
    while True:
        nxt = src.read(chunk_size) if len(cur) == chunk_size else b""
        final = not nxt
        dst.write(aes.encrypt(_nonce(prefix, i), cur, _aad(header, i, final)))
        total += len(cur)
        if final:
            return total
        cur, i = nxt, i + 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes, *, name: str = "input") -> int:
    """Decrypt `src` to `dst`, verifying every chunk; returns the plaintext size.

    Raises
    ------
    IntegrityError
        Wrong key, not a medmine encrypted file, or tampered/truncated content.
    """
    head = src.read(_HEAD.size)
    if len(head) < _HEAD.size or head[:6] != MAGIC:
        raise IntegrityError(f"{name}: not a medmine encrypted file (bad header)")
    _, version, _, chunk_size, salt, prefix, check = _HEAD.unpack(head)
    if version not in (1, 2):
        raise IntegrityError(f"{name}: unsupported encryption format version {version}")
    mac = src.read(_MAC) if version == 2 else b""
    if len(mac) < (_MAC if version == 2 else 0):
        raise IntegrityError(f"{name}: not a medmine encrypted file (header cut short)")
    fkey, expect = _file_key(key, salt)
    if not hmac.compare_digest(check, expect):
        raise IntegrityError(f"{name}: wrong decryption key (key check failed); nothing written")
    if version == 2 and not hmac.compare_digest(mac, _header_mac(fkey, head)):
        raise IntegrityError(
            f"{name}: header failed authentication (chunk size, salt or nonce altered); "
            "nothing written"
        )
    _check_chunk_size(chunk_size, IntegrityError, name)
    header = head + mac
    aes = AESGCM(fkey)
    total, i = 0, 0
    size = chunk_size + _TAG
    cur = src.read(size)
    while True:
        nxt = src.read(size)
        final = not nxt
        if len(cur) < _TAG:
            raise IntegrityError(f"{name}: truncated at chunk {i}")
        try:
            plain = aes.decrypt(_nonce(prefix, i), cur, _aad(header, i, final))
        except InvalidTag:
            raise IntegrityError(
                f"{name}: chunk {i} failed authentication (truncated, reordered or modified)"
            ) from None
        dst.write(plain)
        total += len(plain)
        if final:
            return total
        cur, i = nxt, i + 1


def _atomic_write(target: Path) -> tuple[int, Path]:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, 0o600)
    return fd, Path(tmp)


def encrypt_file(
    path: str | Path,
    out: str | Path | None = None,
    *,
    key: bytes | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    remove_plaintext: bool = False,
) -> Path:
    """Encrypt `path` to `out` (default ``path + ".enc"``) atomically; returns `out`.

    With `remove_plaintext`, the source file is deleted after the encrypted copy is in place
    (deletion is not secure erasure on journaling or copy-on-write file systems).
    """
    src = Path(path)
    dst = Path(out) if out is not None else src.with_name(src.name + SUFFIX)
    key = key if key is not None else load_key()
    fd, tmp = _atomic_write(dst)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            encrypt_stream(fin, fout, key, chunk_size=chunk_size)
            fout.flush()
            os.fsync(fout.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if remove_plaintext:
        src.unlink()
    return dst


def decrypt_file(
    path: str | Path, out: str | Path | None = None, *, key: bytes | None = None
) -> Path:
    """Decrypt `path` to `out` (default: `path` without ``.enc``), only if fully authentic."""
    src = Path(path)
    if out is None:
        if not src.name.endswith(SUFFIX):
            raise ConfigError(f"{src}: name does not end in {SUFFIX}; pass an output path")
        out = src.with_name(src.name[: -len(SUFFIX)])
    dst = Path(out)
    key = key if key is not None else load_key()
    fd, tmp = _atomic_write(dst)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            decrypt_stream(fin, fout, key, name=src.name)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dst


def decrypt_bytes(path: str | Path, *, key: bytes | None = None) -> bytes:
    """Decrypt `path` into memory."""
    import io

    buf = io.BytesIO()
    with open(path, "rb") as fin:
        decrypt_stream(fin, buf, key if key is not None else load_key(), name=Path(path).name)
    return buf.getvalue()


@contextlib.contextmanager
def decrypted(path: str | Path, *, key: bytes | None = None, suffix: str = "") -> Iterator[Path]:
    """Decrypt to a private (0600) temporary file for the duration of a block, then remove it.

    >>> # with decrypted("medmine.duckdb.enc", suffix=".duckdb") as p: Warehouse(p, read_only=True)
    """
    src = Path(path)
    fd, tmp = tempfile.mkstemp(prefix="medmine-", suffix=suffix)
    os.fchmod(fd, 0o600)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            decrypt_stream(fin, fout, key if key is not None else load_key(), name=src.name)
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
