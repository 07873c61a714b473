"""Console pages of the journeys room: journey map and flows, funnels, cohorts, attribution.

Pages only parse the query string, call one journeys function and render; the chart builders below
turn results into Vega-Lite (and, for the Sankey flow, a small Vega) spec with the same numbers as a
table beside each chart. Vega-Lite has no Sankey mark, so the flow is drawn from node rectangles and
link paths laid out here in Python — a plain Vega spec with ``rect`` and ``path`` marks, nothing
evaluated in the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens import jsonutil
from cxlens.api.journeys import experience_scores
from cxlens.errors import CxlensError
from cxlens.journeys.attribution import MODELS
from cxlens.journeys.cohorts import retention
from cxlens.journeys.funnels import funnel
from cxlens.journeys.maps import END, journey_map, stage_flows
from cxlens.journeys.population import Population, available_segments
from cxlens.journeys.store_paths import TOUCHES, store_attribution
from cxlens.web.charts import PALETTE, Chart
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Journeys", "/journeys", order=50),)
SUBPAGES = (
    ("Map & flows", "/journeys"),
    ("Funnels", "/journeys/funnels"),
    ("Cohorts", "/journeys/cohorts"),
    ("Attribution", "/journeys/attribution"),
)
DEFAULT_STEPS = "Product Viewed\nOrder Completed"


def spec_json(spec: dict[str, Any]) -> str:
    """A spec safe inside ``<script type="application/json">``."""
    return jsonutil.dumps_str(spec).replace("</", "<\\/")


def altair_chart(
    title: str, chart: alt.TopLevelMixin, columns: Sequence[str], rows: list[list[Any]]
) -> Chart:
    return Chart(title, spec_json(chart.properties(description=title).to_dict(validate=False)), columns, rows)


def stage_chart(stages: list[dict[str, Any]]) -> Chart:
    data = [{"stage": s["stage"], "reach": s["reach"], "order": i} for i, s in enumerate(stages)]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("stage:N", sort=alt.SortField("order"), title=None),
            y=alt.Y("reach:Q", title="customers"),
            tooltip=["stage:N", "reach:Q"],
        )
        .properties(width="container", height=200)
    )
    rows = [
        [s["stage"], s["reach"], _pct(s["conversion"]), _pct(s["drop_off"]), s["median_days_in_stage"]]
        for s in stages
    ]
    return altair_chart(
        "Reach per stage",
        chart,
        ("stage", "customers", "to next stage", "drop-off", "median days in stage"),
        rows,
    )


def sankey_chart(flows: dict[str, Any], width: int = 720, height: int = 300) -> Chart:
    """Stage flows as a Sankey: a Vega spec of node rectangles and link paths laid out here."""
    links = flows["links"]
    steps = max((x["step"] for x in links), default=1) + 1
    outflow: dict[tuple[int, str], int] = {}
    inflow: dict[tuple[int, str], int] = {}
    for x in links:
        outflow[(x["step"], x["source"])] = outflow.get((x["step"], x["source"]), 0) + x["customers"]
        if x["target"] != END:
            inflow[(x["step"] + 1, x["target"])] = (
                inflow.get((x["step"] + 1, x["target"]), 0) + x["customers"]
            )
    through = {k: max(outflow.get(k, 0), inflow.get(k, 0)) for k in {*outflow, *inflow}}
    total = max(flows["customers"], 1)
    scale = (height - 12 * 6) / total
    col_w, node_w = (width - 140) / max(steps - 1, 1), 12
    nodes, y_of = [], {}
    stage_order = {s: i for i, s in enumerate(dict.fromkeys(x["source"] for x in links))}
    for step in range(1, steps + 1):
        y = 0.0
        for (_, stage), value in sorted(
            ((k, v) for k, v in through.items() if k[0] == step and v),
            key=lambda kv: stage_order.get(kv[0][1], 99),
        ):
            h = value * scale
            nodes.append(
                {
                    "x": (step - 1) * col_w,
                    "y": y,
                    "h": max(h, 1),
                    "stage": stage,
                    "customers": value,
                    "label": f"{stage} (step {step}): {value:,}",
                }
            )
            y_of[(step, stage)] = [y, y]  # next free offset for outgoing, incoming links
            y += h + 12
    paths = []
    for x in links:
        if x["target"] == END:
            continue
        src, dst = y_of[(x["step"], x["source"])], y_of[(x["step"] + 1, x["target"])]
        t = x["customers"] * scale
        y0, y1 = src[0] + t / 2, dst[1] + t / 2
        src[0] += t
        dst[1] += t
        x0, x1 = (x["step"] - 1) * col_w + node_w, x["step"] * col_w
        mid = (x0 + x1) / 2
        paths.append(
            {
                "path": f"M{x0:.1f},{y0:.1f}C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}",
                "width": max(t, 0.5),
                "source": x["source"],
                "label": f"step {x['step']}: {x['source']} → {x['target']}: {x['customers']:,}",
            }
        )
    color = {"type": "ordinal", "name": "color", "domain": list(stage_order), "range": PALETTE}
    spec = {
        "$schema": "https://vega.github.io/schema/vega/v5.json",
        "description": "Stage flows (Sankey)",
        "width": width,
        "height": height,
        "padding": 5,
        "scales": [color],
        "data": [{"name": "nodes", "values": nodes}, {"name": "links", "values": paths}],
        "marks": [
            {
                "type": "path",
                "from": {"data": "links"},
                "encode": {
                    "update": {
                        "path": {"field": "path"},
                        "stroke": {"scale": "color", "field": "source"},
                        "strokeWidth": {"field": "width"},
                        "strokeOpacity": {"value": 0.35},
                        "tooltip": {"field": "label"},
                    }
                },
            },
            {
                "type": "rect",
                "from": {"data": "nodes"},
                "encode": {
                    "update": {
                        "x": {"field": "x"},
                        "width": {"value": node_w},
                        "y": {"field": "y"},
                        "height": {"field": "h"},
                        "fill": {"scale": "color", "field": "stage"},
                        "tooltip": {"field": "label"},
                    }
                },
            },
            {
                "type": "text",
                "from": {"data": "nodes"},
                "encode": {
                    "update": {
                        "x": {"field": "x", "offset": node_w + 3},
                        "y": {"field": "y", "offset": 10},
                        "text": {"field": "stage"},
                        "fontSize": {"value": 11},
                        "fill": {"value": "#333"},
                    }
                },
            },
        ],
    }
    rows = [[x["step"], x["source"], x["target"], x["customers"]] for x in links]
    return Chart("Stage flows", spec_json(spec), ("step", "from", "to", "customers"), rows)


def funnel_chart(steps: list[dict[str, Any]]) -> Chart:
    data = [{"step": f"{s['step']}. {s['event']}", "customers": s["customers"]} for s in steps]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("step:N", sort=None, title=None),
            y=alt.Y("customers:Q"),
            tooltip=["step:N", "customers:Q"],
        )
        .properties(width="container", height=220)
    )
    rows = [
        [
            s["step"],
            s["event"],
            s["customers"],
            _pct(s["conversion"]),
            _pct(s["step_conversion"]),
            None if s["median_seconds_from_previous"] is None else s["median_seconds_from_previous"] / 60,
        ]
        for s in steps
    ]
    return altair_chart(
        "Funnel",
        chart,
        ("#", "step", "customers", "of first step", "of previous step", "median minutes from previous"),
        rows,
    )


def cohort_chart(result: dict[str, Any]) -> Chart:
    data = [
        {"cohort": c["cohort"], "k": k, "retention": v}
        for c in result["cohorts"]
        for k, v in enumerate(c["retention"])
        if v is not None
    ]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_rect()
        .encode(
            x=alt.X("k:O", title=f"{result['period']}s since the cohort's first"),
            y=alt.Y("cohort:O", title=None),
            color=alt.Color(
                "retention:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=alt.Legend(format="%")
            ),
            tooltip=["cohort:O", "k:O", alt.Tooltip("retention:Q", format=".1%")],
        )
        .properties(width="container", height=max(120, 16 * len(result["cohorts"])))
    )
    rows = [[c["cohort"], c["size"], *(_pct(v) for v in c["retention"])] for c in result["cohorts"]]
    return altair_chart(
        "Retention heat map", chart, ("cohort", "size", *map(str, range(result["periods"] + 1))), rows
    )


def attribution_chart(result: dict[str, Any]) -> Chart:
    models = result["models"]
    data = [
        {"channel": c["channel"], "model": m, "conversions": c[m]} for c in result["channels"] for m in models
    ]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            x=alt.X("conversions:Q", title="attributed conversions"),
            yOffset="model:N",
            color=alt.Color("model:N", scale=alt.Scale(range=PALETTE)),
            tooltip=["channel:N", "model:N", alt.Tooltip("conversions:Q", format=",.1f")],
        )
        .properties(width="container", height=max(120, 14 * len(data)))
    )
    rows = [[c["channel"], *(c[m] for m in models)] for c in result["channels"]]
    return altair_chart("Attributed conversions by model", chart, ("channel", *models), rows)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _population(segment: str | None) -> Population:
    return Population(segment=segment or None)


def _render(request: Request, template: str, title: str, segment: str | None, **values: Any) -> HTMLResponse:
    return page(
        request,
        template,
        title=title,
        subpages=SUBPAGES,
        segment=segment or "",
        segments=available_segments(store_of(request)),
        **values,
    )


@router.get("/journeys", response_class=HTMLResponse)
def journeys_page(
    request: Request, segment: str | None = None, session: Session = Depends(require("view"))
) -> HTMLResponse:
    store = store_of(request)
    population = _population(segment)
    result = journey_map(store, population=population, experience=experience_scores(store, population))
    flows = stage_flows(store, population=population)
    return _render(
        request,
        "journeys_map.html",
        "Journeys",
        segment,
        m=result,
        flows=flows,
        stage_chart=stage_chart(result["stages"]),
        sankey=sankey_chart(flows),
    )


@router.get("/journeys/funnels", response_class=HTMLResponse)
def funnels_page(
    request: Request,
    steps: str = DEFAULT_STEPS,
    window: str = "7d",
    breakdown: str = "",
    segment: str | None = None,
    session: Session = Depends(require("view")),
) -> HTMLResponse:
    step_list = [s.strip() for s in steps.splitlines() if s.strip()]
    result, error = None, None
    try:
        result = funnel(
            store_of(request), step_list, window, breakdown=breakdown or None, population=_population(segment)
        )
    except CxlensError as exc:  # the builder stays on the page with the problem named
        error = exc.message
    return _render(
        request,
        "journeys_funnels.html",
        "Funnels",
        segment,
        result=result,
        error=error,
        steps=steps,
        window=window,
        breakdown=breakdown,
        figure=funnel_chart(result["steps"]) if result else None,
    )


@router.get("/journeys/cohorts", response_class=HTMLResponse)
def cohorts_page(
    request: Request,
    cohort_by: str = "first_purchase",
    period: str = "month",
    return_event: str = "",
    periods: int = 12,
    segment: str | None = None,
    session: Session = Depends(require("view")),
) -> HTMLResponse:
    result = retention(
        store_of(request),
        cohort_by=cohort_by,
        period=period,
        return_event=return_event or None,
        periods=periods,
        population=_population(segment),
    )
    return _render(
        request,
        "journeys_cohorts.html",
        "Cohorts",
        segment,
        result=result,
        cohort_by=cohort_by,
        period=period,
        return_event=return_event,
        periods=periods,
        figure=cohort_chart(result) if result["cohorts"] else None,
    )


@router.get("/journeys/attribution", response_class=HTMLResponse)
def attribution_page(
    request: Request,
    lookback_days: float = 30.0,
    touch: str = "source_medium",
    segment: str | None = None,
    session: Session = Depends(require("view")),
) -> HTMLResponse:
    result, error = None, None
    try:
        result = store_attribution(
            store_of(request),
            "all",
            lookback_days=lookback_days,
            touch=touch,
            population=_population(segment),
        )
    except CxlensError as exc:
        error = exc.message
    return _render(
        request,
        "journeys_attribution.html",
        "Attribution",
        segment,
        result=result,
        error=error,
        lookback_days=lookback_days,
        touch=touch,
        touches=TOUCHES,
        models=MODELS,
        figure=attribution_chart(result) if result else None,
    )
