"""`cxlens profile show ID`: one customer's 360 and latest events."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.profiles.view import get_profile, get_timeline
from cxlens.store import Store

profile_app = typer.Typer(help="Customer profiles (the customer 360).", no_args_is_help=True)


def _render(result: dict[str, Any]) -> Group:
    p = result["profile"]
    parts: list[Any] = [table([
        ("customer_id", p["customer_id"]), ("first_seen", p["first_seen"]), ("last_seen", p["last_seen"]),
        ("events", ", ".join(f"{c or '(none)'}: {n}" for c, n in p["events_by_channel"].items())),
        ("consent", ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in p["consent"]["current"].items())),
    ], ["field", "value"], title="Profile")]
    parts.append(table(p["identities"], ["kind", "value", "first_seen", "last_seen"], title="Identities"))
    if p["traits"]:
        parts.append(table(p["traits"].values(), ["name", "value", "source", "updated_at"], title="Traits"))
    if p["computed_traits"]:
        parts.append(table(p["computed_traits"].values(), ["name", "value", "model", "model_version",
                                                            "computed_at"], title="Computed traits"))
    if p["merges"]:
        parts.append(table(p["merges"], ["merged_at", "outcome", "from_customer_id", "reason"],
                           title="Merges"))
    if result.get("timeline"):
        timeline = result["timeline"]
        parts.append(table(timeline["events"], ["timestamp", "channel", "type", "event", "message_id"],
                           title=f"Latest events ({len(timeline['events'])} of {timeline['total']})"))
    return Group(*parts)


@profile_app.command("show")
def show(
    identifier: Annotated[str, typer.Argument(help="customer id, email:…, user_id:…, phone:…, or a value.")],
    events: Annotated[int, typer.Option("--events", "-e", help="How many latest events to list.")] = 10,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show everything known about one customer."""
    settings = settings_for(data_dir)
    with Store(settings.store_path, read_only=True) as store:
        result: dict[str, Any] = {"profile": get_profile(store, settings, identifier)}
        if events > 0:
            result["timeline"] = get_timeline(store, settings, identifier, limit=events)
    emit(result, as_json=as_json, render=_render)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")
