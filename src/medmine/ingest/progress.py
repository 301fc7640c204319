"""The one progress protocol: every reader's ``load(..., progress=...)`` calls it the same way.

``progress(item, done, total)``: `item` names what is being read (a file, a table), `done`
counts the units of work finished so far in the whole load and `total` is how many there
will be, or ``None`` when that is not known in advance. The unit is the reader's own:

================  =====================  =============================================
reader            item                   done / total
================  =====================  =============================================
``omop``          table name             tables loaded / tables to load
``fhir``          file name              bytes read / bytes of all files
``hl7v2``         file name              messages read / ``None`` (after each file)
``claims``        file name              rows read / ``None`` (after each file)
``synthea_csv``   file name              rows read / ``None`` (after each file)
``notes``         note file (relative)   notes read / notes to read
================  =====================  =============================================

>>> def progress(item: str, done: int, total: int | None) -> None:
...     print(f"{item}: {done:,} of {total if total is not None else '?'}")
>>> progress("patients.csv", 1200, None)
patients.csv: 1,200 of ?
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress"]


class Progress(Protocol):
    """Called by readers as work advances: ``progress(item, done, total)``."""

    def __call__(self, item: str, done: int, total: int | None) -> None:
        """Report that `done` of `total` units are finished; `item` is being read."""
