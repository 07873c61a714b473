"""Server-side sessions and CSRF tokens.

The cookie holds a 256-bit random token; the store keeps only its SHA-256, so a copy of the
database cannot be replayed as a session. Each session carries its own CSRF token (synchronizer
pattern): every form posts it back and htmx sends it as ``X-CSRF-Token``. Before sign-in there is no
session, so the sign-in form uses a double-submit cookie instead (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

from cxlens.errors import PermissionDeniedError
from cxlens.store import Store
from cxlens.web.users import ConsoleUser

SESSION_COOKIE = "cxlens_session"
LOGIN_CSRF_COOKIE = "cxlens_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    user: ConsoleUser
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, user: ConsoleUser, hours: float) -> tuple[str, Session]:
    """A new session for ``user``; returns the cookie value (shown to no one else) and the session."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = Session(
        user=user, csrf_token=secrets.token_urlsafe(32), expires_at=now + timedelta(hours=hours)
    )
    store.execute("DELETE FROM console_sessions WHERE expires_at < ?", [now])
    store.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [_digest(token), user.user_id, session.csrf_token, now, session.expires_at],
    )
    return token, session


def load_session(store: Store, token: str | None) -> Session | None:
    """The live session behind a cookie value, or None (unknown, expired, or user disabled)."""
    if not token:
        return None
    row = store.fetchone(
        "SELECT u.user_id, u.email, u.role, u.created_at, u.disabled_at, u.last_login_at, "
        "s.csrf_token, s.expires_at FROM console_sessions s JOIN console_users u USING (user_id) "
        "WHERE s.token_hash = ? AND s.expires_at > now() AND u.disabled_at IS NULL",
        [_digest(token)],
    )
    if row is None:
        return None
    return Session(user=ConsoleUser(*row[:6]), csrf_token=row[6], expires_at=row[7])


def end_session(store: Store, token: str | None) -> None:
    if token:
        store.execute("DELETE FROM console_sessions WHERE token_hash = ?", [_digest(token)])


def _secure(request: Request) -> bool:
    """Mark cookies Secure when served over https (uvicorn's proxy headers set the scheme)."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def check_csrf(request: Request, expected: str | None, submitted: str | None) -> None:
    """Refuse a state-changing request whose token is missing or wrong, or that comes from elsewhere."""
    origin = request.headers.get("origin")
    if origin and origin not in (f"{request.url.scheme}://{request.url.netloc}", "null"):
        raise PermissionDeniedError("this form was sent from another site and was refused (CSRF check)")
    token = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise PermissionDeniedError(
            "the form's security token is missing or out of date (CSRF check): reload the page and try again"
        )
