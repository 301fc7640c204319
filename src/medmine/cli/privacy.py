"""Privacy commands: `deid` (`deid risk`), `encrypt`, `decrypt`, `audit`, `consent`, `keys`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medmine.cli._common import (
    WarehouseOpt,
    console,
    err_console,
    existing_warehouse,
    friendly_errors,
)
from medmine.errors import ConfigError

audit_app = typer.Typer(help="Show and verify the hash-chained audit log.", no_args_is_help=True)
consent_app = typer.Typer(help="Load and inspect consent decisions.", no_args_is_help=True)
keys_app = typer.Typer(help="Make keys for medmine's secrets.", no_args_is_help=True)
deid_app = typer.Typer(
    help="De-identify a warehouse, or `deid risk` to measure re-identification risk.",
    invoke_without_command=True,
)


@audit_app.command("verify")
@friendly_errors
def audit_verify(
    warehouse: WarehouseOpt = None,
    expected_head: Annotated[
        str | None,
        typer.Option(
            help="Head hash recorded earlier (`medmine audit head`); detects tail deletion."
        ),
    ] = None,
    require_keyed: Annotated[
        bool,
        typer.Option(help="Fail unless the newest entries are keyed (MEDMINE_AUDIT_KEY)."),
    ] = False,
) -> None:
    """Recompute the audit chain and check its head; exit 1 at the first problem.

    Problems: an edited, deleted or moved entry, an empty or truncated log, or (with
    --require-keyed) an unkeyed one.
    """
    from medmine.privacy.audit import verify
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        v = verify(wh, expected_head=expected_head)
    if not v.ok:
        console.print(f"[red]audit chain broken[/red] at seq {v.first_bad_seq}: {v.reason}")
        raise typer.Exit(1)
    colour = "green" if v.keyed else "yellow"
    console.print(
        f"[{colour}]audit chain intact ({v.mode})[/{colour}]: {v.entries:,} entries, "
        f"tail checked against: {v.anchor}; head {v.head_hash}",
        soft_wrap=True,
    )
    for note in v.notes:
        console.print(f"  note: {note}", soft_wrap=True)
    if require_keyed and not v.keyed:
        console.print(f"[red]--require-keyed[/red]: the chain is {v.mode}")
        raise typer.Exit(1)


@audit_app.command("head")
@friendly_errors
def audit_head(warehouse: WarehouseOpt = None) -> None:
    """Print the head hash (newest entry) to keep outside the warehouse.

    Record it in a ticket or a signed log and check it later with
    `medmine audit verify --expected-head`.
    """
    from medmine.privacy.audit import entries, head
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        n = len(entries(wh.con))
        h = head(wh)
    console.print(h, soft_wrap=True, highlight=False)
    err_console.print(f"head of {n:,} entries", highlight=False)


@audit_app.command("show")
@friendly_errors
def audit_show(
    warehouse: WarehouseOpt = None,
    last: Annotated[int, typer.Option(help="Show the newest N entries.")] = 20,
) -> None:
    """Print the newest audit entries."""
    from medmine.privacy.audit import entries
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        es = entries(wh.con)[-last:]
    t = Table(title=f"audit log (last {len(es)})")
    for col in ("seq", "ts", "actor", "action", "object", "rows", "purpose", "hash"):
        t.add_column(col)
    for e in es:
        t.add_row(
            str(e.seq),
            e.ts.isoformat(timespec="seconds"),
            e.actor,
            e.action,
            e.object or "",
            "" if e.row_count is None else f"{e.row_count:,}",
            e.purpose or "",
            e.hash[:12],
        )
    console.print(t)


@consent_app.command("load")
@friendly_errors
def consent_load(
    files: Annotated[list[Path], typer.Argument(help="Consent CSV, or FHIR JSON/NDJSON files.")],
    warehouse: WarehouseOpt = None,
) -> None:
    """Load consent decisions (CSV by extension, otherwise FHIR Consent resources)."""
    from medmine.privacy import consent
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse)) as wh:
        csvs = [f for f in files if f.suffix.lower() == ".csv"]
        other = [f for f in files if f.suffix.lower() != ".csv"]
        n = 0
        for f in csvs:
            n += consent.load_csv(f, wh).loaded
        if other:
            n += consent.load_fhir(other, wh).loaded
    console.print(f"loaded {n:,} consent decisions")


@deid_app.callback()
@friendly_errors
def deid(
    ctx: typer.Context,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", "-w", help="Identified source warehouse.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--to", help="New de-identified warehouse file (--out is for folders)."),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="safe_harbor (dates to year) or expert (per-person date shift).")
    ] = "safe_harbor",
    purpose: Annotated[str, typer.Option(help="Consent purpose the output is for.")] = "research",
    overwrite: Annotated[bool, typer.Option(help="Replace the --to file if it exists.")] = False,
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            help="Generalise and suppress persons until year of birth, sex, ZIP3, race and "
            "ethnicity are k-anonymous.",
        ),
    ] = None,
    max_suppression: Annotated[
        float, typer.Option(help="Largest share of persons --k may leave out.")
    ] = 0.05,
    sentinel_date: Annotated[
        list[str] | None,
        typer.Option(help="A placeholder date (YYYY-MM-DD) of this site, kept as written."),
    ] = None,
    detection: Annotated[
        str | None,
        typer.Option(
            help="Note text detection: recall (a word survives only if known to be safe; the "
            "default with safe_harbor) or precise (pattern rules only; the default with expert).",
        ),
    ] = None,
) -> None:
    """De-identify a warehouse into a new file (key from MEDMINE_DEID_KEY)."""
    if ctx.invoked_subcommand is not None:
        return
    if warehouse is None or out is None:
        raise ConfigError(
            "deid needs --warehouse (the identified source) and --to (a new warehouse file); "
            "e.g. medmine deid -w medmine.duckdb --to release.duckdb"
        )
    import datetime as dt

    from medmine.privacy.deid import DeidConfig, deidentify

    warehouse = existing_warehouse(warehouse)
    try:
        sentinels = frozenset(dt.date.fromisoformat(d) for d in sentinel_date or ())
    except ValueError:
        raise ConfigError("--sentinel-date takes a date as YYYY-MM-DD") from None
    cfg = DeidConfig(
        mode=mode,
        purpose=purpose,
        k=k,
        max_suppression=max_suppression,
        sentinel_dates=sentinels,
        detection=detection,
    )
    with console.status("de-identifying (tables, then note text)…"):
        rep = deidentify(warehouse, out, cfg, overwrite=overwrite)
    t = Table(
        title=f"de-identified warehouse {out} ({rep.mode}, {rep.detection} note detection, "
        f"{rep.duration_s:.1f} s)"
    )
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in rep.rows.items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    console.print(
        f"persons excluded for lack of {purpose} consent: {rep.consent_excluded:,}; "
        f"notes scrubbed: {rep.notes_scrubbed:,}; free-text values scrubbed: "
        f"{rep.text_values_scrubbed:,}; code values caught by the guard: "
        f"{rep.code_values_guarded:,}; persons over 89 aggregated: {rep.ages_capped:,}; "
        f"sentinel dates kept: {rep.sentinel_dates_kept:,}"
    )
    ka = rep.k_anonymity
    if ka is not None:
        levels = ", ".join(f"{c}={lvl}" for c, lvl in ka.levels.items())
        console.print(
            f"k-anonymity: k = {ka.achieved_k} (target {ka.target_k}); levels {levels}; "
            f"{ka.persons_suppressed:,} of {ka.persons:,} persons suppressed; information "
            f"loss {ka.information_loss:.2f}"
        )


@friendly_errors
def encrypt(
    file: Annotated[Path, typer.Argument(help="File to encrypt (warehouse, export...).")],
    out: Annotated[
        Path | None, typer.Option("--to", help="Encrypted file (default FILE.enc).")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Key file (default: MEDMINE_ENCRYPTION_KEY).")
    ] = None,
    remove_plaintext: Annotated[bool, typer.Option(help="Delete FILE afterwards.")] = False,
) -> None:
    """Encrypt a file with AES-256-GCM (chunked, authenticated)."""
    from medmine.privacy.crypto import encrypt_file, load_key

    dst = encrypt_file(file, out, key=load_key(key_file), remove_plaintext=remove_plaintext)
    console.print(f"encrypted to {dst}")


@friendly_errors
def decrypt(
    file: Annotated[Path, typer.Argument(help="Encrypted file (.enc).")],
    out: Annotated[
        Path | None, typer.Option("--to", help="Decrypted file (default FILE without .enc).")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Key file (default: MEDMINE_ENCRYPTION_KEY).")
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Decrypt a file; nothing is written unless every chunk authenticates.

    The decryption is recorded in the audit log of --warehouse (when that warehouse exists),
    else in the decrypted file itself when it is a medmine warehouse.
    """
    from medmine.config import warehouse_path
    from medmine.privacy.crypto import decrypt_file, load_key

    key = load_key(key_file)
    target = Path(warehouse_path(warehouse))
    dst = decrypt_file(file, out, key=key)
    try:
        where = _audit_decrypt(file, dst, target)
    except BaseException:
        dst.unlink(missing_ok=True)  # a read that cannot be audited does not happen
        raise
    console.print(f"decrypted to {dst}")
    if where is None:
        console.print(
            "[yellow]note:[/yellow] not audited: no warehouse to record it in (pass -w "
            "WAREHOUSE, the warehouse this file belongs to)",
            soft_wrap=True,
        )
    else:
        console.print(f"recorded in the audit log of {where}")


