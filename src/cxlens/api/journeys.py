"""HTTP routes of journeys (admin key), and the voc wiring the journey and program faces share.

The journeys and experiments packages may not import ``voc``; experience scores per touchpoint and
score KPIs come from the voc room's score reports, wired here once for the CLI, the API and the
console (:func:`experience_scores`, :func:`score_source`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from cxlens.api.deps import require_admin, runtime
from cxlens.errors import InvalidInputError
from cxlens.experiments.program_kpis import ScoreSource
from cxlens.journeys.cohorts import retention
from cxlens.journeys.funnels import funnel
from cxlens.journeys.maps import journey_map, stage_flows
from cxlens.journeys.population import Population
from cxlens.journeys.store_paths import store_attribution
from cxlens.keys import ApiKey
from cxlens.store import Store
from cxlens.voc.score_store import report_from_store

router = APIRouter(tags=["journeys"], prefix="/v1/journeys")
Admin = Annotated[ApiKey, Depends(require_admin)]
EXPERIENCE_METRICS = ("csat", "nps", "ces")


def experience_scores(store: Store, population: Population | None = None) -> dict[str, dict[str, Any]]:
    """Touchpoint → {metric: score, metric_n: answers} from the voc room (metrics without answers skipped)."""
    since, until = (population.since, population.until) if population else (None, None)
    out: dict[str, dict[str, Any]] = {}
    for metric in EXPERIENCE_METRICS:
        try:
            report = report_from_store(store, metric, by=("touchpoint",), since=since, until=until)
        except InvalidInputError:  # no answers of this metric
            continue
        for row in report["rows"]:
            out.setdefault(row["touchpoint"], {})[metric] = row["score"]
            out[row["touchpoint"]][f"{metric}_n"] = row["n"]
    return out


def score_source(store: Store) -> ScoreSource:
    """Scores per calendar period for score KPIs, exactly as the voc room reports them."""

    def scores(metric: str, period: str) -> list[dict[str, Any]]:
        try:
            return list(report_from_store(store, metric, period=period)["rows"])
        except InvalidInputError:
            return []

    return scores


def population(segment: str | None, since: datetime | None, until: datetime | None) -> Population:
    return Population(segment=segment, since=as_utc(since), until=as_utc(until))


def as_utc(moment: datetime | None) -> datetime | None:
    """A query's date (``since=2025-01-01``) or time without offset means UTC, as ``/v1/quality`` and
    the features' ``as_of`` read them; ``Population`` refuses naive times, so each was a 400."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


Segment = Annotated[str | None, Query(description="NAME=VALUE (computed trait) or audience:NAME")]


@router.get("/map")
def get_map(
    request: Request,
    _: Admin,
    segment: Segment = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Journey map: reach, conversion, time in stage, drop-off, touchpoints with experience scores."""
    store = runtime(request).store
    pop = population(segment, since, until)
    return journey_map(store, population=pop, experience=experience_scores(store, pop))


@router.get("/flows")
def get_flows(request: Request, _: Admin, segment: Segment = None, max_steps: int = 5, top: int = 10) -> dict:
    return stage_flows(
        runtime(request).store, population=population(segment, None, None), max_steps=max_steps, top=top
    )


@router.get("/funnel")
def get_funnel(
    request: Request,
    _: Admin,
    step: Annotated[list[str], Query()],
    window: str = "7d",
    breakdown: str | None = None,
    segment: Segment = None,
) -> dict[str, Any]:
    """Ordered funnel: repeat ``step`` (2–10), e.g. ``?step=Product Viewed&step=Order Completed``."""
    return funnel(
        runtime(request).store, step, window, breakdown=breakdown, population=population(segment, None, None)
    )


@router.get("/cohorts")
def get_cohorts(
    request: Request,
    _: Admin,
    cohort_by: str = "first_purchase",
    period: str = "month",
    return_event: str | None = None,
    periods: int = 12,
    segment: Segment = None,
) -> dict:
    return retention(
        runtime(request).store,
        cohort_by=cohort_by,
        period=period,
        return_event=return_event,
        periods=periods,
        population=population(segment, None, None),
    )


@router.get("/attribution")
def get_attribution(
    request: Request,
    _: Admin,
    model: str = "markov",
    lookback_days: float = 30.0,
    touch: str = "source_medium",
    segment: Segment = None,
) -> dict[str, Any]:
    """Attribution from the store's own touchpoint data (landed Markov/Shapley/heuristic models)."""
    return store_attribution(
        runtime(request).store,
        model,
        lookback_days=lookback_days,
        touch=touch,
        population=population(segment, None, None),
    )
