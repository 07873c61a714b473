"""Turning a page's data into HTML: the Jinja2 environment, the layout context, security headers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from cxlens.web.auth import allowed
from cxlens.web.nav import NavItem, visible
from cxlens.web.sessions import Session

# Scripts only from our own origin (no inline script, no eval: Vega runs with its interpreter);
# inline styles are allowed because Vega positions tooltips and legends with them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def fmt_number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        value = float(value)
    return f"{value:,.{digits}f}"


def fmt_time(value: Any) -> str:
    """Times are shown in UTC, to the minute, the way the store keeps them."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fmt_ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("cxlens.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=fmt_number, time=fmt_time, ago=fmt_ago)
    return env


def _context(request: Request, session: Session | None) -> dict[str, Any]:
    nav: list[NavItem] = getattr(request.app.state, "console_nav", [])
    role = session.user.role if session else ""
    return {
        "request": request,
        "session": session,
        "user": session.user if session else None,
        "csrf_token": session.csrf_token if session else "",
        "nav": visible(nav, role) if session else [],
        "path": request.url.path,
        "can": lambda permission: bool(session) and allowed(role, permission),
    }


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render ``template`` with the layout context plus ``values``."""
    session = getattr(request.state, "console_session", None)
    html = environment().get_template(template).render(**_context(request, session), **values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A readable error inside the layout (or a bare fragment for htmx requests)."""
    titles = {
        400: "That did not work",
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        429: "Please wait",
    }
    title = titles.get(status, "Something went wrong")
    if request.headers.get("hx-request"):
        return page(request, "fragments/error.html", status=status, title=title, message=message)
    return page(request, "error.html", status=status, title=title, message=message)
