"""Data: sources and write keys, the live event stream, data quality, rejected events.

Quality is the collect room's report (``cxlens.collect.quality``), the stream and the rejected list
its read views (``cxlens.collect.queries``); the page shows no identifiers or payloads.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from cxlens import keys
from cxlens.collect.quality import QualityReport, quality_report
from cxlens.collect.queries import latest_events, rejected_events
from cxlens.privacy.audit import audit
from cxlens.web import charts, queries, summary
from cxlens.web.guard import actor, console_router, require, settings_of, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Data", "/data", order=20),)
STREAM_ROWS = 20


def _completeness(report: QualityReport, field: str) -> float | None:
    """A key field's share over all streams, weighted by their events."""
    weighted = [(s.completeness[field], s.events) for s in report.streams if field in s.completeness]
    total = sum(n for _, n in weighted)
    return sum(share * n for share, n in weighted) / total if total else None


def _quality_view(report: QualityReport) -> dict[str, Any]:
    """The report's headline numbers, the volume series and rejections by reason, for the template."""
    days = (report.until - report.since).days + 1
    volume = [sum(s.daily[i] for s in report.streams) for i in range(days)]
    by_reason = Counter[str]()
    for r in report.rejections:
        by_reason[r.reason] += r.count
    return {
        "report": report,
        "identifier": _completeness(report, "identifier"),
        "channel": _completeness(report, "channel"),
        "latest": max((s.latest_received_at for s in report.streams if s.latest_received_at), default=None),
        "volume_chart": charts.sparkline(
            "Events per day",
            [{"day": report.since + timedelta(days=i), "events": n}
             for i, n in enumerate(volume)],
            "day", "events", "events",
        ),
        "rejected_chart": charts.bars(
            "Rejected events by reason",
            [{"reason": reason, "events": n} for reason, n in by_reason.most_common()],
            "reason", "events", "events",
        ),
    }


def _data_page(
    request: Request, created: keys.CreatedKey | None = None, notice: str | None = None
) -> HTMLResponse:
    store = store_of(request)
    daily = summary.summary_of(store)
    report, _ = daily.memo("quality", lambda: quality_report(store, settings_of(request)))
    sources, _ = daily.memo("sources", lambda: queries.sources(store))
    return page(
        request,
        "data.html",
        title="Data",
        sources=sources,
        keys=keys.list_keys(store),
        created=created,
        notice=notice,
        stream=latest_events(store, STREAM_ROWS),
        rejected=rejected_events(store, 50),
        quality=_quality_view(report),
    )


@router.get("/data", response_class=HTMLResponse)
def data(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    return _data_page(request)


@router.get("/data/stream", response_class=HTMLResponse)
def stream(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    """The live stream's table alone: htmx polls it every few seconds."""
    return page(request, "fragments/stream.html", stream=latest_events(store_of(request), STREAM_ROWS))


@router.post("/data/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    name: str = Form(""),
    kind: str = Form("write"),
    session: Session = Depends(require("keys.manage")),
) -> HTMLResponse:
    """Create a key and show its secret once, on this response only (never in a URL or a log)."""
    store = store_of(request)
    created = keys.create_key(store, kind, name)
    audit(store, actor(session), "key.create", created.key.key_id, {"kind": kind})
    return _data_page(request, created=created)


@router.post("/data/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(
    request: Request, key_id: str, session: Session = Depends(require("keys.manage"))
) -> HTMLResponse:
    store = store_of(request)
    key = keys.revoke_key(store, key_id)
    audit(store, actor(session), "key.revoke", key.key_id, {})
    return _data_page(
        request, notice=f"Key {key.name} ({key.key_id}) is revoked: clients using it are refused."
    )
