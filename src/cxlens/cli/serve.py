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
    """Serve the collection API, the admin API and the console."""
    import uvicorn

    from cxlens.api.app import create_app

    settings = settings_for(data_dir, host=host, port=port)
    console.print(f"cxlens serving {settings.data_dir} on http://{settings.host}:{settings.port}")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
