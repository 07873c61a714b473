"""Funnels: any ordered steps, completed within a conversion window, with an optional breakdown.

The definition follows Amplitude's and PostHog's ordered funnels: a customer enters with any
occurrence of step 1; from that start each next step is the *earliest* matching event at or after
the previous step and no later than start + window (taking the earliest next event never reaches
fewer steps). Of all a customer's starts the one reaching furthest counts (ties: the earliest), so
each customer is counted once. Reported per step: customers, conversion from the first step and from
the previous one, drop-off, and the median time from the previous step.

Each step hop is one DuckDB ``ASOF JOIN`` (the earliest next-step event per start), so the cost is a
sort of the matching events, not a join of every start with every later event.

A step is an event name (track event, or page/screen name), optionally with property filters:
``Product Viewed[category=toys,channel=app]`` — ``channel`` and ``type`` filter the columns, any other
key ``properties.<key>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cxlens.errors import InvalidInputError
from cxlens.journeys.population import Population
from cxlens.journeys.stages import sql_literal
from cxlens.store import Store

MAX_STEPS = 10
_STEP = re.compile(r"^\s*(?P<event>[^\[\]]+?)\s*(?:\[(?P<filters>[^\[\]]*)\])?\s*$")
_WINDOW = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# ten years, as attribution's lookback: beyond any store's history, and far inside DuckDB's
# interval range (a longer window overflowed it and the query failed)
MAX_WINDOW_DAYS = 3650
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
COLUMN_FILTERS = ("channel", "type")


@dataclass(frozen=True)
class FunnelStep:
    """An event name and property filters (all must match)."""

    event: str
    where: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> FunnelStep:
        """``Name`` or ``Name[key=value,key2=value2]``; a malformed step is named in the error."""
        match = _STEP.match(text or "")
        if not match:
            raise InvalidInputError(
                f"funnel step {text!r} is malformed: write an event name, optionally "
                "followed by [key=value,...]",
                field="steps",
            )
        filters = []
        for part in (match.group("filters") or "").split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or not _KEY.match(key):
                raise InvalidInputError(
                    f"funnel step {text!r}: filter {part.strip()!r} must be key=value with a "
                    "plain key (letters, digits, _ and .)",
                    field="steps",
                )
            filters.append((key, value.strip()))
        return cls(match.group("event"), tuple(filters))

    def condition(self) -> str:
        parts = [f"event = {sql_literal(self.event)}"]
        for key, value in self.where:
            column = (
                key
                if key in COLUMN_FILTERS
                else f"json_extract_string(properties, {sql_literal('$.' + key)})"
            )
            parts.append(f"{column} = {sql_literal(value)}")
        return " AND ".join(parts)

    def label(self) -> str:
        return self.event + (f"[{','.join(f'{k}={v}' for k, v in self.where)}]" if self.where else "")


def parse_window(text: str | float | int) -> float:
    """A conversion window in seconds from ``30m``, ``24h``, ``7d``, ``2w`` (or a number of seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _WINDOW.match(str(text))
        if not match:
            raise InvalidInputError(
                f"conversion window {text!r} is not understood: write a number and a unit "
                "s, m, h, d or w (for example 7d)",
                field="window",
            )
        seconds = float(match.group("n")) * _UNITS[match.group("unit")]
    if not seconds > 0:  # also refuses NaN
        raise InvalidInputError(f"the conversion window must be positive, got {text!r}", field="window")
    if seconds > MAX_WINDOW_DAYS * 86400:
        raise InvalidInputError(
            f"the conversion window must be at most {MAX_WINDOW_DAYS} days, got {text!r}", field="window"
        )
    return seconds


def breakdown_sql(breakdown: str | None) -> str:
    """The breakdown value of the starting event: a column, a property, a campaign field or a trait."""
    if breakdown is None:
        return "'all'"
    if breakdown in ("channel", "type", "source"):
        return f"coalesce({breakdown}, '(none)')"
    for prefix, path in (("properties.", "properties, '$."), ("campaign.", "context, '$.campaign.")):
        if breakdown.startswith(prefix) and _KEY.match(breakdown[len(prefix) :]):
            return f"coalesce(json_extract_string({path}{breakdown[len(prefix) :]}'), '(none)')"
    if breakdown.startswith("trait.") and _KEY.match(breakdown[6:]):
        return (
            f"coalesce((SELECT json_extract_string(t.value, '$') FROM computed_traits t WHERE "
            f"t.customer_id = events.customer_id AND t.name = {sql_literal(breakdown[6:])}), '(none)')"
        )
    raise InvalidInputError(
        f"unknown breakdown {breakdown!r}: use channel, type, source, properties.<key>, "
        "campaign.<key> (source, medium, name) or trait.<computed trait>",
        field="breakdown",
    )


def _plan(
    store: Store, steps: Sequence[FunnelStep], window: float, breakdown: str | None, population: Population
) -> tuple[str, list[Any]]:
    where, params = population.where(store)
    ctes = [
        f"s1 AS (SELECT customer_id AS cid, timestamp AS t1, {breakdown_sql(breakdown)} AS bd "
        f"FROM events WHERE {where} AND {steps[0].condition()})"
    ]
    all_params = list(params)
    previous = "s1"
    for k in range(2, len(steps) + 1):
        same = steps[k - 1] == steps[k - 2]  # the same step twice needs a later event, not the same one
        ctes.append(
            f"e{k} AS (SELECT customer_id AS cid, timestamp AS ts FROM events "
            f"WHERE {where} AND {steps[k - 1].condition()})"
        )
        all_params += params
        ctes.append(f"""s{k} AS (SELECT p.*, CASE WHEN x.ts <= p.t1 + to_seconds(?) THEN x.ts END AS t{k}
                        FROM {previous} p ASOF LEFT JOIN e{k} x
                        ON p.cid = x.cid AND p.t{k - 1} {"<" if same else "<="} x.ts)""")
        all_params.append(window)
        previous = f"s{k}"
    n = len(steps)
    reached = " + ".join(f"(t{k} IS NOT NULL)::INT" for k in range(1, n + 1))
    best = f"""best AS (SELECT cid, arg_max(bd, (r, -epoch(t1))) AS bd,
                   {", ".join(f"arg_max(t{k}, (r, -epoch(t1))) AS t{k}" for k in range(1, n + 1))},
                   max(r) AS r
               FROM (SELECT *, {reached} AS r FROM {previous}) GROUP BY cid)"""
    columns = ", ".join(
        [f"count(*) FILTER (WHERE r >= {k}) AS n{k}" for k in range(1, n + 1)]
        + [f"median(epoch(t{k}) - epoch(t{k - 1})) FILTER (WHERE r >= {k}) AS d{k}" for k in range(2, n + 1)]
    )
    sql = f"WITH {', '.join(ctes)}, {best} SELECT bd, {columns} FROM best GROUP BY bd ORDER BY n1 DESC, bd"
    return sql, all_params


def _step_rows(row: dict[str, Any], steps: Sequence[FunnelStep]) -> list[dict[str, Any]]:
    first = row["n1"] or 0
    out = []
    for k, step in enumerate(steps, start=1):
        n = int(row[f"n{k}"] or 0)
        before = int(row[f"n{k - 1}"] or 0) if k > 1 else n
        out.append(
            {
                "step": k,
                "event": step.label(),
                "customers": n,
                "conversion": n / first if first else 0.0,
                "step_conversion": n / before if before else 0.0,
                "drop_off": (before - n) / before if k > 1 and before else 0.0,
                "median_seconds_from_previous": None if k == 1 else row.get(f"d{k}"),
            }
        )
    return out


def funnel(
    store: Store,
    steps: Sequence[str | FunnelStep],
    window: str | float = "7d",
    *,
    breakdown: str | None = None,
    population: Population | None = None,
) -> dict[str, Any]:
    """Customers reaching each step in order within ``window`` of their first step, overall and per
    breakdown value."""
    parsed = [s if isinstance(s, FunnelStep) else FunnelStep.parse(s) for s in steps]
    if not 2 <= len(parsed) <= MAX_STEPS:
        raise InvalidInputError(
            f"a funnel needs between 2 and {MAX_STEPS} steps, got {len(parsed)}", field="steps"
        )
    seconds = parse_window(window)
    population = population or Population()
    sql, params = _plan(store, parsed, seconds, breakdown, population)
    groups = store.records(sql, params)
    total: dict[str, Any] = {
        f"n{k}": sum(int(g[f"n{k}"] or 0) for g in groups) for k in range(1, len(parsed) + 1)
    }
    if breakdown is None:
        total.update({k: v for g in groups for k, v in g.items() if k.startswith("d")})
    else:  # medians do not add up: the overall medians need their own (breakdown-free) pass
        overall = store.records(*_plan(store, parsed, seconds, None, population))
        total.update({k: v for g in overall for k, v in g.items() if k.startswith("d")})
    result: dict[str, Any] = {
        "steps": _step_rows(total, parsed),
        "window_seconds": seconds,
        "segment": population.segment or "all",
        "breakdown": breakdown,
    }
    if breakdown is not None:
        result["groups"] = [{"value": g["bd"], "steps": _step_rows(g, parsed)} for g in groups]
    return result
