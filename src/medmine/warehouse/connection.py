"""The `Warehouse`: a DuckDB file (default) holding the schema, with Ibis and Parquet access."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from medmine.config import warehouse_path
from medmine.errors import WarehouseError
from medmine.warehouse.schema import TABLES, table


class Warehouse:
    """Open or create a medmine warehouse.

    Parameters
    ----------
    path
        DuckDB file; ``None`` uses ``--warehouse``/``MEDMINE_WAREHOUSE``/``medmine.duckdb``;
        ``":memory:"`` gives a throw-away in-memory warehouse (tests).
    read_only
        Open without write access (several readers may share a file).

    >>> wh = Warehouse(":memory:")
    >>> wh.counts()["person"]
    0
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        self.path = warehouse_path(path)
        self.read_only = read_only
        if read_only and self.path != ":memory:" and not Path(self.path).exists():
            raise WarehouseError(
                f"warehouse {self.path} does not exist; build one with `medmine ingest` "
                "or `medmine demo`"
            )
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}") from exc
        self._ibis: Any = None
        if not read_only:
            self.ensure_schema()

    # ---- lifecycle ----
    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(duckdb.Error):
            self.con.close()

    def ensure_schema(self) -> None:
        """Create every missing table of the declared schema (existing tables are untouched)."""
        for spec in TABLES:
            self.con.execute(spec.ddl())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: commit on success, roll back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # ---- inspection ----
    def table_names(self) -> list[str]:
        """Tables present in the warehouse (schema tables and any others)."""
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        """Row count of every table, in schema order then any extra tables."""
        present = set(self.table_names())
        ordered = [t.name for t in TABLES if t.name in present]
        ordered += sorted(present - set(ordered))
        if not ordered:
            return {}
        union = " UNION ALL ".join(
            f"SELECT '{n}' AS t, count(*) AS n FROM \"{n}\"" for n in ordered
        )
        got = dict(self.con.execute(union).fetchall())
        return {n: int(got[n]) for n in ordered}

    def count(self, name: str) -> int:
        """Row count of one table."""
        return int(self.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])

    # ---- queries ----
    def sql(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query written in DuckDB SQL and return an Arrow table."""
        return self.con.execute(query, params or []).to_arrow_table()

    def df(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query written in DuckDB SQL and return a pandas DataFrame."""
        return self.con.execute(query, params or []).df()

    @staticmethod
    def transpile(query: str, engine: str) -> str:
        """Translate DuckDB SQL to another engine's dialect (``"spark"``) with SQLGlot."""
        if engine == "duckdb":
            return query
        return sqlglot.transpile(query, read="duckdb", write=engine)[0]

    @property
    def ibis(self) -> Any:
        """An Ibis backend over this warehouse; build engine-neutral expressions on it."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def table(self, name: str) -> Any:
        """An Ibis table expression for `name`."""
        return self.ibis.table(name)

    # ---- Parquet interchange ----
    def export_parquet(
        self, directory: str | Path, tables: Sequence[str] | None = None
    ) -> dict[str, Path]:
        """Write tables to ``directory/<table>.parquet``, the interchange format between engines."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name in tables or [t.name for t in TABLES]:
            target = out / f"{name}.parquet"
            tmp = out / f".{name}.parquet.tmp"
            self.con.execute(f"COPY \"{name}\" TO '{tmp}' (FORMAT parquet)")
            tmp.replace(target)
            written[name] = target
        return written

    def import_parquet(self, directory: str | Path) -> dict[str, int]:
        """Append ``<table>.parquet`` files of known tables, atomically; returns rows per table.

        Rows whose primary key already exists are ignored, so importing twice adds nothing.
        """
        src = Path(directory)
        files = sorted(src.glob("*.parquet"))
        if not files:
            raise WarehouseError(f"no .parquet files in {src}")
        added: dict[str, int] = {}
        with self.transaction() as con:
            for f in files:
                spec = table(f.stem)
                cols = ", ".join(f'"{c}"' for c in spec.column_names)
                n = con.execute(
                    f'INSERT OR IGNORE INTO "{spec.name}" ({cols}) '
                    f"SELECT {cols} FROM read_parquet('{f}')"
                ).fetchone()[0]
                added[spec.name] = int(n)
        return added


def spark_backend(parquet_dir: str | Path, session: Any) -> Any:
    """An Ibis backend on Spark whose tables are the Parquet files of an exported warehouse.

    The same Ibis expressions built against `Warehouse.table` run unchanged on it.
    """
    import ibis

    backend = ibis.pyspark.connect(session)
    for f in sorted(Path(parquet_dir).glob("*.parquet")):
        session.read.parquet(str(f)).createOrReplaceTempView(f.stem)
    return backend
