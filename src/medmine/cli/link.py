"""`medmine link`: find the records of one person in the warehouse or in plain files.

Two ways in:

- ``medmine link --warehouse W``: link the warehouse's identities (``mm_person_identity``),
  replace ``mm_person_link`` (clusters) and ``mm_person_link_pair`` (scored pairs).
- ``medmine link a.csv b.parquet --out DIR --map given_name=first,family_name=last``: link
  CSV or Parquet tables; write ``DIR/clusters.csv``, ``DIR/pairs.csv`` and ``DIR/linkage.html``.

Only counts are printed: identities are PHI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors
from medmine.errors import ConfigError

__all__ = ["link"]

_MAP_HELP = (
    "Column mapping FIELD=COLUMN,... for the files, e.g. given_name=first,family_name=surname,"
    "birth_date=dob,zip=postcode,unique_id=rec_id. Fields: unique_id, source, given_name, "
    "family_name, birth_date, sex, street_number, address_line, address_line2, city, state, "
    "zip, phone, email, ssn, mrn, mrn_authority. Columns named like a field need no mapping."
)


def _read(path: Path) -> object:
    import duckdb

    from medmine.warehouse.sql import literal

    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    suffix = "".join(path.suffixes).lower()
    con = duckdb.connect()
    try:
        if suffix.endswith(".parquet"):
            sql = f"SELECT * FROM read_parquet({literal(path)})"
        elif suffix.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
            sql = f"SELECT * FROM read_csv({literal(path)}, all_varchar = true, header = true)"
        else:
            raise ConfigError(
                f"{path}: unknown file type {suffix or '(none)'}; give .csv, .csv.gz, .tsv or "
                ".parquet files"
            )
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0][:200]
            raise ConfigError(f"{path}: cannot be read as a table ({first})") from None
    finally:
        con.close()


@friendly_errors
def link(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="CSV or Parquet files to link (each file is one source).", show_default=False
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for clusters.csv, pairs.csv and linkage.html."),
    ] = None,
    mapping: Annotated[str | None, typer.Option("--map", help=_MAP_HELP)] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="dedupe (within each source), link (across sources, one-to-one) or both. "
            "Default: both for several sources, dedupe for one.",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Match probability to link at (default: chosen from the model).",
            min=0.0,
            max=1.0,
        ),
    ] = None,
) -> None:
    """Link the records of the same person: within and across sources, with scored pairs."""
    from medmine.quality.linkage import LinkageConfig, link_tables, parse_mapping
    from medmine.report.linkage_page import linkage_warnings, write_linkage_page

    if mode is not None and mode not in ("dedupe", "link", "both"):
        raise ConfigError(f"--mode must be dedupe, link or both; got {mode!r}")
    if threshold is not None and not 0 < threshold < 1:
        raise ConfigError(f"--threshold must be strictly between 0 and 1; got {threshold}")
    cfg = LinkageConfig(threshold_probability=threshold)
    if files:
        if out is None:
            raise ConfigError("give --out DIR for the results of linking files")
        tables = {}
        for f in files:
            name = f.name.split(".")[0] or "source"
            while name in tables:
                name += "_"
            tables[name] = _read(f)
        m = parse_mapping(mapping)
        chosen = mode or ("both" if len(tables) > 1 or "source" in m else "dedupe")
        with console.status("linking (Splink: training, then scoring pairs)…"):
            res = link_tables(tables, mapping=m, mode=chosen, config=cfg)  # type: ignore[arg-type]
        out.mkdir(parents=True, exist_ok=True)
        import pyarrow.csv as pacsv

        pacsv.write_csv(res.cluster_table, out / "clusters.csv")
        pacsv.write_csv(res.pairs, out / "pairs.csv")
        page = write_linkage_page(out / "linkage.html", res)
    else:
        if mapping:
            raise ConfigError("--map applies to files; the warehouse's columns are known")
        from medmine.quality.linkage import link_persons
        from medmine.warehouse import Warehouse

        path = existing_warehouse(warehouse)
        status = console.status("linking identities (Splink: training, then scoring pairs)…")
        with Warehouse(path) as wh, status:
            res = link_persons(wh, cfg, mode=mode or "both")
            page = None
            if out is not None:
                from medmine.report.context import page_context

                page = write_linkage_page(out / "linkage.html", res, context=page_context(wh))
    console.print(
        f"linkage {res.run_id} ({res.mode}): {res.n_records:,} identities, "
        f"{res.n_blocked_pairs:,} pairs scored, {res.n_links:,} links, {res.n_clusters:,} "
        f"clusters at probability {res.threshold:.3f} ({res.duration_s:.1f} s)"
    )
    for w in linkage_warnings(res):
        console.print(f"[yellow]warning:[/yellow] {w}")
    if files:
        console.print(f"[green]written:[/green] {out / 'clusters.csv'}, {out / 'pairs.csv'}")
    if page is not None:
        console.print(f"[green]page:[/green] {page}")
