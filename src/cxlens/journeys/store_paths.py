"""Conversion paths built from the store's own events, for the landed attribution models.

Each conversion (an ``Order Completed`` event by default) closes one journey: the customer's touches
since their previous conversion and within ``lookback_days`` before it, in time order, ending with
the conversion's own touch (where it happened: the order's channel or campaign). Touches after a
customer's last conversion (or of customers who never convert) form a journey that ended without
conversion — a *null* — cut to the ``lookback_days`` before its last touch. Consecutive repeats of
one touch collapse into one step (ten page views on the website are one visit of the channel, not
ten), which is how channel paths are usually prepared for Markov models (Anderl et al. 2016).

A touch is labelled by ``touch``:

* ``channel`` — the event's channel (web, app, email, store ...);
* ``source_medium`` (default) — ``source / medium`` of the campaign (``context.campaign``, from UTM
  parameters) when the event carries one, else the channel;
* ``campaign`` — the campaign name when there is one, else the channel.

The whole build is one SQL statement: an ``ASOF JOIN`` gives each touch its next conversion, window
functions collapse repeats, and the result is grouped into unique paths, so only the
:class:`~cxlens.journeys.paths.PathTable` (unique paths with conversions, nulls and value) reaches
Python and the landed Markov, Shapley and heuristic models run on it unchanged.

References
----------
Anderl, Becker, von Wangenheim, Schumann (2016). Mapping the customer journey: Lessons learned from
graph-based online attribution modeling. Int. J. Research in Marketing 33(3).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from cxlens.errors import InvalidInputError
from cxlens.journeys.attribution import attribute, compare_models
from cxlens.journeys.paths import SEPARATOR, PathTable
from cxlens.journeys.population import Population
from cxlens.journeys.stages import PURCHASE_EVENT, sql_literal
from cxlens.store import Store

log = logging.getLogger(__name__)

TOUCHES = ("channel", "source_medium", "campaign")
_CAMPAIGN = "json_extract_string(context, '$.campaign.{}')"
_CHANNEL = "coalesce(nullif(channel, ''), '(none)')"


def touch_sql(touch: str) -> str:
    """SQL labelling an ``events`` row as a touch (``>`` is replaced: it separates path steps)."""
    if touch == "channel":
        label = _CHANNEL
    elif touch == "source_medium":
        source, medium = _CAMPAIGN.format("source"), _CAMPAIGN.format("medium")
        label = (
            f"CASE WHEN {source} IS NOT NULL OR {medium} IS NOT NULL THEN coalesce({source}, '(none)') "
            f"|| ' / ' || coalesce({medium}, '(none)') ELSE {_CHANNEL} END"
        )
    elif touch == "campaign":
        label = f"coalesce({_CAMPAIGN.format('name')}, {_CHANNEL})"
    else:
        raise InvalidInputError(
            f"unknown touch label {touch!r}; use one of {', '.join(TOUCHES)}", field="touch"
        )
    return f"replace({label}, '{SEPARATOR}', '-')"


def paths_sql(
    store: Store,
    *,
    lookback_days: float = 30.0,
    touch: str = "source_medium",
    conversion_event: str = PURCHASE_EVENT,
    collapse: bool = True,
    population: Population | None = None,
) -> tuple[str, list[Any]]:
    """The SQL (and parameters) returning unique ``path, conversions, nulls, value`` rows."""
    if not 0 < lookback_days <= 3650:
        raise InvalidInputError(
            f"lookback_days must be in (0, 3650], got {lookback_days}", field="lookback_days"
        )
    where, params = (population or Population()).where(store)
    conv = sql_literal(conversion_event)
    value = "coalesce(TRY_CAST(json_extract_string(properties, '$.revenue') AS DOUBLE), 0.0)"
    keep = "WHERE prev IS NULL OR prev <> label" if collapse else ""
    sql = f"""
    WITH ev AS (SELECT customer_id AS cid, timestamp AS ts, {touch_sql(touch)} AS label,
                       event = {conv} AS is_conv, {value} AS value
                FROM events WHERE {where} AND type IN ('track', 'page', 'screen')),
    conv AS (SELECT cid, ts AS cts, value FROM ev WHERE is_conv),
    t AS (SELECT e.cid, e.ts, e.label, e.is_conv, c.cts FROM ev e
          ASOF LEFT JOIN conv c ON e.cid = c.cid AND e.ts <= c.cts),
    j AS (SELECT cid, ts, label, is_conv, cts,
                 coalesce(cts, max(ts) OVER (PARTITION BY cid, cts)) AS jend FROM t),
    w AS (SELECT *, lag(label) OVER (PARTITION BY cid, cts ORDER BY ts, is_conv) AS prev FROM j
          WHERE ts >= jend - to_seconds(?) AND (NOT is_conv OR ts = cts)),
    p AS (SELECT cid, cts, string_agg(label, '{SEPARATOR}' ORDER BY ts, is_conv) AS path FROM w {keep}
          GROUP BY cid, cts)
    SELECT p.path, count(p.cts) AS conversions, count(*) - count(p.cts) AS nulls,
           coalesce(sum(c.value), 0.0) AS value
    FROM p LEFT JOIN (SELECT cid, cts, sum(value) AS value FROM conv GROUP BY ALL) c
         ON c.cid = p.cid AND c.cts = p.cts
    GROUP BY p.path ORDER BY conversions DESC, nulls DESC, p.path"""
    return sql, [*params, lookback_days * 86400.0]


def build_paths(
    store: Store,
    *,
    lookback_days: float = 30.0,
    touch: str = "source_medium",
    conversion_event: str = PURCHASE_EVENT,
    collapse: bool = True,
    population: Population | None = None,
) -> PathTable:
    """Unique conversion paths (with nulls from journeys that did not convert) from the store."""
    sql, params = paths_sql(
        store,
        lookback_days=lookback_days,
        touch=touch,
        conversion_event=conversion_event,
        collapse=collapse,
        population=population,
    )
    table = store.arrow(sql, params)
    if table.num_rows == 0:
        raise InvalidInputError(
            "no customer journeys in the store for that population and time range; load "
            "events first (cxlens import, or cxlens demo)",
            field="events",
        )
    paths = tuple(tuple(p.split(SEPARATOR)) for p in table.column("path").to_pylist())
    numbers = {
        name: table.column(name).to_numpy().astype(float) for name in ("conversions", "nulls", "value")
    }
    if not numbers["conversions"].sum():
        log.warning("no %s event in the selected journeys: every path is a null", conversion_event)
    return PathTable(paths, numbers["conversions"], numbers["nulls"], numbers["value"])


def store_attribution(
    store: Store,
    model: str = "markov",
    *,
    lookback_days: float = 30.0,
    touch: str = "source_medium",
    conversion_event: str = PURCHASE_EVENT,
    population: Population | None = None,
    top_paths: int = 10,
    **params: Any,
) -> dict[str, Any]:
    """Build paths from the store and run one landed attribution model, or ``"all"`` side by side."""
    table = build_paths(
        store,
        lookback_days=lookback_days,
        touch=touch,
        conversion_event=conversion_event,
        population=population,
    )
    result = compare_models(table, **params) if model == "all" else attribute(table, model, **params)
    order = np.argsort(-(table.conversions + table.nulls), kind="stable")[:top_paths]
    result["paths"] = {
        "unique": len(table.paths),
        "journeys": float(table.conversions.sum() + table.nulls.sum()),
        "conversions": table.total_conversions,
        "nulls": float(table.nulls.sum()),
        "top": [
            {
                "path": SEPARATOR.join(table.paths[i]),
                "conversions": float(table.conversions[i]),
                "nulls": float(table.nulls[i]),
            }
            for i in order
        ],
    }
    result["lookback_days"] = lookback_days
    result["touch"] = touch
    return result
