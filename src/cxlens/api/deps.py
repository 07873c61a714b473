"""Request dependencies shared by routers: the runtime, and the secrets admin and write routes check."""

from __future__ import annotations

from fastapi import Request

from cxlens.api.collect import basic_user_of
from cxlens.api.runtime import Runtime
from cxlens.keys import ApiKey


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def admin_secret(header: str | None) -> str | None:
    """The secret an admin route checks: the Bearer token, else the HTTP Basic user name.

    Admin keys come as Bearer tokens. A Basic user name is a write key sent the way collection takes
    it; it is checked too, so that it is refused as the wrong kind of key (403, saying an admin key
    is needed) rather than as no key at all.
    """
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else basic_user_of(header)


def write_secret(header: str | None) -> str | None:
    """The secret a write-key route checks: the HTTP Basic user name, else the Bearer token.

    Write keys come as the Basic user name (as Segment SDKs send them). A Bearer token is an admin
    key sent the way admin routes take it; it is checked too, so that it is refused as the wrong
    kind of key (403, saying a write key is needed) rather than as no key at all.
    """
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else basic_user_of(header)


def require_admin(request: Request) -> ApiKey:
    """Admin routes take ``Authorization: Bearer <admin key>``."""
    return runtime(request).keyring.authenticate(admin_secret(request.headers.get("authorization")), "admin")


def require_write(request: Request) -> ApiKey:
    """Write-key routes take the key as the HTTP Basic user name. As a dependency it is checked
    before the query, so a caller without a key hears 401, not what its request lacks."""
    return runtime(request).keyring.authenticate(write_secret(request.headers.get("authorization")), "write")
