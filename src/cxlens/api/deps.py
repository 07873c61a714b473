"""Request dependencies shared by routers: the runtime and admin authentication."""

from __future__ import annotations

from fastapi import Request

from cxlens.api.runtime import Runtime
from cxlens.keys import ApiKey


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def require_admin(request: Request) -> ApiKey:
    """Admin routes take ``Authorization: Bearer <admin key>``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    secret = token.strip() if scheme.lower() == "bearer" else None
    return runtime(request).keyring.authenticate(secret, "admin")
