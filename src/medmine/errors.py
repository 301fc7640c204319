"""The medmine exception hierarchy: every error says what, where and what to do, never PHI."""

from __future__ import annotations


class MedmineError(Exception):
    """Base class for every error medmine raises on purpose."""


class ConfigError(MedmineError):
    """A setting is missing or invalid (for example a secret not set in the environment)."""


class WarehouseError(MedmineError):
    """The warehouse cannot be opened, is of the wrong shape, or an operation on it failed."""


class SchemaError(WarehouseError):
    """Data does not match a declared table schema (missing required column, wrong type)."""


class SourceError(MedmineError):
    """A whole source file cannot be read (unreadable, wrong format); other files still load."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        msg = f"{path}: {reason}"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class LoadInterruptedError(WarehouseError):
    """A load stopped before commit; the warehouse was rolled back to its previous state."""


class NotFittedError(MedmineError, ValueError):
    """An estimator was used before `fit`."""


class PrivacyError(MedmineError):
    """A privacy rule would be broken (missing consent, missing key, identifier in output)."""


class IntegrityError(MedmineError):
    """Stored data failed an integrity check (audit chain broken, wrong decryption key)."""
