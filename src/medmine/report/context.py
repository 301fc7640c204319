"""Identity of a page: medmine version, generation time (UTC) and the warehouse it came from.

Every page and the index print a `PageContext`, so any number can be traced to the software
and the loads that produced it. The warehouse is named by its file name and its load ids
(``mm_load``), never by a full path: folder names can carry a person's name.

>>> from medmine.warehouse import Warehouse
>>> page_context(Warehouse(":memory:")).warehouse
'in-memory warehouse'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

#: How a page names a warehouse kept only in memory (scratch copies, tests).
IN_MEMORY = "in-memory warehouse"
#: How a page names a warehouse its caller did not give.
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class PageContext:
    """Provenance printed on every page.

    Parameters
    ----------
    version
        ``medmine.__version__`` of the code that wrote the page.
    generated
        When the page was written (UTC).
    warehouse
        File name of the warehouse (no folder), ``"in-memory warehouse"``, or
        ``"not recorded"`` when the caller gave none.
    loads
        Load ids of the warehouse (``mm_load``), oldest first.
    command
        The command that produced the pages (e.g. ``medmine demo``), or empty.
    """

    version: str
    generated: dt.datetime
    warehouse: str = NOT_RECORDED
    loads: tuple[str, ...] = ()
    command: str = ""

    @property
    def generated_text(self) -> str:
        """Generation time as ``YYYY-MM-DD HH:MM:SS UTC``."""
        return self.generated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    @property
    def warehouse_arg(self) -> str:
        """The warehouse as a ``--warehouse`` argument of a command (file name only)."""
        if self.warehouse in (IN_MEMORY, NOT_RECORDED):
            return "WAREHOUSE.duckdb"
        return self.warehouse

    def with_command(self, command: str) -> PageContext:
        """A copy naming the command that produced the pages."""
        return replace(self, command=command)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (written into each study's JSON)."""
        out: dict[str, Any] = {
            "medmine_version": self.version,
            "generated_utc": self.generated.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "warehouse": self.warehouse,
            "loads": list(self.loads),
        }
        if self.command:
            out["command"] = self.command
        return out


def _version() -> str:
    from medmine import __version__

    return __version__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def warehouse_name(path: str | Path | None) -> str:
    """The file name of a warehouse path (never its folder)."""
    if path is None or str(path) == "":
        return NOT_RECORDED
    if str(path) == ":memory:":
        return IN_MEMORY
    return Path(str(path)).name


def page_context(
    wh: Any = None, *, command: str = "", generated: dt.datetime | None = None
) -> PageContext:
    """The `PageContext` of warehouse `wh` (an open `Warehouse`), read now.

    Without `wh` the page says the warehouse was not recorded. Load ids come from
    ``mm_load`` in start order; a warehouse without that table has none.
    """
    loads: tuple[str, ...] = ()
    name = NOT_RECORDED
    if wh is not None:
        name = warehouse_name(getattr(wh, "path", None))
        loads = load_ids(wh)
    return PageContext(
        version=_version(),
        generated=generated or _now(),
        warehouse=name,
        loads=loads,
        command=command,
    )


def load_ids(wh: Any) -> tuple[str, ...]:
    """Load ids recorded in ``mm_load`` (oldest first); empty when there is no such table."""
    import duckdb

    try:
        rows = wh.con.execute("SELECT load_id FROM mm_load ORDER BY started_at, load_id").fetchall()
    except duckdb.Error:
        return ()
    return tuple(str(r[0]) for r in rows)


def resolve(context: PageContext | None) -> PageContext:
    """`context`, or one that records only version and time when the caller gave none."""
    return context if context is not None else page_context(None)
