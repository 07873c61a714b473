"""Personalization: how the recommenders compare offline, what a chosen person would be shown and why,
how the bandit's offers do, and what contact fatigue rules withhold.

The comparison is ``recommend.service.evaluation_report`` (every model against popularity on a time
split of the store, and on a synthetic set with known structure). It retrains every model, seconds
on a demo store and minutes on a large one, so it is kept per trained model version: a new
``cxlens recommend train`` is what makes a new comparison worth computing. The preview asks the
server's own decision engine (shared with ``/v1/decide``, so the same caps and bandit) in preview
mode: nothing is reserved against frequency caps and nothing is journaled. Offers and fatigue are
the decision journal's counts (``decide.report``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from cxlens.decide.report import fatigue_report, offer_report, trained_version
from cxlens.decide.request import PLACEMENTS, DecideRequest
from cxlens.decide.service import EngineHolder, parse
from cxlens.errors import CxlensError
from cxlens.recommend.service import evaluation_report
from cxlens.store import Store
from cxlens.web import charts
from cxlens.web.guard import console_router, require, settings_of, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Personalization", "/personalization", order=60),)
K = 10
# The synthetic half of the report is a sanity check, not the store's story: a small set keeps the
# first visit after training to seconds.
SYNTHETIC_USERS, SYNTHETIC_ITEMS = 1_000, 300
METRICS = (("recall", "Recall"), ("ndcg", "NDCG"), ("map", "MAP"), ("coverage", "coverage"),
           ("novelty", "novelty"), ("popularity_bias", "popularity bias"))
_EVAL_LOCK = threading.Lock()


def evaluation(request: Request, version: str) -> dict[str, Any]:
    """The offline comparison for this model version, computed once per version and app."""
    store = store_of(request)
    with _EVAL_LOCK:
        cache: dict[str, dict[str, Any]] = getattr(request.app.state, "personalization_evaluation", {})
        request.app.state.personalization_evaluation = cache
        if version not in cache:
            cache.clear()  # only the latest version is ever shown
            cache[version] = evaluation_report(store, k=K, synthetic_users=SYNTHETIC_USERS,
                                               synthetic_items=SYNTHETIC_ITEMS)
        return cache[version]


def _comparison(report: dict[str, Any]) -> dict[str, Any]:
    store_set = report["datasets"][0]
    rows = [{"model": r["model"], **{m: r[m] for m, _ in METRICS}} for r in store_set["models"]]
    chart = charts.bars(f"NDCG@{report['k']} per model ({store_set['dataset']})", rows, "model", "ndcg",
                        f"NDCG@{report['k']}")
    return {"k": report["k"], "datasets": report["datasets"], "chart": chart, "metrics": METRICS}


def _offers(store: Store) -> dict[str, Any]:
    offers = offer_report(store)
    rated = [o for o in offers if o["rate"] is not None]
    chart = charts.bars("Estimated reward rate per offer", rated, "offer_id", "rate",
                        "rewards per impression") if rated else None
    return {"rows": offers, "chart": chart}


def _fatigue(store: Store) -> dict[str, Any]:
    report = fatigue_report(store, datetime.now(UTC))
    report["chart"] = charts.bars("Contacts per channel", report["contacts"], "channel", "contacts",
                                  "contacts") if report["contacts"] else None
    return report


def _preview(request: Request, identifier: str, placement: str, product: str) -> dict[str, Any]:
    """What the engine would decide for this person here, now, without it counting as a decision."""
    payload: dict[str, Any] = {"identifier": identifier or None, "placement": placement, "k": 5}
    if product:
        payload["context"] = {"productId": product}
    try:
        ask = parse(DecideRequest, payload)
        engine = EngineHolder.of(request.app.state).get(store_of(request), settings_of(request))
        return {"answer": engine.decide(ask, preview=True)}
    except CxlensError as exc:
        return {"error": exc.message}


@router.get("/personalization", response_class=HTMLResponse)
def personalization(request: Request, session: Session = Depends(require("view")),
                    identifier: str = Query("", max_length=500),
                    placement: str = Query("home", max_length=40),
                    product: str = Query("", max_length=200)) -> HTMLResponse:
    store = store_of(request)
    version = trained_version(settings_of(request).data_dir)
    comparison = _comparison(evaluation(request, version)) if version else None
    preview = _preview(request, identifier, placement, product) if version and "placement" in \
        request.query_params else None
    return page(request, "personalization.html", title="Personalization", version=version,
                comparison=comparison, preview=preview, offers=_offers(store), fatigue=_fatigue(store),
                placements=list(PLACEMENTS), identifier=identifier, placement=placement, product=product)

