"""Sign in and sign out."""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from cxlens.errors import AuthenticationError
from cxlens.web import users
from cxlens.web.guard import config_of, console_router, safe_next, session_of, store_of
from cxlens.web.render import page
from cxlens.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    end_session,
    set_cookie,
    start_session,
)

router = console_router()


def _login_form(
    request: Request, next_path: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status=status,
        title="Sign in",
        next=next_path,
        email=email,
        error=error,
        login_csrf=token,
    )
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    return _login_form(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "/")))
    store, config = store_of(request), config_of(request)
    try:
        # argon2 is deliberately slow: keep it off the event loop.
        user = await run_in_threadpool(users.authenticate, store, email, password, config)
    except users.AccountLockedError as exc:
        return _login_form(request, next_path, email, exc.message, status=429)
    except AuthenticationError as exc:
        return _login_form(request, next_path, email, exc.message, status=401)
    token, _ = start_session(store, user, config.session_hours)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(config.session_hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session_of(request)
    end_session(store_of(request), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