def _audit_decrypt(src: Path, dst: Path, warehouse: Path) -> Path | None:
    """Append a ``decrypt`` entry to `warehouse`, else to `dst`; returns where, if anywhere.

    Each is used only if it is an existing medmine warehouse other than the encrypted file.
    """
    from medmine.warehouse import Warehouse
    from medmine.warehouse.audit import append

    for target in (warehouse, dst):
        if not _is_warehouse(target) or target.resolve() == src.resolve():
            continue
        with Warehouse(target) as wh:
            append(
                wh.con,
                None,
                "decrypt",
                src.name,
                dst.stat().st_size,
                None,
                {"output": dst.name, "bytes": dst.stat().st_size},
            )
        return target
    return None


def _is_warehouse(path: Path) -> bool:
    """True for an existing DuckDB file (by its header, not its name) with an audit log."""
    import duckdb

    try:
        with open(path, "rb") as f:
            if f.read(16)[8:12] != b"DUCK":
                return False
        con = duckdb.connect(str(path), read_only=True)
    except (OSError, duckdb.Error):
        return False
    try:
        return bool(
            con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'mm_audit'"
            ).fetchall()[0][0]
        )
    finally:
        con.close()


@keys_app.command("new")
@friendly_errors
def keys_new(
    hex_: Annotated[bool, typer.Option("--hex", help="Print hex (64 characters).")] = False,
) -> None:
    """Print a new random 32-byte key (base64, or hex with --hex); nothing is stored.

    Use it for MEDMINE_DEID_KEY, MEDMINE_ENCRYPTION_KEY, MEDMINE_AUDIT_KEY or
    MEDMINE_MODEL_KEY, e.g. ``export MEDMINE_AUDIT_KEY=$(medmine keys new)``.
    """
    from medmine.privacy.keys import new_key

    console.print(new_key("hex" if hex_ else "base64"), soft_wrap=True, highlight=False)


