"""HTTP routes of the segments room: segments, saved audiences, members and previews (admin keys)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from cxlens.api.deps import require_admin, runtime
from cxlens.keys import ApiKey
from cxlens.segments import audiences
from cxlens.segments.build import get_segment, list_segments

router = APIRouter(prefix="/v1", tags=["segments"])
Admin = Annotated[ApiKey, Depends(require_admin)]
Purpose = Literal["marketing", "personalization", "analytics"]


class AudienceIn(BaseModel):
    # an unknown field is a 400: a misspelt "purpose" would otherwise save a marketing audience
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Lower-case letters, digits, '-' and '_' (1-64).")
    expression: str = Field(..., description="The rule, in the audience language (docs/segments.md).")
    description: str | None = Field(None, max_length=1000)
    purpose: Purpose = Field("marketing", description="The consent its exports require.")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str
    purpose: Purpose = "marketing"
    limit: int = Field(10, ge=0, le=audiences.MAX_PREVIEW)


@router.get("/segments")
def segments(request: Request, _: Admin) -> dict[str, Any]:
    return list_segments(runtime(request).store)


@router.get("/segments/{name}")
def segment(request: Request, name: str, _: Admin) -> dict[str, Any]:
    return get_segment(runtime(request).store, name)


@router.get("/audiences")
def audience_list(request: Request, _: Admin) -> list[dict[str, Any]]:
    return audiences.list_audiences(runtime(request).store)


@router.post("/audiences", status_code=201)
def audience_create(request: Request, body: AudienceIn, _: Admin) -> dict[str, Any]:
    return audiences.create_audience(runtime(request).store, body.name, body.expression,
                                     description=body.description, purpose=body.purpose)


@router.post("/audiences/preview")
def audience_preview(request: Request, body: PreviewIn, _: Admin) -> dict[str, Any]:
    return audiences.preview(runtime(request).store, body.expression, purpose=body.purpose, limit=body.limit)


@router.get("/audiences/{name}")
def audience(request: Request, name: str, _: Admin) -> dict[str, Any]:
    return audiences.get_audience(runtime(request).store, name)


@router.post("/audiences/{name}/refresh")
def audience_refresh(request: Request, name: str, _: Admin) -> dict[str, Any]:
    return audiences.refresh_audience(runtime(request).store, name)


@router.get("/audiences/{name}/members")
def audience_members(
    request: Request, name: str, _: Admin,
    limit: Annotated[int, Query(ge=0, le=audiences.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    consented_only: Annotated[bool, Query(description="Only members consenting to the purpose now.")] = False,
) -> dict[str, Any]:
    return audiences.audience_members(runtime(request).store, name, limit=limit, offset=offset,
                                      consented_only=consented_only)
