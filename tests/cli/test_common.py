"""The error wrapper and the existing-warehouse rule shared by every command."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from medmine.cli import app
from medmine.cli._common import BUG_HINT, existing_warehouse, friendly_errors, parse_options
from medmine.errors import ConfigError, MedmineError
from medmine.warehouse import Warehouse


def _app_raising(exc: BaseException) -> typer.Typer:
    a = typer.Typer()

    @a.command()
    @friendly_errors
    def boom() -> None:
        raise exc

    @a.command()
    def other() -> None:  # a second command keeps `boom` a named subcommand
        pass

    return a


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (MedmineError("bad thing in file x.csv line 3"), "bad thing in file x.csv line 3"),
        (FileNotFoundError(2, "No such file", "missing.json"), "file not found: missing.json"),
        (IsADirectoryError(21, "Is a directory", "reports"), "reports is a folder"),
        (PermissionError(13, "Permission denied", "/root/x"), "permission denied: /root/x"),
    ],
)
def test_expected_failures_are_one_line_and_exit_1(exc, line):
    res = CliRunner().invoke(_app_raising(exc), ["boom"])
    assert res.exit_code == 1
    assert line in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_unexpected_failures_keep_the_traceback_and_ask_for_a_report():
    res = CliRunner().invoke(_app_raising(ZeroDivisionError("division by zero")), ["boom"])
    assert res.exit_code == 70
    assert "Traceback" in res.output and "ZeroDivisionError" in res.output
    assert BUG_HINT.split(":")[0] in res.output


def test_interrupt_exits_130_and_says_the_load_rolled_back():
    res = CliRunner().invoke(_app_raising(KeyboardInterrupt()), ["boom"])
    assert res.exit_code == 130 and "rolled back" in res.output


def test_only_loaders_create_a_warehouse(tmp_path):
    typo = tmp_path / "medmin.duckdb"
    with pytest.raises(ConfigError, match="does not exist"):
        existing_warehouse(str(typo))
    assert not typo.exists()
    Warehouse(tmp_path / "w.duckdb").close()
    assert existing_warehouse(str(tmp_path / "w.duckdb")) == str(tmp_path / "w.duckdb")


@pytest.mark.parametrize(
    "args",
    [
        ["quality", "-w", "{typo}"],
        ["quality", "units", "-w", "{typo}"],
        ["profile", "-w", "{typo}"],
        ["link", "-w", "{typo}"],
        ["warehouse", "info", "-w", "{typo}"],
        ["deid", "risk", "-w", "{typo}"],
        ["audit", "verify", "-w", "{typo}"],
        ["study", "phenotypes", "-w", "{typo}"],
    ],
)
def test_a_mistyped_warehouse_fails_instead_of_creating_an_empty_one(tmp_path, args):
    typo = tmp_path / "medmin.duckdb"
    res = CliRunner().invoke(app, [a.format(typo=typo) for a in args])
    assert res.exit_code == 1, res.output
    assert "does not exist" in res.output
    assert not typo.exists()


def test_options_parse_key_value_pairs():
    assert parse_options(["a=1", " b = x y "]) == {"a": "1", "b": "x y"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_options(["novalue"])


def test_version_is_printed():
    from medmine import __version__

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"medmine {__version__}"
