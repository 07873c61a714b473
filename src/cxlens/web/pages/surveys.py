"""Console pages of the voice of the customer: scores, themes, and the follow-up queue.

``/surveys`` — the surveys, NPS/CSAT/CES by month with their confidence bands, and each score by
touchpoint along the journey (``voc.score_store``). ``/surveys/themes`` — themes of recent comments
with quotes and sentiment (``voc.themes``). ``/surveys/followups`` — the closed-loop queue: assign,
start, resolve with the outcome (role ``voc.followup``, CSRF-checked by the console route class),
and whether recovery worked.
"""

from __future__ import annotations

from typing import Any

import altair as alt
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import InvalidInputError
from cxlens.store import Store
from cxlens.voc import loop, surveys, webhooks
from cxlens.voc.score_store import report_from_store
from cxlens.web import charts
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Surveys", "/surveys", order=25), NavItem("Follow-ups", "/surveys/followups", order=26))
METRICS = ("nps", "csat", "ces")
# Journey stages in the order a customer meets them; touchpoints of other stages come last.
STAGES = ("awareness", "consideration", "purchase", "onboarding", "delivery", "usage", "service", "loyalty")
THEME_COMMENTS = 2000  # the latest comments the themes page reads
MIN_THEME_COMMENTS = 20
QUEUE_LIMIT = 200  # the most urgent tasks the queue page lists; its heading says how many there are


def band_chart(title: str, rows: list[dict[str, Any]], label: str) -> charts.Chart:
    """A score per month with its confidence band (the interval the score report gives)."""
    keys = ("month", "score", "ci_low", "ci_high", "n")
    spec = charts._spec(_band, title, (label,), rows, keys)
    return charts.Chart(
        title, spec, ("month", label, "95% low", "95% high", "answers"), charts._rows(rows, keys)
    )


def _band(label: str) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart().encode(x=alt.X("month:T", title=None, timeUnit="yearmonth"))
    return alt.layer(
        base.mark_area(opacity=0.25, color=charts.PALETTE[0]).encode(
            y=alt.Y("ci_low:Q", title=label), y2="ci_high:Q"
        ),
        base.mark_line(point=True, color=charts.PALETTE[0]).encode(
            y="score:Q", tooltip=["month:T", "score:Q", "ci_low:Q", "ci_high:Q", "n:Q"]
        ),
        data=charts._EMPTY,
    ).properties(width="container", height=200)


def journey_chart(title: str, rows: list[dict[str, Any]], label: str) -> charts.Chart:
    """Each touchpoint's score with its interval, in journey order."""
    keys = ("touchpoint", "stage", "score", "ci_low", "ci_high", "n")
    order = tuple(r["touchpoint"] for r in rows)
    spec = charts._spec(_journey, title, (label, order), rows, keys)
    return charts.Chart(
        title,
        spec,
        ("touchpoint", "stage", label, "95% low", "95% high", "answers"),
        charts._rows(rows, keys),
    )


def _journey(label: str, order: tuple[str, ...]) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart().encode(y=alt.Y("touchpoint:N", sort=list(order), title=None))
    return alt.layer(
        base.mark_rule(color=charts.PALETTE[0]).encode(x=alt.X("ci_low:Q", title=label), x2="ci_high:Q"),
        base.mark_point(filled=True, size=70, color=charts.PALETTE[1]).encode(
            x="score:Q", tooltip=["touchpoint:N", "stage:N", "score:Q", "ci_low:Q", "ci_high:Q", "n:Q"]
        ),
        data=charts._EMPTY,
    ).properties(width="container", height=max(60, 28 * len(order)))


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        **{k: round(row[k], 1) for k in ("score", "ci_low", "ci_high") if row.get(k) == row.get(k)},
    }


