"""The overview: the health of the customer base at a glance, filterable by dates and channel."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.voc.score_store import tallies_from_store
from cxlens.voc.scores import Tally, score
from cxlens.web import charts, queries, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Overview", "/", order=0),)


def _feedback(store: Store, metric: str, w: queries.Window) -> dict[str, Any]:
    """Headline score over the window and its monthly trend over the year before (from the voc room)."""
    by = ("channel",) if w.channel else ()
    try:
        now = tallies_from_store(store, metric, by=by, since=w.since, until=w.until)
        year_ago = datetime.combine(w.end - timedelta(days=365), time(), w.since.tzinfo)
        trend = tallies_from_store(store, metric, by=by, period="month", since=year_ago, until=w.until)
    except InvalidInputError as exc:
        return {"error": exc.message}
    if w.channel:
        now, trend = now[now["channel"] == w.channel], trend[trend["channel"] == w.channel]

    def result(frame: Any) -> float | None:
        n = int(frame["n"].sum())
        if not n:
            return None
        return score(
            Tally(
                n,
                float(frame["total"].sum()),
                float(frame["total_sq"].sum()),
                int(frame["high"].sum()),
                int(frame["low"].sum()),
            ),
            metric,
        ).score

    series = [
        {
            "month": f"{int(r['year']):04d}-{int(r['sub']):02d}-01",
            "score": round(result(trend.loc[[i]]) or 0, 1),
        }
        for i, r in trend.iterrows()
        if r["n"]
    ]
    return {
        "score": result(now),
        "answers": int(now["n"].sum()) if len(now) else 0,
        "chart": charts.sparkline(f"{metric.upper()} by month", series, "month", "score", metric.upper()),
    }


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    channel: str | None = None,
    session: Session = Depends(require("view")),
) -> HTMLResponse:
    store = store_of(request)
    daily = summary.summary_of(store)
    w = queries.window(store, start, end, channel)
    act, com = summary.activity(daily, w), summary.commerce(daily, w)
    fresh, _ = daily.memo("freshness", lambda: queries.freshness(store))
    nps, _ = daily.memo(("nps", w), lambda: _feedback(store, "nps", w))
    csat, _ = daily.memo(("csat", w), lambda: _feedback(store, "csat", w))
    known = store.scalar("SELECT count(*) FROM profiles")
    series = act["series"]
    cards = [
        (
            "Active customers",
            f"{act['active_customers']:,}",
            f"of {known:,} known",
            charts.sparkline("Active customers per day", series, "day", "customers", "customers"),
        ),
        (
            "Identified share",
            "—" if act["identified_share"] is None else f"{act['identified_share']:.1f}%",
            "of events carry a known identifier",
            charts.sparkline("Identified share per day", series, "day", "identified_share", "% identified"),
        ),
        (
            "Events",
            f"{act['events']:,}",
            "in the range",
            charts.sparkline("Events per day", series, "day", "events", "events"),
        ),
        (
            "Orders",
            f"{com['orders']:,}",
            "in the range",
            charts.sparkline("Orders per day", com["series"], "day", "orders", "orders"),
        ),
        (
            "Revenue",
            " · ".join(f"{r['currency']} {float(r['revenue'] or 0):,.2f}" for r in com["revenue"]) or "—",
            f"per day in {com['main_currency']}" if com["main_currency"] else "no orders in the range",
            charts.sparkline("Revenue per day", com["series"], "day", "revenue", "revenue"),
        ),
    ]
    return page(
        request,
        "overview.html",
        title="Overview",
        w=w,
        channels=daily.channels(),
        counted_at=act["active_counted_at"],
        cards=cards,
        by_channel=charts.stacked_bars(
            "Events per day by channel", act["by_channel"], "day", "events", "channel", "events"
        ),
        nps=nps,
        csat=csat,
        fresh=fresh,
        fresh_chart=charts.sparkline("Events received per hour", fresh["series"], "hour", "events", "events"),
        has_events=bool(daily.stamp and daily.stamp.events),
    )
