"""HTTP face of the collect room: Segment's HTTP Tracking API (``/v1/track`` … ``/v1/batch``).

Existing Segment and RudderStack client libraries work unchanged: they authenticate with HTTP Basic
(write key as user name) or ``writeKey`` in the body, treat 2xx as delivered, 4xx as dropped and
429/5xx as "retry later" — which is what these endpoints answer.

They are a plain ASGI middleware rather than FastAPI routes: this is the hot path, and FastAPI's
per-request machinery (route matching across every room's routes, dependency solving, ``Request``
and ``Response`` objects) cost about 6 µs per event of a 100-event batch — as much as validating
the events. Here a request is: read the body, call ``Collector.receive``, send bytes (ADR 0005).
Domain errors are answered exactly as everywhere else (``responses.error_response``); anything
unexpected propagates to the app's catch-all handler.
"""

from __future__ import annotations

import base64
import binascii

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope

from cxlens.api.asgi import PostEndpoints
from cxlens.collect.collector import ENDPOINTS
from cxlens.errors import AuthenticationError, PayloadTooLargeError

_KIND_OF_PATH = {f"/v1/{kind}": kind for kind in ENDPOINTS}


def basic_user(request: Request) -> str | None:
    """The user name of ``Authorization: Basic …`` (Segment puts the write key there)."""
    return basic_user_of(request.headers.get("authorization"))


def basic_user_of(header: str | None) -> str | None:
    """``basic_user`` from the header's value."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("the Basic authorization header is not valid base64 of "
                                  "'<write key>:'") from None
    return decoded.partition(":")[0] or None


async def read_capped(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The raw body, refusing (413) to buffer more than ``limit`` bytes."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is {declared} bytes; the limit is {limit}", limit=limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class CollectEndpoints(PostEndpoints):
    """Answers ``/v1/<kind>`` (the Segment endpoints) itself and passes everything else on."""

    def match(self, path: str) -> str | None:
        return _KIND_OF_PATH.get(path)

    async def answer(self, kind: str, scope: Scope, receive: Receive) -> bytes:
        runtime = scope["app"].state.runtime
        assert runtime.collector is not None, "the collector starts with the app"
        headers = {name: value.decode("latin-1") for name, value in scope["headers"]
                   if name in (b"authorization", b"content-encoding", b"content-length")}
        body = await read_capped(receive, headers.get(b"content-length"), runtime.settings.max_batch_bytes)
        result = await runtime.collector.receive(kind, body, headers.get(b"content-encoding"),
                                                 basic_user_of(headers.get(b"authorization")))
        return orjson.dumps(result.to_response())
