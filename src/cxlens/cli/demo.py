"""`cxlens demo`: build the synthetic retailer, learn from it, print what it built, then serve it."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.console import Group
from rich.progress import TaskID
from rich.text import Text

from cxlens.cli.common import DataDirOption, JsonOption, emit, progress, settings_for, table
from cxlens.cli.serve import serve
from cxlens.config import Settings
from cxlens.demo.showcase import Showcase, run_showcase
from cxlens.store import Store
from cxlens.web import users

DEMO_ADMIN = "admin@demo.cxlens.dev"


def demo_sign_in(settings: Settings) -> dict[str, str]:
    """A console admin for the demo, with a fresh password each run (shown once, stored hashed)."""
    password = secrets.token_urlsafe(12)
    with Store(settings.store_path) as store:
        existing = users.find_user(store, DEMO_ADMIN)
        if existing is None:
            users.create_user(store, DEMO_ADMIN, password, "admin")
        else:
            users.set_password(store, existing.user_id, password)
    return {"email": DEMO_ADMIN, "password": password}


def render(result: dict) -> Group:
    s = result["summary"]
    overview = [("customers simulated", f"{result['customers']:,}"), ("profiles", f"{s['profiles']:,}"),
                ("identified share", f"{s['identified_share']:.1%}"), ("events", f"{s['events']:,}"),
                ("orders", f"{s['orders']:,}"), ("revenue", f"{s['revenue']:,.2f}"),
                ("survey responses", f"{s['survey_responses']:,}"), ("products", f"{s['products']:,}"),
                ("rows rejected", f"{s['rejected']:,}")]
    top = max(s["events_by_channel"].values(), default=1)
    channels = [(c, f"{n:,}", "█" * max(1, round(30 * n / top)))
                for c, n in s["events_by_channel"].items()]
    learning = [(r["name"], r["status"], f"{r['seconds']:.1f}s",
                 r["reason"] or ", ".join(f"{k} {v}" for k, v in r["summary"].items()
                                          if isinstance(v, int | float | str))[:90])
                for r in result["learning"]]
    parts: list = [Text(f"demo business (seed {result['seed']}) in {result['directory']}", style="bold"),
                   table(overview, ["", ""]),
                   table(channels, ["channel", "events", ""], title="events by channel"),
                   table(learning, ["stage", "status", "time", "result"], title="what cxlens learned")]
    keys, sign_in = result.get("keys") or {}, result.get("console") or {}
    if keys:
        parts.append(Text.assemble(("write key: ", "bold"), (keys["write"], "green"), "\n",
                                   ("admin key: ", "bold"), (keys["admin"], "green")))
    if sign_in:
        parts.append(Text.assemble(("console sign-in: ", "bold"), (sign_in["email"], "green"), " / ",
                                   (sign_in["password"], "green")))
    if keys or sign_in:
        parts.append(Text("store these now: they are not shown again", style="dim"))
    return Group(*parts)


def _result(showcase: Showcase, sign_in: dict[str, str]) -> dict:
    demo = showcase.demo
    return {"customers": demo.customers, "seed": demo.seed, "directory": demo.directory,
            "files": demo.files, "summary": demo.summary, "keys": demo.keys, "console": sign_in,
            "seconds": demo.seconds, "learning": [r.__dict__ for r in showcase.learning]}


def demo(
    customers: Annotated[int, typer.Option("--customers", help="How many customers to simulate.")] = 1_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same business.")] = 7,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build it and exit; do not start the "
                                           "server.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a synthetic omnichannel retailer (with ground truth), learn from it, and serve it."""
    settings = settings_for(data_dir)
    with progress(transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(step: str, done: float) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=100)
            bar.update(tasks[step], completed=round(done * 100))

        showcase = run_showcase(settings, customers=customers, seed=seed, on_progress=on_progress)
    emit(_result(showcase, demo_sign_in(settings)), as_json=as_json, render=render)
    if not no_serve:
        serve(host=None, port=None, data_dir=data_dir)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
