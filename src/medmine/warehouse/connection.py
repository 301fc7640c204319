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
from medmine.errors import PrivacyError, WarehouseError
from medmine.warehouse import audit
from medmine.warehouse.files import hold_private_umask, private_dir
from medmine.warehouse.schema import TABLES, table
from medmine.warehouse.sql import ident, literal

#: Tables `export_parquet` writes only when asked with ``include_identified``: direct
#: identifiers (names, addresses, SSNs, MRNs, linkage), raw quarantined input records and
#: provenance (source file names often carry a name, an MRN or a date).
IDENTIFIED_TABLES: tuple[str, ...] = (
    *(t.name for t in TABLES if t.role == "identity"),
    "mm_quarantine",
    "mm_source_record",
)


class Warehouse:
    """Open or create a medmine warehouse.

    Parameters
    ----------
    path
        DuckDB file; ``None`` uses ``--warehouse``/``MEDMINE_WAREHOUSE``/``medmine.duckdb``;
        ``":memory:"`` gives a throw-away in-memory warehouse (tests).
    read_only
        Open without write access (several readers may share a file).

    While a file warehouse is open for writing, the process umask is owner-only, so the
    database file (when new), its ``.wal``, DuckDB's spill files and every output written
    meanwhile are created 0600 (see `medmine.warehouse.files`).

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
        self._release_umask = (
            hold_private_umask() if not read_only and self.path != ":memory:" else lambda: None
        )
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            self._release_umask()
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
        self._release_umask()

    def ensure_schema(self) -> None:
        """Create every missing table of the declared schema; in existing tables, drop a NOT
        NULL that the schema no longer declares (e.g. person.year_of_birth, now nullable).
        """
        for spec in TABLES:
            self.con.execute(spec.ddl())
        not_null = set(
            self.con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'main' AND is_nullable = 'NO'"
            ).fetchall()
        )
        for spec in TABLES:
            for c in spec.columns:
                relax = not c.required and c.name not in spec.primary_key
                if relax and (spec.name, c.name) in not_null:
                    self.con.execute(
                        f"ALTER TABLE {ident(spec.name)} ALTER COLUMN {ident(c.name)} DROP NOT NULL"
                    )

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
            f"SELECT {literal(n)} AS t, count(*) AS n FROM {ident(n)}" for n in ordered
        )
        got = dict(self.con.execute(union).fetchall())
        return {n: int(got[n]) for n in ordered}

    def count(self, name: str) -> int:
        """Row count of one table."""
        return int(self.con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()[0])

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
        self,
        directory: str | Path,
        tables: Sequence[str] | None = None,
        *,
        include_identified: bool = False,
    ) -> dict[str, Path]:
        """Write tables to ``directory/<table>.parquet``, the interchange format between engines.

        Every table of the schema by default, except `IDENTIFIED_TABLES`, which are written
        only with `include_identified`. Files are created 0600 in a 0700 folder, and one
        ``warehouse.export`` audit entry records the tables and rows (so the warehouse must be
        open for writing). No consent filter applies here: for a release to others use
        `medmine.privacy.export.export_parquet`.

        Raises
        ------
        PrivacyError
            An identified table was asked for without `include_identified`.
        WarehouseError
            The warehouse is open read-only (the export could not be audited), or a name is
            not a table of the schema.
        """
        names = list(tables) if tables else [t.name for t in TABLES]
        for name in names:
            try:
                table(name)
            except KeyError:
                raise WarehouseError(f"{name!r} is not a table of the warehouse schema") from None
        held = [n for n in names if n in IDENTIFIED_TABLES]
        if held and not include_identified:
            if tables:
                raise PrivacyError(
                    f"{', '.join(held)} hold direct identifiers or raw source records; export "
                    "them only on purpose with include_identified=True "
                    "(`medmine warehouse export --include-identified`)"
                )
            names = [n for n in names if n not in IDENTIFIED_TABLES]
        if self.read_only:
            raise WarehouseError(
                f"warehouse {self.path} is open read-only, so this export could not be "
                "audited; open it for writing"
            )
        out = private_dir(directory)
        written: dict[str, Path] = {}
        rows: dict[str, int] = {}
        with contextlib.ExitStack() as stack:
            stack.callback(hold_private_umask())
            for name in names:
                target = out / f"{name}.parquet"
                tmp = out / f".{name}.parquet.tmp"
                self.con.execute(f"COPY {ident(name)} TO {literal(tmp)} (FORMAT parquet)")
                tmp.replace(target)
                written[name] = target
                rows[name] = self.count(name)
        audit.append(
            self.con,
            None,
            "warehouse.export",
            out.name,
            sum(rows.values()),
            None,
            {
                "tables": len(names),
                "identified_tables": [n for n in names if n in IDENTIFIED_TABLES],
                "consent_filter": False,
            },
        )
        return written

    def import_parquet(self, directory: str | Path) -> dict[str, int]:
        """Append ``<table>.parquet`` files of known tables, atomically; returns rows per table.

        Rows whose primary key already exists are ignored, so importing twice adds nothing.
        """
        src = Path(directory)
        files = sorted(src.glob("*.parquet"))
        if not files:
            raise WarehouseError(f"no .parquet files in {src}")
        specs = []
        for f in files:
            try:
                specs.append((f, table(f.stem)))
            except KeyError:
                raise WarehouseError(
                    f"{f.name} in {src} is not named after a warehouse table; rename or remove it"
                ) from None
        added: dict[str, int] = {}
        with self.transaction() as con:
            for f, spec in specs:
                cols = ", ".join(ident(c) for c in spec.column_names)
                n = con.execute(
                    spec.insert_new_sql(f"(SELECT {cols} FROM read_parquet(?))"), [str(f)]
                ).fetchall()[0][0]
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
