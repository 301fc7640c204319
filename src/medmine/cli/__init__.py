"""The `medmine` command line: one module per command group, each calling the Python API.

`_common` holds what every command shares (the ``--warehouse`` option, the error wrapper, the
load-report table). Commands import their stage lazily so that ``medmine --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from medmine.cli import demo as _demo
from medmine.cli import federated as _federated
from medmine.cli import forecast as _forecast
from medmine.cli import ingest as _ingest
from medmine.cli import link as _link
from medmine.cli import listen as _listen
from medmine.cli import notes as _notes
from medmine.cli import privacy as _privacy
from medmine.cli import quality as _quality
from medmine.cli import run as _run
from medmine.cli import serve as _serve
from medmine.cli import spark as _spark
from medmine.cli import study as _study
from medmine.cli import surveil as _surveil
from medmine.cli import users as _users
from medmine.cli import view as _view
from medmine.cli import vocab as _vocab
from medmine.cli import warehouse as _warehouse

app = typer.Typer(
    name="medmine",
    help="Healthcare data mining: ingest, clean, de-identify, mine and report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from medmine import __version__

        typer.echo(f"medmine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Healthcare data mining: ingest, clean, de-identify, mine and report."""


app.add_typer(_ingest.app, name="ingest")
app.add_typer(_warehouse.app, name="warehouse")
app.add_typer(_quality.app, name="quality")
app.add_typer(_vocab.app, name="vocab")
app.add_typer(_view.app, name="view")
app.add_typer(_notes.app, name="notes")
app.command("profile")(_quality.profile)
app.command("link")(_link.link)
_privacy.register(app)
app.command("study")(_study.study)
app.command("score")(_study.score)
app.command("demo")(_demo.demo)
app.add_typer(_surveil.app, name="surveil")
app.command("forecast")(_forecast.forecast)
_run.register(app)
_listen.register(app)
app.command("serve")(_serve.serve)
app.add_typer(_users.app, name="users")
app.add_typer(_federated.app, name="federated")
app.add_typer(_spark.app, name="spark")


def main() -> None:
    """Entry point for ``python -m medmine``."""
    app()
