"""URLs (http, https, ftp, www.)."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS


@RECOGNIZERS.register("url")
class UrlRecognizer(PatternRecognizer):
    """Web addresses."""

    entities = (Entity.URL,)
    patterns = (
        Pattern(
            re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:]", re.I),
            Entity.URL,
            0.95,
            anchors=frozenset({"http", "ftp", "www."}),
        ),
    )
