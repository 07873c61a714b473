"""Models: which models wrote computed traits (name, version, customers, when) and every trained run.

A person reading a churn score or a segment on a profile can see here which model version made it
and how good that model was judged to be (the holdout report each training run records).
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens import jsonutil
from cxlens.web import queries
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Models", "/models", order=80),)


def _headline(report: object) -> list[tuple[str, object]]:
    """The report's top-level numbers and short texts (metrics, verdicts), not its nested tables."""
    data = jsonutil.loads(report) if isinstance(report, str) else report
    if not isinstance(data, dict):
        return []
    headline: list[tuple[str, object]] = [
        (k, v) for k, v in data.items()
        if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= 80)
    ]
    return headline[:12]


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    runs = [{**run, "headline": _headline(run.pop("report"))} for run in queries.model_runs(store)]
    return page(request, "models.html", title="Models", traits=queries.model_of_traits(store), runs=runs)
