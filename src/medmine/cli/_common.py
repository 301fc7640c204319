"""What every command shares: the consoles, the ``--warehouse`` option, the error wrapper,
opening a warehouse that must already exist, and the load-report table.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from medmine.config import WAREHOUSE_ENV, warehouse_path
from medmine.errors import ConfigError, MedmineError, SourceError
from medmine.report.console import print_load_report, print_table_counts

console = Console()
err_console = Console(stderr=True)

WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        "-w",
        envvar=WAREHOUSE_ENV,
        help="Warehouse DuckDB file (default medmine.duckdb).",
        show_default=False,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes of every command: 0 success; 1 a user error (one line: what, expected, given,
#: what to do); 2 a command-line usage error found by the parser (Click's convention);
#: 3 an input that could not be read or gave nothing (loaders); 70 a bug (EX_SOFTWARE, with
#: the traceback); 130 interrupted by Ctrl-C (the running load is rolled back).
EXIT_USER, EXIT_USAGE, EXIT_INPUT, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 70, 130

#: Where to report an unexpected failure.
BUG_HINT = (
    "this is a bug in medmine, not in your data: please report it with the traceback above "
    "(it holds no data values)"
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def friendly_errors(fn: F) -> F:
    """Expected failures become one line on stderr and exit code 1; bugs keep a traceback.

    Expected: medmine's own errors, missing or unreadable files, and bad values met while
    parsing options. Messages never echo data values. Ctrl-C exits 130 (loads roll back).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except SourceError as exc:  # an input could not be read at all: the ingest policy's 3
            raise fail(str(exc), EXIT_INPUT) from None
        except MedmineError as exc:
            raise fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename}") from None
        except IsADirectoryError as exc:
            raise fail(f"{exc.filename} is a folder; give a file path") from None
        except NotADirectoryError as exc:
            raise fail(f"{exc.filename} is not a folder") from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename}") from None
        except KeyboardInterrupt:
            raise fail(
                "interrupted; the running load or write was rolled back", EXIT_INTERRUPTED
            ) from None
        except Exception:  # noqa: BLE001 - an unexpected failure is a bug: show where
            err_console.print(traceback.format_exc(), highlight=False, markup=False)
            raise fail(BUG_HINT, EXIT_BUG) from None

    return wrapper  # type: ignore[return-value]


def existing_warehouse(warehouse: str | None) -> str:
    """The warehouse path, refused unless the file exists (only loaders create warehouses).

    Raises
    ------
    ConfigError
        When the file does not exist: a mistyped path must not silently become an empty
        warehouse with plausible-looking results.
    """
    path = warehouse_path(warehouse)
    if path != ":memory:" and not Path(path).is_file():
        raise ConfigError(
            f"warehouse {path} does not exist; check --warehouse (or {WAREHOUSE_ENV}), or "
            "create it with `medmine ingest ...` or `medmine demo`"
        )
    return path


def render_load_report(report: Any) -> None:
    """Print a load report: per record type, read = loaded + skipped + quarantined."""
    print_load_report(report, console)


def render_counts(counts: dict[str, int], title: str = "") -> None:
    """Print non-empty tables with their row counts."""
    print_table_counts(counts, console, title=title)


def parse_options(pairs: list[str] | None) -> dict[str, str]:
    """``["key=value", ...]`` from repeated ``--option`` flags as a dict (values are text)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option takes key=value; got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def out_folder(out: Path) -> Path:
    """``--out`` is a folder for every command: refuse a file, create the folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"--out {out} is a file; --out takes a folder (pages are written inside it)"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out
