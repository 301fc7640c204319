"""Stable integer row ids derived from source keys, so re-loads and cross-file references agree.

OMOP keys are 64-bit integers while sources carry strings (FHIR ids, MRNs, claim numbers).
A keyed hash gives the same id for the same source key in every load and every file, with no
lookup table; 63 bits keep ids positive and collisions negligible (p ~ n^2 / 2^64).
"""

from __future__ import annotations

import hashlib

_MASK = (1 << 63) - 1


def stable_id(namespace: str, key: str) -> int:
    """Return a positive 63-bit id for `key` within `namespace` (e.g. "fhir:Patient").

    >>> stable_id("fhir:Patient", "abc") == stable_id("fhir:Patient", "abc")
    True
    >>> stable_id("fhir:Patient", "abc") != stable_id("fhir:Encounter", "abc")
    True
    """
    digest = hashlib.blake2b(f"{namespace}\x1f{key}".encode(), digest_size=8).digest()
    # Ids below 2^32 are left to OMOP sources that bring their own small integer keys.
    return (int.from_bytes(digest, "big") & _MASK) | (1 << 40)


def concept_hash_id(vocabulary: str, code: str) -> int:
    """Return a stable negative-free 31-bit id for a source code with no standard concept.

    Used only for `*_source_concept_id`-like grouping keys inside medmine; never stored in a
    `*_concept_id` column (those stay 0 when no standard mapping is known).
    """
    digest = hashlib.blake2b(f"{vocabulary}\x1f{code}".encode(), digest_size=4).digest()
    return (int.from_bytes(digest, "big") & 0x7FFFFFFF) | (1 << 30)
