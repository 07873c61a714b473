"""`cxlens keys create|list|revoke`."""

from __future__ import annotations

from typing import Annotated

import typer

from cxlens import keys
from cxlens.cli.common import DataDirOption, JsonOption, console, emit, settings_for, table
from cxlens.store import Store

keys_app = typer.Typer(help="API keys: write keys for collection, admin keys for the admin API.",
                       no_args_is_help=True)


def _key_dict(key: keys.ApiKey) -> dict:
    return {"key_id": key.key_id, "kind": key.kind, "name": key.name,
            "created_at": key.created_at, "revoked_at": key.revoked_at}


@keys_app.command("create")
def create(
    kind: Annotated[str, typer.Option("--kind", help="write | admin")] = "write",
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "default",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key. The secret is shown once; only its hash is kept."""
    with Store(settings_for(data_dir).store_path) as store:
        created = keys.create_key(store, kind, name)
    result = {**_key_dict(created.key), "secret": created.secret}

    def render(r: dict) -> str:
        return (f"created {r['kind']} key [bold]{r['name']}[/bold] ({r['key_id']})\n"
                f"secret: [bold green]{r['secret']}[/bold green]\n"
                "[dim]store it now: it is not shown again[/dim]")

    emit(result, as_json=as_json, render=render)


@keys_app.command("list")
def list_(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    with Store(settings_for(data_dir).store_path) as store:
        rows = [_key_dict(k) for k in keys.list_keys(store)]
    emit(rows, as_json=as_json,
         render=lambda r: table(r, ["key_id", "kind", "name", "created_at", "revoked_at"])
         if r else "no keys yet: `cxlens keys create --kind write --name web`")


@keys_app.command("revoke")
def revoke(key_id: str, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Revoke a key; clients using it are refused from then on."""
    with Store(settings_for(data_dir).store_path) as store:
        key = keys.revoke_key(store, key_id)
    emit(_key_dict(key), as_json=as_json, render=lambda r: console.print(f"revoked {r['key_id']}"))


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
