"""`cxlens privacy export|erase|suppressions|audit`: data-subject requests and their record."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from cxlens import jsonutil
from cxlens.cli.common import DataDirOption, JsonOption, console, emit, settings_for, table
from cxlens.errors import InvalidInputError
from cxlens.privacy.audit import audit_entries
from cxlens.privacy.dsar import erase_person, export_person
from cxlens.privacy.suppress import list_suppressions
from cxlens.store import Store

privacy_app = typer.Typer(help="Privacy: export or erase a person, suppressions, audit log.",
                          no_args_is_help=True)
IdentifierArg = Annotated[str, typer.Argument(help="Any identifier of the person (see `profile show`).")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@privacy_app.command("export")
def export(
    identifier: IdentifierArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the full export here.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything held on one person (profile, identities, traits, consent, events, orders ...)."""
    settings = settings_for(data_dir)
    if out is not None:
        _check_writable(out)
    with Store(settings.store_path) as store:
        result = export_person(store, settings, identifier, _actor())
    if out is not None:
        try:
            out.write_text(jsonutil.dumps_str(result, indent=True), encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write {out}: {exc.strerror}", field="out") from None
    summary = {"request_id": result["request_id"], "customer_id": result["customer_id"],
               **{table_name: len(rows) for table_name, rows in result["data"].items()}}
    if out is not None:
        summary["written_to"] = str(out)
    emit(result if as_json and out is None else summary, as_json=as_json)


def _check_writable(path: Path) -> None:
    """Refuse an --out that cannot be written before exporting: an export is audited when it is made."""
    if path.is_dir() or not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise InvalidInputError(f"cannot write {path}: its folder does not exist, is not writable, "
                                "or the path is a folder", field="out")


@privacy_app.command("erase")
def erase(
    identifier: IdentifierArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete one person everywhere and refuse their events from now on."""
    if not yes:
        typer.confirm(f"Erase everything held on {identifier!r}? This cannot be undone", abort=True)
    settings = settings_for(data_dir)
    with Store(settings.store_path) as store:
        result = erase_person(store, settings, identifier, _actor())
    emit(result, as_json=as_json, render=lambda r: table(
        sorted(r["counts"].items()), ["table", "rows"], title=f"Erased (request {r['request_id']})"))


@privacy_app.command("suppressions")
def suppressions(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Identifiers of erased people (as keyed hashes) whose events are refused."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        rows = list_suppressions(store)
    emit(rows, as_json=as_json, render=lambda r: table(
        r, ["suppressed_at", "kind", "identifier_hash", "request_id"]) if r else "no suppressions")


@privacy_app.command("audit")
def audit(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many entries (newest first).")] = 100,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who exported or erased whom (by request id), when, and how much."""
    with Store(settings_for(data_dir).store_path, read_only=True) as store:
        rows = audit_entries(store, limit)
    if not as_json and not rows:
        console.print("no audit entries")
        return
    emit(rows, as_json=as_json,
         render=lambda r: table(r, ["logged_at", "actor", "action", "subject", "details"]))


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
