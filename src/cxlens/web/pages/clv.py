"""Customer lifetime value: CLV and P(alive) across customers, and who is worth the most.

When a model has written the computed traits ``clv`` and ``p_alive``, the page reads them. Until
then, a store small enough (``ON_DEMAND_MAX_ORDERS``) is scored on the visit with the predict room's
models — BG/NBD for purchases and P(alive), Gamma-Gamma for spend — kept until the data changes and
never written back; a bigger store gets a message instead of a page that takes minutes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cxlens.errors import CxlensError
from cxlens.predict.clv import BetaGeoModel, GammaGammaModel, customer_lifetime_value
from cxlens.predict.summary import summarize_transactions
from cxlens.store import Store
from cxlens.web import charts, queries, summary
from cxlens.web.guard import console_router, require, store_of
from cxlens.web.nav import NavItem
from cxlens.web.render import page
from cxlens.web.sessions import Session

router = console_router()
NAV = (NavItem("Lifetime value", "/clv", order=50),)
ON_DEMAND_MAX_ORDERS = 100_000  # BG/NBD + Gamma-Gamma fit in a few seconds up to about this size
HORIZON_MONTHS = 12
DISCOUNT_RATE = 0.01  # per month
BINS = 10
TOP = 20


def _fit_on_demand(store: Store) -> dict[str, Any]:
    """Score every buyer from the orders table with BG/NBD and Gamma-Gamma (weekly periods).

    The predict room offers this from files (``cxlens clv fit`` / ``score``); the page needs it from
    the store, so it runs the same models on the orders it reads.
    """
    orders = pd.DataFrame(store.records(
        "SELECT customer_id, timestamp AS date, CAST(revenue AS DOUBLE) AS amount FROM orders "
        "WHERE customer_id IS NOT NULL AND revenue IS NOT NULL"))
    if orders.empty:
        return {"error": "No orders yet: CLV is learned from orders (run `cxlens demo` or import orders)."}
    orders["date"] = pd.to_datetime(orders["date"], utc=True).dt.tz_localize(None)
    try:
        frame = summarize_transactions(orders, amount_col="amount", period="week").summary
        purchases = BetaGeoModel(period="week").fit(frame)
        repeat = frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]
        spend = GammaGammaModel(period="week").fit(repeat)
        clv = customer_lifetime_value(purchases, spend, frame, months=HORIZON_MONTHS,
                                      discount_rate=DISCOUNT_RATE)
    except CxlensError as exc:
        return {"error": f"The models could not be fitted on these orders: {exc.message}"}
    scores = pd.DataFrame({"clv": clv, "p_alive": purchases.predict_probability_alive(frame),
                           "frequency": frame["frequency"]}, index=frame.index)
    return {"scores": scores, "orders": len(orders), "fit": purchases.fit_report(),
            "spend_fit": spend.fit_report()}


def _histogram(values: pd.Series, fmt: str, cap: float = 1.0) -> list[dict[str, Any]]:
    """Customers per bin, labelled by the bin's lower edge; values above the ``cap`` quantile share
    the last bin ("≥ …"), so a long tail does not squeeze everyone else into the first bar."""
    x = values.to_numpy(dtype=float)
    top = float(np.quantile(x, cap)) if len(x) else 1.0
    counts, edges = np.histogram(np.minimum(x, top), bins=BINS, range=(min(0.0, float(x.min())), top or 1.0))
    last = len(counts) - 1
    return [{"from": ("≥ " if i == last and cap < 1 else "") + fmt.format(lo), "customers": int(n)}
            for i, (lo, n) in enumerate(zip(edges[:-1], counts, strict=True))]


def _from_traits(store: Store) -> dict[str, Any] | None:
    clv, alive = queries.trait_numbers(store, "clv", BINS, TOP), queries.trait_numbers(store, "p_alive", BINS)
    if not clv["count"] and not alive["count"]:
        return None
    view: dict[str, Any] = {"source": "traits", "models": clv.get("models", []) + alive.get("models", []),
                            "top": clv.get("top", []), "customers": max(clv["count"], alive["count"])}
    if clv["count"]:
        view["clv_chart"] = charts.columns("Customers by CLV", clv["histogram"], "from", "customers",
                                           "customers")
    if alive["count"]:
        view["alive_chart"] = charts.columns("Customers by P(alive)", alive["histogram"], "from",
                                             "customers", "customers")
    return view


def _on_demand(store: Store) -> dict[str, Any]:
    orders = store.scalar("SELECT count(*) FROM orders")
    if orders > ON_DEMAND_MAX_ORDERS:
        return {"error": f"No clv or p_alive traits yet, and this store's {orders:,} orders are more than "
                f"the console fits on a page visit ({ON_DEMAND_MAX_ORDERS:,}). Score them offline with "
                "`cxlens clv fit` and `cxlens clv score`, and have the scores written as computed traits."}
    result, fitted_at = summary.summary_of(store).memo("clv", lambda: _fit_on_demand(store))
    if "error" in result:
        return result
    scores: pd.DataFrame = result["scores"]
    top = scores.sort_values(["clv", "frequency"], ascending=False).head(TOP)
    return {
        "source": "on demand", "fitted_at": fitted_at, "orders": result["orders"], "customers": len(scores),
        "fit": result["fit"], "spend_fit": result["spend_fit"], "total_clv": float(scores["clv"].sum()),
        "top": [{"customer_id": cid, "value": row["clv"], "p_alive": row["p_alive"],
                 "frequency": int(row["frequency"])} for cid, row in top.iterrows()],
        "clv_chart": charts.columns("Customers by CLV", _histogram(scores["clv"], "{:,.0f}", cap=0.95),
                                    "from", "customers", "customers"),
        "alive_chart": charts.columns("Customers by P(alive)", _histogram(scores["p_alive"], "{:.1f}"),
                                      "from", "customers", "customers"),
    }


@router.get("/clv", response_class=HTMLResponse)
def clv(request: Request, session: Session = Depends(require("view"))) -> HTMLResponse:
    store = store_of(request)
    view = _from_traits(store) or _on_demand(store)
    return page(request, "clv.html", title="Lifetime value", v=view, horizon=HORIZON_MONTHS,
                discount=DISCOUNT_RATE)
