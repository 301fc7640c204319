"""Regular-expression classes for letters of any alphabet (Python's `re` has no Unicode
property classes):
upper-case letters are listed from the Latin, Greek and Cyrillic blocks, so "Désirée",
"Çelik", "Øster" and "Ñúñez" read as names the way "Smith" does.
"""

from __future__ import annotations

import re

_RANGES = ((0x41, 0x24F), (0x370, 0x52F), (0x1E00, 0x1EFF))


def _cls(pred) -> str:
    chars = [chr(c) for lo, hi in _RANGES for c in range(lo, hi + 1) if pred(chr(c))]
    return "[" + "".join(re.escape(c) for c in chars) + "]"


#: One upper-case (or title-case) letter.
UPPER = _cls(lambda c: c.isupper() or c.istitle())
#: One lower-case letter.
LOWER = _cls(lambda c: c.islower())
#: One letter of any case or script (no digits, no underscore).
LETTER = r"[^\W\d_]"
