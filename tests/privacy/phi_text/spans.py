"""Shared checks of the recall-mode rule tests: is a target string removed, or left alone?"""

from __future__ import annotations

from medmine.privacy.phi_text import NoteContext, Scrubber


def covered(scrubber: Scrubber, text: str, target: str) -> bool:
    """Every letter and digit of `target` (first occurrence) lies in a detected span."""
    start = text.index(target)
    spans = scrubber.analyze(text, NoteContext())
    return all(
        any(s.start <= i < s.end for s in spans)
        for i in range(start, start + len(target))
        if text[i].isalnum()
    )


def touched(scrubber: Scrubber, text: str, target: str) -> bool:
    """Some detected span overlaps `target` (first occurrence)."""
    start = text.index(target)
    end = start + len(target)
    return any(s.start < end and start < s.end for s in scrubber.analyze(text, NoteContext()))
