"""IP addresses (IPv4 and full or compressed IPv6)."""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_OCT = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


@RECOGNIZERS.register("ip")
class IpRecognizer(PatternRecognizer):
    """IPv4 and IPv6 addresses."""

    entities = (Entity.IP,)
    patterns = (
        Pattern(
            re.compile(rf"(?<![\d.]){_OCT}(?:\.{_OCT}){{3}}(?![\d.]\d)"),
            Entity.IP,
            0.9,
            gate=re.compile(r"\d\.\d+\.\d+\.\d"),
        ),
        Pattern(
            re.compile(
                r"\b(?=[0-9a-f:]*(?:::|[a-f]))(?:[0-9a-f]{1,4}:){2,7}(?::?[0-9a-f]{1,4})+\b"
                r"|\b(?:[0-9a-f]{1,4}:){5,7}[0-9a-f]{1,4}\b",
                re.I,
            ),
            Entity.IP,
            0.85,
            gate=re.compile(r":[0-9a-fA-F]{0,4}:"),
        ),
    )
