"""Customers: search by any identifier or trait, and the customer 360."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.web import people
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Customers", "/customers", order=10),)


@router.get("/customers", response_class=HTMLResponse)
def customers(
    request: Request, q: str = "", page_no: int = 1, session: Session = Depends(require("view"))
) -> HTMLResponse:
    result = people.search(store_of(request), q, page_no)
    return page(request, "customers.html", title="Customers", q=q, result=result)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(
    request: Request, customer_id: str, page_no: int = 1, session: Session = Depends(require("view"))
) -> HTMLResponse:
    store = store_of(request)
    person = people.customer_360(store, customer_id, request.app.state.runtime.settings.consent_defaults)
    return page(
        request,
        "customer.html",
        title=f"Customer {customer_id}",
        c=person,
        timeline=people.timeline(store, customer_id, page_no),
    )
