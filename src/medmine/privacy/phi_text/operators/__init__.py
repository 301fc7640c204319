"""Operators, one per module; importing this package registers them all."""

from medmine.privacy.phi_text.operators import (  # noqa: F401
    generalize_date,
    redact,
    shift_date,
    surrogate,
    tag,
)
