"""Timing: when a customer is likely to buy next, and when they are most likely to engage.

* **Next purchase.** A customer's own rhythm (mean days between orders) shrunk toward the
  population's typical rhythm by ``prior_strength`` pseudo-intervals, added to the last order:
  one interval says little, twenty say a lot. Beside it, the BG/NBD model (from
  :mod:`cxlens.predict.clv`) gives P(alive) and the expected orders over the horizon, because a
  date alone hides that a long-silent customer may not come back at all.
* **Best contact time** (send-time optimization). Engagement events per UTC hour of the week
  (168 slots) with a Dirichlet prior proportional to the population's profile, of weight
  ``prior_strength``: the posterior mean for slot h is ``(n_h + k·pop_h) / (n + k)``. A customer
  with few events gets the population's best time; one with many gets their own.

Both feed marketing, so traits are written only for customers whose current marketing consent is
granted (``consent_current``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import CxlensError, InvalidInputError
from cxlens.features import build_features, default_as_of, engagement_hours, to_utc
from cxlens.features.engine import Engine
from cxlens.predict.churn import bgnbd_summary
from cxlens.predict.clv import BetaGeoModel
from cxlens.store import Store

log = logging.getLogger(__name__)

MODEL = "timing"
MODEL_VERSION = "1"
HOURS_OF_WEEK = 168
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def next_purchase(features: pd.DataFrame, as_of: datetime, *, prior_strength: float = 2.0,
                  horizon_days: int = 90) -> pd.DataFrame:
    """Expected next order date of every buyer in ``features`` (a feature-layer frame)."""
    if prior_strength < 0:
        raise InvalidInputError(f"prior_strength must be ≥ 0, got {prior_strength}")
    if not isinstance(horizon_days, int) or horizon_days < 1:
        raise InvalidInputError(f"the timing horizon must be a whole number of days ≥ 1, "
                                f"got {horizon_days!r}")
    buyers = features[features["frequency"] > 0]
    if buyers.empty:
        raise InvalidInputError("no customer has bought yet: next-purchase timing needs orders")
    intervals = (buyers["frequency"] - 1).clip(lower=0).astype(float)
    repeaters = buyers["ipt_mean_days"].dropna()
    if repeaters.empty:
        raise InvalidInputError("no customer has bought twice: there is no rhythm to learn from yet")
    population = float(repeaters.median())
    own = buyers["ipt_mean_days"].fillna(population)
    rhythm = (intervals * own + prior_strength * population) / (intervals + prior_strength)
    rhythm = rhythm.where(intervals + prior_strength > 0, population)
    last = pd.Timestamp(as_of) - pd.to_timedelta(buyers["recency_days"], unit="D")
    expected = last + pd.to_timedelta(rhythm, unit="D")
    overdue = ((pd.Timestamp(as_of) - expected) / pd.Timedelta(days=1)).clip(lower=0)
    out = pd.DataFrame({"next_purchase": expected, "interval_days": rhythm, "intervals_seen": intervals,
                        "overdue_days": overdue}, index=buyers.index)
    try:
        summary = bgnbd_summary(buyers)
        model = BetaGeoModel(period="week").fit(summary)
        out["p_alive"] = model.predict_probability_alive(summary)
        out[f"expected_orders_{horizon_days}d"] = model.predict_purchases(summary, horizon_days / 7)
    except CxlensError as exc:
        log.warning("timing: BG/NBD columns left out (%s)", exc.message)
    return out


def best_contact_times(counts: pd.DataFrame, *, prior_strength: float = 10.0) -> tuple[pd.DataFrame, int]:
    """Each customer's best UTC hour of the week, and the population's.

    ``counts`` has ``customer_id, hour_of_week, n`` (:func:`cxlens.features.engagement_hours`).
    The argmax of the posterior over all 168 slots is taken without building a 168-wide matrix:
    a slot the customer never used scores ``k·pop_h``, so among those only the population's best
    slot can win, and it joins the customer's own slots as one more candidate.
    """
    if prior_strength <= 0:
        raise InvalidInputError(f"prior_strength must be > 0, got {prior_strength}")
    if counts.empty:
        raise InvalidInputError("no engagement events yet: best contact times need history")
    counts = counts.astype({"hour_of_week": int, "n": float})
    per_slot = counts.groupby("hour_of_week")["n"].sum().reindex(range(HOURS_OF_WEEK), fill_value=0.0)
    pop = (per_slot + 1.0) / (per_slot.sum() + HOURS_OF_WEEK)  # +1: no slot is impossible
    pop_best = int(pop.idxmax())
    totals = counts.groupby("customer_id")["n"].sum()
    candidates = pd.concat([
        counts.assign(score=counts["n"] + prior_strength * pop.to_numpy()[counts["hour_of_week"]]),
        pd.DataFrame({"customer_id": totals.index, "hour_of_week": pop_best, "n": 0.0,
                      "score": prior_strength * float(pop[pop_best])}),
    ], ignore_index=True)
    candidates = candidates.sort_values(["customer_id", "score", "hour_of_week"],
                                        ascending=[True, False, True])
    best = candidates.drop_duplicates("customer_id").set_index("customer_id")
    n = totals.reindex(best.index)
    out = pd.DataFrame({
        "hour_of_week": best["hour_of_week"].astype(int),
        "day": [DAYS[h // 24] for h in best["hour_of_week"]],
        "hour_utc": best["hour_of_week"].astype(int) % 24,
        "events": n.astype(int),
        "confidence": best["score"] / (n + prior_strength),
        "source": np.where(best["n"] > 0, "own history", "population"),
    })
    return out, pop_best


def score_timing(store: Store, engine: Engine, *, as_of: datetime | str | None = None,
                 horizon_days: int = 90, contact_prior: float = 10.0, rhythm_prior: float = 2.0,
                 consent_defaults: dict[str, bool] | None = None) -> dict[str, Any]:
    """Next-purchase and best-contact-time traits for customers who allow marketing.

    Returns trait rows (``next_purchase``, ``best_contact_time``) for
    ``profiles.computed.write_computed_traits`` and a summary.
    """
    moment = to_utc(as_of) if as_of is not None else default_as_of(engine)
    features = build_features(engine, moment, consent_defaults=consent_defaults).frame
    purchase = next_purchase(features, moment, prior_strength=rhythm_prior, horizon_days=horizon_days)
    contact, pop_best = best_contact_times(engine.execute(engagement_hours(engine, moment.timestamp())),
                                           prior_strength=contact_prior)
    allowed = {r[0] for r in store.fetchall(
        "SELECT customer_id FROM consent_current WHERE purpose = 'marketing' AND granted")}
    common = {"model": MODEL, "model_version": MODEL_VERSION}
    traits = []
    for cid, row in purchase[purchase.index.isin(allowed)].iterrows():
        value = {"date": row["next_purchase"].date().isoformat(),
                 "interval_days": round(row["interval_days"], 1),
                 "overdue_days": round(row["overdue_days"], 1), "intervals_seen": int(row["intervals_seen"])}
        value.update({k: round(float(row[k]), 4) for k in row.index if k.startswith(("p_alive", "expected"))})
        traits.append({"customer_id": cid, "name": "next_purchase", "value": value, **common})
    for cid, row in contact[contact.index.isin(allowed)].iterrows():
        traits.append({"customer_id": cid, "name": "best_contact_time", **common, "value": {
            "day": row["day"], "hour_utc": int(row["hour_utc"]), "hour_of_week": int(row["hour_of_week"]),
            "confidence": round(float(row["confidence"]), 4), "source": row["source"],
            "events": int(row["events"])}})
    return {
        "as_of": moment, "model": MODEL, "model_version": MODEL_VERSION,
        "population_best_time": {"day": DAYS[pop_best // 24], "hour_utc": pop_best % 24},
        "buyers": len(purchase), "contactable": len(allowed),
        "next_purchase_written": int(purchase.index.isin(allowed).sum()),
        "contact_time_written": int(contact.index.isin(allowed).sum()),
        "own_history_share": float((contact["source"] == "own history").mean()),
        "median_interval_days": float(purchase["interval_days"].median()),
        "due_within_30d": int(((purchase["next_purchase"] - pd.Timestamp(moment)) <=
                               pd.Timedelta(timedelta(days=30))).sum()),
        "traits": traits,
    }