def _metric_views(store: Store, metric: str) -> dict[str, Any]:
    label = metric.upper() + (" (top-2-box %)" if metric == "csat" else " (mean)" if metric == "ces" else "")
    try:
        trend = report_from_store(store, metric, period="month")["rows"]
        by_tp = report_from_store(store, metric, by=["touchpoint"])["rows"]
    except InvalidInputError as exc:
        return {"metric": metric, "error": exc.message}
    stages = dict(
        store.fetchall(
            "SELECT DISTINCT ON (touchpoint) touchpoint, stage FROM voc_surveys "
            "WHERE touchpoint IS NOT NULL ORDER BY touchpoint, version DESC"
        )
    )
    for row in by_tp:
        row["stage"] = stages.get(row["touchpoint"]) or "(unknown)"
    by_tp.sort(
        key=lambda r: (STAGES.index(r["stage"]) if r["stage"] in STAGES else len(STAGES), r["touchpoint"])
    )
    months = [_rounded({**r, "month": f"{r['period']}-01"}) for r in trend]
    return {
        "metric": metric,
        "trend": band_chart(f"{metric.upper()} by month", months, label),
        "journey": journey_chart(
            f"{metric.upper()} by touchpoint along the journey", [_rounded(r) for r in by_tp], label
        ),
    }


@router.get("/surveys", response_class=HTMLResponse)
def overview(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    return page(
        request,
        "surveys.html",
        title="Surveys",
        surveys=surveys.list_surveys(store),
        views=[_metric_views(store, m) for m in METRICS],
    )


@router.get("/surveys/themes", response_class=HTMLResponse)
def themes(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    """Themes of the latest comments, each with its share, sentiment and representative quotes."""
    from cxlens.voc.themes import summarize_themes

    store = store_of(request)
    rows = store.fetchall(
        "SELECT comment, timestamp FROM feedback WHERE comment IS NOT NULL "
        "AND trim(comment) <> '' ORDER BY timestamp DESC LIMIT ?",
        [THEME_COMMENTS],
    )
    report, problem = None, None
    if len(rows) < MIN_THEME_COMMENTS:
        problem = (
            f"{len(rows)} comment(s) so far; themes need at least {MIN_THEME_COMMENTS}. Add an open "
            "question to a survey, or import feedback with `cxlens import feedback`."
        )
    else:
        try:
            report = summarize_themes([r[0] for r in rows], n_themes=min(8, max(2, len(rows) // 10)))
        except InvalidInputError as exc:
            problem = exc.message
    return page(
        request, "survey_themes.html", title="Themes", report=report, problem=problem, comments=len(rows)
    )


def _queue(request: Request, status: str | None, notice: str | None = None) -> HTMLResponse:
    store = store_of(request)
    return page(
        request,
        "survey_followups.html",
        title="Follow-ups",
        chosen=status or "",
        statuses=loop.STATUSES,
        transitions=loop.TRANSITIONS,  # offer only the moves set_status accepts
        tasks=loop.list_tasks(store, status=status or None, limit=QUEUE_LIMIT),
        total=loop.count_tasks(store, status=status or None),
        recovery=loop.recovery_report(store, "nps"),
        deliveries=webhooks.delivery_log(store, 20),
        notice=notice,
    )


@router.get("/surveys/followups", response_class=HTMLResponse)
def followups(
    request: Request, status: str = "", session: Session = Depends(require("view"))
) -> HTMLResponse:
    return _queue(request, status or None)


_CONTACTED = {"": None, "yes": True, "no": False}  # the form's choices: (unknown), yes, no


def _contacted(value: str) -> bool | None:
    """The form's ``contacted`` choice; anything else is refused, not saved as "not contacted"."""
    if value not in _CONTACTED:
        raise InvalidInputError(f"contacted must be yes, no or empty (unknown), not {value[:40]!r}",
                                field="contacted")
    return _CONTACTED[value]


@router.post("/surveys/followups/{task_id}", response_class=HTMLResponse)
def change(
    request: Request,
    task_id: str,
    owner: str = Form(""),
    status: str = Form(""),
    outcome: str = Form(""),
    contacted: str = Form(""),
    session: Session = Depends(require("voc.followup")),
) -> HTMLResponse:
    """Assign a task and/or move it on; resolving needs the outcome."""
    store = store_of(request)
    actor = f"console:{session.user.user_id}"
    reached = _contacted(contacted)
    if not owner.strip() and not status:
        raise InvalidInputError("choose an owner or a new status", field="status")
    loop.update_task(
        store,
        task_id,
        actor,
        owner=owner if owner.strip() else None,
        status=status or None,
        outcome=outcome or None,
        contacted=reached,
    )
    webhooks.deliver_due(store)
    return _queue(request, None, notice=f"Saved {task_id}.")
