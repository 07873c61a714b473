"""The ``cxlens`` command. Each room contributes its commands through ``register(app)``."""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module

import click
import typer

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


def run(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become a clear message and an exit code, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("[red]aborted[/red]")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except CxlensError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc.message}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not a user mistake: say so without a wall of traceback
        if os.environ.get("CXLENS_DEBUG"):
            raise
        err_console.print(
            f"[bold red]unexpected error:[/bold red] {type(exc).__name__}: {exc}\n"
            "[dim]this is a bug in cxlens; set CXLENS_DEBUG=1 for the traceback and report it[/dim]"
        )
        return 1
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
