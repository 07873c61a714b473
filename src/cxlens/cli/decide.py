"""`cxlens decide ID --placement P`: the decision /v1/decide would make, from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.decide.request import PLACEMENTS
from cxlens.decide.service import decide_once
from cxlens.store import Store


def decide(
    identifier: Annotated[str, typer.Argument(help="customer id, email:…, user_id:…, or a value.")],
    placement: Annotated[str, typer.Option("--placement", "-p", help=f"One of {', '.join(PLACEMENTS)}.")],
    product: Annotated[str | None, typer.Option("--product", help="Product on the page.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="desktop, mobile, tablet, app.")] = None,
    local_time: Annotated[str | None, typer.Option("--local-time", help="ISO time with offset.")] = None,
    k: Annotated[int, typer.Option("--k", help="How many items.")] = 5,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide what to show one person on a placement (logged like an API decision)."""
    settings = settings_for(data_dir)
    context = {key: value for key, value in
               {"product_id": product, "device": device, "local_time": local_time}.items() if value}
    with Store(settings.store_path) as store:
        result = decide_once(store, settings, {"identifier": identifier, "placement": placement,
                                               "context": context, "k": k})
    emit(result, as_json=as_json, render=lambda r: table(
        r["items"], ["kind", "item_id", "name", "reason"],
        title=f"{r['action']} ({'personalized' if r['personalized'] else 'not personalized'}); "
              f"rules: {', '.join(r['rules']) or 'none'}"))


def register(app: typer.Typer) -> None:
    app.command("decide")(decide)
