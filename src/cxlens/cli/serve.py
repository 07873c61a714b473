"""`cxlens serve`: the HTTP API (and console) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from cxlens.cli.common import DataDirOption, console, settings_for


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the collection API, the admin API and the console (stop with Ctrl-C or SIGTERM:
    pending events are written and loaded before it exits)."""
    import uvicorn

    from cxlens.api.app import create_app

    settings = settings_for(data_dir, host=host, port=port)
    console.print(f"cxlens serving {settings.data_dir} on http://{settings.host}:{settings.port}")
    # uvloop and httptools: the fastest event loop and HTTP parser uvicorn offers (both installed
    # with uvicorn[standard]); one process, because the WAL and DuckDB have a single writer.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, loop="uvloop",
                http="httptools", log_level="warning", access_log=False, timeout_graceful_shutdown=30)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
