"""Segments and audiences: the RFM grid, segment sizes and rules, sizes per build, personas, saved
audiences (size over time, a members preview) and a form that previews a rule before saving it.

Everything comes from the segments room: the build reports (``segments.build``) and the audience
store (``segments.audiences``). A build does not change the data stamp (it writes reports and
traits, not events), so the cached view is keyed on the latest build time as well.
"""

from __future__ import annotations

from typing import Any

import altair as alt
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens import jsonutil
from cxlens.errors import InvalidInputError
from cxlens.segments.audiences import audience_members, get_audience, list_audiences, preview
from cxlens.segments.build import latest_builds
from cxlens.store import Store
from cxlens.web import charts, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Segments", "/segments", order=40),)
COLOURS = {"customers": "customers", "monetary": "mean spend"}  # what the heat map's colour shows
HISTORY_BUILDS = 50  # RFM builds shown in "sizes per build"
MEMBERS_PREVIEW = 25
SAMPLE = 10


def _heatmap_shape(colour: str, colour_label: str) -> alt.LayerChart:
    base = alt.Chart(charts._EMPTY).encode(
        x=alt.X("f:O", title="frequency score (F)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("r:O", sort="descending", title="recency score (R)"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{colour}:Q", title=colour_label, scale=alt.Scale(scheme="blues")),
        tooltip=["r:O", "f:O", alt.Tooltip("customers:Q", title="customers"),
                 alt.Tooltip("mean_monetary:Q", title="mean spend", format=",.2f")],
    )
    labels = base.mark_text(fontSize=12).encode(text=alt.Text(f"{colour}:Q", format=",.0f"))
    return (cells + labels).properties(width="container", height=260)


def _heatmap(grid: list[dict[str, Any]], colour: str) -> charts.Chart:
    """Recency × frequency cells coloured by customers or mean spend (numbers printed in the cells)."""
    field, label = ("customers", "customers") if colour == "customers" else ("mean_monetary", "mean spend")
    keys = ("r", "f", "customers", "mean_monetary")
    spec = charts._spec(_heatmap_shape,
                        f"RFM grid: {label} per recency and frequency score",
                        (field, label), grid, keys)
    return charts.Chart("RFM grid", spec, ("R", "F", "customers", "mean spend"), charts._rows(grid, keys))


def _lines_shape(x: str, y: str, color: str, y_label: str) -> alt.Chart:
    return (
        alt.Chart(charts._EMPTY)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:T", title=None),
            y=alt.Y(f"{y}:Q", title=y_label),
            color=alt.Color(f"{color}:N", title=color, scale=alt.Scale(range=charts.PALETTE)),
            tooltip=[alt.Tooltip(f"{x}:T", title="built"), f"{color}:N",
                     alt.Tooltip(f"{y}:Q", title=y_label)],
        )
        .properties(width="container", height=240)
    )


def _rule_text(seg: dict[str, Any]) -> str:
    """A segment's cell range as people read it: ``R 4–5 · FM 4–5``."""
    def span(lo_hi: list[int]) -> str:
        return str(lo_hi[0]) if lo_hi[0] == lo_hi[1] else f"{lo_hi[0]}–{lo_hi[1]}"
    return f"R {span(seg['recency'])} · FM {span(seg['fm'])}"


def _history(store: Store) -> list[dict[str, Any]]:
    """Segment sizes of each stored RFM build, oldest first.

    The segments room keeps every build in ``segment_builds`` but offers only the latest
    (``latest_builds``); this reads the recent ones the same way.
    """
    rows = store.records(
        "SELECT built_at, report->'segments' AS segments FROM (SELECT * FROM segment_builds "
        "WHERE kind = 'rfm' ORDER BY built_at DESC LIMIT ?) ORDER BY built_at", [HISTORY_BUILDS])
    return [{"built": r["built_at"], "segment": seg["name"], "customers": seg["customers"]}
            for r in rows for seg in jsonutil.loads(r["segments"])]


def _overview(store: Store, colour: str) -> dict[str, Any]:
    builds = latest_builds(store)
    rfm, clusters = builds.get("rfm"), builds.get("clusters")
    view: dict[str, Any] = {"rfm": rfm, "clusters": clusters}
    if rfm:
        segments = [{**seg, "rule": _rule_text(seg)} for seg in rfm["segments"]]
        view["segments"] = segments
        view["heatmap"] = _heatmap(rfm["grid"], colour)
        view["sizes_chart"] = charts.bars("Customers per RFM segment",
                                          [s for s in segments if s["customers"]], "name", "customers",
                                          "customers")
        history = _history(store)
        view["history_chart"] = charts.Chart(
            "Segment sizes per build",
            charts._spec(_lines_shape, "Customers per RFM segment at each build",
                         ("built", "customers", "segment", "customers"), history,
                         ("built", "segment", "customers")),
            ("built", "segment", "customers"), charts._rows(history, ("built", "segment", "customers")))
        view["builds"] = len({h["built"] for h in history})
    return view


def _build_key(store: Store) -> Any:
    return store.scalar("SELECT max(built_at) FROM segment_builds")


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, colour: str = "customers",
             session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    colour = colour if colour in COLOURS else "customers"
    view, _ = summary.summary_of(store).memo(("segments", colour, _build_key(store)),
                                             lambda: _overview(store, colour))
    return page(request, "segments.html", title="Segments", v=view, colour=colour, colours=COLOURS,
                audiences=list_audiences(store))


@router.get("/segments/preview", response_class=HTMLResponse)
def audience_preview(request: Request, rule: str = "", purpose: str = "marketing",
                     session: Session = Depends(require("view"))) -> HTMLResponse:
    """Size, consented count and a sample for a typed rule; a parse error is shown at the field."""
    store = store_of(request)
    result, error = None, None
    if rule.strip():
        try:
            result = preview(store, rule, purpose=purpose, limit=SAMPLE)
        except InvalidInputError as exc:  # a rule the parser refuses (with its caret), or a bad purpose
            error = exc.message
    return page(request, "segments_preview.html", title="Preview an audience", rule=rule, purpose=purpose,
                result=result, error=error)


@router.get("/segments/audiences/{name}", response_class=HTMLResponse)
def audience(request: Request, name: str, everyone: bool = False,
             session: Session = Depends(require("view"))) -> HTMLResponse:
    """One saved audience: size over time and a page of members (consenting ones unless ``everyone``)."""
    store = store_of(request)
    detail = get_audience(store, name)
    sizes = list(reversed(detail["sizes"]))
    return page(request, "segments_audience.html", title=f"Audience {name}", a=detail,
                size_chart=charts.sparkline("members", sizes, "refreshed_at", "size", "members"),
                members=audience_members(store, name, limit=MEMBERS_PREVIEW, consented_only=not everyone),
                everyone=everyone)
