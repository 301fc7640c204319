"""`medmine users add|remove|list|token`: accounts of `medmine serve` (beside the warehouse).

Passwords are read from a hidden prompt or from ``MEDMINE_USER_PASSWORD`` (for scripts), never
from the command line, where they would land in the shell history and the process list.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from medmine.cli._common import WarehouseOpt, console, existing_warehouse, friendly_errors

app = typer.Typer(help="Accounts and API tokens of `medmine serve`.", no_args_is_help=True)
PASSWORD_ENV = "MEDMINE_USER_PASSWORD"


def _store(warehouse: str | None):  # noqa: ANN202
    from medmine.serve.users import UserStore, users_path

    return UserStore(users_path(existing_warehouse(warehouse)))


@app.command("add")
@friendly_errors
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str,
        typer.Option(help="analyst, investigator, clinician, privacy_officer or admin."),
    ],
    warehouse: WarehouseOpt = None,
) -> None:
    """Create an account (password from a hidden prompt or MEDMINE_USER_PASSWORD)."""
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    store = _store(warehouse)
    try:
        store.add(username, role, password)
    finally:
        store.close()
    console.print(f"user [b]{username}[/b] added with role {role}")


@app.command("remove")
@friendly_errors
def remove(
    username: Annotated[str, typer.Argument(help="Login name.")],
    warehouse: WarehouseOpt = None,
) -> None:
    """Delete an account with its sessions and API tokens."""
    store = _store(warehouse)
    try:
        store.remove(username)
    finally:
        store.close()
    console.print(f"user [b]{username}[/b] removed (sessions and tokens revoked)")


@app.command("list")
@friendly_errors
def list_(warehouse: WarehouseOpt = None) -> None:
    """List the accounts and their roles."""
    store = _store(warehouse)
    try:
        rows = store.list()
    finally:
        store.close()
    t = Table(title="medmine serve accounts")
    for col in ("user", "role", "created (UTC)"):
        t.add_column(col)
    for r in rows:
        t.add_row(*r)
    console.print(t)


@app.command("token")
@friendly_errors
def token(
    username: Annotated[str, typer.Argument(help="Owner of the token (it gets this role).")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    warehouse: WarehouseOpt = None,
) -> None:
    """Issue an API token (printed once; only its hash is stored)."""
    store = _store(warehouse)
    try:
        tok = store.new_token(username, label)
    finally:
        store.close()
    typer.echo(tok)
