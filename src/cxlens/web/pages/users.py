"""Console users: admins add people, change their role, or disable them."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from cxlens.privacy.audit import audit
from cxlens.web import users
from cxlens.web.auth import ROLES
from cxlens.web.guard import actor, config_of, console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Users", "/users", order=90, permission="users.manage"),)


def _users_page(request: Request, notice: str | None = None) -> HTMLResponse:
    return page(
        request,
        "users.html",
        title="Users",
        users=users.list_users(store_of(request)),
        roles=ROLES,
        notice=notice,
    )


@router.get("/users", response_class=HTMLResponse)
def list_users(request: Request, session: Session = Depends(require("users.manage"))) -> HTMLResponse:
    return _users_page(request)


@router.post("/users", response_class=HTMLResponse)
def create(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    role: str = Form("viewer"),
    session: Session = Depends(require("users.manage")),
) -> HTMLResponse:
    store = store_of(request)
    user = users.create_user(store, email, password, role, config_of(request))
    audit(store, actor(session), "user.create", user.user_id, {"role": role})
    return _users_page(request, notice=f"Added {user.email} as {user.role}.")


@router.post("/users/{user_id}", response_class=HTMLResponse)
def update(
    request: Request,
    user_id: str,
    role: str = Form(""),
    disabled: str = Form(""),
    session: Session = Depends(require("users.manage")),
) -> HTMLResponse:
    """Change a role or disable/enable an account (admins cannot lock themselves out this way)."""
    store = store_of(request)
    if user_id == session.user.user_id:
        return _users_page(
            request, notice="You cannot change your own role or disable yourself; ask another admin."
        )
    if role:
        users.set_role(store, user_id, role)
    if disabled in ("yes", "no"):
        users.set_disabled(store, user_id, disabled == "yes")
    audit(store, actor(session), "user.update", user_id, {"role": role, "disabled": disabled})
    return _users_page(request, notice="Saved.")
