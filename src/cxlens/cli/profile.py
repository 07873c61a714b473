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
        merges = [{**m, "evidence": _evidence(m["evidence"])} for m in p["merges"]]
        parts.append(table(merges, ["merged_at", "outcome", "from_customer_id", "reason", "evidence"],
                           title="Merges"))
    if result.get("timeline"):
        timeline = result["timeline"]
        parts.append(table(timeline["events"], ["timestamp", "channel", "type", "event", "message_id"],
                           title=f"Latest events ({len(timeline['events'])} of {timeline['total']})"))
    return Group(*parts)


def _evidence(items: list[dict[str, Any]]) -> str:
    """Which message linked which identifiers: the reason alone never says why these two joined.
    Identifiers show as the customer's own (``user_id:u1``) where the hash matches one, else by kind."""
    def name(ref: dict[str, Any]) -> str:
        return str(ref.get("identifier") or ref.get("kind"))

    return "; ".join(f"message {item.get('message_id')} linked {name(item['a'])} and {name(item['b'])}"
                     if "a" in item else name(item) for item in items)


@profile_app.command("show")
def show(
    identifier: Annotated[str, typer.Argument(help="customer id, email:…, user_id:…, phone:…, or a value.")],
    events: Annotated[int, typer.Option("--events", "-e", min=0,
                                               help="How many latest events to list (0: none).")] = 10,
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
