"""Record numbers: MRN, account, member/plan, licence, passport, device, vehicle, certificate
and other ids after a keyword, plus long digit runs and letter-digit ids anywhere.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_KEY = (
    r"(?:MRN|MR#|MR\s?No\.?|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s*(?:no\.?|#)|"
    r"acct\.?|account(?:\s+(?:number|no\.?|#))?|member\s*(?:id|no\.?|#|number)|"
    r"policy\s*(?:id|no\.?|#|number)?|plan\s*(?:id|no\.?|#|number)|insurance\s*(?:id|no\.?|#)|"
    r"subscriber\s*(?:id|no\.?|#)|group\s*(?:id|no\.?|#)|health\s+plan(?:\s+(?:id|no\.?|#))?|"
    r"beneficiary\s*(?:id|no\.?|#)|license\s*(?:no\.?|#|number)?|licence\s*(?:no\.?|#)?|DL|"
    r"driver'?s\s+licen[cs]e(?:\s+(?:no\.?|#|number))?|passport(?:\s+(?:no\.?|#|number))?|"
    r"serial\s*(?:no\.?|#|number)?|device\s*(?:id|no\.?|#)|UDI|VIN|plate(?:\s+(?:no\.?|#))?|"
    r"(?:birth\s+)?certificate\s*(?:no\.?|#|number)?|(?:birth\s+)?cert\.?\s*(?:no\.?|#)|group|"
    r"NPI|DEA|badge|employee\s*(?:id|#)|"
    r"patient\s*(?:id|no\.?|#|number)|case\s*(?:no\.?|#)|accession\s*(?:no\.?|#)?|ID|#)"
)
_VAL = r"(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,}[A-Z0-9])"
_CODES = re.compile(r"(?:SNOMED|LOINC|RxNorm|ICD|CPT|HCPCS|NDC|CVX|code)[\s:-]*\(?$", re.I)


@RECOGNIZERS.register("record_id")
class RecordIdRecognizer(PatternRecognizer):
    """Identifiers after a keyword (high confidence) or shaped like ids (lower)."""

    entities = (Entity.ID,)
    patterns = (
        Pattern(
            re.compile(rf"\b{_KEY}\s*(?:is|was|:|#|no\.?)?\s*[:#]?\s*{_VAL}", re.I),
            Entity.ID,
            0.95,
            "v",
        ),
        # letter+digits ids (passport X42206105X, licence S613279967)
        Pattern(re.compile(r"\b[A-Z]{1,3}\d{6,12}[A-Z]?\b"), Entity.ID, 0.8),
        # long digit runs not in a measurement
        Pattern(re.compile(r"(?<![\d.,/])\d{7,}(?![\d.,]\d)"), Entity.ID, 0.7),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Keep vocabulary codes (SNOMED, LOINC...) that follow a code keyword."""
        return not _CODES.search(text[max(0, start - 20) : start])
