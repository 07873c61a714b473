"""`cxlens events tail|rejected|stats`: what collection has stored, read from the store directly."""

from __future__ import annotations

from typing import Annotated

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.collect import queries
from cxlens.store import Store

events_app = typer.Typer(help="Collected events: the latest ones, rejections, counts.",
                         no_args_is_help=True)
LimitOption = Annotated[int, typer.Option("--limit", "-n", help="How many rows (newest first).")]


@events_app.command("tail")
def tail(limit: LimitOption = 20, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The latest events, newest first."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        rows = queries.latest_events(store, limit)
    emit(rows, as_json=as_json, render=lambda r: table(
        r, ["received_at", "type", "event", "channel", "customer_id", "source", "message_id"])
        if r else "no events yet")


@events_app.command("rejected")
def rejected(limit: LimitOption = 20, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The latest rejected messages and why they were turned away."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        rows = queries.rejected_events(store, limit)
    emit(rows, as_json=as_json, render=lambda r: table(
        r, ["rejected_at", "reason", "field", "detail", "message_id", "source"])
        if r else "no rejected messages")


@events_app.command("stats")
def stats(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Counts of collected events, customers, rejections, orders and feedback."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        emit(queries.collect_stats(store), as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
