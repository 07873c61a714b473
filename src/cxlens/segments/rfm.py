"""RFM: recency, frequency and monetary quintile scores, and the named segments they fall in.

Scores are 1 (worst) to 5 (best) among customers who bought at least once before the as-of moment:
recency is scored so that a *recent* last purchase scores high, frequency and monetary so that
*more* scores high. People who never bought get no RFM score.

Ties are deterministic and fair: every customer with the same value gets the same score, the one
their group's *lowest* rank earns (``score = 1 + floor(5 * (rank_min - 1) / n)``). So when 60 % of
customers bought once, all of them score F = 1 and the higher frequency scores share the rest —
quintiles are then uneven, but no two people with equal behaviour are told apart by chance.

Named segments use R and FM = round-half-up of (F + M) / 2, the usual R × FM grid
(Putler's eleven segments). The rules below are checked in order and cover all 25 cells exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxlens.errors import InvalidInputError

RFM_COLUMNS = ("recency_days", "frequency", "monetary")
MODEL = "rfm"
MODEL_VERSION = "quintiles-1"


@dataclass(frozen=True)
class SegmentRule:
    """A named segment: the R and FM score ranges (inclusive) it covers, and what it means."""

    name: str
    recency: tuple[int, int]
    fm: tuple[int, int]
    meaning: str
    action: str

    def matches(self, r: np.ndarray, fm: np.ndarray) -> np.ndarray:
        return (r >= self.recency[0]) & (r <= self.recency[1]) & (fm >= self.fm[0]) & (fm <= self.fm[1])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "slug": slug(self.name), "recency": list(self.recency),
                "fm": list(self.fm), "meaning": self.meaning, "action": self.action}


SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", (4, 5), (4, 5), "bought recently, buy often and spend the most",
                "reward them; early access, ask for reviews"),
    SegmentRule("Loyal customers", (3, 5), (3, 5), "buy regularly and spend well",
                "upsell higher-value products; loyalty programme"),
    SegmentRule("Can't lose them", (1, 1), (4, 5), "used to buy often and spend the most, long ago",
                "win them back with a personal offer; talk to them"),
    SegmentRule("At risk", (1, 2), (3, 5), "spent well and often, but not for a while",
                "personalised reactivation; limited offers"),
    SegmentRule("New customers", (5, 5), (1, 1), "bought very recently, for the first time or little",
                "onboard well; early support"),
    SegmentRule("Potential loyalists", (4, 5), (2, 2), "recent customers with average frequency and spend",
                "membership or loyalty offer; recommend"),
    SegmentRule("Promising", (4, 4), (1, 1), "recent shoppers who have not spent much yet",
                "build brand awareness; free trials"),
    SegmentRule("Need attention", (3, 3), (2, 2), "average recency, frequency and spend",
                "limited-time offers based on their history"),
    SegmentRule("About to sleep", (3, 3), (1, 1), "below-average recency, frequency and spend",
                "share popular products; reconnect with discounts"),
    SegmentRule("Hibernating", (2, 2), (1, 2), "last purchase long ago, few orders, low spend",
                "offer relevant products; recreate brand value"),
    SegmentRule("Lost", (1, 1), (1, 2), "lowest recency, frequency and spend",
                "revive interest with outreach, otherwise ignore"),
)
SEGMENT_NAMES = tuple(rule.name for rule in SEGMENT_RULES)


def slug(name: str) -> str:
    """``Can't lose them`` → ``cant_lose_them``: the name a URL or a command line uses."""
    return "".join(c if c.isalnum() else "_" for c in name.lower().replace("'", "")).strip("_")


