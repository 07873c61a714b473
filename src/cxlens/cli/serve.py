"""`cxlens serve`: the HTTP API (and console) on uvicorn."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from cxlens.cli.common import DataDirOption, err_console, settings_for
from cxlens.config import Settings


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
    _check_store_free(settings)
    # on stderr, with uvicorn's own messages: stdout may carry `cxlens demo --json`'s JSON
    err_console.print(f"cxlens serving {settings.data_dir} on http://{settings.host}:{settings.port}")
    app = create_app(settings)
    _settle_heap()
    # uvloop and httptools: the fastest event loop and HTTP parser uvicorn offers (both installed
    # with uvicorn[standard]); one process, because the WAL and DuckDB have a single writer.
    uvicorn.run(app, host=settings.host, port=settings.port, loop="uvloop",
                http="httptools", log_level="warning", access_log=False, timeout_graceful_shutdown=30)


def _check_store_free(settings: Settings) -> None:
    """Open the store once before uvicorn starts. The app opens it in its lifespan, where uvicorn
    turns a store held by another process into a page of traceback; here it is the CLI's one-line
    ``StoreBusyError`` (exit 75) like every other command's."""
    from cxlens.store import Store

    Store(settings.store_path).close()


def _settle_heap() -> None:
    """Keep the cyclic garbage collector off the request path's tail (ADR 0005, addendum).

    After the imports the heap holds ~250,000 long-lived objects, and every full (generation 2)
    collection walked them all: 0.3-0.5 s with the event loop stopped, the p99 of ``/v1/batch``.
    Freezing them moves them out of the collector's sight; a first-generation threshold of 50,000
    net allocations means a request's short-lived dicts (freed by reference counting) almost never
    start a collection, while real cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
