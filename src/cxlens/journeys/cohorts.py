"""Cohort retention: customers grouped by the week or month they first bought (or were first seen),
and the share of each cohort active again k periods later.

Periods are calendar weeks (ISO, Monday first) or months in UTC. Period 0 is the cohort's own
period; a later period counts a customer when they sent the *return event* (any event, or a named
one such as ``Order Completed``) in it. Cells a cohort has not lived through yet (after the last
period with any journey event, whatever the return event) are ``None``, not 0, so young cohorts do
not drag the average curve down; the average curve weights each cohort by its size over the
cohorts that could be observed.
"""

from __future__ import annotations

from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.journeys.population import Population
from cxlens.journeys.stages import PURCHASE_EVENT, sql_literal
from cxlens.store import Store

COHORT_BY = ("first_purchase", "first_seen")
PERIODS = ("week", "month")
JOURNEY_TYPES = "type IN ('track', 'page', 'screen')"


def retention(
    store: Store,
    *,
    cohort_by: str = "first_purchase",
    period: str = "month",
    return_event: str | None = None,
    periods: int = 12,
    purchase_event: str = PURCHASE_EVENT,
    population: Population | None = None,
) -> dict[str, Any]:
    """Retention matrix (cohort × periods since) and the size-weighted average curve."""
    if cohort_by not in COHORT_BY:
        raise InvalidInputError(
            f"unknown cohort definition {cohort_by!r}; use {' or '.join(COHORT_BY)}", field="cohort_by"
        )
    if period not in PERIODS:
        raise InvalidInputError(f"unknown period {period!r}; use {' or '.join(PERIODS)}", field="period")
    if not 1 <= periods <= 104:
        raise InvalidInputError(f"periods must be between 1 and 104, got {periods}", field="periods")
    population = population or Population()
    where, params = population.where(store)
    entry = f"event = {sql_literal(purchase_event)}" if cohort_by == "first_purchase" else JOURNEY_TYPES
    back = f"event = {sql_literal(return_event)}" if return_event else JOURNEY_TYPES
    unit = sql_literal(period)
    rows = store.records(
        f"""
        WITH ev AS (SELECT customer_id AS cid, timestamp AS ts, {entry} AS is_entry, {back} AS is_back
                    FROM events WHERE {where} AND ({entry} OR {back})),
        c AS (SELECT cid, date_trunc({unit}, min(ts)) AS cohort FROM ev WHERE is_entry GROUP BY cid),
        a AS (SELECT DISTINCT ev.cid, c.cohort,
                     datediff({unit}, c.cohort, date_trunc({unit}, ev.ts)) AS k
              FROM ev JOIN c USING (cid) WHERE ev.is_back AND ev.ts >= c.cohort)
        SELECT c.cohort, count(*) AS size, NULL AS k, NULL AS active FROM c GROUP BY c.cohort
        UNION ALL
        SELECT cohort, NULL, k, count(*) FROM a WHERE k BETWEEN 0 AND ? GROUP BY cohort, k
        ORDER BY 1, 3 NULLS FIRST""",
        [*params, periods],
    )
    # the data's last period, from any journey event: a month without the return event is a 0
    last = store.scalar(
        f"SELECT date_trunc({unit}, max(timestamp)) FROM events WHERE {where} AND {JOURNEY_TYPES}", params
    )
    cohorts: dict[Any, dict[str, Any]] = {}
    for r in rows:
        cohort = cohorts.setdefault(r["cohort"], {"cohort": r["cohort"], "size": 0, "active": {}})
        if r["k"] is None:
            cohort["size"] = int(r["size"])
        else:
            cohort["active"][int(r["k"])] = int(r["active"])
    out, weighted, observed = [], [0.0] * (periods + 1), [0] * (periods + 1)
    for c in cohorts.values():
        lived = _periods_between(c["cohort"], last, period) if last is not None else 0
        cells: list[float | None] = []
        for k in range(periods + 1):
            if k > lived:
                cells.append(None)
                continue
            share = c["active"].get(k, 0) / c["size"] if c["size"] else 0.0
            cells.append(share)
            weighted[k] += share * c["size"]
            observed[k] += c["size"]
        out.append({"cohort": c["cohort"].date().isoformat(), "size": c["size"], "retention": cells})
    return {
        "cohort_by": cohort_by,
        "period": period,
        "return_event": return_event or "any",
        "segment": population.segment or "all",
        "periods": periods,
        "cohorts": out,
        "average": [weighted[k] / observed[k] if observed[k] else None for k in range(periods + 1)],
    }


def _periods_between(start: Any, end: Any, period: str) -> int:
    if period == "week":
        return (end.date() - start.date()).days // 7
    return (end.year - start.year) * 12 + end.month - start.month
