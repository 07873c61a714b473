"""HTTP face of personalization: ``POST /v1/decide`` and ``POST /v1/decide/feedback``.

``/v1/decide`` takes an admin key: its answer reveals what a named person bought and likes, and write
keys are public (they ship in browser and app code). Call it from your server. Feedback carries
nothing personal, so a write key (HTTP Basic, as the collection API) or an admin key will do.

Both are a plain ASGI middleware rather than FastAPI routes, like the collection endpoints (ADR 0005,
ADR 0007): a decision costs about 0.5 ms of CPU, and FastAPI's per-request machinery (routing across
every room's routes, dependency solving, the threadpool hop of a sync route, ``Request``/``Response``
objects) cost more than that. A decision runs on the event loop: it is array work on memory
snapshots, shorter than a thread hand-off, and the fatigue ledger's reservation is atomic under its
own lock either way. Loading the engine (seconds, once) and feedback (a row written to the store)
run in the threadpool. Auth, validation messages, statuses and the JSON error shape are those of
every other route (``responses.error_response``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope

from cxlens import jsonutil
from cxlens.api.asgi import PostEndpoints
from cxlens.api.collect import basic_user_of, read_capped
from cxlens.api.deps import presented_secret
from cxlens.api.runtime import Runtime
from cxlens.decide.engine import DecisionEngine
from cxlens.decide.request import DecideRequest, FeedbackRequest
from cxlens.decide.service import EngineHolder, parse
from cxlens.errors import AuthenticationError, InvalidInputError
from cxlens.keys import ApiKey

DECIDE, FEEDBACK = "/v1/decide", "/v1/decide/feedback"
MAX_BODY = 256 * 1024  # a decision request is a few hundred bytes; a cart of 200 ids stays far below this


def _admin(runtime: Runtime, header: str | None) -> ApiKey:
    """Admin routes take ``Authorization: Bearer <admin key>`` (as ``api.deps.require_admin``)."""
    return runtime.keyring.authenticate(presented_secret(header), "admin")


def _write_or_admin(runtime: Runtime, header: str | None) -> ApiKey:
    if (header or "").lower().startswith("bearer "):
        return _admin(runtime, header)
    secret = basic_user_of(header)
    if not secret:
        raise AuthenticationError("missing key: send a write key as HTTP Basic username or an admin key as "
                                  "a Bearer token")
    return runtime.keyring.authenticate(secret, "write")


def _body_problem(message: str) -> InvalidInputError:
    """A body that is empty or does not parse, as FastAPI routes report it: field ``body`` in
    ``details.problems``, so a client reads every validation error from one place."""
    return InvalidInputError(f"body: {message}", problems=[{"field": "body", "message": message}])


def _payload(body: bytes) -> Any:
    if not body.strip():
        raise _body_problem('the body must be a JSON object, for example {"placement": "home"}')
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _body_problem(f"the body is not valid JSON: {exc}") from None


class DecideEndpoints(PostEndpoints):
    """Answers ``/v1/decide`` and ``/v1/decide/feedback`` itself and passes everything else on."""

    def match(self, path: str) -> str | None:
        return path if path in (DECIDE, FEEDBACK) else None

    async def answer(self, path: str, scope: Scope, receive: Receive) -> bytes:
        app = scope["app"]
        runtime: Runtime = app.state.runtime
        headers = {name: value.decode("latin-1") for name, value in scope["headers"]
                   if name in (b"authorization", b"content-length")}
        authorization = headers.get(b"authorization")
        # the order FastAPI had: key, then body, then validation, and only then the engine (which
        # fails without trained models: an invalid request still hears what is invalid)
        if path == DECIDE:
            _admin(runtime, authorization)
        else:
            _write_or_admin(runtime, authorization)
        payload = _payload(await read_capped(receive, headers.get(b"content-length"), MAX_BODY))
        if path == DECIDE:
            decide_request = parse(DecideRequest, payload)
            return jsonutil.dumps((await self._engine(app, runtime)).decide(decide_request))
        feedback = parse(FeedbackRequest, payload)
        engine = await self._engine(app, runtime)
        return jsonutil.dumps(await run_in_threadpool(engine.feedback, feedback))

    @staticmethod
    async def _engine(app: Any, runtime: Runtime) -> DecisionEngine:
        holder = EngineHolder.of(app.state)
        engine = holder.loaded()
        if engine is None:  # the first request loads the models: seconds, off the event loop
            engine = await run_in_threadpool(holder.get, runtime.store, runtime.settings)
        return engine
