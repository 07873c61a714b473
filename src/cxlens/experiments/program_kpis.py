"""KPIs and OKR key results with targets, tracked per calendar period.

A KPI has a measure, a target, a direction (``up``: higher is better) and a calendar period —
month, quarter, half or year in UTC, labelled as the voc room's measurement calendar labels them
(``2025-03``, ``2025-Q1``, ``2025-H1``, ``2025``). Progress lists each period's value, whether it met
the target, how far it is along (value / target, or target / value when lower is better), and the
change against the previous period and the same period a year earlier.

Store measures are aggregated here in one query each:

* ``orders``, ``revenue`` — from ``orders``;
* ``active_customers`` — customers with any track/page/screen event in the period;
* ``conversion_rate`` — active customers who ordered in the period / active customers;
* ``repeat_rate`` — customers ordering in the period who had ordered before it / customers ordering.

Score measures (``nps``, ``csat``, ``ces``) come from the voc room's score report, which the caller
passes in as ``scores(metric, period)`` (this package may not import voc); a KPI's NPS is therefore
exactly the NPS the voc room reports, interval and all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cxlens.errors import ConflictError, InvalidInputError, NotFoundError
from cxlens.store import Store

STORE_MEASURES = ("orders", "revenue", "active_customers", "conversion_rate", "repeat_rate")
SCORE_MEASURES = ("nps", "csat", "ces")
MEASURES = STORE_MEASURES + SCORE_MEASURES
PERIODS = ("month", "quarter", "half", "year")
PER_YEAR = {"month": 12, "quarter": 4, "half": 2, "year": 1}
DIRECTIONS = ("up", "down")

ScoreSource = Callable[[str, str], list[dict[str, Any]]]

_LABEL = {
    "month": "strftime(ts, '%Y-%m')",
    "quarter": "year(ts) || '-Q' || quarter(ts)",
    "half": "year(ts) || '-H' || ((month(ts) + 5) // 6)",
    "year": "CAST(year(ts) AS VARCHAR)",
}
_ACTIVE = (
    "SELECT customer_id AS cid, timestamp AS ts FROM events WHERE customer_id IS NOT NULL "
    "AND type IN ('track', 'page', 'screen')"
)
_ORDERS = "SELECT customer_id AS cid, timestamp AS ts, CAST(revenue AS DOUBLE) AS revenue FROM orders"


def create_kpi(
    store: Store,
    *,
    key: str,
    name: str,
    measure: str,
    target: float,
    direction: str = "up",
    period: str = "quarter",
    objective: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """Define a KPI (a key result when ``objective`` names the OKR objective it serves)."""
    if not key or not name:
        raise InvalidInputError("a KPI needs a key and a name", field="key")
    if measure not in MEASURES:
        raise InvalidInputError(
            f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}", field="measure"
        )
    if direction not in DIRECTIONS:
        raise InvalidInputError(f"direction must be up or down, got {direction!r}", field="direction")
    if period not in PERIODS:
        raise InvalidInputError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}", field="period")
    if store.scalar("SELECT count(*) FROM program_kpis WHERE kpi_key = ?", [key]):
        raise ConflictError(f"KPI {key!r} already exists", kpi=key)
    store.execute(
        "INSERT INTO program_kpis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [key, name, measure, float(target), direction, period, objective, owner, datetime.now(UTC)],
    )
    return get_kpi(store, key)


def get_kpi(store: Store, key: str) -> dict[str, Any]:
    rows = store.records("SELECT * FROM program_kpis WHERE kpi_key = ?", [key])
    if not rows:
        known = [r[0] for r in store.fetchall("SELECT kpi_key FROM program_kpis ORDER BY 1 LIMIT 20")]
        raise NotFoundError(f"unknown KPI {key!r}; known: {', '.join(known) or 'none'}", kpi=key)
    return rows[0]


def list_kpis(store: Store) -> list[dict[str, Any]]:
    return store.records("SELECT * FROM program_kpis ORDER BY objective NULLS LAST, kpi_key")


def _store_values(store: Store, measure: str, period: str) -> dict[str, float]:
    label = _LABEL[period]
    if measure in ("orders", "revenue"):
        agg = "count(*)" if measure == "orders" else "sum(revenue)"
        sql = f"SELECT {label} AS p, {agg} AS v FROM ({_ORDERS}) GROUP BY p"
    elif measure == "active_customers":
        sql = f"SELECT {label} AS p, count(DISTINCT cid) AS v FROM ({_ACTIVE}) GROUP BY p"
    elif measure == "conversion_rate":
        sql = f"""WITH a AS (SELECT DISTINCT {label} AS p, cid FROM ({_ACTIVE})),
                       o AS (SELECT DISTINCT {label} AS p, cid FROM ({_ORDERS}))
                  SELECT a.p, count(o.cid) / count(*) AS v FROM a LEFT JOIN o USING (p, cid) GROUP BY a.p"""
    else:  # repeat_rate
        sql = f"""WITH f AS (SELECT cid, min(ts) AS first_ts FROM ({_ORDERS}) GROUP BY cid),
                       o AS (SELECT {label} AS p, cid, min(ts) AS ts FROM ({_ORDERS}) GROUP BY ALL)
                  SELECT o.p, avg((f.first_ts < o.ts)::INT) AS v FROM o JOIN f USING (cid) GROUP BY o.p"""
    return {p: float(v) for p, v in store.fetchall(sql) if p is not None and v is not None}


def _ordinal(label: str, period: str) -> int:
    year = int(label[:4])
    sub = 1 if period == "year" else int(label[5:].lstrip("QH"))
    return year * PER_YEAR[period] + sub - 1


def _progress(value: float, target: float, up: bool) -> float | None:
    """Value / target (target / value when lower is better); None only where that divides by 0.

    A value of 0 is no progress towards a higher target (0, not unknown), and meets a lower one
    beyond any ratio.
    """
    if up:
        return value / target if target else None
    return target / value if value else None


def kpi_progress(
    store: Store, key: str, *, period: str | None = None, last: int = 8, scores: ScoreSource | None = None
) -> dict[str, Any]:
    """Each period's value against the target, with period-over-period and year-on-year change."""
    kpi = get_kpi(store, key)
    period = period or kpi["period"]
    if period not in PERIODS:
        raise InvalidInputError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}", field="period")
    if last < 1:
        raise InvalidInputError("last must be at least 1", field="last")
    measure = kpi["measure"]
    if measure in SCORE_MEASURES:
        if scores is None:
            raise InvalidInputError(
                f"KPI {key!r} measures {measure}: pass the voc score source", field="scores"
            )
        values = {
            r["period"]: float(r["score"]) for r in scores(measure, period) if r.get("score") is not None
        }
    else:
        values = _store_values(store, measure, period)
    by_ordinal = {_ordinal(label, period): (label, v) for label, v in values.items()}
    target, up = float(kpi["target"]), kpi["direction"] == "up"
    rows = []
    for o in sorted(by_ordinal)[-last:]:
        label, value = by_ordinal[o]
        previous, year_ago = by_ordinal.get(o - 1), by_ordinal.get(o - PER_YEAR[period])
        progress = _progress(value, target, up)
        rows.append(
            {
                "period": label,
                "value": value,
                "target": target,
                "met": value >= target if up else value <= target,
                "progress": progress,
                "change_previous": None if previous is None else value - previous[1],
                "change_yoy": None if year_ago is None else value - year_ago[1],
            }
        )
    return {**kpi, "period": period, "rows": rows, "latest": rows[-1] if rows else None}
