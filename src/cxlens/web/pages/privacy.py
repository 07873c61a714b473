"""Privacy: export or erase a person (erasure has a confirmation step), suppressions, the audit log."""

from __future__ import annotations

from fastapi import Depends, Form, Request, Response
from fastapi.responses import HTMLResponse

from cxlens import jsonutil
from cxlens.web import people
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Privacy", "/privacy", order=30),)


def _actor(session: Session) -> str:
    """Audit entries name the console user by id, never by e-mail (no personal data in the log)."""
    return f"console:{session.user.user_id}"


def _privacy_page(request: Request, **values: object) -> HTMLResponse:
    store = store_of(request)
    return page(
        request,
        "privacy.html",
        title="Privacy",
        suppressions=people.suppressions(store),
        audit=people.audit_log(store),
        **values,
    )


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    return _privacy_page(request)


@router.post("/privacy/export")
def export(
    request: Request, identifier: str = Form(""), session: Session = Depends(require("privacy.export"))
) -> Response:
    """Download everything held about a person as JSON; the request is audited."""
    store = store_of(request)
    customer_id = people.resolve(store, identifier)
    bundle = people.export_person(store, customer_id)
    people.audit(store, "export", _actor(session), customer_id)
    return Response(
        jsonutil.dumps(bundle, indent=True),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="cxlens-export-{customer_id}.json"',
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
    """First post: show what would be deleted. Second post (``confirm`` = the customer id): erase."""
    store = store_of(request)
    customer_id = people.resolve(store, identifier)
    if confirm != customer_id:
        return page(
            request,
            "erase_confirm.html",
            title="Confirm erasure",
            customer_id=customer_id,
            identifier=identifier,
            preview=people.erasure_preview(store, customer_id),
            mismatch=bool(confirm),
        )
    request_id = people.erase_person(store, customer_id, _actor(session))
    return _privacy_page(request, notice=f"Erased customer {customer_id} (request {request_id}).")