@deid_app.command("risk")
@friendly_errors
def deid_risk(
    warehouse: WarehouseOpt = None,
    target_k: Annotated[int, typer.Option(help="k-anonymity to reach by generalisation.")] = 5,
) -> None:
    """Measure re-identification risk of persons (k-anonymity, prosecutor risk) and what
    generalisation would reach `target_k`; run it on a de-identified warehouse.
    """
    from medmine.privacy.risk import PERSON_QI_SQL, anonymize, assess
    from medmine.warehouse import Warehouse

    with Warehouse(existing_warehouse(warehouse), read_only=True) as wh:
        with console.status("measuring re-identification risk…"):
            risk = assess(wh.con, PERSON_QI_SQL)
        anon = anonymize(wh.con, PERSON_QI_SQL, target_k=target_k)
    console.print(
        f"quasi-identifiers {', '.join(risk.quasi_identifiers)}: {risk.records:,} persons in "
        f"{risk.classes:,} classes, k = {risk.k}, prosecutor risk max "
        f"{risk.prosecutor_max:.3f} / average {risk.prosecutor_avg:.3f}"
    )
    console.print(
        f"to reach k = {anon.target_k}: {'achieved' if anon.achieved else 'not achieved'}, "
        f"{anon.rows_suppressed:,} of {anon.records:,} rows suppressed, levels "
        + ", ".join(f"{c}={lvl}" for c, lvl in anon.levels.items())
    )


def register(app: typer.Typer) -> None:
    """Add the privacy commands to the main `medmine` app."""
    app.add_typer(deid_app, name="deid")
    app.command("encrypt")(encrypt)
    app.command("decrypt")(decrypt)
    app.add_typer(audit_app, name="audit")
    app.add_typer(consent_app, name="consent")
    app.add_typer(keys_app, name="keys")
