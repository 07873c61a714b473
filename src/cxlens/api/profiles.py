"""HTTP routes of the profiles room: the customer 360 and its timeline (admin keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from cxlens.api.deps import require_admin, runtime
from cxlens.keys import ApiKey
from cxlens.profiles.view import MAX_TIMELINE, get_profile, get_timeline

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
Admin = Annotated[ApiKey, Depends(require_admin)]


@router.get("/{identifier:path}/events")
def profile_events(
    request: Request,
    identifier: str,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    channel: str | None = None,
) -> dict[str, Any]:
    rt = runtime(request)
    return get_timeline(rt.store, rt.settings, identifier, limit=limit, offset=offset, channel=channel)


@router.get("/{identifier:path}")
def profile(request: Request, identifier: str, _: Admin) -> dict[str, Any]:
    rt = runtime(request)
    return get_profile(rt.store, rt.settings, identifier)
