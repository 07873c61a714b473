"""`cxlens demo`: build the synthetic retailer, print what it built and the keys, then serve it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, progress, settings_for, table
from cxlens.cli.serve import serve
from cxlens.demo.run import DemoResult, build_demo


def render(result: DemoResult) -> Group:
    s = result.summary
    overview = [("customers simulated", f"{result.customers:,}"), ("profiles", f"{s['profiles']:,}"),
                ("identified share", f"{s['identified_share']:.1%}"), ("events", f"{s['events']:,}"),
                ("orders", f"{s['orders']:,}"), ("revenue", f"{s['revenue']:,.2f}"),
                ("survey responses", f"{s['survey_responses']:,}"), ("products", f"{s['products']:,}"),
                ("rows rejected", f"{s['rejected']:,}")]
    top = max(s["events_by_channel"].values(), default=1)
    channels = [(c, f"{n:,}", "█" * max(1, round(30 * n / top)))
                for c, n in s["events_by_channel"].items()]
    parts: list = [Text(f"demo business (seed {result.seed}) in {result.directory}", style="bold"),
                   table(overview, ["", ""]), table(channels, ["channel", "events", ""],
                                                    title="events by channel")]
    if result.keys:
        parts.append(Text.assemble(("write key: ", "bold"), (result.keys["write"], "green"), "\n",
                                   ("admin key: ", "bold"), (result.keys["admin"], "green"), "\n",
                                   ("store them now: they are not shown again", "dim")))
    return Group(*parts)


def demo(
    customers: Annotated[int, typer.Option("--customers", help="How many customers to simulate.")] = 1_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same business.")] = 7,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build it and exit; do not start the "
                                           "server.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a synthetic omnichannel retailer (with ground truth) and serve it."""
    settings = settings_for(data_dir)
    with progress(transient=True) as bar:
        tasks: dict[str, int] = {}

        def on_progress(step: str, done: float) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=100)
            bar.update(tasks[step], completed=round(done * 100))

        result = build_demo(settings, customers=customers, seed=seed, on_progress=on_progress)
    emit(result.__dict__ if as_json else result, as_json=as_json, render=render)
    if not no_serve:
        serve(host=None, port=None, data_dir=data_dir)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
