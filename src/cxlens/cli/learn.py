"""`cxlens learn`: run every learning stage over the store (what `cxlens demo` runs after loading)."""

from __future__ import annotations

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, err_console, settings_for, table
from cxlens.learn import run_learning
from cxlens.store import Store


def learn(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Sentiment, CLV, churn, timing, segments, recommendations and the closed loop, in that order."""
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        results = run_learning(store, settings, on_stage=lambda name: err_console.print(f"learning: {name}"))
    rows = [r.__dict__ for r in results]
    emit(rows, as_json=as_json, render=lambda rs: table(
        [(r["name"], r["status"], f"{r['seconds']:.1f}s", r["reason"] or "") for r in rs],
        ["stage", "status", "time", "why skipped"]))


def register(app: typer.Typer) -> None:
    app.command("learn")(learn)
