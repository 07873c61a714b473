"""`cxlens users create|list`: people who sign in to the web console."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cxlens.cli.common import DataDirOption, JsonOption, emit, settings_for, table
from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.web import users

users_app = typer.Typer(help="Console users (admin, analyst, marketer, viewer).", no_args_is_help=True)


def _user_dict(user: users.ConsoleUser) -> dict:
    return {
        "user_id": user.user_id,
        "email": user.email,
        "role": user.role,
        "created_at": user.created_at,
        "disabled_at": user.disabled_at,
        "last_login_at": user.last_login_at,
    }


@users_app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="The person's e-mail (their sign-in name).")],
    role: Annotated[str, typer.Option("--role", help="admin | analyst | marketer | viewer")] = "viewer",
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from standard input (for scripts) instead of a prompt.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a console user. The password is stored only as an argon2id hash."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InvalidInputError("no password given: type one, or pipe it with --password-stdin")
    with Store(settings_for(data_dir).store_path) as store:
        user = users.create_user(store, email, password, role)
    emit(
        _user_dict(user),
        as_json=as_json,
        render=lambda u: (
            f"created {u['role']} [bold]{u['email']}[/bold] ({u['user_id']}); "
            "sign in at /login on `cxlens serve`"
        ),
    )


@users_app.command("list")
def list_(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List console users (never their password hashes)."""
    with Store(settings_for(data_dir).store_path) as store:
        rows = [_user_dict(u) for u in users.list_users(store)]
    emit(
        rows,
        as_json=as_json,
        render=lambda r: (
            table(r, ["user_id", "email", "role", "created_at", "disabled_at", "last_login_at"])
            if r
            else "no console users yet: `cxlens users create --role admin --email you@example.com`"
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
