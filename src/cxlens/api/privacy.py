"""HTTP routes of the privacy room: data-subject export and erase, the audit log (admin keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from cxlens.api.deps import require_admin, runtime
from cxlens.keys import ApiKey
from cxlens.privacy.audit import audit_entries
from cxlens.privacy.dsar import erase_person, export_person
from cxlens.privacy.suppress import list_suppressions

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])
Admin = Annotated[ApiKey, Depends(require_admin)]


class SubjectRequest(BaseModel):
    identifier: str = Field(..., min_length=1, description="Any identifier of the person.")


def _actor(key: ApiKey) -> str:
    return f"api:{key.key_id}"


@router.post("/export")
def export(request: Request, body: SubjectRequest, key: Admin) -> dict[str, Any]:
    rt = runtime(request)
    return export_person(rt.store, rt.settings, body.identifier, _actor(key))


@router.post("/erase")
def erase(request: Request, body: SubjectRequest, key: Admin) -> dict[str, Any]:
    rt = runtime(request)
    result = erase_person(rt.store, rt.settings, body.identifier, _actor(key))
    rt.after_erasure()
    return result


@router.get("/audit")
def audit(request: Request, _: Admin,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[dict[str, Any]]:
    return audit_entries(runtime(request).store, limit)


@router.get("/suppressions")
def suppressions(request: Request, _: Admin) -> list[dict[str, Any]]:
    return list_suppressions(runtime(request).store)
