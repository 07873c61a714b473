"""Request dependencies shared by routers: the runtime, and the secrets admin and write routes check."""

from __future__ import annotations

from fastapi import Request

from cxlens.api.collect import basic_user_of
from cxlens.api.runtime import Runtime
from cxlens.keys import ApiKey


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def presented_secret(header: str | None) -> str | None:
    """The key an ``Authorization`` header presents: a Bearer token (how admin keys come), else the
    HTTP Basic user name (how Segment SDKs send write keys).

    Admin and write routes both read either form, so a key of the wrong kind is recognised and
    refused as such (403, naming the kind needed) rather than as no key at all (401).
    """
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else basic_user_of(header)


def require_admin(request: Request) -> ApiKey:
    """Admin routes take ``Authorization: Bearer <admin key>``."""
    secret = presented_secret(request.headers.get("authorization"))
    return runtime(request).keyring.authenticate(secret, "admin")


def require_write(request: Request) -> ApiKey:
    """Write-key routes take the key as the HTTP Basic user name. As a dependency it is checked
    before the query, so a caller without a key hears 401, not what its request lacks."""
    secret = presented_secret(request.headers.get("authorization"))
    return runtime(request).keyring.authenticate(secret, "write")
