"""Console page of the CX program: initiatives (searchable log) and KPI progress against targets."""

from __future__ import annotations

from typing import Any

import altair as alt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.api.journeys import score_source
from cxlens.experiments.program import get_initiative, list_initiatives, search_initiatives
from cxlens.experiments.program_kpis import kpi_progress, list_kpis
from cxlens.web.charts import PALETTE, Chart
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.pages.journeys import altair_chart
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Program", "/program", order=57),)


def kpi_chart(progress: dict[str, Any]) -> Chart:
    """The KPI per period as a line, the target as a dashed rule."""
    data = [{"period": r["period"], "value": r["value"]} for r in progress["rows"]]
    line = (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True, color=PALETTE[0])
        .encode(
            x=alt.X("period:O", title=None),
            y=alt.Y("value:Q", title=progress["measure"]),
            tooltip=["period:O", alt.Tooltip("value:Q", format=",.3g")],
        )
    )
    target = (
        alt.Chart(alt.Data(values=[{"target": progress["target"]}]))
        .mark_rule(strokeDash=[4, 4], color=PALETTE[1])
        .encode(y="target:Q")
    )
    rows = [
        [
            r["period"],
            r["value"],
            r["target"],
            "met" if r["met"] else "not met",
            r["change_previous"],
            r["change_yoy"],
        ]
        for r in progress["rows"]
    ]
    return altair_chart(
        f"{progress['name']} against its target",
        alt.layer(line, target).properties(width="container", height=160),
        ("period", "value", "target", "status", "vs previous", "year on year"),
        rows,
    )


@router.get("/program", response_class=HTMLResponse)
def program_page(request: Request, q: str = "", session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    initiatives = search_initiatives(store, q) if q.strip() else list_initiatives(store)
    kpis = [kpi_progress(store, k["kpi_key"], scores=score_source(store)) for k in list_kpis(store)]
    return page(
        request,
        "program.html",
        title="CX program",
        q=q,
        initiatives=initiatives,
        kpis=[(k, kpi_chart(k)) for k in kpis],
    )


@router.get("/program/{initiative_id}", response_class=HTMLResponse)
def initiative_page(
    request: Request, initiative_id: str, session: Session = Depends(require("view"))
) -> HTMLResponse:
    return page(
        request,
        "program_initiative.html",
        title="Initiative",
        i=get_initiative(store_of(request), initiative_id),
    )
