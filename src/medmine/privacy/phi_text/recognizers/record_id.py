"""Record numbers: MRN, account, member/plan, licence, passport, device, vehicle, certificate
and other ids after a keyword, plus long digit runs and letter-digit ids anywhere.
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import DigitRun, Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity
from medmine.privacy.phi_text._registry import RECOGNIZERS

_KEY = (
    r"(?:MRN|MR#|MR\s?No\.?|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s*(?:no\.?|#)|"
    r"med\.?\s*rec\.?\s*(?:no\.?|#|number)?|hospital\s*(?:no\.?|#|number)|unit\s*(?:no\.?|#)|"
    r"MBI|medicare\s*(?:id|no\.?|#|number)?|medicaid\s*(?:id|no\.?|#|number)?|HICN|"
    r"lic\.?|cert\.?|SN|S/N|serial|lot\s*(?:no\.?|#)?|model\s*(?:no\.?|#)|"
    r"claim\s*(?:id|no\.?|#|number)?|auth(?:orization)?\s*(?:id|no\.?|#|number)?|"
    r"ref(?:erence)?\s*(?:no\.?|#|number)|invoice\s*(?:no\.?|#)?|rx\s*(?:no\.?|#)|"
    r"order\s*(?:no\.?|#)|specimen\s*(?:id|no\.?|#)|tag|plate|CSN|FIN|encounter\s*(?:id|no\.?|#)|"
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
#: The lower-case first letters of every keyword of `_KEY` (matches start with one).
_KEY_STARTS = frozenset(
    """mr medical record med hospital unit mbi medicare medicaid hicn lic cert sn s/n serial
    lot model claim auth ref invoice rx order specimen tag plate csn fin encounter acct
    account member policy plan insurance subscriber group health beneficiary license licence
    dl driver passport device udi vin birth npi dea badge employee patient case accession id
    #""".split()  # noqa: SIM905
)
_VAL = r"(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{2,}[A-Z0-9])"
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
            anchors=_KEY_STARTS,
        ),
        # licence numbers written in digit groups: "driver's license 29 447 180"
        Pattern(
            re.compile(
                r"(?i:licen[cs]e|lic\.?|DL|permit)[ \t]*(?:no\.?|#|number)?[ \t:#]*"
                r"(?P<v>\d{2,4}(?:[ \t]\d{2,4}){2,3})\b"
            ),
            Entity.ID,
            0.85,
            "v",
            anchors=frozenset({"lic", "dl", "permit"}),
        ),
        # licence plates: "plate 418 LMB", "tag# 7KQ-229"
        Pattern(
            re.compile(
                r"(?i:plate|tag|license plate|plates)[ \t]*(?:no\.?|#)?[ \t:#]*"
                r"(?P<v>(?=[A-Z0-9 -]*\d)[A-Z0-9]{1,4}[ -]?[A-Z0-9]{2,4})\b"
            ),
            Entity.ID,
            0.85,
            "v",
            anchors=frozenset({"plate", "tag", "license"}),
        ),
        # Medicare Beneficiary Identifier (1EG4-TE5-MK73): 11 characters, fixed shape
        Pattern(
            re.compile(
                r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]"
                r"[AC-HJKMNP-RT-Y0-9]\d-?[AC-HJKMNP-RT-Y]{2}\d{2}\b"
            ),
            Entity.ID,
            0.9,
            gate=re.compile(r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d"),
        ),
        # DEA numbers (two letters, seven digits) and letter-digit-dash serials
        Pattern(re.compile(r"\b[A-Z]{2}\d{7}\b"), Entity.ID, 0.8, gate=DigitRun(7)),
        Pattern(
            re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]{2,}){2,}\b"),
            Entity.ID,
            0.7,
            gate=(
                re.compile(r"-[A-Z0-9]*[A-Z]"),
                re.compile(r"[A-Z][A-Z0-9]*-[A-Z0-9]{2,}-[A-Z0-9]"),
            ),
        ),
        # letter+digits ids (passport X42206105X, licence S613279967)
        Pattern(re.compile(r"\b[A-Z]{1,3}\d{6,12}[A-Z]?\b"), Entity.ID, 0.8, gate=DigitRun(6)),
        # long digit runs not in a measurement
        Pattern(re.compile(r"(?<![\d.,/])\d{7,}(?![\d.,]\d)"), Entity.ID, 0.7, gate=DigitRun(7)),
    )

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Keep vocabulary codes (SNOMED, LOINC...) that follow a code keyword."""
        return not _CODES.search(text[max(0, start - 20) : start])
