"""``GET /v1/quality``: the data-quality report (admin key)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query

from cxlens.api.deps import require_admin, runtime
from cxlens.api.runtime import Runtime
from cxlens.collect.quality import quality_report
from cxlens.keys import ApiKey

router = APIRouter()


@router.get("/v1/quality")
def get_quality(
    since: date | None = Query(None, description="First day (YYYY-MM-DD); default the last 30 days."),
    rt: Runtime = Depends(runtime),
    _: ApiKey = Depends(require_admin),
) -> dict[str, Any]:
    """Volume, completeness, validity, freshness and tracking-plan violations per source and event."""
    return quality_report(rt.store, rt.settings, since=since).to_dict()
