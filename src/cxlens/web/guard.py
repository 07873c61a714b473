"""What every console page shares: the signed-in session, role checks, CSRF, and error pages.

Pages declare ``router = console_router()``; its route class turns domain errors into a readable
HTML page (never a traceback), a missing session into a redirect to ``/login``, and checks the CSRF
token of every state-changing request before the page's own code runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from cxlens.config import Settings
from cxlens.errors import CxlensError, PermissionDeniedError
from cxlens.store import Store
from cxlens.web.auth import ConsoleConfig, allowed
from cxlens.web.sessions import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    check_csrf,
    load_session,
)

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/login"})


class SignInRequired(Exception):
    """No live session: the person is sent to the sign-in page and back afterwards."""


def store_of(request: Request) -> Store:
    return request.app.state.runtime.store


def settings_of(request: Request) -> Settings:
    return request.app.state.runtime.settings


def config_of(request: Request) -> ConsoleConfig:
    return getattr(request.app.state, "console_config", None) or ConsoleConfig()


def session_of(request: Request) -> Session:
    """The signed-in session (loaded once per request by the route class)."""
    session: Session | None = getattr(request.state, "console_session", None)
    if session is None:
        raise SignInRequired()
    return session


def actor(session: Session) -> str:
    """Audit entries name the console user by id, never by e-mail (no personal data in the log)."""
    return f"console:{session.user.user_id}"


def require(permission: str) -> Callable[[Request], Session]:
    """A dependency: the session, if its role holds ``permission``; else a 403 page."""

    def dependency(request: Request) -> Session:
        session = session_of(request)
        if not allowed(session.user.role, permission):
            raise PermissionDeniedError(
                f"your role ({session.user.role}) may not do this; ask an admin if you need it",
                permission=permission,
            )
        return session

    return dependency


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class ConsoleRoute(APIRoute):
    """Route class of every console page: session, CSRF and errors handled in one place."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            from cxlens.web.render import error_page

            try:
                await _check_request(request)
                return await handler(request)
            except SignInRequired:
                target = "/login?next=" + quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""
                )
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except CxlensError as exc:
                if exc.http_status >= 500:
                    log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.message)
                return error_page(request, exc.http_status, exc.message)
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 400, f"the request was not understood ({problems})")
            except Exception:
                log.exception("unexpected error on console page %s %s", request.method, request.url.path)
                return error_page(request, 500, "an unexpected error occurred; it has been logged")

        return console_handler


async def _check_request(request: Request) -> None:
    """Load the session and, for state-changing requests, check the CSRF token."""
    session = await run_in_threadpool(load_session, store_of(request), request.cookies.get(SESSION_COOKIE))
    request.state.console_session = session
    if request.method in SAFE_METHODS:
        return
    form = await request.form()  # starlette caches it, so the page reads the same form again
    submitted = form.get(CSRF_FIELD)
    submitted_token = submitted if isinstance(submitted, str) else None
    if request.url.path in PUBLIC_PATHS:
        check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE), submitted_token)
    elif session is None:
        raise SignInRequired()
    else:
        check_csrf(request, session.csrf_token, submitted_token)


def console_router() -> APIRouter:
    """A router for console pages (HTML, not in the API schema)."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)
