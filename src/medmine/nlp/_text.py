"""Tokens and their normal forms (lower case, plural folded), shared by matching and ConText."""

from __future__ import annotations

import re

#: A token: letters/digits, keeping inner apostrophes and hyphens ("non-tender", "Crohn's").
TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?|\?")

_KEEP_S = ("ss", "us", "is", "ys", "as", "os")


def norm(token: str) -> str:
    """Lower-case ``token`` and fold a regular English plural ("fevers" -> "fever").

    >>> norm("Fevers"), norm("arteries"), norm("diabetes"), norm("abscesses")
    ('fever', 'artery', 'diabetes', 'abscess')
    """
    t = token.lower()
    if len(t) <= 3 or not t.endswith("s") or t.endswith(_KEEP_S) or t == "diabetes":
        return t
    if t.endswith("ies") and len(t) > 4:
        return t[:-3] + "y"
    if t.endswith(("sses", "xes", "ches", "shes")):
        return t[:-2]
    return t[:-1]


def tokens(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, normal form)`` of every token of ``text[start:end]`` (offsets in ``text``)."""
    end = len(text) if end is None else end
    return [(m.start(), m.end(), norm(m.group())) for m in TOKEN_RE.finditer(text, start, end)]
