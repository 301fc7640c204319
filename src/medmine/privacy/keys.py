"""Key strength: every medmine key is at least 32 random bytes, given as hex or base64.

A key guards pseudonyms (``MEDMINE_DEID_KEY``), files at rest (``MEDMINE_ENCRYPTION_KEY``),
saved models (``MEDMINE_MODEL_KEY``) and the audit chain (``MEDMINE_AUDIT_KEY``). A word or a
sentence is not a key: a one-word pseudonym key was recovered from de-identified output in
0.08 s by trying a dictionary. So a key must decode (hex, or standard or URL-safe base64) to
at least 32 bytes that look random: not all one value, not a short repeated pattern, not
printable text. Errors say what was given (its length and kind, never the value) and what to
do: ``medmine keys new``.

The audit chain sits in the warehouse layer below this package and applies the same rules
itself (`medmine.warehouse.audit.audit_key`); a test keeps the two in agreement.

>>> len(decode_key(new_key(), "K"))
32
>>> weakness("correct horse battery staple")
'is 28 characters of text that is neither hex nor base64 (a passphrase?)'
>>> weakness("00" * 32)
'decodes to 1 distinct byte value (all zero or a repeated pattern)'
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import string

from medmine.config import secret
from medmine.errors import ConfigError

#: Fewest random bytes a key may decode to (256 bits).
MIN_KEY_BYTES = 32
#: Fewest distinct byte values in a key (32 random bytes have about 30).
MIN_DISTINCT = 16
FORMATS = ("base64", "hex")


def decode(text: str | bytes) -> bytes | None:
    """The bytes `text` encodes as hex or base64 (standard or URL-safe), or ``None``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            return None
    s = text.strip()
    if s and len(s) % 2 == 0 and all(c in string.hexdigits for c in s):
        return bytes.fromhex(s)
    with contextlib.suppress(ValueError, binascii.Error):
        return base64.b64decode(s, validate=True)
    with contextlib.suppress(ValueError, binascii.Error):
        return base64.b64decode(s, altchars=b"-_", validate=True)
    return None


def bytes_weakness(raw: bytes) -> str | None:
    """Why the key bytes `raw` do not carry 256 bits of entropy, or ``None`` if they may."""
    if len(raw) < MIN_KEY_BYTES:
        return f"decodes to {len(raw)} bytes; at least {MIN_KEY_BYTES} random bytes are needed"
    distinct = len(set(raw))
    if distinct < MIN_DISTINCT:
        values = "value" if distinct == 1 else "values"
        return f"decodes to {distinct} distinct byte {values} (all zero or a repeated pattern)"
    if all(32 <= b < 127 for b in raw):
        return "decodes to printable text (an encoded passphrase, not random bytes)"
    return None


def weakness(text: str | bytes) -> str | None:
    """Why the key text `text` is too weak, or ``None``; never quotes the value."""
    raw = decode(text)
    if raw is None:
        n = len(text.strip())
        unit = "bytes" if isinstance(text, bytes) else "characters of text"
        return f"is {n} {unit} that is neither hex nor base64 (a passphrase?)"
    return bytes_weakness(raw)


def _error(name: str, why: str) -> ConfigError:
    return ConfigError(
        f"{name} is too weak: it {why}; generate a key with `medmine keys new` and export it "
        f"as {name} (keep it in a secrets manager, never in the repository or the warehouse)"
    )


def check_text_key(text: str, name: str) -> bytes:
    """Check a key given as text and return it as UTF-8 bytes (the HMAC key material).

    The text itself stays the key, so pseudonyms made with a strong key before this check
    existed do not change.

    Raises
    ------
    ConfigError
        The key is too weak (see the module docstring).
    """
    why = weakness(text)
    if why:
        raise _error(name, why)
    return text.encode("utf-8")


def decode_key(text: str | bytes, name: str, *, size: int | None = None) -> bytes:
    """Decode and check a key; with `size`, it must decode to exactly that many bytes.

    Raw bytes of length `size` (a binary key file) are taken as they are, then checked.
    """
    raw: bytes | None
    if isinstance(text, bytes) and size is not None and len(text) == size:
        raw = text
    else:
        raw = decode(text)
    if raw is None:
        raise _error(name, weakness(text) or "is not hex or base64")
    if size is not None and len(raw) != size:
        raise ConfigError(
            f"{name} must be {size} bytes given as hex ({2 * size} characters) or base64 "
            f"({4 * ((size + 2) // 3)} characters); it decodes to {len(raw)} bytes. Generate "
            "one with `medmine keys new`"
        )
    why = bytes_weakness(raw)
    if why:
        raise _error(name, why)
    return raw


def env_key(name: str, *, required: bool = True) -> bytes | None:
    """The checked key in environment variable `name`, as bytes (``None`` if unset, optional)."""
    text = secret(name, required=required)
    return None if text is None else check_text_key(text, name)


def new_key(fmt: str = "base64") -> str:
    """A new random 32-byte key as base64 (44 characters) or hex (64 characters)."""
    if fmt not in FORMATS:
        raise ConfigError(f"key format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    while True:
        raw = secrets.token_bytes(MIN_KEY_BYTES)
        if bytes_weakness(raw) is None:  # fails with probability ~1e-14; never loop on it
            break
    return raw.hex() if fmt == "hex" else base64.b64encode(raw).decode("ascii")
