"""The errors of the ViewDefinition engine."""

from __future__ import annotations

from medmine.errors import MedmineError


class ViewDefinitionError(MedmineError, ValueError):
    """A ViewDefinition (or a FHIRPath expression in it) is invalid; the message says why."""


class ViewNotSupportedError(MedmineError):
    """A valid ViewDefinition uses a construct the compiler does not compile yet."""
