"""Data: sources and write keys, the live event stream, rejected events, data quality."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from cxlens import keys
from cxlens.web import charts, queries
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.people import audit
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Data", "/data", order=20),)


def _data_page(
    request: Request, created: keys.CreatedKey | None = None, notice: str | None = None
) -> HTMLResponse:
    store = store_of(request)
    bad = queries.rejected(store)
    quality = queries.quality(store)
    return page(
        request,
        "data.html",
        title="Data",
        sources=queries.sources(store),
        keys=keys.list_keys(store),
        created=created,
        notice=notice,
        stream=queries.latest_events(store),
        rejected=bad,
        rejected_chart=charts.bars(
            "Rejected events by reason", bad["by_reason"], "reason", "events", "events"
        ),
        quality=quality,
        volume_chart=charts.sparkline(
            "Events received per day", quality["volume"], "day", "events", "events"
        ),
    )


@router.get("/data", response_class=HTMLResponse)
def data(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    return _data_page(request)


@router.get("/data/stream", response_class=HTMLResponse)
def stream(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    """The live stream's table alone: htmx polls it every few seconds."""
    return page(request, "fragments/stream.html", stream=queries.latest_events(store_of(request)))


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
    audit(store, "key.create", f"console:{session.user.user_id}", created.key.key_id, {"kind": kind})
    return _data_page(request, created=created)


@router.post("/data/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(
    request: Request, key_id: str, session: Session = Depends(require("keys.manage"))
) -> HTMLResponse:
    store = store_of(request)
    key = keys.revoke_key(store, key_id)
    audit(store, "key.revoke", f"console:{session.user.user_id}", key.key_id)
    return _data_page(
        request, notice=f"Key {key.name} ({key.key_id}) is revoked: clients using it are refused."
    )
