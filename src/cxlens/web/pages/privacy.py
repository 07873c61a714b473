"""Privacy: export or erase a person (erasure has a confirmation step), suppressions, the audit log.

Export and erasure are the privacy room's data-subject requests (``cxlens.privacy.dsar``): they
resolve any identifier, cover ids merged into the person, suppress erased identifiers so re-sent
events are refused, and write the audit log themselves. The console adds the role check, CSRF (in
the route class) and, before erasing, a confirmation step showing what is held.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Form, Request, Response
from fastapi.responses import HTMLResponse

from cxlens import jsonutil
from cxlens.privacy.audit import audit_entries
from cxlens.privacy.dsar import erase_person, export_person
from cxlens.privacy.suppress import list_suppressions
from cxlens.profiles.view import get_profile
from cxlens.web.guard import actor, console_router, require, settings_of, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Privacy", "/privacy", order=30),)
SHOWN = 100  # suppressions and audit entries listed on the page


def _privacy_page(request: Request, **values: Any) -> HTMLResponse:
    store = store_of(request)
    suppressed = list_suppressions(store)
    return page(
        request,
        "privacy.html",
        title="Privacy",
        suppressions={"total": len(suppressed), "rows": suppressed[:SHOWN]},
        audit=audit_entries(store, SHOWN),
        **values,
    )


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    return _privacy_page(request)


@router.post("/privacy/export")
def export(
    request: Request, identifier: str = Form(""), session: Session = Depends(require("privacy.export"))
) -> Response:
    """Download everything held about a person as JSON (the privacy room audits the request)."""
    bundle = export_person(store_of(request), settings_of(request), identifier, actor(session))
    return Response(
        jsonutil.dumps(bundle, indent=True),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="cxlens-export-{bundle["customer_id"]}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/privacy/erase", response_class=HTMLResponse)
def erase(
    request: Request,
    identifier: str = Form(""),
    confirm: str = Form(""),
    session: Session = Depends(require("privacy.erase")),
) -> HTMLResponse:
    """First post: show what is held (the 360). Second post (``confirm`` = the customer id): erase."""
    store, settings = store_of(request), settings_of(request)
    person = get_profile(store, settings, identifier)
    if confirm != person["customer_id"]:
        return page(
            request,
            "erase_confirm.html",
            title="Confirm erasure",
            c=person,
            identifier=identifier,
            mismatch=bool(confirm),
        )
    result = erase_person(store, settings, person["customer_id"], actor(session))
    request.app.state.runtime.after_erasure()
    removed = sum(n for table, n in result["counts"].items() if table != "suppressed")
    return _privacy_page(
        request,
        notice=f"Erased customer {person['customer_id']} (request {result['request_id']}): {removed:,} rows "
        f"deleted, {result['counts'].get('suppressed', 0)} identifiers suppressed.",
    )
