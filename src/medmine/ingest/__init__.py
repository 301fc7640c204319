"""medmine.ingest stage: one reader per source, all writing through `LoadSession`.

Every reader is called as ``load(paths, warehouse, *, progress=None, ...) -> LoadReport`` and
reports progress through the one `Progress` protocol.
"""

from medmine.ingest.progress import Progress

__all__ = ["Progress"]
