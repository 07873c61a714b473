"""HTTP routes of personalization: ``POST /v1/decide`` and ``POST /v1/decide/feedback``.

``/v1/decide`` takes an admin key: its answer reveals what a named person bought and likes, and write
keys are public (they ship in browser and app code). Call it from your server. Feedback carries
nothing personal, so a write key (HTTP Basic, as the collection API) or an admin key will do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cxlens.api.collect import basic_user
from cxlens.api.deps import require_admin, runtime
from cxlens.decide.request import DecideRequest, FeedbackRequest
from cxlens.decide.service import EngineHolder
from cxlens.errors import AuthenticationError
from cxlens.keys import ApiKey

router = APIRouter(prefix="/v1/decide", tags=["decide"])
Admin = Annotated[ApiKey, Depends(require_admin)]


def _engine(request: Request) -> Any:
    holder = getattr(request.app.state, "decide", None)
    if holder is None:
        holder = request.app.state.decide = EngineHolder()
    rt = runtime(request)
    return holder.get(rt.store, rt.settings)


def _write_or_admin(request: Request) -> ApiKey:
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return require_admin(request)
    secret = basic_user(request)
    if not secret:
        raise AuthenticationError("missing key: send a write key as HTTP Basic username or an admin key as "
                                  "a Bearer token")
    return runtime(request).keyring.authenticate(secret, "write")


@router.post("")
def decide(request: Request, body: DecideRequest, _: Admin) -> dict[str, Any]:
    return _engine(request).decide(body)  # type: ignore[no-any-return]


@router.post("/feedback")
def feedback(request: Request, body: FeedbackRequest,
             _: Annotated[ApiKey, Depends(_write_or_admin)]) -> dict[str, Any]:
    return _engine(request).feedback(body)  # type: ignore[no-any-return]