def quintile_scores(values: np.ndarray | pd.Series, *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 by quintile of rank; equal values share the score of their lowest rank."""
    series = pd.Series(np.asarray(values, dtype=float))
    if series.isna().any():
        raise InvalidInputError("RFM values must not be missing: score only customers who bought",
                                field="values")
    n = len(series)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = (series if higher_is_better else -series).rank(method="min").to_numpy()
    return (1 + np.floor(5 * (ranks - 1) / n)).astype(np.int64)


def fm_score(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The combined frequency-monetary score, (F + M) / 2 rounded half up."""
    return (np.asarray(f) + np.asarray(m) + 1) // 2


def assign_segments(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The named segment of each (R, F, M) triple: the first rule that matches."""
    r, fm = np.asarray(r), fm_score(f, m)
    out = np.full(r.shape, "", dtype=object)
    for rule in reversed(SEGMENT_RULES):  # the first rule written wins: apply it last
        out[rule.matches(r, fm)] = rule.name
    return out


def score_rfm(features: pd.DataFrame) -> pd.DataFrame:
    """R, F, M, FM scores, the three-digit ``rfm_score`` and ``rfm_segment`` of every buyer.

    ``features`` is indexed by customer_id with ``recency_days``, ``frequency`` and ``monetary``
    (the feature layer's names); customers with frequency 0 are left out.
    """
    missing = [c for c in RFM_COLUMNS if c not in features.columns]
    if missing:
        raise InvalidInputError(f"RFM needs the feature column(s) {', '.join(missing)}", missing=missing)
    buyers = features.loc[features["frequency"] > 0, list(RFM_COLUMNS)]
    r = quintile_scores(buyers["recency_days"], higher_is_better=False)
    f = quintile_scores(buyers["frequency"])
    m = quintile_scores(buyers["monetary"])
    out = buyers.copy()
    out["r"], out["f"], out["m"], out["fm"] = r, f, m, fm_score(f, m)
    out["rfm_score"] = [f"{a}{b}{c}" for a, b, c in zip(r, f, m, strict=True)]
    out["rfm_segment"] = assign_segments(r, f, m)
    return out


def rfm_report(scored: pd.DataFrame, customers: int) -> dict[str, Any]:
    """The segment-size table and the recency × frequency grid a console draws as a heat map.

    ``customers`` is everyone in the feature set (buyers and not), for the shares.
    """
    buyers = len(scored)
    grouped = scored.groupby("rfm_segment")
    segments = []
    for rule in SEGMENT_RULES:
        size = int(grouped.size().get(rule.name, 0))
        means = grouped[list(RFM_COLUMNS)].mean().loc[rule.name] if size else None
        segments.append({
            **rule.to_dict(), "customers": size,
            "share_of_buyers": round(size / buyers, 4) if buyers else 0.0,
            "mean_recency_days": None if means is None else round(float(means["recency_days"]), 1),
            "mean_frequency": None if means is None else round(float(means["frequency"]), 2),
            "mean_monetary": None if means is None else round(float(means["monetary"]), 2),
        })
    cells = scored.groupby(["r", "f"]).agg(customers=("monetary", "size"), monetary=("monetary", "mean"))
    grid = [{"r": int(r), "f": int(f), "customers": int(row.customers),
             "mean_monetary": round(float(row.monetary), 2)} for (r, f), row in cells.iterrows()]
    return {"customers": customers, "buyers": buyers, "non_buyers": customers - buyers,
            "segments": segments, "grid": grid,
            "score_rule": "quintiles of rank; equal values share their lowest rank's score",
            "fm_rule": "FM = (F + M) / 2 rounded half up"}


def trait_rows(scored: pd.DataFrame) -> list[dict[str, Any]]:
    """``rfm_score`` and ``rfm_segment`` computed-trait rows for profiles.computed."""
    rows: list[dict[str, Any]] = []
    for customer_id, score, segment in zip(scored.index, scored["rfm_score"], scored["rfm_segment"],
                                           strict=True):
        rows.append({"customer_id": customer_id, "name": "rfm_score", "value": score,
                     "model": MODEL, "model_version": MODEL_VERSION})
        rows.append({"customer_id": customer_id, "name": "rfm_segment", "value": segment,
                     "model": MODEL, "model_version": MODEL_VERSION})
    return rows
