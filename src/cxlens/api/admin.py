"""Admin and health routes: the live event stream, rejections, and collection counts."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from cxlens.api.deps import require_admin, runtime
from cxlens.collect import queries
from cxlens.keys import ApiKey

router = APIRouter()
Admin = Annotated[ApiKey, Depends(require_admin)]
Limit = Annotated[int, Query(description=f"How many rows, 1 to {queries.MAX_LIMIT}.")]


@router.get("/health", include_in_schema=False)
async def health() -> dict:
    return {"status": "ok"}


@router.get("/v1/admin/events")
async def admin_events(request: Request, _: Admin, limit: Limit = 50) -> list[dict[str, Any]]:
    """The latest events, newest first (the console's live stream)."""
    return await asyncio.to_thread(queries.latest_events, runtime(request).store, limit)


@router.get("/v1/admin/rejected")
async def admin_rejected(request: Request, _: Admin, limit: Limit = 50) -> list[dict[str, Any]]:
    """The latest rejected messages with their reasons."""
    return await asyncio.to_thread(queries.rejected_events, runtime(request).store, limit)


@router.get("/v1/admin/stats")
async def admin_stats(request: Request, _: Admin) -> dict[str, Any]:
    """Collection counts, plus the collector's own state (WAL position, loader progress)."""
    rt = runtime(request)
    stats = await asyncio.to_thread(queries.collect_stats, rt.store)
    if rt.writer is not None and rt.loader is not None:
        stats["collector"] = {
            "wal_committed": [rt.writer.committed.segment, rt.writer.committed.offset],
            "wal_fsyncs": rt.writer.groups,
            "loader_checkpoint": [rt.loader.position.segment, rt.loader.position.offset],
            "loader_failures": rt.loader.failures,
            "loaded": rt.loader.totals.to_dict(),
        }
    return stats
