"""HTTP routes of the collect room: Segment's HTTP Tracking API (``/v1/track`` … ``/v1/batch``).

Existing Segment and RudderStack client libraries work unchanged: they authenticate with HTTP Basic
(write key as user name) or ``writeKey`` in the body, treat 2xx as delivered, 4xx as dropped and
429/5xx as "retry later" — which is what these routes answer.
"""

from __future__ import annotations

import base64
import binascii

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxlens.api.deps import runtime
from cxlens.collect.collector import ENDPOINTS
from cxlens.errors import AuthenticationError, PayloadTooLargeError

router = APIRouter(tags=["collect"])


def basic_user(request: Request) -> str | None:
    """The user name of ``Authorization: Basic …`` (Segment puts the write key there)."""
    header = request.headers.get("authorization")
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


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) to buffer more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is {declared} bytes; the limit is {limit}", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _endpoint(kind: str):
    async def collect(request: Request) -> Response:
        rt = runtime(request)
        assert rt.collector is not None, "the collector starts with the app"
        body = await read_capped(request, rt.settings.max_batch_bytes)
        result = await rt.collector.receive(kind, body, request.headers.get("content-encoding"),
                                            basic_user(request))
        return Response(orjson.dumps(result.to_response()), media_type="application/json")

    collect.__name__ = f"collect_{kind}"
    collect.__doc__ = f"Segment-spec `{kind}`: see docs/collect.md."
    return collect


for _kind in sorted(ENDPOINTS):
    router.add_api_route(f"/v1/{_kind}", _endpoint(_kind), methods=["POST"])
