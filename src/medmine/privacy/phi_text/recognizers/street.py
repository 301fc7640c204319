"""Street addresses: a house number, one to four words and a street suffix, optional unit;
the city written right after a street line (no state needed).
"""

from __future__ import annotations

import re

from medmine.privacy.phi_text._base import Pattern, PatternRecognizer
from medmine.privacy.phi_text._model import Entity, NoteContext, Span
from medmine.privacy.phi_text._registry import RECOGNIZERS
from medmine.privacy.phi_text.recognizers._letters import LETTER, UPPER

_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Court|Ct|Boulevard|Blvd|Way|Place|Pl|"
    r"Terrace|Ter|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Trail|Trl|Dale|Crossing|Xing|"
    r"Heights|Hts|Hill|Hills|Gardens|Gdns|Park|Point|Ridge|Row|Run|Path|Pike|Plaza|Alley|"
    r"Loop|Mall|Manor|Mews|Glen|Grove|Green|Haven|Harbor|Landing|Meadow|Meadows|Mill|Mills|"
    r"Port|Station|Summit|Turnpike|Valley|View|Village|Walk|Wall|Well|Wells|Estates|Extension|"
    r"Fork|Forge|Falls|Ford|Fields|Creek|Cove|Camp|Brook|Branch|Bridge|Bypass|Center|Club|"
    r"Common|Corner|Corners|Course|Curve|Divide|Expressway|Freeway|Gateway|Island|Junction|"
    r"Key|Knoll|Lake|Lodge|Orchard|Oval|Pass|Pine|Pines|Prairie|Ramp|Ranch|Rapids|Rest|Shoal|"
    r"Shore|Shores|Spring|Springs|Stream|Street|Track|Trace|Tunnel|Union|Vista|Ville|Concourse|"
    r"Esplanade|Promenade|Broadway|Bend)"
)
_UNIT = (
    r"(?:,?[ \t]+(?i:Unit|Apt\.?|Apartment|Suite|Ste\.?|#|Room|Rm\.?|Floor|Fl\.?|Lot|Trlr|Space)"
    r"\s*#?\s*[\w-]+)?"
)
_WORD = rf"(?:{UPPER}(?:{LETTER}|['.-])*|\d+(?:st|nd|rd|th))"
_CW = rf"(?:St\.|Ft\.|Mt\.|{UPPER}(?:{LETTER}|['-])+)"
#: The city on the line after a street, after its comma, or before a ZIP, with no state
#: ("12 Elm St, Framingham" / "12 Elm St\nFramingham 01701" / "12 Elm St Framingham 01701").
_CITY_AFTER = re.compile(
    rf"(?:,[ \t]*|[ \t]*\n[ \t]*|[ \t]+(?={_CW}(?:[ \t]+{_CW}){{0,2}}[ \t]+\d{{5}}(?!\d)))"
    rf"(?P<c>{_CW}(?:[ \t]+{_CW}){{0,2}})"
    r"(?=[ \t]*(?:,|\.|;|\n|$|\d{5}|[A-Z]{2}\b))"
)
_ZIP_AFTER = re.compile(r"[ \t,]*(?:[A-Z]{2}[ \t]+)?(?P<z>\d{5}(?:-\d{4})?)(?!\d)")


@RECOGNIZERS.register("street")
class StreetRecognizer(PatternRecognizer):
    """Street address lines."""

    entities = (Entity.STREET,)
    patterns = (
        Pattern(
            re.compile(
                rf"\b\d{{1,6}}[A-Z]?[ \t]+(?:{_WORD}[ \t]+){{0,3}}{_SUFFIX}(?:\.|\b)"
                rf"(?:[ \t]+(?:NE|NW|SE|SW|N|S|E|W)\b)?{_UNIT}"
            ),
            Entity.STREET,
            0.85,
            gate=re.compile(rf"{_SUFFIX}(?:\.|\b)"),
        ),
        Pattern(
            re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.I),
            Entity.STREET,
            0.95,
            gate=re.compile(r"[Bb][Oo][Xx]\s+\d"),
        ),
        # rural routes: "RR 2 Box 118", "HC 64 Box 12"
        Pattern(
            re.compile(r"\b(?:RR|R\.R\.|Rural Route|HC|Star Route)[ \t]*\d+,?[ \t]+Box[ \t]+\d+\b"),
            Entity.STREET,
            0.9,
            gate=re.compile(r"Box[ \t]+\d"),
        ),
        # Spanish and French street words before the name: "3317 Camino del Sol"
        Pattern(
            re.compile(
                rf"\b\d{{1,6}}[ \t]+(?:Camino|Calle|Avenida|Via|V[ií]a|Paseo|Rue|Boulevard|Chemin)"
                rf"(?:[ \t]+(?:del|de|la|las|los|el|du|des|{_WORD})){{1,4}}{_UNIT}"
            ),
            Entity.STREET,
            0.85,
            gate=re.compile(r"Camino|Calle|Avenida|V[ií]a|Paseo|Rue|Boulevard|Chemin"),
        ),
        # numbered streets and corners without a house number: "SE 82nd Ave & Foster Rd"
        Pattern(
            re.compile(
                rf"\b(?:[NSEW]{{1,2}}\.?[ \t]+)?\d+(?:st|nd|rd|th)[ \t]+{_SUFFIX}\b"
                rf"(?:[ \t]*(?:&|and|at)[ \t]*(?:{_WORD}[ \t]+){{1,3}}{_SUFFIX}\b)?"
            ),
            Entity.STREET,
            0.8,
            gate=re.compile(r"\d(?:st|nd|rd|th)[ \t]+[A-Z]"),
        ),
    )

    def analyze(self, text: str, ctx: NoteContext) -> list[Span]:
        """Street lines, and the city written right after one (as CITY)."""
        out = super().analyze(text, ctx)
        for s in list(out):
            if s.entity is Entity.STREET and (m := _CITY_AFTER.match(text, s.end)):
                out.append(Span(m.start("c"), m.end("c"), Entity.CITY, 0.75, self.name))
                if z := _ZIP_AFTER.match(text, m.end("c")):
                    out.append(Span(z.start("z"), z.end("z"), Entity.ZIP, 0.8, self.name))
        return out

    def accept(self, text: str, start: int, end: int, entity: Entity) -> bool:
        """Reject quantities like '5 Day Course' or '2 St' with no name word."""
        words = text[start:end].split()
        return len(words) >= 3 or bool(re.search(r"\d{2,}", words[0]))
