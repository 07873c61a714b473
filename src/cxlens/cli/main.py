"""The ``cxlens`` command. Each room contributes its commands through ``register(app)``."""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from typing import Any

import click
import typer
from rich.markup import escape

from cxlens.cli.common import err_console
from cxlens.errors import CxlensError

app = typer.Typer(
    name="cxlens",
    help="cxlens — collect every interaction, unify it into one profile per person, learn, act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Rooms whose commands the CLI offers; each module has ``register(app)``.
COMMAND_MODULES = (
    "serve",
    "demo",
    "learn",
    "keys",
    "users",
    "events",
    "importer",
    "profile",
    "privacy",
    "quality",
    "clv",
    "stats",
    "attribution",
    "segments",
    "voc",
    "recommend",
    "decide",
    "journeys",
    "experiments",
    "program",
    "features", "churn",
)

for _name in COMMAND_MODULES:
    import_module(f"cxlens.cli.{_name}").register(app)


# Recent Typer releases carry their own copy of click: their usage errors, exits and aborts are not
# click's classes (older ones used click's), so both families are named. Without this a mistyped
# option read "unexpected error ... this is a bug".
_EXITS: tuple[type[Any], ...] = (click.exceptions.Exit, typer.Exit)
_ABORTS: tuple[type[Any], ...] = (click.exceptions.Abort, typer.Abort)
_USAGE_ERRORS: tuple[type[Any], ...] = (
    click.ClickException, next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"))


def run(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become a clear message and an exit code, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=argv, standalone_mode=False)
    except _EXITS as exc:
        return int(exc.exit_code)
    except _ABORTS:
        err_console.print("[red]aborted[/red]")
        return 130
    except _USAGE_ERRORS as exc:  # a mistyped command line: click's own message and exit code
        exc.show()
        return int(exc.exit_code)
    except CxlensError as exc:  # messages quote user input: brackets in it are text, not markup
        # soft wrap: the terminal wraps the line, so a quoted path or value is never folded mid-word
        err_console.print(f"[bold red]error:[/bold red] {escape(exc.message)}", soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not a user mistake: say so without a wall of traceback
        if os.environ.get("CXLENS_DEBUG"):
            raise
        err_console.print(
            f"[bold red]unexpected error:[/bold red] {type(exc).__name__}: {escape(str(exc))}\n"
            "[dim]this is a bug in cxlens; set CXLENS_DEBUG=1 for the traceback and report it[/dim]"
        )
        return 1
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
