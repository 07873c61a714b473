"""Hot POST endpoints answered as plain ASGI, ahead of FastAPI's routing (ADR 0005, ADR 0007).

Routing, dependency injection and response classes cost microseconds per request that the
collection and decision paths cannot spare. A subclass says which paths it answers and how to
turn a request into a JSON body; errors keep the API's one JSON error shape.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from cxlens.api.responses import JSON, error_response
from cxlens.errors import CxlensError

JSON_HEADERS = [(b"content-type", b"application/json")]


class PostEndpoints:
    """ASGI middleware answering the paths ``match`` accepts itself and passing the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    def match(self, path: str) -> str | None:
        """The endpoint this middleware answers at ``path``, or None to pass the request on."""
        raise NotImplementedError

    async def answer(self, endpoint: str, scope: Scope, receive: Receive) -> bytes:
        """The JSON body of a 200 answer; raise a CxlensError for anything else."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.match(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None:
            await self._app(scope, receive, send)
            return
        if scope["method"] != "POST":
            response = JSON({"code": "method_not_allowed", "message": "Method Not Allowed"},
                            status_code=405, headers={"Allow": "POST"})
            await response(scope, receive, send)
            return
        try:
            body = await self.answer(endpoint, scope, receive)
        except CxlensError as exc:
            await error_response(exc, "POST", scope["path"])(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
