"""The warehouse as a Parquet lake: the same tables, written by atomic, idempotent loads.

Layout (one folder per warehouse table, one partition folder per load)::

    LAKE/_medmine_lake.json              marks the folder as a lake
    LAKE/<table>/load=<load_id>/*.parquet
    LAKE/mm_load/load=<load_id>/*.parquet     the commit record, moved in last
    LAKE/.staging/<load_id>/<table>/        a load being written (never read)

**Atomicity.** Spark writes every table of a load under ``.staging/<load_id>/``; then each
table folder is renamed into ``<table>/load=<load_id>`` (a directory rename: atomic on a local
file system and on HDFS) and ``mm_load`` is renamed last. A load is visible only once its
``mm_load`` partition exists: readers (`Lake.frames`) take the partitions of committed loads
only, so a load that dies half-way leaves nothing a reader sees, and the next write removes its
left-overs (`Lake.recover`). On object stores without atomic rename (S3) the commit record
still decides visibility, but the rename is a copy: use Delta Lake or Iceberg there.

**Idempotence.** ``mm_load_file`` keeps the SHA-256 of every file a committed load read; a
file seen before is not read again (as `medmine.warehouse.LoadSession` does). Rows whose
primary key is already in a committed load are left out (DuckDB's ``INSERT OR IGNORE``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from medmine.errors import WarehouseError
from medmine.warehouse.schema import TABLES
from medmine.warehouse.schema import table as table_spec

__all__ = ["Lake", "conform"]

MARKER = "_medmine_lake.json"
_PART = "load="


def conform(df: Any, name: str) -> Any:
    """`df` with exactly the columns of warehouse table `name`, in order, cast to its types."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.pandas.types import from_arrow_schema

    spec = table_spec(name)
    schema = from_arrow_schema(spec.arrow_schema())
    have = set(df.columns)
    cols = [
        (F.col(f.name) if f.name in have else F.lit(None)).cast(f.dataType).alias(f.name)
        for f in schema.fields
    ]
    return df.select(*cols)


class Lake:
    """A medmine warehouse as a Parquet lake (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def is_lake(root: str | Path) -> bool:
        """Whether `root` holds a lake (its marker file)."""
        return (Path(root) / MARKER).exists()

    def create(self) -> Lake:
        """Create the lake folder (0700) and its marker if missing; refuse a foreign folder."""
        if self.root.exists() and not self.is_lake(self.root) and any(self.root.iterdir()):
            raise WarehouseError(
                f"{self.root} exists and is not a medmine Parquet lake; give a new or empty folder"
            )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = self.root / MARKER
        if not marker.exists():
            marker.write_text(json.dumps({"format": "medmine-parquet-lake", "version": 1}) + "\n")
        return self

    # ---- reading ----
    def committed(self) -> list[str]:
        """Ids of the committed loads, oldest folder first."""
        base = self.root / "mm_load"
        if not base.is_dir():
            return []
        return sorted(p.name[len(_PART) :] for p in base.iterdir() if p.name.startswith(_PART))

    def partitions(self, name: str) -> list[Path]:
        """Partition folders of table `name` that belong to committed loads."""
        base = self.root / name
        done = set(self.committed())
        if not base.is_dir():
            return []
        return sorted(
            p for p in base.iterdir() if p.name.startswith(_PART) and p.name[len(_PART) :] in done
        )

    def frames(self, session: Any) -> dict[str, Any]:
        """Spark DataFrames of every table with committed rows."""
        out = {}
        for spec in TABLES:
            parts = self.partitions(spec.name)
            if parts:
                out[spec.name] = session.read.parquet(*(str(p) for p in parts))
        return out

    def loaded_files(self, session: Any) -> set[str]:
        """SHA-256 of every file a committed load has read."""
        parts = self.partitions("mm_load_file")
        if not parts:
            return set()
        rows = session.read.parquet(*(str(p) for p in parts)).select("sha256").collect()
        return {r[0] for r in rows}

    # ---- writing ----
    def recover(self) -> list[str]:
        """Remove partitions and staging folders of loads that never committed; their ids."""
        done = set(self.committed())
        dropped: set[str] = set()
        staging = self.root / ".staging"
        if staging.is_dir():
            for p in staging.iterdir():
                dropped.add(p.name)
                shutil.rmtree(p, ignore_errors=True)
        for spec in TABLES:
            base = self.root / spec.name
            if not base.is_dir():
                continue
            for p in base.iterdir():
                lid = p.name[len(_PART) :]
                if p.name.startswith(_PART) and lid not in done:
                    dropped.add(lid)
                    shutil.rmtree(p, ignore_errors=True)
        return sorted(dropped)

    def write_load(
        self, session: Any, load_id: str, tables: dict[str, Any], load_row: dict[str, Any]
    ) -> dict[str, int]:
        """Write one load atomically: every table in `tables`, then its ``mm_load`` row.

        Rows whose primary key already exists in a committed load are left out. Returns the
        rows written per table.
        """
        self.create()
        self.recover()
        stage = self.root / ".staging" / load_id
        stage.mkdir(parents=True, exist_ok=True)
        existing = self.frames(session)
        written: dict[str, int] = {}
        for name, df in tables.items():
            spec = table_spec(name)
            out = conform(df, name)
            if spec.primary_key:
                out = out.dropDuplicates(list(spec.primary_key))
                if name in existing:
                    out = out.join(
                        existing[name].select(*spec.primary_key),
                        list(spec.primary_key),
                        "left_anti",
                    )
            out = out.cache()
            written[name] = out.count()
            out.write.mode("errorifexists").parquet(str(stage / name))
            out.unpersist()
        row = dict(load_row)
        row["load_id"] = load_id
        load_df = session.createDataFrame([row])
        conform(load_df, "mm_load").coalesce(1).write.parquet(str(stage / "mm_load"))
        for name in [*tables, "mm_load"]:
            target = self.root / name / f"{_PART}{load_id}"
            target.parent.mkdir(parents=True, exist_ok=True)
            (stage / name).rename(target)
        shutil.rmtree(stage, ignore_errors=True)
        return written
