"""Console pages of experiments: the registry, and each experiment's results with intervals."""

from __future__ import annotations

from typing import Any

import altair as alt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import CxlensError
from cxlens.experiments.analyze import analyze
from cxlens.experiments.registry import list_experiments
from cxlens.web.charts import PALETTE, Chart
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.pages.journeys import altair_chart
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Experiments", "/experiments", order=55),)


def lift_chart(result: dict[str, Any]) -> Chart:
    """Relative lift of each treatment per metric with its interval; zero marked."""
    data = [
        {
            "metric": f"{m['name']}{' (guardrail)' if m['guardrail'] else ''}",
            "variant": r["variant"],
            "lift": r["relative"]["expected"],
            "low": r["relative"]["ci"][0],
            "high": r["relative"]["ci"][1],
        }
        for m in result["metrics"]
        for r in m["results"]
        if r["relative"]["error"] is None
    ]
    base = alt.Chart(alt.Data(values=data)).encode(
        y=alt.Y("metric:N", title=None),
        yOffset="variant:N",
        color=alt.Color("variant:N", scale=alt.Scale(range=PALETTE[1:])),
    )
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("low:Q", title="relative lift", axis=alt.Axis(format="%")), x2="high:Q"
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="lift:Q",
        tooltip=[
            "metric:N",
            "variant:N",
            alt.Tooltip("lift:Q", format="+.1%"),
            alt.Tooltip("low:Q", format="+.1%"),
            alt.Tooltip("high:Q", format="+.1%"),
        ],
    )
    zero = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color="#999").encode(x="x:Q")
    chart = alt.layer(zero, bars, points).properties(width="container", height=max(80, 40 * len(data)))
    rows = [
        [d["metric"], d["variant"], f"{d['lift']:+.1%}", f"{d['low']:+.1%} to {d['high']:+.1%}"] for d in data
    ]
    return altair_chart("Lift with intervals", chart, ("metric", "variant", "lift", "interval"), rows)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    return page(
        request, "experiments_list.html", title="Experiments", rows=list_experiments(store_of(request))
    )


@router.get("/experiments/{key}", response_class=HTMLResponse)
def experiment_page(
    request: Request, key: str, phase: str = "pilot", session: Session = Depends(require("view"))
) -> HTMLResponse:
    result, error = None, None
    try:
        result = analyze(store_of(request), key, phase=phase)  # type: ignore[arg-type]
    except CxlensError as exc:
        if exc.http_status == 404 and "unknown experiment" in exc.message:
            raise
        error = exc.message  # registered but nothing to analyse yet: say so on the page
    return page(
        request,
        "experiments_detail.html",
        title=f"Experiment {key}",
        key=key,
        phase=phase,
        result=result,
        error=error,
        figure=lift_chart(result) if result else None,
    )
