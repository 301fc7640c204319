"""Recall mode: organisation names made of ordinary words, which the facility rules (a
``Hospital``-like word) miss: a run of capitalised words after ``at``/``to``/``from``/``via``
inside a sentence ("IMN at UPMC Passavant", "s/p section at Regional One", "via Metro Access
van"), and capitalised runs joined by ``&`` ("Mercy Ridge Heart & Vascular", "Pacific Plastic
& Reconstructive Surgery").

A run is kept only if one of its words is neither clinical nor a generic care word
("transferred to Physical Therapy", "Assessment & Plan" are not names).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text import _vocab
from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER
from medmine.privacy.phi_text.recognizers.facility import _GENERIC, _KIND_WORDS

_CW = rf"{UPPER}(?:{LETTER}|['’.-])*(?:{LETTER})"
_JOIN = r"[ \t]+(?:(?:of|the|at|for|and|&)[ \t]+)?"
_AFTER_PLACE_WORD = re.compile(
    rf"(?<=[\w)][ \t])(?:at|to|from|via)[ \t]+(?P<o>{_CW}(?:{_JOIN}{_CW}){{1,4}})"
)
_AMPERSAND = re.compile(
    rf"(?<![\w&])(?P<o>{_CW}(?:[ \t]+{_CW}){{0,3}}[ \t]+&[ \t]+{_CW}(?:[ \t]+{_CW}){{0,3}})"
)
#: Words that are never part of an organisation name run.
_NOT_ORG = frozenset(
    """the a an and or of at for to from via with by dr mr mrs ms md rn np pa patient pt
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december""".split()  # noqa: SIM905
)


@RECOGNIZERS.register("org_name")
class OrgNameRecognizer(PatternRecognizer):
    """Organisation names of ordinary words (recall mode only)."""

    entities = (Entity.FACILITY,)
    recall_only = True
    patterns = (
        Pattern(
            _AFTER_PLACE_WORD,
            Entity.FACILITY,
            0.55,
            "o",
            anchors=frozenset(k + sp for k in ("at", "to", "from", "via") for sp in " \t"),
        ),
        Pattern(_AMPERSAND, Entity.FACILITY, 0.55, "o", gate=re.compile(r"[ \t]&[ \t]")),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Some word of the run is neither clinical nor a generic care word; the run is no
        section header ("Assessment & Plan:").
        """
        if text[end : end + 3].lstrip(" \t").startswith(":"):
            return False
        clinical, lexicon = _vocab.clinical(), _vocab.lexicon()
        words = [
            w.lower().strip(".'’-") for w in re.findall(rf"{LETTER}[\w'’.-]*", text[start:end])
        ]
        own = [
            w
            for w in words
            if w not in _NOT_ORG
            and w not in _GENERIC
            and w not in _KIND_WORDS
            and w not in clinical
            and w not in lexicon
        ]
        return bool(own)
