"""CLV from the store: fit BG/NBD + Gamma-Gamma on the orders table and score every buyer.

The file-based workflow (``cxlens clv fit|score``) serves analysts with exports; this serves the
platform: its results become computed traits (``p_alive``, ``expected_purchases_12m``,
``expected_spend``, ``clv_12m``) that audiences, personalization and the console read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError
from cxlens.predict.clv.bgnbd import BetaGeoModel
from cxlens.predict.clv.gammagamma import GammaGammaModel
from cxlens.predict.clv.value import customer_lifetime_value
from cxlens.predict.summary import days_per_period, summarize_transactions
from cxlens.profiles.computed import write_computed_traits
from cxlens.store import Store

MODEL_NAME = "clv.bgnbd+gammagamma"


@dataclass(frozen=True)
class StoreClv:
    """Per-customer scores (indexed by customer_id) and the two models' fit reports."""

    scores: pd.DataFrame
    report: dict[str, Any]
    version: str


def _orders(store: Store, as_of: datetime | None) -> pd.DataFrame:
    sql = ("SELECT customer_id, timestamp AS date, CAST(revenue AS DOUBLE) AS amount FROM orders "
           "WHERE customer_id IS NOT NULL AND revenue > 0")
    params: list[Any] = []
    if as_of is not None:
        sql += " AND timestamp < ?"
        params.append(as_of)
    return store.arrow(sql, params).to_pandas()


def score_store(store: Store, *, as_of: datetime | None = None, months: int = 12,
                discount_rate: float = 0.01, period: str = "week") -> StoreClv:
    """Fit on every order before ``as_of`` (default: all) and score each buyer.

    Raises InvalidInputError when there are no orders, or nobody bought twice (the spend model
    needs repeat buyers).
    """
    orders = _orders(store, as_of)
    if orders.empty:
        raise InvalidInputError("no orders with a customer and a positive revenue to fit CLV on; "
                                "import orders (cxlens import orders FILE) or run cxlens demo")
    facts = summarize_transactions(orders, customer_col="customer_id", date_col="date",
                                   amount_col="amount", period=period,  # type: ignore[arg-type]
                                   observation_end=as_of)
    summary = facts.summary
    purchases = BetaGeoModel(period=period).fit(summary)
    spend = GammaGammaModel(period=period).fit(summary)
    per_month = 365.25 / 12 / days_per_period(period)
    scores = pd.DataFrame({
        "p_alive": purchases.predict_probability_alive(summary),
        "expected_purchases_12m": purchases.predict_purchases(summary, months * per_month),
        "expected_spend": spend.predict_spend(summary),
        "clv_12m": customer_lifetime_value(purchases, spend, summary, months=months,
                                           discount_rate=discount_rate),
    }, index=summary.index)
    version = f"{facts.observation_end:%Y-%m-%d}"
    report = {"purchases": purchases.fit_report(), "spend": spend.fit_report(),
              "customers": int(len(summary)), "observation_end": facts.observation_end,
              "months": months, "discount_rate": discount_rate}
    return StoreClv(scores=scores, report=report, version=version)


def write_clv_traits(store: Store, result: StoreClv) -> int:
    """Write each customer's scores as computed traits; returns the number of traits written."""
    frame = result.scores.replace([np.inf, -np.inf], np.nan)
    rows = (
        {"customer_id": str(customer), "name": name,
         "value": None if pd.isna(value) else round(float(value), 6),
         "model": MODEL_NAME, "model_version": result.version}
        for customer, values in frame.iterrows() for name, value in values.items()
    )
    return write_computed_traits(store, rows)
