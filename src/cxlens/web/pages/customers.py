"""Customers: the recently seen list, search by any identifier or trait, and the customer 360."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import InvalidInputError
from cxlens.identity.lookup import FORMS
from cxlens.profiles.search import page_count, search_customers
from cxlens.profiles.view import get_profile, get_timeline
from cxlens.web import queries
from cxlens.web.guard import console_router, require, settings_of, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Customers", "/customers", order=10),)
TIMELINE_PAGE = 50


@router.get("/customers", response_class=HTMLResponse)
def customers(
    request: Request, q: str = "", page_no: int = 1, session: Session = Depends(require("view"))
) -> HTMLResponse:
    store = store_of(request)
    if not q.strip():
        return page(request, "customers.html", title="Customers", q=q,
                    result=queries.recent_customers(store, page_no))
    try:
        result = search_customers(store, settings_of(request), q, page_no)
    except InvalidInputError as exc:
        return page(request, "customers.html", title="Customers", q=q, missing=exc.message,
                    result={"rows": [], "total": 0, "page": 1, "pages": 1})
    return page(request, "customers.html", title="Customers", q=q, result=result,
                missing=None if result["total"] else f"search takes {FORMS}, a trait as name=value, or text")


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(
    request: Request, customer_id: str, page_no: int = 1, session: Session = Depends(require("view"))
) -> HTMLResponse:
    store, settings = store_of(request), settings_of(request)
    page_no = max(page_no, 1)
    person = get_profile(store, settings, customer_id)
    events = get_timeline(store, settings, person["customer_id"], limit=TIMELINE_PAGE,
                          offset=(page_no - 1) * TIMELINE_PAGE)
    pages = page_count(events["total"], page_no, TIMELINE_PAGE)
    return page(request, "customer.html", title=f"Customer {person['customer_id']}", c=person,
                timeline={**events, "page": page_no, "pages": pages})
